"""Detection over any time range (``seismo detect``, drills, benchmarks).

The range is cut into the pipeline's grid-aligned windows, made lazily one chunk
(``pipeline.chunk_s``) at a time (:func:`iter_chunks`), so a range of years costs
no more memory than one chunk. Two methods give the same events:

* ``"chunk"`` (the default): each station is read once per chunk and picked
  continuously from the range's start to its end, each sample once, by the
  station picker ``seismo stream`` uses, its state carried from chunk to chunk in
  a pool of ``pipeline.processes`` worker processes (:mod:`seismo.shells.chunk`);
  each window takes its slice of the stations' pick streams and is associated and
  located; amplitudes are computed only for the windows that own an event, on the
  window's data span, by the worker that holds the station's chunk.
* ``"window"``: each station's chunk is read once and every window goes through
  :func:`seismo.shells.window.process_window` on its slice, exactly as the
  minute-by-minute DAG processes it, each window picked cold from its pre-roll
  (the same picks inside the windows, after the warm-up; tests/shells/test_chunk.py).

Events, picks and station status then go to the store and alerts window by
window, in time order, whatever the number of processes.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from obspy import Inventory, Stream, UTCDateTime

from seismo.alerts.notation import intensity_cell, magnitude_cell
from seismo.config import Settings, mask_url
from seismo.errors import DataError, FeedError
from seismo.io.feeds import fetch_window
from seismo.model import AmplitudeSeries, Event, StationResult
from seismo.shells.publish import Runner, RunReport
from seismo.shells.revisit import DistantTrains
from seismo.shells.settings import available_cores
from seismo.shells.window import LateMagnitudes, WindowResult, process_window
from seismo.shells.window_context import Context, Window, windows_between
from seismo.shells.window_events import (
    count_shortfall,
    live_stations,
    measure_events,
    owned_candidates,
    revisit_window,
)
from seismo.shells.window_stations import window_stream
from seismo.text import table

if TYPE_CHECKING:
    from seismo.shells.chunk import PickStream, StationChunk, StationPool

log = logging.getLogger(__name__)


@dataclass
class DetectSummary:
    start: UTCDateTime
    end: UTCDateTime
    n_windows: int = 0
    n_stations: int = 0
    events: list[Event] = field(default_factory=list)
    n_picks: int = 0
    station_errors: Counter = field(default_factory=Counter)
    samples: int = 0
    elapsed_s: float = 0.0
    written: int = 0
    spooled: int = 0
    alerts_queued: int = 0
    alerts_delivered: int = 0
    store_errors: list[str] = field(default_factory=list)
    alerts_pending: int = 0  # delivery items not delivered when the range was done
    spool_kept: dict[str, int] = field(default_factory=dict)  # segments of other destinations
    outbox: str = ""  # where they wait
    network_down: int = 0
    store_on: bool = True
    alerts_on: bool = True
    notes: list[str] = field(default_factory=list)
    thresholds: list[str] = field(default_factory=list)  # effective, with their rules

    def add(self, rep: RunReport) -> None:
        if rep.network_down:
            self.network_down += 1
        if rep.store_error:
            self.store_errors.append(rep.store_error)
        self.written += rep.written
        self.spooled += rep.spooled
        self.alerts_queued += rep.alerts_queued
        self.alerts_delivered += rep.alerts_delivered
        self.spool_kept.update(rep.spool_kept)

    def render(self) -> str:

        span = float(self.end - self.start)
        lines = [
            f"{self.n_windows} windows, {self.n_stations} stations, {span:.0f} s of data "
            f"in {self.elapsed_s:.1f} s (real-time factor {span / max(self.elapsed_s, 1e-9):.0f}x)",
            f"{self.n_picks} picks, {len(self.events)} events; "
            + (
                f"store: {self.written} points written, {self.spooled} spooled; "
                if self.store_on
                else "store: off; "
            )
            + (
                f"alerts: {self.alerts_queued} queued, {self.alerts_delivered} delivered"
                if self.alerts_on
                else "alerts: off"
            ),
            *self.notes,
        ]
        if self.network_down:
            lines.append(
                f"NETWORK DOWN in {self.network_down} of {self.n_windows} windows: too few "
                f"stations delivered data to detect an event there"
            )
        if self.store_errors:
            lines.append(
                f"STORE FAILED in {len(self.store_errors)} windows (alerts were still "
                f"processed); first: {self.store_errors[0]}"
            )
        if self.spool_kept:
            kept = "; ".join(f"{n} for {d}" for d, n in sorted(self.spool_kept.items()))
            lines.append(
                f"SPOOL: segments kept for another destination ({kept}): not replayed here; "
                "a store configured for that destination replays them"
            )
        if self.alerts_pending:
            lines.append(
                f"ALERTS PENDING: {self.alerts_pending} deliveries not done yet (the outbox "
                f"{self.outbox} retries them: the stream, the DAG or the next seismo detect "
                "delivers them; see the console's outbox page)"
            )
        if self.station_errors:
            worst = ", ".join(f"{k} ({v})" for k, v in self.station_errors.most_common(5))
            lines.append(f"station errors (windows): {worst}")
        if self.events:
            rows = [
                (
                    e.id,
                    str(e.time)[:22],
                    f"{e.latitude:.3f}",
                    f"{e.longitude:.3f}",
                    f"{e.depth_km:.1f}",
                    magnitude_cell(e.magnitude, e.magnitude_type, e.magnitude_lower_bound),
                    intensity_cell(e.max_intensity),
                    e.n_stations,
                    f"{e.rms_s:.2f}",
                    f"{e.azimuthal_gap_deg:.0f}",
                    "outside" if e.outside_network else "",
                )
                for e in self.events
            ]
            lines.append(
                table(
                    [
                        "id",
                        "origin (UTC)",
                        "lat",
                        "lon",
                        "depth",
                        "M",
                        "GB/T 17742",
                        "nsta",
                        "rms",
                        "gap",
                        "",
                    ],
                    rows,
                )
            )
        return "\n".join(lines)


def foreign_data(
    settings: Settings, feed_url: str | None, inventory: str | Path | Inventory | None
) -> list[str]:
    """Why a run does not process the configured network's own data (empty: it does).

    Another network's inventory, or a feed that is neither the configured
    default nor a configured per-station override, means the results do not
    belong in the city's store and must not page anybody: the shells then turn
    the store and alerts off unless asked (``--store`` / ``--alerts``).
    """
    reasons = []
    if isinstance(inventory, Inventory):
        reasons.append("an inventory object other than the configured file")
    elif inventory is not None:
        given = Path(inventory).resolve()
        if given != Path(settings.network.inventory).resolve():
            reasons.append(
                f"inventory {given} is not the configured {settings.network.inventory}"
            )
    if feed_url is not None:
        configured = {settings.feeds.default, *settings.feeds.overrides.values()}
        if feed_url.strip() not in configured:
            reasons.append(f"feed {mask_url(feed_url)} is not a configured feed")
    return reasons


class ChunkSource:
    """Reads each station once per chunk and serves window slices from memory."""

    def __init__(self, ctx: Context, feed_url: str | None) -> None:
        self.ctx, self.feed_url = ctx, feed_url
        self.cache: dict[str, Stream | FeedError] = {}

    def load(self, t0: UTCDateTime, t1: UTCDateTime) -> int:

        s = self.ctx.settings
        res = fetch_window(
            s.feeds, self.ctx.inventory, t0, t1, feed_url=self.feed_url, max_workers=4,
            simulator=s.simulator, network=s.network,
        )
        self.cache = {}
        n = 0
        for sid, r in res.items():
            if r.error:
                self.cache[sid] = FeedError(r.error, station=sid)
            else:
                st = r.stream if r.stream is not None else Stream()
                self.cache[sid] = st
                n += r.n_samples
        return n

    def __call__(self, sid: str, t0: UTCDateTime, t1: UTCDateTime) -> Stream:
        got = self.cache.get(sid)
        if isinstance(got, FeedError):
            raise got
        if got is None:
            raise FeedError(f"station {sid} was not read", station=sid)
        return window_stream(got, Window(t0, t1, 0.0, 0.0))


def count_windows(settings: Settings, start: UTCDateTime, end: UTCDateTime) -> int:
    """Number of grid windows covering ``[start, end)`` (without building them)."""
    first = windows_between(settings, start, start + 1e-3)[0].start
    return max(1, math.ceil(float(end - first) / settings.pipeline.window_s))


def iter_chunks(
    settings: Settings, start: UTCDateTime, end: UTCDateTime
) -> Iterator[list[Window]]:
    """The windows covering ``[start, end)``, made lazily, ``pipeline.chunk_s`` at a time.

    A long range (years) never exists in memory as a whole: each chunk's windows
    are built when the chunk is reached.
    """
    step = settings.pipeline.window_s
    chunk_n = max(1, int(settings.pipeline.chunk_s // step))
    t = windows_between(settings, start, start + 1e-3)[0].start
    while t < end:
        t1 = min(t + chunk_n * step, end)
        chunk = windows_between(settings, t, t1)
        yield chunk
        t = chunk[-1].end


def detect_range(
    settings: Settings,
    start: UTCDateTime,
    end: UTCDateTime,
    *,
    feed_url: str | None = None,
    inventory: str | Path | Inventory | None = None,
    store: bool = True,
    alerts: bool = True,
    alert_dir: Path | None = None,
    exercise: bool = False,
    on_window: Callable[[int, int, int], None] | None = None,
    on_result: Callable[[WindowResult], None] | None = None,
    processes: int | None = None,
    method: Literal["chunk", "window"] = "chunk",
) -> DetectSummary:
    """Run the pipeline over ``[start, end)``; return every event found.

    ``on_window(done, total, n_events)`` reports progress; ``on_result`` gets
    every window's :class:`~seismo.shells.window.WindowResult` (picks, station
    errors) after it was stored and alerted, in time order, and every revisit of a
    window (``revisit_of``: its events are those the first pass left out; its picks are
    the window's again). ``processes``: worker
    processes of the chunk method (None: ``pipeline.processes``, whose 0 means one
    per core; 1 works in this process). ``method``: see the module docstring.

    Raises:
        DataError: no inventory station had any data in the whole range (an
            empty archive, or an inventory that does not match the data).
    """
    t_start = time.perf_counter()
    ctx = Context.from_settings(settings, inventory)
    n_windows = count_windows(settings, start, end)
    summary = DetectSummary(
        start,
        end,
        n_windows=n_windows,
        n_stations=len(ctx.stations),
        store_on=store and settings.store.enabled,
        alerts_on=alerts and (settings.alerts.enabled or alert_dir is not None),
    )
    n_proc = processes if processes is not None else settings.pipeline.processes
    n_proc = n_proc or available_cores()
    runner = Runner.from_settings(
        settings, store=store, alerts=alerts, alert_dir=alert_dir, exercise=exercise
    )
    seen: set[str] = set()
    late = LateMagnitudes(ctx)
    done = 0

    def handle(res: WindowResult) -> None:
        nonlocal done
        new = [e for e in res.events if e.id not in seen]
        seen.update(e.id for e in new)
        summary.events.extend(new)
        summary.add(runner.handle(res))
        if res.revisit_of:  # a window processed again: its events only (counted before)
            updates = late.add(WindowResult(res.window, [], res.events))
            if updates:
                byid = {e.id: e for e in updates}
                summary.events = [byid.pop(e.id, e) for e in summary.events]
                summary.add(runner.handle_parts(res.window, [], updates))
            if on_result:  # the events a revisit publishes are results too
                on_result(res)
            return
        for sid, err in res.errors.items():
            summary.station_errors[sid] += 1
            log.debug("window %s station %s: %s", res.window, sid, err)
        summary.n_picks += len(res.picks)
        updates = late.add(res)
        if updates:  # distant events: Ms_BB once the surface waves are in
            byid = {e.id: e for e in updates}
            summary.events = [byid.pop(e.id, e) for e in summary.events]
            summary.add(runner.handle_parts(res.window, [], updates))
        done += 1
        if on_result:
            on_result(res)
        if on_window:
            on_window(done, n_windows, len(summary.events))

    try:
        chunks = iter_chunks(settings, start, end)
        trains = DistantTrains(ctx)
        if method == "window":
            source = ChunkSource(ctx, feed_url)
            ahead = settings.pipeline.revisit_max_s  # a window processed again reads on
            for chunk, last in _with_last(chunks):
                t1 = chunk[-1].data_end + (0.0 if last else ahead)
                summary.samples += source.load(chunk[0].data_start, t1)
                for w in chunk:
                    handle(process_window(ctx, w, source=source, trains=trains))
        else:
            _detect_chunks(ctx, chunks, feed_url, n_proc, summary, handle, late, trains)
        if runner.alerts is not None:  # what is still pending on a channel when the range is done
            summary.outbox = str(runner.alerts.outbox.root)
            final = runner.alerts.deliver_due()
            summary.alerts_delivered += final.delivered
            summary.alerts_pending = final.pending
    finally:
        runner.close()
    if summary.samples == 0:
        codes = ", ".join(sorted(ctx.stations)[:8])
        raise DataError(
            f"no data between {start} and {end} for any of the {len(ctx.stations)} inventory "
            f"stations ({codes}{', ...' if len(ctx.stations) > 8 else ''}) from "
            f"{mask_url(feed_url or settings.feeds.default)}: the archive is empty for this "
            f"range or the inventory does not describe the stations in it"
        )
    summary.events.sort(key=lambda e: e.time)
    summary.elapsed_s = time.perf_counter() - t_start
    summary.thresholds = ctx.threshold_lines()
    short = ctx.shortfall.warning()
    if short:
        log.warning("%s", short)
        summary.notes.append(short)
    return summary


def _with_last(chunks: Iterable[list[Window]]) -> Iterator[tuple[list[Window], bool]]:
    """Each chunk and whether it is the last one."""
    it = iter(chunks)
    cur = next(it, None)
    while cur is not None:
        nxt = next(it, None)
        yield cur, nxt is None
        cur = nxt


def _detect_chunks(
    ctx: Context,
    chunks: Iterable[list[Window]],
    feed_url: str | None,
    processes: int,
    summary: DetectSummary,
    handle: Callable[[WindowResult], None],
    late: LateMagnitudes,
    trains: DistantTrains,
) -> None:
    """The chunk method (module docstring): stations picked once, chunk after chunk, in a
    worker pool; each window takes its slice of every station's pick stream once the
    stream is complete up to the window's data end (:mod:`seismo.shells.chunk`). A
    window processed again for an event still crossing the network (a revisit,
    :mod:`seismo.shells.revisit`) waits the same way for its longer data span.
    """
    from seismo.shells.chunk import PickStream, StationPool, settle_lookahead_s

    pool = StationPool(ctx, feed_url, processes)
    picks = PickStream()
    ahead = settle_lookahead_s(ctx.settings.picker)
    carry: list[Window] = []
    pending: list[tuple[Window, frozenset[str]]] = []  # revisits and what was published
    ok = False
    try:
        for chunk, last in _with_last(chunks):
            windows = carry + chunk
            t0 = time.perf_counter()
            end = windows[-1].data_end + (0.0 if last else ahead)
            first = min([windows[0].data_start, *(w.data_start for w, _ in pending)])
            loaded = pool.load(first, end, last)
            summary.samples += sum(c.n_samples for c in loaded.values())
            for sid, c in loaded.items():
                picks.add(sid, c.picks)
            limits = [c.settled for c in loaded.values() if c.settled is not None]
            limit = min(limits) if limits and not last else None
            ready = [w for w in windows if limit is None or w.data_end <= limit]
            carry = windows[len(ready):]
            if carry:
                log.info("windows from %s wait for the next chunk: picks complete up to %s",
                         carry[0].start, limit)
            t1 = time.perf_counter()
            done: list[WindowResult] = []
            work, more = ready, True
            while more:
                due = [r for r in pending if limit is None or r[0].data_end <= limit]
                pending = [r for r in pending if r not in due]
                if last:  # the data end here: a revisit takes what there is, finally
                    due = [(_clip(w, end), ids) for w, ids in due]
                if not work and not due:
                    break
                got, again = _process_ready(ctx, pool, work, due, loaded, picks, late,
                                            trains, end if last else None)
                done += got
                pending += again
                work, more = [], bool(again)
            pool.release()
            for res in sorted(done, key=lambda r: (r.window.start, r.revisit_of)):
                handle(res)
            if ready:  # picks before the next window's data start are not read again
                keep = [w.data_start for w, _ in pending]
                keep.append(carry[0].data_start if carry
                            else ready[-1].end - ready[-1].preroll_s)
                picks.drop_before(min(keep))
            log.info(
                "chunk %s - %s: %d stations read and picked in %.1f s, %d windows processed "
                "in %.1f s", windows[0].start, chunk[-1].end, len(loaded), t1 - t0, len(ready),
                time.perf_counter() - t1,
            )
        ok = True
    finally:
        pool.close(wait=ok)


def _clip(w: Window, end: UTCDateTime) -> Window:
    """``w`` with its data ending no later than ``end`` (the end of the range's data)."""
    return Window(w.start, w.end, w.preroll_s, max(0.0, min(w.postroll_s, float(end - w.end))))


def _process_ready(
    ctx: Context,
    pool: StationPool,
    ready: list[Window],
    revisits: list[tuple[Window, frozenset[str]]],
    loaded: Mapping[str, StationChunk],
    picks: PickStream,
    late: LateMagnitudes,
    trains: DistantTrains,
    data_end: UTCDateTime | None,
) -> tuple[list[WindowResult], list[tuple[Window, frozenset[str]]]]:
    """The results of the complete windows of a chunk (and of the windows processed again,
    ``revisits``, with the ids their earlier passes published): associated, vetted
    against the distant trains known so far, measured, in order; and the windows to
    process again (:mod:`seismo.shells.revisit`; none beyond ``data_end``, the end of the
    range's data, when given).

    Amplitude series are made for the windows that own an event and for those whose
    series the surface-wave magnitude of a distant event reads (:class:`LateMagnitudes`);
    the per-window method has them for every window, and gives the same measurements.
    """
    from seismo.shells.chunk import with_amplitudes

    windows = ready + [w for w, _ in revisits]
    skip: list[frozenset[str]] = [frozenset()] * len(ready) + [ids for _, ids in revisits]
    jobs = [
        (w, [loaded[sid].window_result(w, picks.window(sid, w)) for sid in pool.station_ids])
        for w in windows
    ]
    known = [trains.during(w) for w in windows]
    per_window = [
        (w, results, cands)
        for (w, results), cands in zip(jobs, pool.associate(jobs, known), strict=True)
    ]
    order = sorted(range(len(per_window)), key=lambda k: (per_window[k][0].start, k))
    for k in order:  # in time order: each window knows the distant events before it
        w, results, cands = per_window[k]
        cands = trains.vet(cands, w, results)
        trains.add(cands, live_stations(results))
        per_window[k] = (w, results, cands)
    for w, results, cands in per_window:
        count_shortfall(ctx, results, cands, w)
    busy = [k for k, (w, _, c) in enumerate(per_window) if owned_candidates(c, w)]
    amps = dict(zip(busy, pool.amplitudes([per_window[k][0] for k in busy]), strict=True))
    events: dict[int, list[Event]] = {}
    again: list[tuple[Window, frozenset[str]]] = []
    limit = ctx.settings.pipeline.revisit_max_s
    for k in busy:
        w, results, cands = per_window[k]
        a = _live_series(results, amps[k])
        live = live_stations(results)
        final = (data_end is not None and w.data_end >= data_end) or w.postroll_s >= limit
        events[k] = measure_events(ctx, cands, a, w, live, defer=not final, skip=skip[k])
        rv = None if final else revisit_window(ctx, cands, w, live)
        if rv is not None and (k < len(ready) or rv.data_end > w.data_end):
            if data_end is not None:
                rv = _clip(rv, data_end)
            again.append((rv, skip[k] | {e.id for e in events[k]}))
    waiting = [*late.pending.values(),
               *(e for k in busy for e in events[k] if late.waits_for(e))]
    extra = [k for k, (w, _, _) in enumerate(per_window)
             if k < len(ready) and k not in amps and any(late.reads(e, w) for e in waiting)]
    if extra:
        amps.update(zip(extra, pool.amplitudes([per_window[k][0] for k in extra]), strict=True))
    out = []
    for k, (w, results, _) in enumerate(per_window):
        if k >= len(ready) and not events.get(k):
            continue  # a window processed again that found nothing new
        if k in amps:
            results = with_amplitudes(results, _live_series(results, amps[k]))
        out.append(WindowResult(w, results, events.get(k, []), revisit_of=k >= len(ready)))
    return out, again


def _live_series(
    results: list[StationResult], series: dict[str, AmplitudeSeries]
) -> dict[str, AmplitudeSeries]:
    """The series of the stations without an error (those the per-window path measures)."""
    live = {r.station_id for r in results if not r.error}
    return {sid: a for sid, a in series.items() if sid in live}
