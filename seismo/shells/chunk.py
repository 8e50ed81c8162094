"""Station processing over a range: each station read and processed once per chunk.

``seismo detect`` cuts its range into chunks of whole windows (``pipeline.chunk_s``).
For a chunk ``[first window data start, last window data end)`` every station is

1. read once (one feed request over the whole span);
2. conditioned once over the whole span (merge, gap split, quality flags:
   :func:`seismo.station.processing.condition_stream`), then picked per window on
   that window's cut of the conditioned segments
   (:func:`seismo.station.processing.window_segments`,
   :func:`seismo.station.picker.pick_segments`): the same stateful picker classes
   as the per-window path and ``seismo stream``, started on the same first sample,
   so each window's picks are the per-window path's;
3. described by its trace spans (channel, first sample, rate, samples), from
   which each window's sample count, channels and "no data" status follow by the
   feeds' half-open rule (:func:`seismo.model.half_open_range`).

Each window then gets, per station, the picks inside its data span
(:meth:`StationChunk.window_result`) and is associated as in
:mod:`seismo.shells.window`. Amplitude series (response removal, Wood-Anderson,
PGA/PGV, per-second peaks) are computed only for windows that own an event, on
exactly that window's data span (:func:`seismo.shells.window.station_window_amplitudes`):
they are what the per-window path measures, and no response is removed for the
many windows without an event. The chunk's raw waveforms stay in the worker
that read them (:mod:`seismo.shells.pool`) until the chunk is done.

Equivalence with the per-window path: the same picks (each window is picked from
its own first sample, as the per-window path does), and amplitudes, so ML and
intensity, are measured on the window's data span. tests/shells/test_chunk.py
compares both paths.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from obspy import Stream, UTCDateTime

from seismo.boundary import boundary
from seismo.errors import FeedError, SeismoError
from seismo.event.associate import EventCandidate
from seismo.io.feeds import fetch_window
from seismo.io.feeds.base import Feed
from seismo.io.feeds.fetch import close_feeds
from seismo.model import AmplitudeSeries, Pick, StationResult, half_open_range
from seismo.shells.pool import Task, TaskError, WorkerPool
from seismo.shells.window import (
    Context,
    Window,
    associate_window,
    station_window_amplitudes,
    window_stream,
)
from seismo.station.picker import pick_segments
from seismo.station.processing import (
    channel_map,
    condition_stream,
    drop_foreign_rates,
    window_segments,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TraceSpan:
    """Where one trace of a chunk has samples: channel, first sample, rate, count."""

    seed_id: str
    start: UTCDateTime
    sampling_rate: float
    npts: int

    def samples_in(self, t0: UTCDateTime, t1: UTCDateTime) -> int:
        """Samples with times in ``[t0, t1)``."""
        i0, i1 = half_open_range(self.start, self.sampling_rate, self.npts, t0, t1)
        return max(0, i1 - i0)


@dataclass(frozen=True)
class StationChunk:
    """One station over one chunk, as its worker returns it (no waveforms).

    ``feed_error``: the read failed (every window of the chunk reports it);
    ``processing_error``: the picker failed on the chunk (every window with data
    reports it, as the per-window path reports a failed window).
    """

    station_id: str
    picks: tuple[tuple[Pick, ...], ...] = ()  # per window of the chunk, in order
    traces: tuple[TraceSpan, ...] = ()
    feed_error: str | None = None
    processing_error: str | None = None

    @property
    def n_samples(self) -> int:
        return sum(t.npts for t in self.traces)

    def window_result(self, k: int, window: Window) -> StationResult:
        """The station's :class:`~seismo.model.StationResult` for ``window``, the chunk's
        ``k``-th (no amplitudes yet), as :func:`seismo.shells.window.process_station`
        makes it."""
        net, _, sta = self.station_id.partition(".")
        if self.feed_error is not None:
            return StationResult(network=net, station=sta, error=self.feed_error)
        t0, t1 = window.data_start, window.data_end
        counts: dict[str, int] = {}
        for t in self.traces:
            n = t.samples_in(t0, t1)
            if n:
                counts[t.seed_id] = counts.get(t.seed_id, 0) + n
        n_samples = sum(counts.values())
        channels = tuple(sorted(counts))
        if n_samples == 0:
            return StationResult(
                network=net, station=sta, error="no data in window", channels=channels
            )
        if self.processing_error is not None:
            return StationResult(
                network=net, station=sta, error=f"processing failed: {self.processing_error}",
                n_samples=n_samples, channels=channels,
            )
        picks = self.picks[k] if k < len(self.picks) else ()
        return StationResult(
            network=net, station=sta, picks=picks, n_samples=n_samples, channels=channels
        )


class StationWorker:
    """The state of one worker: the context, and the raw chunk of each of its stations."""

    def __init__(self, ctx: Context, feed_url: str | None) -> None:
        self.ctx = ctx
        self.feed_url = feed_url
        self.held: dict[str, Stream] = {}
        self.feeds: dict[str, Feed | FeedError] = {}  # opened once, used for every chunk

    def load(
        self, station_id: str, t0: UTCDateTime, t1: UTCDateTime, windows: Sequence[Window]
    ) -> StationChunk:
        """Read ``[t0, t1)`` of one station, keep it, condition it once and pick each of
        ``windows`` on its data span. Never raises for a station problem."""
        self.held.pop(station_id, None)
        ctx = self.ctx
        res = fetch_window(
            ctx.settings.feeds, ctx.inventory, t0, t1, feed_url=self.feed_url,
            stations=[station_id], max_workers=1, open_feeds=self.feeds,
            simulator=ctx.settings.simulator, network=ctx.settings.network,
        )[station_id]
        if res.error:
            log.warning("station %s: %s", station_id, res.error)
            return StationChunk(station_id, feed_error=res.error)
        st = res.stream if res.stream is not None else Stream()
        st, dropped = drop_foreign_rates(st, ctx.inventory)
        for what in dropped:
            log.warning("station %s: %s", station_id, what)
        spans = tuple(
            TraceSpan(tr.id, tr.stats.starttime, float(tr.stats.sampling_rate), int(tr.stats.npts))
            for tr in st
            if tr.stats.npts > 0
        )
        if not spans:
            return StationChunk(station_id)
        self.held[station_id] = st
        s = ctx.settings
        with boundary("processing", logger=log, station=station_id) as failure:
            # conditioned once per chunk; despiking is the picker's (it runs as
            # samples arrive: seismo.station.processing.Despiker)
            segs = condition_stream(st, ctx.inventory, s.picker, instrument=s.instrument,
                                    despike=False)
            chmap = channel_map(ctx.inventory)
            picks = []
            for w in windows:
                cut = window_segments(segs, w.data_start, w.data_end, s.picker)
                picks.append(tuple(pick_segments(
                    cut, chmap, s.picker, instrument=s.instrument,
                    start=w.data_start, end=w.data_end,
                )))
        if failure:  # keep the other stations going; the error is reported
            return StationChunk(station_id, traces=spans, processing_error=failure.reason)
        return StationChunk(station_id, picks=tuple(picks), traces=spans)

    def amplitudes(
        self, station_id: str, windows: Sequence[Window]
    ) -> list[AmplitudeSeries | None]:
        """Amplitude series of the held chunk over each window's data span (None: none)."""
        st = self.held.get(station_id)
        out: list[AmplitudeSeries | None] = []
        for w in windows:
            if st is None:
                out.append(None)
                continue
            try:
                out.append(station_window_amplitudes(self.ctx, window_stream(st, w), w))
            except SeismoError as exc:
                log.warning("station %s: amplitudes failed for %s: %s", station_id, w, exc)
                out.append(None)
        return out

    def associate(
        self, window: Window, results: Sequence[StationResult]
    ) -> list[EventCandidate]:
        """:func:`seismo.shells.window.associate_window` (any worker can do it)."""
        return associate_window(self.ctx, results, window)

    def release(self) -> int:
        """Drop every held chunk; returns how many were held."""
        n = len(self.held)
        self.held.clear()
        return n

    def close(self) -> None:
        """Drop held chunks and close the feeds."""
        self.held.clear()
        close_feeds(self.feeds)


