"""Station processing over a range: each station read once per chunk, each sample picked once.

``seismo detect`` cuts its range into chunks of whole windows (``pipeline.chunk_s``).
For a chunk every station is

1. read once over ``[first window's data start, last window's data end + look-ahead)``
   (one feed request);
2. picked continuously: the chunk's traces go to the station's
   :class:`~seismo.station.picker.station.StationPicker`, which lives in the worker
   that owns the station (:mod:`seismo.shells.pool`) from the first chunk to the
   last and drops the samples it has already seen
   (:meth:`~seismo.station.picker.station.StationPicker.feed_span`). Each sample is
   so picked once, by the classes and settings (``[stream] retention_s``,
   ``lag_s``) that ``seismo stream`` feeds record by record, and the picks are the
   stream's. The worker returns the picks that became final and the time before
   which the station's picks are complete
   (:meth:`~seismo.station.picker.station.StationPicker.settled_until`);
3. described by its trace spans (channel, first sample, rate, samples), from
   which each window's sample count, channels and "no data" status follow by the
   feeds' half-open rule (:func:`seismo.model.half_open_range`).

A window is complete once every station's picks are complete up to its data end.
:class:`PickStream` keeps each station's picks, and each complete window gets, per
station, the picks inside its data span (:meth:`StationChunk.window_result`). A
window not complete yet (a trigger at the very end of the chunk that the look-ahead
did not settle) moves to the next chunk, whose read starts at that window's data
start. The last chunk of the range flushes the pickers: its data end is the range's,
as a window's is.

Why state carried across chunks and not chunks overlapping by a warm-up span:
carried state gives the stream's picks exactly, at every chunk boundary, and picks
no sample twice; a warm-up overlap would re-pick the overlap and still differ from
the stream where a trigger or the despiker's level straddles the boundary. The
cost is that a station's state lives in one worker (a worker that dies restarts
its stations' pickers cold, logged).

Amplitude series (response removal, Wood-Anderson, PGA/PGV, per-second peaks) are
computed only for windows that own an event, on exactly that window's data span
(:func:`seismo.shells.window_stations.station_window_amplitudes`), from the raw chunk the
worker holds: they are what the per-window path measures (the same ML and
intensity), and with a few events a day a window's span costs far less than
running the response removal over the whole chunk.

Equivalences (tests/shells/test_chunk.py): the picks equal those of the stream's
station classes fed the same archive record by record, within a sample; the
per-window path (the DAG, which starts each window cold from its pre-roll) gives
the same picks inside its windows, after the warm-up; the same events and ML come
out of the three.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from obspy import Stream, UTCDateTime

from seismo.boundary import boundary
from seismo.errors import FeedError, SeismoError
from seismo.event.candidate import EventCandidate
from seismo.event.trains import WaveTrain
from seismo.io.feeds import fetch_window
from seismo.io.feeds.base import Feed
from seismo.io.feeds.fetch import close_feeds
from seismo.model import AmplitudeSeries, Pick, StationResult, half_open_range
from seismo.shells.pool import Task, TaskError, WorkerPool
from seismo.shells.window_context import Context, Window
from seismo.shells.window_events import associate_window
from seismo.shells.window_stations import station_window_amplitudes, window_stream
from seismo.station.picker.settings import PickerConfig
from seismo.station.picker.station import StationPicker
from seismo.station.processing import channel_map, drop_foreign_rates

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

    ``picks``: the station's picks that became final with this chunk (the next piece
    of its pick stream); ``settled``: every pick before this time is in (None: the
    station holds no window back: the range ended, or it delivered nothing up to the
    chunk's end). ``feed_error``: the read failed (every window of the chunk reports
    it); ``processing_error``: the picker failed on the chunk (every window with data
    reports it, as the per-window path reports a failed window).
    """

    station_id: str
    picks: tuple[Pick, ...] = ()
    settled: UTCDateTime | None = None
    traces: tuple[TraceSpan, ...] = ()
    feed_error: str | None = None
    processing_error: str | None = None

    @property
    def n_samples(self) -> int:
        return sum(t.npts for t in self.traces)

    def window_result(self, window: Window, picks: Sequence[Pick]) -> StationResult:
        """The station's :class:`~seismo.model.StationResult` for ``window`` (no
        amplitudes yet), as :func:`seismo.shells.window_stations.process_station` makes it;
        ``picks``: the station's picks in the window's data span (:class:`PickStream`)."""
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
        return StationResult(
            network=net, station=sta, picks=tuple(picks), n_samples=n_samples,
            channels=channels,
        )


