"""One time window, end to end: the single code path of every shell.

The Airflow DAG (one mapped task per station, then one event task), ``seismo
detect`` (any range, in windows), drills and tests all call these functions,
so they give the same answer for the same window.

Windows
    Windows are aligned on a grid of ``pipeline.window_s`` seconds (shifted by
    ``pipeline.window_offset_s``: the shipped setting makes a run on the minute
    process the window that became complete ``postroll_s + safety_margin_s`` before
    it). Each station
    is read over ``[start - preroll_s, end + postroll_s)``: the pre-roll warms up
    the STA/LTA and the filters, the post-roll lets events whose first pick is
    late in the window be seen at every station. A pick belongs to the window
    that contains its time; an event belongs to the window that contains its
    earliest pick. Pick and event ids depend only on pick times, so overlapping
    reads give one pick and one event with a stable identity, and reprocessing
    a window is idempotent.

Waveforms never leave :func:`process_station`: what crosses task boundaries is a
:class:`~seismo.model.StationResult` (picks and per-second amplitude peaks).

Imports: the event stages are imported with the module; the station stages and
the feeds (SciPy's signal processing, numba, the SeedLink client: ~2 s to import)
only when a station is processed. A DAG task that plans a window, measures
events or stores them starts without them.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from obspy import Inventory, Stream, UTCDateTime

from seismo.boundary import boundary
from seismo.config import Settings
from seismo.errors import FeedError, LocationError, SeismoError
from seismo.event.associate import associate
from seismo.event.candidate import EventCandidate
from seismo.event.geometry import Derived, derive
from seismo.event.identity import first_pick_time
from seismo.event.locate import Origin
from seismo.event.measure import EventMeasurer
from seismo.event.sanity import sanity_reasons
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.shortfall import Shortfall, shortfall
from seismo.event.sites import load_sites
from seismo.event.trains import WaveTrain
from seismo.event.velocity import PHASES, TravelTimeTable, VelocityModel, load_velocity_model
from seismo.geo import distance_km
from seismo.inventory import StationInfo, load_inventory, report_response_gaps, station_map
from seismo.model import AmplitudeSeries, Event, Pick, StationResult
from seismo.shells.revisit import DistantTrains, completion_time, waits
from seismo.shells.solution import event_of
from seismo.station.picker.settings import PickerConfig

log = logging.getLogger(__name__)

StreamSource = Callable[[str, UTCDateTime, UTCDateTime], Stream]


@dataclass(frozen=True)
class Window:
    """A processing window ``[start, end)`` and the data span read for it."""

    start: UTCDateTime
    end: UTCDateTime
    preroll_s: float
    postroll_s: float

    @property
    def data_start(self) -> UTCDateTime:
        return self.start - self.preroll_s

    @property
    def data_end(self) -> UTCDateTime:
        return self.end + self.postroll_s

    def to_dict(self) -> dict[str, object]:
        return {
            "start": str(self.start),
            "end": str(self.end),
            "preroll_s": self.preroll_s,
            "postroll_s": self.postroll_s,
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Window:
        return cls(
            UTCDateTime(str(d["start"])),
            UTCDateTime(str(d["end"])),
            float(d["preroll_s"]),  # type: ignore[arg-type]
            float(d["postroll_s"]),  # type: ignore[arg-type]
        )

    def __str__(self) -> str:
        return f"[{self.start} – {self.end})"


def _floor(t: UTCDateTime, step: float, offset: float = 0.0) -> UTCDateTime:
    """The latest grid time (``offset + k * step``) not after ``t``."""
    return UTCDateTime(math.floor((float(t.timestamp) - offset) / step) * step + offset)


def window_for_run(settings: Settings, run_time: UTCDateTime | datetime) -> Window:
    """The newest complete window a run at ``run_time`` can process.

    Its data end (window end + post-roll) is at least ``safety_margin_s`` before
    ``run_time``, leaving that margin for late-arriving data.
    """
    p = settings.pipeline
    t = UTCDateTime(run_time)
    end = _floor(t - p.postroll_s - p.safety_margin_s, p.window_s, p.window_offset_s)
    return Window(end - p.window_s, end, p.preroll_s, p.postroll_s)


def windows_between(settings: Settings, start: UTCDateTime, end: UTCDateTime) -> list[Window]:
    """Grid-aligned windows covering ``[start, end)``."""
    p = settings.pipeline
    if end <= start:
        raise SeismoError(f"end ({end}) must be after start ({start})")
    t = _floor(start, p.window_s, p.window_offset_s)
    out = []
    while t < end:
        out.append(Window(t, t + p.window_s, p.preroll_s, p.postroll_s))
        t = t + p.window_s
    return out


@dataclass
class Context:
    """What every window needs, loaded once: settings, inventory, model, sites, and the
    thresholds the inventory sets (:mod:`seismo.event.geometry`).

    ``velocity`` is the configured model with its datum at the highest station;
    :attr:`assoc_cfg` and :attr:`locate_cfg` are ``[associate]`` and ``[locate]`` with
    the network's grid, depth range, maximum distance and fallback depth. Every stage
    call of the shells takes them from here.
    """

    settings: Settings
    inventory: Inventory
    velocity: VelocityModel
    sites: list = field(default_factory=list)
    derived: Derived | None = None
    _pickers: dict[str, PickerConfig] = field(default_factory=dict, repr=False)
    shortfall: Shortfall = field(default_factory=Shortfall)  # summed over windows measured

    def __post_init__(self) -> None:
        if self.derived is None and self.stations:
            s = self.settings
            self.derived = derive(
                self.stations, self.velocity, s.associate, s.locate,
                merge_s=s.picker.station_merge_s, s_picks=s.picker.s_picks,
            )
            self.velocity = self.derived.model
            self.derived.log(log)

    @property
    def assoc_cfg(self) -> AssociateConfig:
        """``[associate]`` with the network's thresholds."""
        return self.derived.associate if self.derived else self.settings.associate

    @property
    def locate_cfg(self) -> LocateConfig:
        """``[locate]`` with the network's thresholds."""
        return self.derived.locate if self.derived else self.settings.locate

    @property
    def separable_s(self) -> frozenset[str] | None:
        """Stations whose S the picker can separate from their P (None: unknown)."""
        return self.derived.separable_s if self.derived else None

    @cached_property
    def max_travel_s(self) -> float:
        """The longest P travel time (s) the association grid allows (its farthest node,
        shallowest or deepest)."""
        d = self.assoc_cfg.max_distance_km
        zs = (self.velocity.min_depth_km, self.locate_cfg.depth_max_km)
        return max(float(self.velocity.travel_time("P", d, z)) for z in zs)

    def sanity(self, event: Event, start: UTCDateTime, end: UTCDateTime) -> list[str]:
        """Why ``event``, located from picks of ``[start, end)``, must not be published
        (:func:`seismo.event.sanity.sanity_reasons`; empty: it may)."""
        return sanity_reasons(event, self.locate_cfg, self.stations, (start, end),
                              self.max_travel_s)

    def picker_cfg(self, station_id: str) -> PickerConfig:
        """``[picker]`` for one station: the S inside a P's onset cluster is looked for
        only where the network expects S-P shorter than the merge span (stations without
        a separable S, :func:`seismo.event.geometry.separable_s_stations`); elsewhere an
        onset cluster that close is an S with a precursor, not a P and an S."""
        cfg = self.settings.picker
        sep = self.separable_s
        if sep is None or not cfg.inner_s or station_id not in sep:
            return cfg
        got = self._pickers.get(station_id)
        if got is None:
            got = self._pickers[station_id] = cfg.model_copy(update={"inner_s": False})
        return got

    def threshold_lines(self) -> list[str]:
        """The effective thresholds and their rules, one line each."""
        return self.derived.lines() if self.derived else []

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        inventory: str | Path | Inventory | None = None,
        *,
        check_responses: bool = True,
    ) -> Context:
        """Load the inventory, velocity model and sites of ``settings``.

        ``check_responses``: evaluate every channel's response now and warn once about
        those that give no ML or intensity (:func:`seismo.inventory.report_response_gaps`;
        ~25 ms a channel). A DAG task that handles a few stations passes False and
        checks its own stations (:func:`report_station_responses`).
        """
        if isinstance(inventory, Inventory):
            inv = inventory
        else:
            inv = load_inventory(inventory or settings.network.inventory)
        if check_responses:
            report_response_gaps(inv)  # once, at start-up: which channels give no ML/intensity
        return cls(
            settings=settings,
            inventory=inv,
            velocity=load_velocity_model(settings.network.velocity_model),
            sites=load_sites(settings.network.sites),
        )

    def prepare_tables(self) -> None:
        """Give the velocity model its travel-time tables before the first association.

        From ``pipeline.cache_dir`` when an earlier process left them there for the
        same model and code (:meth:`~seismo.event.velocity.VelocityModel.fingerprint`),
        else built here (~1.5-3 s) and left there for the next process. A cache that
        cannot be read or written is logged and bypassed.
        """
        model = self.velocity
        cache = self.settings.pipeline.cache_dir
        if cache is None:
            model.build_tables()
            return
        path = Path(cache) / f"traveltimes-{model.fingerprint()}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    dists, depths = z["distances_km"], z["depths_km"]
                    model.use_tables({
                        ph: TravelTimeTable(ph, depths, dists, z[f"times_{ph}"]) for ph in PHASES
                    })
                return
            except (OSError, KeyError, ValueError) as exc:
                log.warning("travel-time cache %s unusable (%s); building the tables", path, exc)
        tables = model.tables()
        t = tables["P"]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            arrays: dict[str, Any] = {f"times_{ph}": tables[ph].times_s for ph in PHASES}
            np.savez(tmp, distances_km=t.distances_km, depths_km=t.depths_km, **arrays)
            os.replace(tmp, path)
        except OSError as exc:
            log.info("travel-time tables not cached in %s: %s", cache, exc)

    @cached_property
    def stations(self) -> dict[str, StationInfo]:
        return station_map(self.inventory)

    @cached_property
    def measurer(self) -> EventMeasurer:
        """The measurement stage (:mod:`seismo.event.measure`) for this network."""
        s = self.settings
        return EventMeasurer(self.stations, self.p_time, self.s_time, self.sites, s.magnitude,
                             s.intensity)

    def p_time(self, distance_km: float, depth_km: float) -> float:
        return float(self.velocity.travel_time("P", distance_km, depth_km))

    def s_time(self, distance_km: float, depth_km: float) -> float:
        return float(self.velocity.travel_time("S", distance_km, depth_km))


