"""Every InfluxQL statement seismo sends, built in one place.

Identifiers are double-quoted and string literals single-quoted here and only
here (:func:`quote_ident`, :func:`quote_str`; InfluxQL reference, "Identifiers"
and "Literals": docs.influxdata.com/influxdb/v1/query_language/spec/). Times are
RFC 3339 string literals with microseconds. The statements are read with
InfluxQL over ``/query``, which InfluxDB 1.x, 2.x (DBRP mapping) and 3.x serve;
:class:`~seismo.io.store.influx.InfluxStore` runs them and turns rows into
model objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from obspy import UTCDateTime

from seismo.io.store import points as P


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_str(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def time_literal(t: UTCDateTime) -> str:
    """A time as an InfluxQL RFC 3339 literal (microseconds, UTC)."""
    return quote_str(P.iso_us(UTCDateTime(t)))


def time_range(
    since: UTCDateTime | None, until: UTCDateTime | None, *, since_inclusive: bool = True
) -> list[str]:
    """Conditions ``time >= since`` (or ``>``) and ``time <= until``; None leaves a side open."""
    conds = []
    if since is not None:
        conds.append(f"time {'>=' if since_inclusive else '>'} {time_literal(since)}")
    if until is not None:
        conds.append(f"time <= {time_literal(until)}")
    return conds


def equals(key: str, value: str) -> str:
    """The condition ``"key" = 'value'`` (a tag or string field)."""
    return f"{quote_ident(key)} = {quote_str(value)}"


def select(
    measurement: str, conds: Iterable[str] = (), fields: Sequence[str] | None = None
) -> str:
    """``SELECT fields|* FROM "measurement" [WHERE c1 AND c2 ...]``."""
    cols = ", ".join(quote_ident(f) for f in fields) if fields else "*"
    q = f"SELECT {cols} FROM {quote_ident(measurement)}"
    conds = list(conds)
    if conds:
        q += " WHERE " + " AND ".join(conds)
    return q


def events(
    since: UTCDateTime | None, until: UTCDateTime | None, fields: Sequence[str] | None = None
) -> str:
    """Every version of the events with origin time in [since, until] (every column, or
    only ``fields``: e.g. :data:`EVENT_SUMMARY_FIELDS`, without the full JSON)."""
    return select(P.EVENTS, time_range(since, until), fields=fields)


#: The ``events`` columns of a list: tags and numeric fields, not the event's JSON.
EVENT_SUMMARY_FIELDS = (
    "event_id", "version", "status", "solution", "latitude", "longitude", "depth_km",
    "magnitude", "magnitude_type", "rms_s", "azimuthal_gap_deg", "n_phases", "n_stations",
    "horizontal_uncertainty_km", "vertical_uncertainty_km", "outside_network", "depth_fixed",
    "max_intensity", "max_mmi",
)


def event_versions(
    event_id: str, since: UTCDateTime | None = None, until: UTCDateTime | None = None
) -> str:
    """Every stored version of one event (origin time in [since, until] when given)."""
    return select(P.EVENTS, [equals("event_id", event_id), *time_range(since, until)])


def picks(
    since: UTCDateTime | None,
    until: UTCDateTime | None,
    *,
    network: str | None = None,
    station: str | None = None,
    phase: str | None = None,
) -> str:
    """Picks with pick time in [since, until], optionally of one network/station/phase."""
    conds = time_range(since, until)
    conds += [equals(k, v) for k, v in (("network", network), ("station", station),
                                         ("phase", phase)) if v is not None]
    return select(P.PICKS, conds)


def health(
    since: UTCDateTime | None,
    until: UTCDateTime | None,
    *,
    station: str | None = None,
    status: str | None = None,
) -> str:
    """Channel and station health with window end in [since, until]."""
    conds = time_range(since, until)
    conds += [equals(k, v) for k, v in (("station", station), ("status", status))
              if v is not None]
    return select(P.STATION_HEALTH, conds)


def latest_heartbeat(since: UTCDateTime | None = None, host: str | None = None) -> str:
    """The newest ``stream_heartbeat`` point (at or after ``since`` when given; of the
    ``host`` tag when given, e.g. one part of a split stream)."""
    conds = time_range(since, None) + ([equals("host", host)] if host is not None else [])
    return select(P.STREAM_HEARTBEAT, conds) + " ORDER BY time DESC LIMIT 1"


def latest_heartbeat_per_host(since: UTCDateTime | None = None) -> str:
    """The newest ``stream_heartbeat`` point of every ``host`` (at or after ``since`` when
    given): one per process of a split stream."""
    return (select(P.STREAM_HEARTBEAT, time_range(since, None))
            + ' GROUP BY "host" ORDER BY time DESC LIMIT 1')


def alert_records(event_id: str, since: UTCDateTime | None = None) -> str:
    """The ``alerts`` rows of one event, sent at or after ``since`` when given."""
    return select(P.ALERTS, [equals("event_id", event_id), *time_range(since, None)])


def alerts_between(since: UTCDateTime | None, until: UTCDateTime | None) -> str:
    """The ``alerts`` rows sent in [since, until] (every event)."""
    return select(P.ALERTS, time_range(since, until))


def station_status(after: UTCDateTime, until: UTCDateTime) -> str:
    """Samples and error flag of every station for the windows ending in (after, until]."""
    return select(
        P.STATION_STATUS,
        time_range(after, until, since_inclusive=False),
        fields=("samples", "error", "network", "station"),
    )


def count(
    measurement: str, since: UTCDateTime | None = None, until: UTCDateTime | None = None
) -> str:
    """``COUNT`` of the key field of ``measurement`` (``COUNT(*)`` without one)."""
    key = P.KEY_FIELD.get(measurement)
    sel = f"COUNT({quote_ident(key)})" if key else "COUNT(*)"
    q = f"SELECT {sel} FROM {quote_ident(measurement)}"
    conds = time_range(since, until)
    if conds:
        q += " WHERE " + " AND ".join(conds)
    return q


def create_database(name: str) -> str:
    """``CREATE DATABASE "name"`` (InfluxDB 1.x; a no-op when it exists)."""
    return f"CREATE DATABASE {quote_ident(name)}"