class StationPool:
    """Every station of the context, each served by one worker of a :class:`WorkerPool`.

    Station ``i`` (in ``"NET.STA"`` order) always goes to worker ``i mod processes``;
    its chunk stays there between :meth:`load` and :meth:`release`.
    """

    def __init__(self, ctx: Context, feed_url: str | None, processes: int) -> None:
        self.station_ids = sorted(ctx.stations)
        self.processes = max(1, min(processes, len(self.station_ids) or 1))
        self.worker = {sid: i for i, sid in enumerate(self.station_ids)}
        ctx.prepare_tables()  # once (or from the cache), shared with the forked workers
        self.pool = WorkerPool(self.processes, StationWorker, (ctx, feed_url),
                               name="seismo-station")

    def load(self, windows: Sequence[Window]) -> dict[str, StationChunk]:
        """Read every station over the windows' data spans and pick each window
        (stations in parallel)."""
        t0, t1 = windows[0].data_start, windows[-1].data_end
        tasks = [
            Task(self.worker[sid], "load", (sid, t0, t1, list(windows)))
            for sid in self.station_ids
        ]
        out: dict[str, StationChunk] = {}
        for sid, res in zip(self.station_ids, self.pool.run(tasks), strict=True):
            if isinstance(res, TaskError):
                log.error("station %s: %s\n%s", sid, res, res.traceback)
                res = StationChunk(sid, feed_error=f"station {sid}: worker failed: {res.message}")
            out[sid] = res
        return out

    def amplitudes(
        self, windows: Sequence[Window], station_ids: Sequence[str] | None = None
    ) -> list[dict[str, AmplitudeSeries]]:
        """Per window, ``{"NET.STA": series}`` of the stations with data (in parallel)."""
        ids = list(self.station_ids if station_ids is None else station_ids)
        out: list[dict[str, AmplitudeSeries]] = [{} for _ in windows]
        if not windows or not ids:
            return out
        tasks = [Task(self.worker[sid], "amplitudes", (sid, list(windows))) for sid in ids]
        for sid, res in zip(ids, self.pool.run(tasks), strict=True):
            if isinstance(res, TaskError):
                log.error("station %s: amplitudes: %s\n%s", sid, res, res.traceback)
                continue
            for k, series in enumerate(res):
                if series is not None:
                    out[k][sid] = series
        return out

    def associate(
        self, jobs: Sequence[tuple[Window, Sequence[StationResult]]]
    ) -> list[list[EventCandidate]]:
        """Event candidates of each window (windows spread over the workers)."""
        tasks = [Task(k, "associate", (w, list(r))) for k, (w, r) in enumerate(jobs)]
        out: list[list[EventCandidate]] = []
        for (w, _), res in zip(jobs, self.pool.run(tasks), strict=True):
            if isinstance(res, TaskError):
                log.error("window %s: association failed: %s\n%s", w, res, res.traceback)
                res = []
            out.append(res)
        return out

    def release(self) -> None:
        """Drop the chunk held for every station."""
        self.pool.run([Task(i, "release") for i in range(self.processes)])

    def close(self, *, wait: bool = True) -> None:
        """Close the workers' feeds, then stop the workers."""
        if wait:
            self.pool.run([Task(i, "close") for i in range(self.processes)])
        self.pool.close(wait=wait)


def with_amplitudes(
    results: Sequence[StationResult], amps: Mapping[str, AmplitudeSeries]
) -> list[StationResult]:
    """``results`` with their stations' amplitude series attached (for the store and events)."""
    import dataclasses

    return [
        dataclasses.replace(r, amplitudes=amps.get(r.station_id))
        if r.station_id in amps else r
        for r in results
    ]