# --------------------------------------------------------------------------- stations
def report_station_responses(ctx: Context, station_ids: Iterable[str]) -> str | None:
    """Warn about the channels of ``station_ids`` without a usable response (the part of
    :func:`seismo.inventory.report_response_gaps` a station task is responsible for)."""
    return report_response_gaps(ctx.inventory, stations=set(station_ids))


def fetch_stations(
    ctx: Context,
    station_ids: Sequence[str],
    window: Window,
    feed_url: str | None = None,
    max_workers: int = 1,
) -> dict[str, Stream | FeedError]:
    """Read some stations' data for ``window`` (with pre- and post-roll) from their
    feeds, ``max_workers`` requests at a time; a station's failure is its FeedError."""

    from seismo.io.feeds import fetch_window  # lazily: see the module docstring

    got = fetch_window(
        ctx.settings.feeds,
        ctx.inventory,
        window.data_start,
        window.data_end,
        feed_url=feed_url,
        stations=list(station_ids),
        max_workers=max(1, min(max_workers, len(station_ids))),
        simulator=ctx.settings.simulator,
        network=ctx.settings.network,
    )
    out: dict[str, Stream | FeedError] = {}
    for sid, res in got.items():
        if res.error:
            out[sid] = FeedError(res.error, station=sid)
        else:
            out[sid] = res.stream if res.stream is not None else Stream()
    return out


