"""Model objects -> InfluxDB points (line protocol), and point validation.

The schema is documented in ``docs/influx_schema.md``. Rules (docs/references.md §8):

* tags only for bounded, queried keys (network, station, location, channel, phase,
  status, kind, group, plus ``site`` and ``msg_type`` whose values come from config);
  ids and values are fields;
* deterministic timestamps (pick time, origin time, window end, sent time) at
  microsecond precision, so reprocessing overwrites instead of duplicating;
* one type per field, always (float fields are always written as floats), so a
  rerun never hits a field-type conflict.

Validation happens per point, before the point joins a batch: a bad point raises
:class:`~seismo.errors.StoreError` naming the value, and the caller drops only it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from influxdb_client import Point, WritePrecision
from obspy import UTCDateTime

from seismo.errors import StoreError
from seismo.model import (
    Event,
    Magnitude,
    Pick,
    StationHealth,
    StationResult,
)

PRECISION = WritePrecision.US

PICKS = "picks"
EVENTS = "events"
STATION_MAGNITUDES = "station_magnitudes"
STATION_INTENSITY = "station_intensity"
SITE_INTENSITY = "site_intensity"
STATION_HEALTH = "station_health"
ALERTS = "alerts"
STATION_STATUS = "station_status"
STREAM_HEARTBEAT = "stream_heartbeat"
#: Tag value marking points made by the real-time detector (``seismo stream``); points
#: of the window pass (DAG, ``seismo detect``) carry no ``solution`` tag.
STREAM_SOLUTION = "stream"

#: Tag keys per measurement (everything else is a field).
TAGS: dict[str, tuple[str, ...]] = {
    PICKS: ("network", "station", "location", "channel", "phase", "kind", "solution"),
    EVENTS: ("status", "solution"),
    STATION_MAGNITUDES: ("network", "station", "channel"),
    STATION_INTENSITY: ("network", "station"),
    SITE_INTENSITY: ("site", "kind"),
    STATION_HEALTH: ("network", "station", "location", "channel", "status"),
    ALERTS: ("group", "channel", "status", "msg_type"),
    STATION_STATUS: ("network", "station"),
    STREAM_HEARTBEAT: ("host",),
}

#: A field present in every point of the measurement (used by ``count``).
KEY_FIELD: dict[str, str] = {
    PICKS: "pick_id",
    EVENTS: "event_id",
    STATION_MAGNITUDES: "ml",
    STATION_INTENSITY: "intensity_cn",
    SITE_INTENSITY: "intensity_cn",
    STATION_HEALTH: "status_code",
    ALERTS: "identifier",
    STATION_STATUS: "samples",
    STREAM_HEARTBEAT: "uptime_s",
}

#: Health status -> numeric code (for plotting / thresholds).
STATUS_CODE = {"OK": 0, "WARN": 1, "FAIL": 2}

#: InfluxDB 1.x limits a string field to 64 KiB; above this we store zlib+base64.
MAX_JSON_BYTES = 60_000

_RESERVED_KEYS = {"time", "_field", "_measurement"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NEWLINE = re.compile(r"[\n\r]")


# --------------------------------------------------------------------------- time
def time_us(t: UTCDateTime | dt.datetime | str) -> int:
    """Microseconds since 1970-01-01 UTC (rounded half up from ObsPy's ns)."""
    if isinstance(t, dt.datetime) and t.tzinfo is None:
        raise StoreError(f"naive datetime {t.isoformat()} (timezone-aware or UTCDateTime only)")
    try:
        ns = (t if isinstance(t, UTCDateTime) else UTCDateTime(t)).ns
    except (TypeError, ValueError):  # what UTCDateTime raises
        raise StoreError(f"not a time: {t!r}") from None
    return (int(ns) + 500) // 1000


def utc_from_us(us: int) -> UTCDateTime:
    """Inverse of :func:`time_us`."""
    return UTCDateTime(ns=int(us) * 1000)


def iso_us(t: UTCDateTime) -> str:
    """RFC 3339 with microseconds and ``Z`` (for InfluxQL time literals)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- validation
def _check_name(what: str, value: str, measurement: str) -> None:
    if not isinstance(value, str) or value == "":
        raise StoreError(f"{measurement}: {what} {value!r} must be a non-empty string")
    bad = _CONTROL.search(value)
    if bad:
        raise StoreError(
            f"{measurement}: {what} {value!r} contains a control character ({bad.group()!r}); "
            "newlines and other control characters cannot be stored in line protocol"
        )


def _check_tag_value(key: str, value: str, measurement: str) -> None:
    _check_name(f"tag {key}=", value, measurement)
    if value.endswith("\\"):
        raise StoreError(
            f"{measurement}: tag {key}={value!r} ends with a backslash, which does not "
            "round-trip through line protocol"
        )


def _check_string_field(key: str, value: str, measurement: str) -> None:
    if _NEWLINE.search(value):
        raise StoreError(
            f"{measurement}: string field {key}={value!r} contains a newline; "
            "newlines are rejected (docs/references.md §8)"
        )


@dataclass(frozen=True)
class StorePoint:
    """One point of the schema: measurement, tags, fields and time (µs since epoch).

    Made and validated by :func:`make_point` (None tags and fields are left out);
    :func:`to_line` renders it through influxdb-client's public ``Point`` API.
    """

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, Any]
    time_us: int


def make_point(
    measurement: str,
    tags: Mapping[str, str | None],
    fields: Mapping[str, Any],
    time: int | UTCDateTime | dt.datetime,
) -> StorePoint:
    """Build a validated :class:`StorePoint` at µs precision.

    ``None`` tags and ``None`` fields are dropped (non-finite floats are dropped when
    the line is rendered). Raises StoreError naming the offending key or value.
    """
    p = StorePoint(
        measurement,
        {k: str(v) for k, v in tags.items() if v is not None and v != ""},
        {k: v for k, v in fields.items() if v is not None},
        time if isinstance(time, int) else time_us(time),
    )
    validate_point(p)
    return p


def validate_point(p: StorePoint) -> None:
    """Check that ``p`` round-trips through line protocol; raise StoreError if not."""
    measurement = p.measurement
    _check_name("measurement", measurement, "<point>")
    if measurement.startswith("#"):
        raise StoreError(f"measurement {measurement!r} starts with '#' (a comment)")
    for k, v in p.tags.items():
        _check_name("tag key", k, measurement)
        if k in _RESERVED_KEYS:
            raise StoreError(f"{measurement}: tag key {k!r} is reserved")
        _check_tag_value(k, v, measurement)
    for k, v in p.fields.items():
        _check_name("field key", k, measurement)
        if k in _RESERVED_KEYS:
            raise StoreError(f"{measurement}: field key {k!r} is reserved")
        if isinstance(v, str):
            _check_string_field(k, v, measurement)
        elif not isinstance(v, bool | int | float):
            raise StoreError(f"{measurement}: field {k}={v!r} has unsupported type")
    if not p.fields:
        raise StoreError(f"{measurement}: point has no fields")
    both = set(p.tags) & set(p.fields)
    if both:
        raise StoreError(f"{measurement}: key(s) {sorted(both)} used as both tag and field")
    if not isinstance(p.time_us, int):
        raise StoreError(f"{measurement}: point needs an integer µs timestamp")


def to_line(p: StorePoint) -> str:
    """One line of line protocol (µs) for ``p``, escaped by influxdb-client's ``Point``."""
    if not isinstance(p, StorePoint):
        raise StoreError(
            f"{type(p).__name__} is not a StorePoint: build points with "
            "seismo.io.store.points.make_point (or the *_point converters)"
        )
    point = Point(p.measurement)
    for k, v in p.tags.items():
        point.tag(k, v)
    for k, v in p.fields.items():
        point.field(k, v)
    point.time(p.time_us, PRECISION)
    line = point.to_line_protocol(PRECISION)
    if not line:  # every field was NaN/inf
        raise StoreError(f"{p.measurement}: point has no finite field values")
    return line


def describe_point(p: StorePoint) -> str:
    """Short log-safe identity of a point: measurement, tags and time."""
    tags = ",".join(f"{k}={v!r}" for k, v in sorted(p.tags.items()))
    return f"{p.measurement}[{tags}]@{p.time_us}"


def one_line(text: str) -> str:
    """Free text (error messages, reasons) made storable: control chars become spaces."""
    return "".join(" " if ord(c) < 32 else c for c in text).strip()


def _f(x: float | None) -> float | None:
    return None if x is None else float(x)


# --------------------------------------------------------------------------- converters
def pick_point(p: Pick, solution: str | None = None) -> StorePoint:
    """``picks``: one point per pick at the pick time (``solution``: the ``solution`` tag,
    :data:`STREAM_SOLUTION` for the real-time detector; None: no tag)."""
    return make_point(
        PICKS,
        {"network": p.network, "station": p.station, "location": p.location,
         "channel": p.channel, "phase": p.phase, "kind": p.kind, "solution": solution},
        {"pick_id": p.id, "uncertainty_s": _f(p.uncertainty_s), "snr": _f(p.snr),
         "amplitude": _f(p.amplitude), "polarity": p.polarity,
         "trigger_on_us": time_us(p.trigger_on) if p.trigger_on is not None else None,
         "trigger_off_us": time_us(p.trigger_off) if p.trigger_off is not None else None,
         "early_onset_us": time_us(p.early_onset) if p.early_onset is not None else None},
        p.time,
    )


def magnitude_token(m: Magnitude) -> str:
    """One magnitude in the ``events.magnitudes`` field: type, value, uncertainty, station
    count, agency and a held mark, e.g. ``Mwp=7.21±0.12/14``, ``ML>=4.30/5``,
    ``Ms_BB=5.80/2!held``, ``Mww=7.40@USGS``."""
    unc = "" if m.uncertainty is None else f"±{m.uncertainty:.2f}"
    return (f"{m.type}{'>=' if m.lower_bound else '='}{m.value:.2f}{unc}/{m.n_stations}"
            + (f"@{m.agency}" if m.agency else "") + ("!held" if m.held else ""))


def event_json(e: Event) -> tuple[str, str]:
    """(field name, value) holding ``Event.to_dict()``: ``json`` or, if large, ``json_z``."""
    text = json.dumps(e.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if len(text.encode("utf-8")) <= MAX_JSON_BYTES:
        return "json", text
    packed = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    if len(packed) > MAX_JSON_BYTES:
        raise StoreError(f"event {e.id}: JSON too large to store ({len(packed)} bytes packed)")
    return "json_z", packed


def event_point(e: Event) -> StorePoint:
    """``events``: one point per event version at the origin time; status is a tag, and
    ``solution`` (:data:`STREAM_SOLUTION`) for a version of the real-time detector."""
    jkey, jval = event_json(e)
    return make_point(
        EVENTS,
        {"status": e.status, "solution": STREAM_SOLUTION if e.solution == "stream" else None},
        {"event_id": e.id, "version": int(e.version), "latitude": _f(e.latitude),
         "longitude": _f(e.longitude), "depth_km": _f(e.depth_km),
         "magnitude": _f(e.magnitude), "magnitude_type": e.magnitude_type,
         "magnitude_uncertainty": _f(e.magnitude_uncertainty),
         "magnitude_lower_bound": bool(e.magnitude_lower_bound),
         "magnitudes": ";".join(magnitude_token(m) for m in e.magnitudes),
         "ellipse_90_major_km": _f(e.ellipse_90_major_km),
         "ellipse_90_minor_km": _f(e.ellipse_90_minor_km),
         "ellipse_azimuth_deg": _f(e.ellipse_azimuth_deg),
         "n_magnitude_stations": int(e.n_magnitude_stations), "rms_s": _f(e.rms_s),
         "azimuthal_gap_deg": _f(e.azimuthal_gap_deg), "n_stations": int(e.n_stations),
         "n_phases": int(e.n_phases),
         "horizontal_uncertainty_km": _f(e.horizontal_uncertainty_km),
         "vertical_uncertainty_km": _f(e.vertical_uncertainty_km),
         "max_intensity": _f(e.max_intensity), "max_mmi": _f(e.max_mmi),
         "outside_network": bool(e.outside_network), "depth_fixed": bool(e.depth_fixed),
         "unconstrained": bool(e.unconstrained),
         "n_clipped_stations": int(e.n_clipped_stations), jkey: jval},
        e.time,
    )


def event_points(e: Event, details: bool = True) -> list[StorePoint]:
    """The ``events`` point plus (``details``) its station magnitudes and intensities:
    ``station_magnitudes`` (one point per component amplitude), ``station_intensity``
    (observed PGA/PGV/intensity per station) and ``site_intensity`` (predicted intensity
    at a configured site), each with the event id, at the origin time."""
    pts = [event_point(e)]
    if not details:
        return pts
    rows: list[tuple[str, dict[str, str | None], dict[str, Any]]] = []
    rows += [
        (STATION_MAGNITUDES, {"network": m.network, "station": m.station, "channel": m.channel},
         {"amplitude_nm": _f(m.amplitude_nm), "hypo_distance_km": _f(m.hypo_distance_km),
          "ml": _f(m.ml), "used": bool(m.used)})
        for m in e.station_magnitudes
    ]
    rows += [
        (STATION_INTENSITY, {"network": s.network, "station": s.station},
         {"latitude": _f(s.latitude), "longitude": _f(s.longitude), "pga_ms2": _f(s.pga_ms2),
          "pgv_ms": _f(s.pgv_ms), "intensity_cn": _f(s.intensity_cn), "mmi": _f(s.mmi),
          "epi_distance_km": _f(s.epi_distance_km)})
        for s in e.station_intensities
    ]
    rows += [
        (SITE_INTENSITY, {"site": site.name, "kind": site.kind},
         {"latitude": _f(site.latitude), "longitude": _f(site.longitude),
          "distance_km": _f(site.distance_km), "intensity_cn": _f(site.intensity_cn),
          "mmi": _f(site.mmi), "sigma_cn": _f(site.sigma_cn), "basis": site.basis})
        for site in e.site_intensities
    ]
    pts += [make_point(name, tags, {"event_id": e.id, **fields}, e.time)
            for name, tags, fields in rows]
    return pts


_HEALTH_FIXED = {"status_code", "reasons"}


def health_point(h: StationHealth) -> StorePoint:
    """``station_health``: status tag, ``status_code``, ``reasons`` and one field per metric."""
    fields: dict[str, Any] = {
        "status_code": STATUS_CODE.get(h.status, 3),
        "reasons": "; ".join(one_line(r) for r in h.reasons) if h.reasons else None,
    }
    for k, v in h.metrics.items():
        if k in _HEALTH_FIXED or k in TAGS[STATION_HEALTH]:
            raise StoreError(
                f"station_health {h.network}.{h.station}: metric name {k!r} is reserved"
            )
        fields[k] = None if v is None else float(v)
    return make_point(
        STATION_HEALTH,
        {"network": h.network, "station": h.station, "location": h.location,
         "channel": h.channel, "status": h.status},
        fields,
        h.time,
    )


def station_status_point(r: StationResult, window_end: UTCDateTime) -> StorePoint:
    """``station_status``: per-window feed status of one station, at the window end."""
    return make_point(
        STATION_STATUS,
        {"network": r.network, "station": r.station},
        {"samples": int(r.n_samples), "error": r.error is not None,
         "error_message": one_line(r.error) if r.error else None,
         "n_channels": len(r.channels), "n_picks": len(r.picks)},
        window_end,
    )


def heartbeat_point(host: str, time: UTCDateTime, fields: Mapping[str, Any]) -> StorePoint:
    """``stream_heartbeat``: one point per beat of ``seismo stream`` (tag ``host``)."""
    return make_point(STREAM_HEARTBEAT, {"host": one_line(host) or "unknown"}, dict(fields), time)


_ALERT_TAGS = TAGS[ALERTS]


def alert_point(record: Mapping[str, Any]) -> StorePoint:
    """``alerts``: one point per delivery record at its ``sent`` time.

    ``record`` needs ``identifier`` and ``sent``; ``group``, ``channel``, ``status``,
    ``msg_type`` become tags; every other scalar becomes a field (times as ISO strings).
    """
    if not record.get("identifier"):
        raise StoreError(f"alert record without identifier: keys {sorted(record)}")
    if record.get("sent") is None:
        raise StoreError(f"alert record {record['identifier']!r} without 'sent' time")
    tags = {k: (None if record.get(k) is None else str(record[k])) for k in _ALERT_TAGS}
    fields: dict[str, Any] = {}
    for k, v in record.items():
        if k in _ALERT_TAGS or k == "sent" or v is None:
            continue
        if isinstance(v, UTCDateTime):
            v = v.isoformat() + "Z"
        elif isinstance(v, dt.datetime):
            v = v.isoformat()
        elif not isinstance(v, bool | int | float | str):
            v = str(v)
        fields[k] = float(v) if isinstance(v, float) else v
    return make_point(ALERTS, tags, fields, time_us(record["sent"]))
