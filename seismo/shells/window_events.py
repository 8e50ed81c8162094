"""The events of one window: associated, located, measured, and revisited when
incomplete.

The window's picks are associated (:func:`associate_window`, knowing the wave trains
of distant events found in earlier windows); the candidates the window owns (its
earliest pick in ``[start, end)``) are finally located and measured
(:func:`measure_events`, the measurement stage :mod:`seismo.event.measure`); an own
event still crossing the network at the data end waits for the window's revisit
(:func:`revisit_window`, :mod:`seismo.shells.revisit`). :func:`window_events` does all
of it for one pass over a window.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from obspy import UTCDateTime

from seismo.errors import LocationError
from seismo.event.associate import associate
from seismo.event.candidate import EventCandidate
from seismo.event.identity import first_pick_time
from seismo.event.locate import Origin
from seismo.event.shortfall import Shortfall, shortfall
from seismo.event.trains import WaveTrain
from seismo.geo import distance_km
from seismo.model import AmplitudeSeries, Event, Pick, StationResult
from seismo.shells.revisit import DistantTrains, completion_time, waits
from seismo.shells.solution import event_of
from seismo.shells.window_context import Context, Window

log = logging.getLogger(__name__)


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