def fetch_station(
    ctx: Context, station_id: str, window: Window, feed_url: str | None = None
) -> Stream:
    """Read one station's data for ``window`` (with pre- and post-roll) from its feed."""
    got = fetch_stations(ctx, [station_id], window, feed_url)[station_id]
    if isinstance(got, FeedError):
        raise got
    return got


def window_stream(stream: Stream, window: Window) -> Stream:
    """The samples of ``stream`` in the window's data span ``[data_start, data_end)`` (a copy).

    The half-open rule of the feeds (:func:`seismo.io.feeds.base.trim_half_open`): a
    stream fetched for the window and a longer stream cut here hold the same samples.
    """
    from seismo.io.feeds.base import trim_half_open  # lazily: see the module docstring

    return trim_half_open(stream, window.data_start, window.data_end)


def station_window_amplitudes(
    ctx: Context, stream: Stream, window: Window
) -> AmplitudeSeries | None:
    """Per-second amplitude peaks of one station over the window's data span.

    ``stream`` holds exactly the window's data span (:func:`window_stream`): the
    per-window path and ``seismo detect`` call this on the same samples, so they
    measure the same ML and intensity.
    """
    from seismo.station.amplitudes import station_amplitudes  # lazily: module docstring

    return station_amplitudes(
        stream, ctx.inventory, window.data_start, round(window.data_end - window.data_start),
        ctx.settings.intensity, instrument=ctx.settings.instrument,
    )


