"""Report files: event figures (``seismo event plot``) and the daily bulletin.

Daily bulletin (:func:`write_bulletin`, ``seismo bulletin``, the daily-report DAG)
for one UTC day, read from InfluxDB, written to one directory:

* ``bulletin.html``: offline HTML (no external resource; images are the local PNGs
  next to it): events table, map, magnitude-time plot, station availability;
* ``events.xml``: QuakeML 1.2 of the listed events (:func:`seismo.io.output.write_quakeml`);
* ``events.json``: the flat JSON bulletin (:func:`seismo.io.output.write_json`);
* ``map.png``, ``magnitude_time.png``, ``availability.png``.

Events are the latest version of each event with origin time in the day; rejected
events are left out (and counted). Station availability comes from the
``station_status`` measurement (one point per station per processed window, at
the window end): availability = windows with data (samples > 0, no feed error)
/ windows processed that day (distinct window ends of any station). The share of
the day's windows that were processed at all is reported as pipeline coverage.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from obspy import Stream, UTCDateTime

from seismo.boundary import boundary
from seismo.config import Settings, mask_url
from seismo.errors import DataError
from seismo.geo import distance_km
from seismo.io.feeds import fetch_window
from seismo.io.output import write_json, write_quakeml
from seismo.io.store import InfluxStore
from seismo.model import Event
from seismo.shells.window_context import Context

if TYPE_CHECKING:
    from seismo.io.plots import StationPoint, TraceLine
    from seismo.io.store import InfluxStore
    from seismo.io.store.connection import InfluxConnection
    from seismo.shells.window_context import Context

log = logging.getLogger(__name__)

#: Record section span: from the origin minus this (s) ...
RECORD_PRE_S = 10.0
#: ... to the last predicted S arrival plus this (s) (issue "Event review").
RECORD_POST_S = 30.0

BULLETIN_FILES = ("bulletin.html", "events.xml", "events.json", "map.png",
                  "magnitude_time.png", "availability.png")


# --------------------------------------------------------------------------- helpers
def day_start(day: UTCDateTime | dt.date | dt.datetime | str) -> UTCDateTime:
    """00:00 UTC of ``day`` (a date, an aware datetime, a UTCDateTime or "YYYY-MM-DD")."""
    if isinstance(day, dt.datetime):
        if day.tzinfo is None:
            raise DataError(f"naive datetime {day.isoformat()} (timezone-aware only)")
        t = UTCDateTime(day)
    elif isinstance(day, dt.date):
        return UTCDateTime(day.year, day.month, day.day)
    elif isinstance(day, UTCDateTime):
        t = day
    else:
        try:
            t = UTCDateTime(str(day))
        except (TypeError, ValueError):  # what UTCDateTime raises
            raise DataError(f"day {day!r} is not a date (YYYY-MM-DD)") from None
    return UTCDateTime(t.year, t.month, t.day)


def reports_root(settings: Settings) -> Path:
    """The ``[report] dir`` setting (default ``var/reports``)."""
    return Path(settings.report.dir)


def default_bulletin_dir(settings: Settings, day: UTCDateTime) -> Path:
    """``<[report] dir>/YYYY-MM-DD``."""
    return reports_root(settings) / day.strftime("%Y-%m-%d")


def _station_points(ctx: Context) -> list[StationPoint]:
    from seismo.io.plots import StationPoint

    return [StationPoint(s.id, s.latitude, s.longitude) for s in ctx.stations.values()]


# --------------------------------------------------------------------------- event figures
def _display_trace(st: Stream, ctx: Context, sid: str) -> tuple[Any, str] | None:
    """The vertical trace to draw for a station (velocity sensor first) and its kind."""
    info = ctx.stations.get(sid)
    order = []
    if info is not None:
        chans = sorted(info.channels, key=lambda c: (c.kind != "velocity", c.location, c.channel))
        order = [(c.seed_id, c.kind or "velocity") for c in chans if c.component == "Z"]
    for seed, kind in order:
        sel = st.select(id=seed)
        if len(sel):
            return sel, kind
    sel = st.select(component="Z") or st
    if not len(sel):
        return None
    return sel.select(id=sel[0].id), "velocity"


#: A trace shows the event when its peak from the first arrival to the last (+ 5 s) is
#: at least this many times its peak before the first arrival (design choice: the peak
#: of pure noise over two windows of similar length differs by ~1.0-1.3, so 2 leaves no
#: doubt; a station that picked the event passed a trigger ratio of 3 or more).
SHOWS_EVENT_RATIO = 2.0


def shows_event(times_s: np.ndarray, values: np.ndarray, first_s: float,
                last_s: float) -> tuple[bool, str]:
    """Whether a trace holds the event: it covers ``first_s`` - 1 s to ``last_s`` (s after
    the origin) and its peak there is :data:`SHOWS_EVENT_RATIO` times the peak before.
    Returns (answer, the reason when False)."""
    if not times_s.size or times_s[0] > first_s - 1.0 or times_s[-1] < last_s:
        span = f"{times_s[0]:+.0f}..{times_s[-1]:+.0f} s" if times_s.size else "empty"
        return False, f"no data at the arrivals (trace {span})"
    a = np.abs(np.nan_to_num(values))
    noise = a[times_s < first_s - 1.0]
    sig = a[(times_s >= first_s - 0.5) & (times_s <= last_s + 5.0)]
    if noise.size < 10 or not sig.size:
        return False, "too little data before the arrivals to tell"
    ratio = float(sig.max()) / max(float(noise.max()), 1e-30)
    if ratio < SHOWS_EVENT_RATIO:
        return False, f"no signal above noise (ratio {ratio:.1f})"
    return True, ""


def event_waveforms(
    settings: Settings, ctx: Context, event: Event, ids: Sequence[str], t0: UTCDateTime,
    t1: UTCDateTime, feed_url: str | None = None,
) -> tuple[dict[str, Stream], dict[str, str], str]:
    """The event's waveforms by station: from the event archive (written when seismo
    detected it, :mod:`seismo.io.event_archive`) unless ``feed_url`` is given, else from
    the feeds. Returns (streams by ``NET.STA``, errors by station, source description)."""
    from seismo.io.event_archive import archive_path, read_event_waveforms

    root = settings.stream.event_archive_dir
    if feed_url is None:
        st = read_event_waveforms(root, event.id)
        if st is not None:
            out = {}
            for sid in ids:
                net, sta = sid.split(".", 1)
                sel = st.select(network=net, station=sta).slice(t0, t1)
                if len(sel):
                    out[sid] = sel
            errors = {sid: "not in the event archive" for sid in ids if sid not in out}
            return out, errors, f"event archive {archive_path(root, event.id)}"
    fetched = fetch_window(settings.feeds, ctx.inventory, t0, t1, feed_url=feed_url,
                           stations=list(ids), simulator=settings.simulator,
                           network=settings.network)
    out, errors = {}, {}
    for sid in ids:
        res = fetched.get(sid)
        if res is None or res.error or res.stream is None or not len(res.stream):
            errors[sid] = (res.error if res is not None else None) or "no data"
        else:
            out[sid] = res.stream
    return out, errors, f"feed {mask_url(feed_url or settings.feeds.default)}"


def event_traces(
    settings: Settings, ctx: Context, event: Event, feed_url: str | None = None
) -> tuple[list[TraceLine], dict[str, str], tuple[float, float]]:
    """Band-passed, normalised vertical traces of the event's stations.

    The span is origin - :data:`RECORD_PRE_S` to the last predicted S arrival +
    :data:`RECORD_POST_S`. The band is the picker band of the channel kind
    (``picker.bands``). Waveforms come from the event archive, or from ``feed_url``
    (:func:`event_waveforms`); each trace says whether it holds the event
    (:func:`shows_event`). Returns (traces, errors by station, band of velocity traces).
    """
    return event_traces_from(settings, ctx, event, feed_url)[:3]  # type: ignore[return-value]


def event_traces_from(
    settings: Settings, ctx: Context, event: Event, feed_url: str | None = None
) -> tuple[list[TraceLine], dict[str, str], tuple[float, float], str]:
    """:func:`event_traces` plus the description of where the waveforms came from."""
    from seismo.io.plots import TraceLine

    ids = sorted({f"{a.network}.{a.station}" for a in event.arrivals}
                 | {p.station_id for p in event.picks})
    ids = [i for i in ids if i in ctx.stations] or sorted(ctx.stations)
    dist = {
        sid: float(distance_km(event.latitude, event.longitude, ctx.stations[sid].latitude,
                               ctx.stations[sid].longitude))
        for sid in ids
    }
    depth = max(event.depth_km, 0.0)
    last_s = max(float(ctx.velocity.travel_time("S", d, depth)) for d in dist.values())
    t0, t1 = event.time - RECORD_PRE_S, event.time + last_s + RECORD_POST_S
    streams, errors, source = event_waveforms(settings, ctx, event, ids, t0, t1, feed_url)
    traces: list[TraceLine] = []
    bands = settings.picker.bands
    arrivals: dict[str, list[float]] = {}
    for p in event.picks:
        arrivals.setdefault(p.station_id, []).append(float(p.time - event.time))
    for sid in ids:
        if sid not in streams:
            continue
        chosen = _display_trace(streams[sid], ctx, sid)
        if chosen is None:
            errors[sid] = "no vertical channel"
            continue
        sel, kind = chosen
        band = bands.get(kind) or bands.get("velocity")
        # one bad station never stops the figure: the figure names it and why
        with boundary("record section", logger=log, expected=(Exception,), station=sid,
                      event=event.id) as failure:
            sel = sel.copy().merge(method=1, fill_value="interpolate")
            tr = sel[0]
            tr.data = tr.data.astype(np.float64)
            tr.detrend("demean")
            tr.detrend("linear")
            tr.taper(0.05)
            if band is not None:
                fmax = min(band.freqmax, 0.45 * tr.stats.sampling_rate)
                tr.filter("bandpass", freqmin=band.freqmin, freqmax=fmax, corners=band.corners,
                          zerophase=True)
        if failure:
            errors[sid] = f"processing failed: {failure.error}"
            continue
        peak = float(np.max(np.abs(tr.data))) if tr.stats.npts else 0.0
        if not peak > 0:
            errors[sid] = "flat trace"
            continue
        times = tr.times() + float(tr.stats.starttime - event.time)
        when = arrivals.get(sid) or [float(ctx.velocity.travel_time(ph, dist[sid], depth))
                                     for ph in ("P", "S")]
        ok, note = shows_event(times, tr.data, min(when), max(when))
        traces.append(TraceLine(sid, tr.stats.channel, dist[sid], times, tr.data / peak,
                                ok, note))
    vb = bands.get("velocity")
    band_hz = (vb.freqmin, vb.freqmax) if vb is not None else (0.0, 0.0)
    return traces, errors, band_hz, source


def plot_event(
    settings: Settings,
    event: Event,
    out_dir: Path,
    *,
    feed_url: str | None = None,
    ctx: Context | None = None,
) -> list[Path]:
    """Write ``<id>_record_section.png`` and ``<id>_map.png`` for ``event`` into ``out_dir``.

    Raises:
        DataError: no station of the event had waveforms in the feed.
    """
    from seismo.io.plots import plot_event_map, plot_record_section

    ctx = ctx or Context.from_settings(settings)
    out_dir = Path(out_dir)
    traces, errors, band = event_traces(settings, ctx, event, feed_url)
    for sid, err in sorted(errors.items()):
        log.warning("event %s: no trace for %s: %s", event.id, sid, err)
    if not traces:
        raise DataError(
            f"event {event.id}: no waveforms from "
            f"{mask_url(feed_url or settings.feeds.default)} for "
            f"{event.time - RECORD_PRE_S} onwards ({len(errors)} stations failed, e.g. "
            f"{next(iter(errors.items()), ('-', '-'))})"
        )
    dmax = max(t.distance_km for t in traces) * 1.05 + 1.0
    d = np.linspace(0.0, dmax, 120)
    depth = max(event.depth_km, 0.0)
    predicted = {ph: (d, np.asarray(ctx.velocity.travel_time(ph, d, depth), dtype=float))
                 for ph in ("P", "S")}
    rs = plot_record_section(traces, event, predicted, out_dir / f"{event.id}_record_section.png",
                             picks=event.picks, band_hz=band)
    mp = plot_event_map(event, _station_points(ctx), out_dir / f"{event.id}_map.png")
    return [rs, mp]


# --------------------------------------------------------------------------- availability
@dataclass(frozen=True)
class StationAvailability:
    """Windows with data of one station over the processed windows of a period."""

    station_id: str
    windows_with_data: int
    windows: int

    @property
    def percent(self) -> float | None:
        """Windows with data / windows processed (%); None when no window was processed
        (unknown, never 0 %)."""
        return 100.0 * self.windows_with_data / self.windows if self.windows else None


def station_availability(
    store: InfluxStore, start: UTCDateTime, end: UTCDateTime,
    station_ids: Sequence[str] = (),
) -> tuple[list[StationAvailability], int]:
    """Per-station availability from ``station_status`` with window end in (start, end].

    ``station_ids`` (e.g. the inventory) are listed even without any point.
    Returns (availability per station sorted by id, number of processed windows).
    """
    rows = store.query_station_status(start, end)
    windows = {r["time"] for r in rows}
    good: dict[str, set[int]] = {sid: set() for sid in station_ids}
    for r in rows:
        sid = f"{r.get('network', '')}.{r.get('station', '')}"
        ok = (r.get("samples") or 0) > 0 and not r.get("error")
        good.setdefault(sid, set())
        if ok:
            good[sid].add(r["time"])
    out = [StationAvailability(sid, len(ts), len(windows)) for sid, ts in sorted(good.items())]
    return out, len(windows)


# --------------------------------------------------------------------------- bulletin
_CSS = """
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}
th,td{border:1px solid #bbb;padding:3px 7px;text-align:right}
th{background:#eee} td.l{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
"""


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _events_table(events: Sequence[Event]) -> str:
    head = ("origin time (UTC)", "id", "lat (deg)", "lon (deg)", "depth (km)", "ML",
            "max I (GB/T 17742)", "stations", "rms (s)", "gap (deg)", "status", "version")
    rows = []
    for e in events:
        cells = (str(e.time)[:22], e.id, f"{e.latitude:.4f}", f"{e.longitude:.4f}",
                 f"{e.depth_km:.1f}", _fmt(e.magnitude, ".1f"), _fmt(e.max_intensity, ".1f"),
                 str(e.n_stations), f"{e.rms_s:.2f}", f"{e.azimuthal_gap_deg:.0f}", e.status,
                 str(e.version))
        rows.append("<tr>" + "".join(
            f'<td class="l">{html.escape(c)}</td>' if i in (0, 1, 10) else
            f"<td>{html.escape(c)}</td>" for i, c in enumerate(cells)) + "</tr>")
    if not rows:
        rows = [f'<tr><td class="l" colspan="{len(head)}">no events</td></tr>']
    return ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
            + "".join(rows) + "</table>")


def _availability_table(avail: Sequence[StationAvailability]) -> str:
    rows = "".join(
        f'<tr><td class="l">{html.escape(a.station_id)}</td><td>{a.windows_with_data}</td>'
        f"<td>{a.windows}</td><td>{_fmt(a.percent, '.1f')}</td></tr>" for a in avail)
    return ("<table><tr><th>station</th><th>windows with data</th><th>windows processed</th>"
            f"<th>availability (%)</th></tr>{rows}</table>")


def bulletin_html(
    settings: Settings,
    day: UTCDateTime,
    events: Sequence[Event],
    n_rejected: int,
    avail: Sequence[StationAvailability],
    n_windows: int,
    images: dict[str, str],
) -> str:
    """The bulletin page (offline: images are relative file names)."""
    name = html.escape(settings.network.name)
    date = day.strftime("%Y-%m-%d")
    expected = round(86400.0 / settings.pipeline.window_s)
    cover = 100.0 * n_windows / expected if expected else 0.0
    img = {k: html.escape(v) for k, v in images.items()}
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{name}: bulletin {date}</title><style>{_CSS}</style></head>
<body>
<h1>{name}</h1>
<h2>Daily bulletin {date} (UTC)</h2>
<p>{len(events)} events listed; {n_rejected} rejected by review not listed.
Generated {str(UTCDateTime())[:19]} UTC. Files: <a href="events.xml">QuakeML</a>,
<a href="events.json">JSON</a>.</p>
<h2>Events</h2>
{_events_table(events)}
<h2>Map</h2>
<img src="{img['map']}" alt="map of stations and epicentres">
<h2>Magnitude&ndash;time</h2>
<img src="{img['magnitude_time']}" alt="ML against origin time">
<h2>Station availability</h2>
<p>Windows processed: {n_windows} of {expected} ({cover:.1f} % pipeline coverage).
Availability = windows with data / windows processed: it counts only the {n_windows}
windows the pipeline processed, not the day's {expected}{
"; no window was processed, so availability is unknown" if not n_windows else ""}.</p>
<img src="{img['availability']}" alt="station availability">
{_availability_table(avail)}
</body>
</html>
"""


def write_bulletin(
    settings: Settings,
    day: UTCDateTime | dt.date | dt.datetime | str,
    out_dir: str | Path | None = None,
    *,
    connection: InfluxConnection | None = None,
) -> list[Path]:
    """Write the daily bulletin of ``day`` (UTC) and return the written files.

    ``out_dir`` defaults to ``YYYY-MM-DD`` in the ``[report] dir`` setting;
    ``connection`` replaces the store connection of the settings.

    Raises:
        StoreError: the store cannot be queried.
    """
    from seismo.io.plots import plot_availability, plot_events_map, plot_magnitude_time

    d0 = day_start(day)
    d1 = d0 + 86400.0
    out = Path(out_dir) if out_dir is not None else default_bulletin_dir(settings, d0)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context.from_settings(settings)
    with InfluxStore.from_settings(settings.store, connection) as store:
        latest = store.query_events(d0, d1 - 1e-6)
        avail, n_windows = station_availability(store, d0, d1, sorted(ctx.stations))
    events = [e for e in latest if e.status != "rejected"]
    n_rejected = len(latest) - len(events)
    date = d0.strftime("%Y-%m-%d")
    paths = [
        write_quakeml(events, out / "events.xml"),
        write_json(events, out / "events.json"),
        plot_events_map(events, _station_points(ctx), out / "map.png",
                        f"{settings.network.name}: {date} ({len(events)} events)"),
        plot_magnitude_time(events, d0, d1, out / "magnitude_time.png", f"ML, {date}"),
        plot_availability({a.station_id: a.percent for a in avail if a.percent is not None},
                          out / "availability.png",
                          f"station availability {date} (of the {n_windows} windows processed)",
                          warn_pct=settings.health.warn_availability_pct,
                          fail_pct=settings.health.fail_availability_pct),
    ]
    images = {"map": "map.png", "magnitude_time": "magnitude_time.png",
              "availability": "availability.png"}
    page = out / "bulletin.html"
    page.write_text(bulletin_html(settings, d0, events, n_rejected, avail, n_windows, images),
                    encoding="utf-8")
    log.info("bulletin %s: %d events (%d rejected), %d windows -> %s", date, len(events),
             n_rejected, n_windows, out)
    return [page, *paths]


__all__ = [
    "BULLETIN_FILES", "StationAvailability", "day_start", "default_bulletin_dir",
    "event_traces", "plot_event", "station_availability", "write_bulletin",
]
