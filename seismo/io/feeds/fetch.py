"""Fetch one time window from every station, each from its own feed, in parallel.

One failing station never stops the others: its error is logged and reported
in its :class:`FetchResult`.

Deadline. Every station has a wall-clock budget, whatever its feed does inside
(a socket that trickles, an SDS day file of a gigabyte): ``feeds.timeout_s`` per
attempt, ``retries + 1`` attempts and the delays between them
(:func:`station_budget_s`). A station over budget is reported as timed out and
the others go on; its worker is a daemon thread that is abandoned (it ends when
its read ends and its result is dropped) and replaced, so one slow station
never holds a worker slot or the process exit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from obspy import Stream, UTCDateTime

from seismo.boundary import boundary
from seismo.config import mask_url
from seismo.errors import FeedError
from seismo.inventory import stations as inv_stations
from seismo.io.feeds.base import ChannelRequest, Feed
from seismo.io.feeds.factory import feed_url_for, open_feed
from seismo.io.feeds.settings import FeedsConfig
from seismo.network import NetworkConfig
from seismo.simulate.settings import SimulatorConfig

log = logging.getLogger(__name__)


@dataclass
class FetchResult:
    """What one station returned for one window.

    ``stream`` holds counts (None when the station failed); ``channel_samples``
    maps SEED id (NET.STA.LOC.CHA) to its number of samples; ``elapsed_s`` is the
    wall time of the request in seconds.
    """

    station_id: str
    feed_url: str
    stream: Stream | None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    n_samples: int = 0
    channel_samples: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the station returned at least one sample."""
        return self.error is None and self.n_samples > 0

    @property
    def last_sample_end(self) -> UTCDateTime | None:
        """End of the newest sample (last sample time + one sample period), or None."""
        if not self.stream:
            return None
        return max(tr.stats.endtime + tr.stats.delta for tr in self.stream)


def _station_ids(inventory: Any, stations: Iterable[str] | None) -> list[str]:
    if stations is not None:
        return list(dict.fromkeys(stations))
    if inventory is None:
        raise FeedError("fetch_window needs an inventory or an explicit list of stations")

    return [s.id for s in inv_stations(inventory)]


def station_budget_s(feeds_cfg: FeedsConfig) -> float:
    """Wall-clock seconds one station may take: every attempt and the delays between."""
    attempts = int(feeds_cfg.retries) + 1
    return float(feeds_cfg.timeout_s) * attempts + float(feeds_cfg.retry_delay_s) * (attempts - 1)


def fetch_window(
    feeds_cfg: FeedsConfig,
    inventory: Any,
    start: UTCDateTime,
    end: UTCDateTime,
    *,
    feed_url: str | None = None,
    stations: Iterable[str] | None = None,
    max_workers: int = 4,
    open_feeds: dict[str, Feed | FeedError] | None = None,
    simulator: SimulatorConfig | None = None,
    network: NetworkConfig | None = None,
) -> dict[str, FetchResult]:
    """Waveforms of ``[start, end)`` for each station, keyed ``"NET.STA"``.

    Args:
        feeds_cfg: ``[feeds]``: the default feed, the per-station overrides, timeout
            and retries.
        inventory: station inventory; its stations are fetched unless ``stations``
            is given.
        start, end: the window (UTC).
        feed_url: if given, every station is fetched from this URL (overrides ignored).
        stations: ``NET.STA`` ids to fetch instead of the whole inventory.
        max_workers: parallel requests.
        open_feeds: feeds opened by earlier calls, by URL, to use again (opened ones are
            added); the caller closes them (:func:`close_feeds`). Without it, every feed
            is opened for this call and closed at its end.
        simulator, network: ``[simulator]`` and ``[network]``, for ``sim://`` feeds.

    Returns:
        One :class:`FetchResult` per station, in request order. Errors never raise;
        a station over its budget (:func:`station_budget_s`) gets a timeout error.
    """
    if max_workers < 1:
        raise FeedError(f"max_workers ({max_workers}) must be at least 1")
    start, end = UTCDateTime(start), UTCDateTime(end)
    ids = _station_ids(inventory, stations)
    feeds: dict[str, Feed | FeedError] = {} if open_feeds is None else open_feeds
    job = _WindowFetch(feeds_cfg, inventory, start, end, feed_url, feeds,
                       simulator=simulator, network=network)
    try:
        results = job.run(ids, max_workers)
    finally:
        if open_feeds is None:
            close_feeds(feeds)
    n_err = sum(1 for r in results if r.error)
    n_data = sum(1 for r in results if r.n_samples)
    log.info(
        "fetched [%s - %s): %d stations, %d with data, %d errors",
        start,
        end,
        len(results),
        n_data,
        n_err,
    )
    return {r.station_id: r for r in results}