def process_station(
    ctx: Context,
    station_id: str,
    window: Window,
    *,
    stream: Stream | FeedError | None = None,
    feed_url: str | None = None,
) -> StationResult:
    """Picks and per-second amplitude peaks of one station for one window.

    ``stream``: the station's data when already read (or the FeedError its read gave,
    :func:`fetch_stations`); else it is fetched here. Never raises for a station
    problem: a feed or processing failure is returned in ``StationResult.error`` so
    that other stations go on.
    """

    net, _, sta = station_id.partition(".")
    try:
        if isinstance(stream, FeedError):
            raise stream
        st = stream if stream is not None else fetch_station(ctx, station_id, window, feed_url)
    except SeismoError as exc:
        log.warning("station %s: %s", station_id, exc)
        return StationResult(network=net, station=sta, error=str(exc))
    from seismo.station.picker import pick_stream  # lazily: see the module docstring
    from seismo.station.processing import drop_foreign_rates

    st = window_stream(st, window)
    st, dropped = drop_foreign_rates(st, ctx.inventory)
    for what in dropped:
        log.warning("station %s: %s", station_id, what)
    n_samples = sum(int(tr.stats.npts) for tr in st)
    channels = tuple(sorted({tr.id for tr in st}))
    if n_samples == 0:
        return StationResult(network=net, station=sta, error="no data in window", channels=channels)
    with boundary("processing", logger=log, station=station_id) as failure:
        picks = pick_stream(
            st, ctx.inventory, ctx.picker_cfg(station_id), instrument=ctx.settings.instrument,
            start=window.data_start, end=window.data_end,
        )
        amps = station_window_amplitudes(ctx, st, window)
    res = StationResult(network=net, station=sta, n_samples=n_samples, channels=channels)
    if failure:  # keep the other stations going; the error is reported
        return dataclasses.replace(res, error=f"processing failed: {failure.reason}")
    return dataclasses.replace(res, picks=tuple(picks), amplitudes=amps)


# --------------------------------------------------------------------------- events
def next_arrivals(
    ctx: Context, origin: Origin, candidates: Sequence[Any]
) -> dict[str, UTCDateTime]:
    """Per station, the predicted P of the next of ``candidates`` after ``origin``."""
    out: dict[str, UTCDateTime] = {}
    later = [c.origin for c in candidates if c.origin.time > origin.time]
    for sid, info in ctx.stations.items():
        for o in later:
            d = float(distance_km(o.latitude, o.longitude, info.latitude, info.longitude))
            t = o.time + ctx.p_time(d, o.depth_km)
            if sid not in out or t < out[sid]:
                out[sid] = t
    return out


def associate_window(
    ctx: Context, results: Sequence[StationResult], window: Window,
    known: Sequence[WaveTrain] = (),
) -> list[EventCandidate]:
    """Every located event candidate of the window's picks (also those another window owns).

    Only the stations that delivered data count for "who should have picked it".
    ``known``: the wave trains of distant events found in earlier windows
    (:class:`DistantTrains`). An association failure is logged and gives no candidate.
    """
    s = ctx.settings
    picks: list[Pick] = [p for r in results for p in r.picks]
    if not picks:
        return []
    try:
        live = live_stations(results)
        stations = {k: v for k, v in ctx.stations.items() if k in live}
        # association locates with pick errors alone; the model error enters the
        # event's final location and its uncertainty (final_location)
        return associate(
            picks, stations, ctx.velocity, ctx.assoc_cfg, ctx.locate_cfg,
            s_picks=s.picker.s_picks, separable_s=ctx.separable_s, known=known,
        )
    except LocationError as exc:
        log.warning("window %s: association failed: %s", window, exc)
        return []


