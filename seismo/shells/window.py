"""One time window, end to end: the single code path of every shell.

The Airflow DAG (one mapped task per station, then one event task), ``seismo
detect`` (any range, in windows), drills and tests all call the same functions, so
they give the same answer for the same window: the windows and the network context
(:mod:`seismo.shells.window_context`), each station (:mod:`seismo.shells.window_stations`),
the window's events (:mod:`seismo.shells.window_events`). Here: a whole window
(:func:`process_window`, :func:`process_results`, :class:`WindowResult`) and the late
magnitudes of distant events that later windows bring (:class:`LateMagnitudes`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from obspy import UTCDateTime

from seismo.model import AmplitudeSeries, Event, Pick, StationResult
from seismo.shells.revisit import DistantTrains
from seismo.shells.window_context import Context, Window
from seismo.shells.window_events import window_events
from seismo.shells.window_stations import StreamSource, _station_results

log = logging.getLogger(__name__)


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
    post-roll it needs (:func:`~seismo.shells.window_events.window_events`; at most three
    times, the last one final).
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