class PickStream:
    """Each station's final picks in time order, from which windows take their slices."""

    def __init__(self) -> None:
        self.picks: dict[str, list[Pick]] = {}
        self._times: dict[str, list[float]] = {}

    def add(self, station_id: str, picks: Sequence[Pick]) -> None:
        """Picks that became final (one pick per id: a picker restarted on samples it
        had seen, after its worker died, gives the same onsets again)."""
        by_id = {p.id: p for p in (*self.picks.get(station_id, []), *picks)}
        got = sorted(by_id.values(), key=lambda p: (float(p.time), p.id))
        self.picks[station_id] = got
        self._times[station_id] = [float(p.time) for p in got]

    def window(self, station_id: str, window: Window) -> list[Pick]:
        """The station's picks with times in the window's data span."""
        times = self._times.get(station_id, [])
        i0 = bisect.bisect_left(times, float(window.data_start))
        i1 = bisect.bisect_left(times, float(window.data_end))
        return self.picks[station_id][i0:i1] if i1 > i0 else []

    def drop_before(self, t: UTCDateTime) -> None:
        """Forget the picks before ``t`` (no window still to come reads them)."""
        for sid, times in self._times.items():
            k = bisect.bisect_left(times, float(t))
            if k:
                self.picks[sid] = self.picks[sid][k:]
                self._times[sid] = times[k:]


def settle_lookahead_s(cfg: PickerConfig) -> float:
    """Seconds read past a chunk's last window so that its picks are usually final.

    :meth:`~seismo.station.picker.station.StationPicker.settled_until` lags the newest
    sample by ``aic_window_s`` (the AIC window before a trigger still to come); a
    trigger right at the end also needs ``aic_window_s / 2`` after it, 0.5 s for the
    polarity and ``station_merge_s`` for the station merge. Design choice: a window
    still unsettled moves to the next chunk, so this only saves re-reads.
    """
    return 2.0 * cfg.aic_window_s + cfg.station_merge_s + 1.0


class StationWorker:
    """The state of one worker: the context, and per station of this worker its picker
    (for the whole range) and its raw chunk (until released)."""

    def __init__(self, ctx: Context, feed_url: str | None) -> None:
        self.ctx = ctx
        self.feed_url = feed_url
        self.held: dict[str, Stream] = {}
        self.pickers: dict[str, StationPicker] = {}
        self.feeds: dict[str, Feed | FeedError] = {}  # opened once, used for every chunk

    def _picker(self, station_id: str) -> StationPicker:
        sp = self.pickers.get(station_id)
        if sp is None:
            s = self.ctx.settings
            prefix = f"{station_id}."
            chans = {k: v for k, v in channel_map(self.ctx.inventory).items()
                     if k.startswith(prefix)}
            sp = self.pickers[station_id] = StationPicker(
                self.ctx.picker_cfg(station_id), s.instrument, chans,
                retention_s=s.stream.retention_s, lag_s=s.stream.lag_s,
            )
        return sp

    def load(
        self, station_id: str, t0: UTCDateTime, t1: UTCDateTime, final: bool
    ) -> StationChunk:
        """Read ``[t0, t1)`` of one station, keep it, and feed its picker the samples it
        has not seen (``final``: the range ends at ``t1``, flush the picker). Never
        raises for a station problem."""
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
        if spans:
            self.held[station_id] = st
        settled = None
        with boundary("processing", logger=log, station=station_id) as failure:
            sp = self._picker(station_id)
            picks = sp.feed_span(st)
            if final:
                picks += sp.flush()
                self.pickers.pop(station_id)
                return StationChunk(station_id, picks=tuple(picks), traces=spans)
            newest = sp.newest()
            current = newest is not None and newest >= t1 - sp.lag_s
            settled = sp.settled_until() if current else None
        if failure:  # keep the other stations going; the error is reported
            self.pickers.pop(station_id, None)
            return StationChunk(station_id, traces=spans, processing_error=failure.reason)
        return StationChunk(station_id, picks=tuple(picks), settled=settled, traces=spans)

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
        self, window: Window, results: Sequence[StationResult],
        known: Sequence[WaveTrain] = (),
    ) -> list[EventCandidate]:
        """:func:`seismo.shells.window_events.associate_window` (any worker can do it)."""
        return associate_window(self.ctx, results, window, known)

    def release(self) -> int:
        """Drop every held chunk; returns how many were held."""
        n = len(self.held)
        self.held.clear()
        return n

    def close(self) -> None:
        """Drop held chunks and pickers, and close the feeds."""
        self.held.clear()
        self.pickers.clear()
        close_feeds(self.feeds)