def live_stations(results: Sequence[StationResult]) -> set[str]:
    """The stations that delivered data for the window (``"NET.STA"``)."""
    return {r.station_id for r in results if not r.error and r.n_samples > 0}


def owned_candidates(
    candidates: Sequence[EventCandidate], window: Window
) -> list[EventCandidate]:
    """The candidates this window owns: their earliest pick lies in ``[start, end)``."""
    return [c for c in candidates if window.start <= first_pick_time(c.origin.picks) < window.end]


def count_shortfall(
    ctx: Context, results: Sequence[StationResult], candidates: Sequence[EventCandidate],
    window: Window,
) -> Shortfall:
    """The window's own pick groups that no event took and that never reached the phase
    minimum (:func:`seismo.event.shortfall.shortfall`), added to ``ctx.shortfall``."""
    live = live_stations(results)
    stations = {k: v for k, v in ctx.stations.items() if k in live}
    picks = [p for r in results for p in r.picks]
    if len(stations) < 3 or not picks:
        return Shortfall()
    sf = shortfall(picks, candidates, stations, ctx.velocity, ctx.assoc_cfg,
                   s_picks=ctx.settings.picker.s_picks, separable_s=ctx.separable_s,
                   since=window.start, until=window.end)
    if sf.short:
        log.debug("window %s: %d of %d multi-station pick groups below %d phases", window,
                  sf.short, sf.groups, sf.min_phases)
    ctx.shortfall = ctx.shortfall + sf
    return sf


def measure_events(
    ctx: Context,
    candidates: Sequence[EventCandidate],
    amps: Mapping[str, AmplitudeSeries],
    window: Window,
    live: Collection[str],
    *,
    defer: bool = False,
    skip: Collection[str] = (),
) -> list[Event]:
    """The window's own events of ``candidates`` (:func:`associate_window`), finally
    located with the stations ``live`` (:func:`live_stations`) and measured on the
    stations' amplitude series ``amps`` (``"NET.STA"`` -> series), by origin time.

    ``defer``: leave out the candidates the window has not seen whole yet
    (:func:`revisit_window` processes the window again for them); ``skip``: event ids
    already published for this window (by its first pass, when this is a revisit).
    A solution the consistency checks doubt is published with its flags; one the data
    do not constrain is flagged unconstrained (:func:`event_of`).
    """
    stations = {k: v for k, v in ctx.stations.items() if k in live}
    events: list[Event] = []
    now = UTCDateTime()
    for cand in owned_candidates(candidates, window):
        if defer and waits(ctx, cand, window, stations):
            continue
        ev = event_of(ctx, cand, stations, now)
        if ev.id in skip:
            continue
        insane = ctx.sanity(ev, window.data_start, window.data_end)
        if insane:
            log.warning("event %s at %s not published: %s", ev.id, ev.time, "; ".join(insane))
            continue
        others = [c.origin.to_event("") for c in candidates if c is not cand]
        m = ctx.measurer.measure(ev, amps, next_arrivals(ctx, cand.origin, candidates), others)
        if m.event.flags:
            log.warning("event %s flagged: %s (docs/consistency.md)", ev.id,
                        "; ".join(m.event.flags))
        events.append(m.event)
    events.sort(key=lambda e: e.time)
    return events


def process_events(ctx: Context, results: Sequence[StationResult], window: Window) -> list[Event]:
    """Associate, locate, and add magnitude and intensity for the window's events."""
    candidates = associate_window(ctx, results, window)
    count_shortfall(ctx, results, candidates, window)
    amps = {r.station_id: r.amplitudes for r in results if r.amplitudes is not None}
    return measure_events(ctx, candidates, amps, window, live_stations(results))