class _WindowFetch:
    """One :func:`fetch_window` call: the feeds it opens (shared by its threads), one
    station's request, and the worker threads with each station's deadline."""

    def __init__(
        self,
        cfg: FeedsConfig,
        inventory: Any,
        start: UTCDateTime,
        end: UTCDateTime,
        feed_url: str | None,
        feeds: dict[str, Feed | FeedError],
        *,
        simulator: SimulatorConfig | None,
        network: NetworkConfig | None,
    ) -> None:
        self.cfg, self.inventory = cfg, inventory
        self.simulator, self.network = simulator, network
        self.start, self.end = start, end
        self.feed_url = feed_url
        self.feeds = feeds
        self._lock = threading.Lock()

    def url_of(self, sid: str) -> str:
        return self.feed_url or feed_url_for(self.cfg, sid)

    def feed(self, url: str) -> Feed:
        """The open feed of ``url`` (opened once per call; an opening error is kept)."""
        with self._lock:
            if url not in self.feeds:
                try:
                    self.feeds[url] = open_feed(
                        url,
                        simulator=self.simulator,
                        network=self.network,
                        inventory=self.inventory,
                        timeout_s=self.cfg.timeout_s,
                        retries=self.cfg.retries,
                        retry_delay_s=self.cfg.retry_delay_s,
                    )
                except FeedError as exc:
                    self.feeds[url] = exc
            got = self.feeds[url]
        if isinstance(got, FeedError):
            raise got
        return got

    def one(self, sid: str) -> FetchResult:
        """Fetch one station; every error becomes the result's ``error``."""
        url = self.url_of(sid)
        t0 = time.monotonic()
        res = FetchResult(station_id=sid, feed_url=mask_url(url), stream=None)
        # a feed failure is the result's error (logged below); a bug in a backend is
        # logged with its traceback; neither stops the other stations
        with boundary("fetch", logger=log, level=None, station=sid,
                      feed=res.feed_url) as failure:
            net, sta = _split_id(sid)
            data = self.feed(url).fetch(ChannelRequest(net, sta, "*", "*", self.start, self.end))
        if failure:
            res.error = (failure.reason if failure.expected
                         else f"station {sid}: unexpected {failure.reason}")
        else:
            res.stream = data.stream
            res.warnings = list(data.warnings)
            for tr in data.stream:
                res.channel_samples[tr.id] = res.channel_samples.get(tr.id, 0) + tr.stats.npts
            res.n_samples = sum(res.channel_samples.values())
        res.elapsed_s = time.monotonic() - t0
        if res.error:
            log.warning("fetch %s [%s - %s) failed: %s", sid, self.start, self.end, res.error)
        for w in res.warnings:
            log.warning("fetch %s: %s", sid, w)
        return res

    def run(self, ids: list[str], max_workers: int) -> list[FetchResult]:
        """Every station through ``max_workers`` threads; a station over its budget
        (:func:`station_budget_s`) gets a timeout result and its thread is replaced."""
        budget = station_budget_s(self.cfg)
        todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for sid in ids:
            todo.put(sid)
        done: dict[str, FetchResult] = {}
        started: dict[str, float] = {}
        cond = threading.Condition()

        def worker() -> None:
            while True:
                try:
                    sid = todo.get_nowait()
                except queue.Empty:
                    return
                with cond:
                    started[sid] = time.monotonic()
                res = self.one(sid)
                with cond:
                    done.setdefault(sid, res)  # a timed-out station keeps its timeout result
                    cond.notify_all()

        def spawn() -> None:
            threading.Thread(target=worker, name="fetch", daemon=True).start()

        for _ in range(min(max_workers, len(ids))):
            spawn()
        with cond:
            while len(done) < len(ids):
                cond.wait(timeout=0.05)
                now = time.monotonic()
                for sid, t0 in list(started.items()):
                    if sid in done or now - t0 <= budget:
                        continue
                    done[sid] = self._abandoned(sid, budget, now - t0)
                    spawn()  # the stuck worker no longer counts
        return [done[sid] for sid in ids]

    def _abandoned(self, sid: str, budget: float, elapsed: float) -> FetchResult:
        url = mask_url(self.url_of(sid))
        msg = (f"station {sid}: no answer from {url} within {budget:g} s "
               f"(feeds.timeout_s {self.cfg.timeout_s:g} s x "
               f"{self.cfg.retries + 1} attempt(s)); abandoned")
        log.error("fetch %s [%s - %s): %s", sid, self.start, self.end, msg)
        return FetchResult(station_id=sid, feed_url=url, stream=None, error=msg,
                           elapsed_s=elapsed)


def close_feeds(feeds: dict[str, Feed | FeedError]) -> None:
    """Close every open feed of ``feeds`` (see ``fetch_window(open_feeds=...)``) and forget them."""
    for f in feeds.values():
        if isinstance(f, Feed):
            f.close()
    feeds.clear()


def _split_id(station_id: str) -> tuple[str, str]:
    parts = station_id.split(".")
    if len(parts) != 2 or not all(parts):
        raise FeedError(f"station id {station_id!r} is not NET.STA", station=station_id)
    return parts[0], parts[1]