def balance(weights: Mapping[str, float], n: int) -> dict[str, int]:
    """Each key to one of ``n`` bins, the heaviest first to the lightest bin (longest
    processing time first; ties by key): the bins' sums end up close."""
    load = [0.0] * n
    out: dict[str, int] = {}
    for key in sorted(weights, key=lambda k: (-weights[k], k)):
        i = min(range(n), key=lambda j: (load[j], j))
        out[key] = i
        load[i] += weights[key]
    return out


class StationPool:
    """Every station of the context, each served by one worker of a :class:`WorkerPool`.

    A station always goes to the same worker (its picker lives there for the whole
    range, its chunk between :meth:`load` and :meth:`release`); the stations are
    spread so that the workers get about the same number of samples per second (the
    inventory's channels and rates, :func:`balance`).
    """

    def __init__(self, ctx: Context, feed_url: str | None, processes: int) -> None:
        self.station_ids = sorted(ctx.stations)
        self.processes = max(1, min(processes, len(self.station_ids) or 1))
        rate = {sid: 0.0 for sid in self.station_ids}
        for info in channel_map(ctx.inventory).values():
            sid = f"{info.network}.{info.station}"
            if sid in rate:
                rate[sid] += info.sampling_rate
        self.worker = balance({sid: max(r, 1.0) for sid, r in rate.items()}, self.processes)
        ctx.prepare_tables()  # once (or from the cache), shared with the forked workers
        self.pool = WorkerPool(self.processes, StationWorker, (ctx, feed_url),
                               name="seismo-station")

    def load(self, t0: UTCDateTime, t1: UTCDateTime, final: bool) -> dict[str, StationChunk]:
        """Read every station over ``[t0, t1)`` and pick what is new (stations in
        parallel; :meth:`StationWorker.load`)."""
        tasks = [Task(self.worker[sid], "load", (sid, t0, t1, final)) for sid in self.station_ids]
        out: dict[str, StationChunk] = {}
        for sid, res in zip(self.station_ids, self.pool.run(tasks), strict=True):
            if isinstance(res, TaskError):
                log.error("station %s: %s\n%s", sid, res, res.traceback)
                # its picker went with the worker: the next chunk starts it cold
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
        self, jobs: Sequence[tuple[Window, Sequence[StationResult]]],
        known: Sequence[Sequence[WaveTrain]] | None = None,
    ) -> list[list[EventCandidate]]:
        """Event candidates of each window (windows spread over the workers); ``known``:
        per window, the wave trains of distant events found before it.

        A window without a pick of its own (time in ``[start, end)``) can own no event
        (:func:`seismo.shells.window_events.owned_candidates`), so it is not associated: its
        candidates would all belong to a neighbour, which finds them itself.
        """
        todo = [k for k, (w, r) in enumerate(jobs)
                if any(w.start <= p.time < w.end for x in r for p in x.picks)]
        tasks = [Task(i, "associate", (jobs[k][0], list(jobs[k][1]),
                                       list(known[k]) if known is not None else []))
                 for i, k in enumerate(todo)]
        out: list[list[EventCandidate]] = [[] for _ in jobs]
        for k, res in zip(todo, self.pool.run(tasks), strict=True):
            if isinstance(res, TaskError):
                log.error("window %s: association failed: %s\n%s", jobs[k][0], res,
                          res.traceback)
                res = []
            out[k] = res
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