def revisit_window(
    ctx: Context, candidates: Sequence[EventCandidate], window: Window, live: Collection[str]
) -> Window | None:
    """The window again with the post-roll its incomplete own events need (None: every
    own event is complete, or the window cannot wait longer): the revisit processes it
    when that much data is in, and publishes what the first pass left out
    (docs/location.md, "Window edges")."""
    stations = {k: v for k, v in ctx.stations.items() if k in live}
    late = [c for c in owned_candidates(candidates, window) if waits(ctx, c, window, stations)]
    if not late:
        return None
    limit = window.end + ctx.settings.pipeline.revisit_max_s
    need = max(completion_time(ctx, c, stations) for c in late)
    until = min(need, limit)
    log.info("window %s: %d event(s) still crossing the network at the data end; processed "
             "again with data until %s", window, len(late), until)
    return Window(window.start, window.end, window.preroll_s, float(until - window.end))


def window_events(
    ctx: Context,
    results: Sequence[StationResult],
    window: Window,
    trains: DistantTrains | None = None,
    *,
    skip: Collection[str] = (),
    final: bool = False,
) -> tuple[list[Event], Window | None]:
    """A window's events and, when some of its own events are still crossing the network,
    the window to process again for them (:func:`revisit_window`).

    The association knows the distant trains of earlier windows (``trains``), vets its
    candidates against them and adds its own distant ones; ``skip``: event ids the
    window's earlier pass published (a revisit publishes only what that pass left out);
    ``final``: the data will not grow, publish every own event as it is.
    """
    if not any(window.start <= p.time < window.end for r in results for p in r.picks):
        return [], None  # no pick of its own: it owns no event
    live = live_stations(results)
    known = trains.during(window) if trains is not None else ()
    cands = associate_window(ctx, results, window, known)
    if trains is not None:
        cands = trains.vet(cands, window, results)
        trains.add(cands, live)
    amps = {r.station_id: r.amplitudes for r in results if r.amplitudes is not None}
    events = measure_events(ctx, cands, amps, window, live, defer=not final, skip=skip)
    return events, None if final else revisit_window(ctx, cands, window, live)


class LateMagnitudes:
    """Magnitudes of distant events, measured when later windows bring the waves.

    An event belongs to the window of its first pick, whose data end ``postroll_s``
    after the window: the surface waves of an event 330 km away arrive ~60 s after
    P, those of one 700 km away ~130 s after P (group velocities 4-2.5 km/s), later
    than that. This keeps the last ``keep_s`` seconds of every station's per-second
    series and the events still awaiting a magnitude
    (:meth:`~seismo.event.measure.EventMeasurer.awaits`: Ms_BB), and after each window
    returns the events the measurement stage could now measure
    (:meth:`~seismo.event.measure.EventMeasurer.remeasure`), as a new version (the
    alert service then sends an Update). Used by every shell that processes windows
    in sequence (``seismo detect``, drills); docs/magnitude_intensity.md.
    """

    def __init__(self, ctx: Context, keep_s: float = 600.0) -> None:
        self.ctx = ctx
        self.keep_s = keep_s
        self.series: dict[str, list[AmplitudeSeries]] = {}
        self.pending: dict[str, Event] = {}
        self.recent: dict[str, Event] = {}  # every event of the kept span (other events)

    def waits_for(self, ev: Event) -> bool:
        """Whether ``ev`` (new) awaits a magnitude from later windows."""
        return self.ctx.measurer.awaits(ev)

    def reads(self, ev: Event, window: Window) -> bool:
        """Whether the series of ``window`` can take part in ``ev``'s late magnitudes (its
        data span meets the minute before the origin up to ``keep_s`` after it)."""
        return window.data_end > ev.time - 60.0 and window.data_start < ev.time + self.keep_s

    def add(self, result: WindowResult) -> list[Event]:
        """Take one processed window; return re-measured (updated) events."""
        for r in result.stations:
            if r.amplitudes is not None:
                self.series.setdefault(r.station_id, []).append(r.amplitudes)
        horizon = result.window.data_end - self.keep_s
        for sid in list(self.series):
            self.series[sid] = [
                a for a in self.series[sid]
                if a.start + a.step_s * len(a.lp_z_nms or a.pga_ms2) > horizon
            ]
        for ev in result.events:
            self.recent[ev.id] = ev
            if ev.id not in self.pending and self.waits_for(ev):
                self.pending[ev.id] = ev
        self.recent = {k: e for k, e in self.recent.items() if e.time > horizon - 60.0}
        updated: list[Event] = []
        for eid, ev in list(self.pending.items()):
            if result.window.data_end - ev.time > self.keep_s:
                del self.pending[eid]  # gave up: the waves never came into the data
                continue
            others = [e for k, e in self.recent.items() if k != eid]
            got = self.ctx.measurer.remeasure(ev, self.series, others)
            if got.measurement is None:
                if not got.waiting:
                    del self.pending[eid]
                continue
            new = dataclasses.replace(got.measurement.event, version=ev.version + 1,
                                      creation_time=UTCDateTime())
            if got.waiting:
                self.pending[eid] = new
            else:
                del self.pending[eid]
            log.info("event %s: %s (version %d)", eid, ", ".join(
                f"{m.type} {m.value:.1f} from {m.n_stations} stations" for m in new.magnitudes
                if m not in ev.magnitudes), new.version)
            updated.append(new)
        return updated


# --------------------------------------------------------------------------- whole window
@dataclass
class WindowResult:
    window: Window
    stations: list[StationResult]
    events: list[Event]
    elapsed_s: float = 0.0
    # the window again with a longer post-roll, for own events still crossing the network
    # at its data end (seismo.shells.revisit); ``revisit_of``: this result is such a pass
    # (its events are those the first pass left out)
    revisit: Window | None = None
    revisit_of: bool = False

    @property
    def picks(self) -> list[Pick]:
        """Picks owned by this window (time in ``[start, end)``)."""
        w = self.window
        return [p for r in self.stations for p in r.picks if w.start <= p.time < w.end]

    @property
    def errors(self) -> dict[str, str]:
        return {r.station_id: r.error for r in self.stations if r.error}


def process_window(
    ctx: Context,
    window: Window,
    *,
    station_ids: Iterable[str] | None = None,
    feed_url: str | None = None,
    source: StreamSource | None = None,
    trains: DistantTrains | None = None,
) -> WindowResult:
    """Every station, then events, for one window, whole (:func:`process_results`).

    ``source(station_id, t0, t1)`` supplies the stream when given (``seismo
    detect`` reads long spans once and slices them); otherwise each station is
    fetched from its feed. ``trains``: the distant trains of earlier windows.
    """
    ids = list(station_ids) if station_ids is not None else list(ctx.stations)
    return process_results(
        ctx, window, lambda w: _station_results(ctx, ids, w, feed_url, source), trains)


def process_results(
    ctx: Context,
    window: Window,
    results_of: Callable[[Window], list[StationResult]],
    trains: DistantTrains | None = None,
) -> WindowResult:
    """The events of one window from its stations' results (``results_of(window)``), whole.

    The data are complete (a replay): an own event still crossing the network at the
    window's data end is picked up at once by processing the window again with the
    post-roll it needs (:func:`window_events`; at most three times, the last one final).
    ``trains``: the :class:`~seismo.shells.revisit.DistantTrains` of earlier windows.
    """
    t0 = time.perf_counter()
    results = results_of(window)
    events, again = window_events(ctx, results, window, trains)
    seen = {e.id for e in events}
    for k in range(3):
        if again is None:
            break
        final = k == 2 or again.postroll_s >= ctx.settings.pipeline.revisit_max_s
        more, nxt = window_events(ctx, results_of(again), again, trains, skip=seen, final=final)
        events += more
        seen |= {e.id for e in more}
        again = None if nxt is None or nxt.data_end <= again.data_end else nxt
    events.sort(key=lambda e: e.time)
    return WindowResult(window, results, events, time.perf_counter() - t0)


def _station_results(
    ctx: Context, ids: Sequence[str], window: Window, feed_url: str | None,
    source: StreamSource | None,
) -> list[StationResult]:
    results = []
    for sid in ids:
        stream = None
        if source is not None:
            try:
                stream = source(sid, window.data_start, window.data_end)
            except SeismoError as exc:
                net, _, sta = sid.partition(".")
                results.append(StationResult(network=net, station=sta, error=str(exc)))
                continue
        results.append(process_station(ctx, sid, window, stream=stream, feed_url=feed_url))
    return results
