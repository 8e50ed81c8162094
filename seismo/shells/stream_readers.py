"""The readers of ``seismo stream``: SeedLink servers in, records out, nothing lost.

One real-time SeedLink connection per server (our own client,
:class:`~seismo.io.seedlink.client.SeedLinkClient`), each in its own thread,
reconnecting with a growing delay (:class:`~seismo.io.seedlink.client.Backoff`) and
resuming after the last record received. Records go through one bounded queue
(:attr:`SeedLinkReaders.queue`): when it is full the readers wait, and TCP holds the
servers back (no loss). After a restart, :meth:`SeedLinkReaders.warm_up` re-reads the
data before each resume point so that the station pickers start warm.

A record's position is read from its header, never from decoding it: a record whose
frames are corrupt is handed on (the pickers' gate rejects it) and the stream resumes
after it. A packet that cannot even be framed (no record length) ends the connection; the
reader then resumes after that packet's sequence number, so one bad packet never makes it
fetch the same packet forever.

The queue is the boundary to the station pickers (:mod:`seismo.shells.stream_pickers`):
a deployment that runs readers and pickers apart would replace it by a broker topic of
miniSEED records (each :class:`~seismo.io.seedlink.client.Record` is its bytes, its
station and its sequence number).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from obspy import UTCDateTime

from seismo.config import Settings, mask_url
from seismo.errors import ConfigError, FeedError
from seismo.io.feeds.factory import feed_url_for
from seismo.io.seedlink.client import (
    DEFAULT_PORT,
    Backoff,
    Position,
    Record,
    RecordStream,
    SeedLinkClient,
    StationRequest,
)
from seismo.io.seedlink.link import BadPacket
from seismo.shells.settings import StreamConfig
from seismo.shells.stream_pickers import StationPickers
from seismo.shells.stream_state import StreamState

log = logging.getLogger(__name__)

#: Records waiting for processing (~2 min of a 20-station, 6-channel network).
QUEUE_MAX = 20000


def station_request(station_id: str) -> StationRequest:
    net, _, sta = station_id.partition(".")
    return StationRequest(net, sta)


def seedlink_groups(settings: Settings, station_ids: list[str], feed: str | None) -> dict[
    str, list[str]
]:
    """SeedLink URL -> the stations read from it. ``feed`` (or ``[stream] feed``) serves
    every station; else each station's configured feed, which must be ``seedlink://``."""
    url = feed or settings.stream.feed
    groups: dict[str, list[str]] = {}
    skipped: list[str] = []
    for sid in station_ids:
        u = url or feed_url_for(settings.feeds, sid)
        if urlsplit(u).scheme.lower() != "seedlink":
            skipped.append(f"{sid} ({mask_url(u)})")
            continue
        groups.setdefault(u, []).append(sid)
    if skipped:
        log.error("seismo stream reads SeedLink only; not streamed: %s", ", ".join(skipped))
    if not groups:
        raise ConfigError(
            "seismo stream needs seedlink:// feeds: give --feed seedlink://host:port or set "
            "[stream] feed (or the [feeds] of the stations); e.g. serve the simulator with "
            "`seismo simulate --serve`"
        )
    return groups


def resume_pickers(readers: SeedLinkReaders, pickers: StationPickers, state: StreamState,
                   source: Path) -> None:
    """After a restart: the pickers continue after the positions of ``state`` (read from
    ``source``), the readers resume there, and the filters warm up on the ``warmup_s``
    before (:meth:`SeedLinkReaders.warm_up`)."""
    pickers.resume(state.positions)
    readers.received = dict(pickers.positions)
    if pickers.positions:
        log.info("resuming %d stations from %s (state saved %s)", len(pickers.positions),
                 source, state.saved)
        for rec in readers.warm_up(pickers.positions):
            pickers.warm(rec)


class SeedLinkReaders:
    """One reader thread per SeedLink server (module docstring).

    Args:
        groups: SeedLink URL -> the stations read from it (:func:`seedlink_groups`).
        cfg: the ``[stream]`` section (keepalive, idle timeout, reconnection, warm-up).
        timeout_s: connection and handshake timeout (``[feeds] timeout_s``).
        queue_max: records the queue holds.
    """

    def __init__(
        self,
        groups: Mapping[str, list[str]],
        cfg: StreamConfig,
        *,
        timeout_s: float,
        queue_max: int = QUEUE_MAX,
    ) -> None:
        self.groups = {u: list(s) for u, s in groups.items()}
        self.cfg = cfg
        self.timeout_s = timeout_s
        self.queue: queue.Queue[Record] = queue.Queue(queue_max)
        self.received: dict[str, Position] = {}  # per station: resume after this record
        self._links: dict[str, RecordStream] = {}

    def client(self, url: str) -> SeedLinkClient:
        parts = urlsplit(url)
        return SeedLinkClient(parts.hostname or "", parts.port or DEFAULT_PORT,
                              timeout_s=self.timeout_s)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        """Start one daemon thread per server; they run until ``stop`` is set."""
        threads = [
            threading.Thread(target=self.read, args=(url, sids, stop),
                             name=f"stream-feed-{urlsplit(url).netloc}", daemon=True)
            for url, sids in self.groups.items()
        ]
        for t in threads:
            t.start()
        return threads

    def take(self, max_n: int, timeout_s: float) -> list[Record]:
        """Up to ``max_n`` queued records, oldest first, waiting up to ``timeout_s`` for
        the first one (empty when none came)."""
        try:
            out = [self.queue.get(timeout=timeout_s)]
        except queue.Empty:
            return []
        while len(out) < max_n:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return out

    def drain(self) -> Iterator[Record]:
        """The records still queued, oldest first, without waiting (at shutdown, once the
        connections are closed)."""
        while True:
            try:
                yield self.queue.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        """Close the open connections (the threads then see their stop event)."""
        for rs in list(self._links.values()):
            rs.close()

    def read(self, url: str, sids: list[str], stop: threading.Event) -> None:
        """One SeedLink server: stream, reconnect with backoff, resume after the last record."""
        client = self.client(url)
        reqs = [station_request(s) for s in sids]
        backoff = Backoff(1.0, self.cfg.reconnect_max_s)
        shown = mask_url(url)
        while not stop.is_set():
            resume = {s: self.received[s] for s in sids if s in self.received}
            try:
                rs = client.stream(reqs, resume=resume, keepalive_s=self.cfg.keepalive_s,
                                   idle_timeout_s=self.cfg.idle_timeout_s)
                self._links[url] = rs
                log.info("SeedLink %s: streaming %d stations (%d resumed), protocol %d", shown,
                         len(rs.accepted), len(resume), rs.protocol)
                with rs:
                    for rec in rs:
                        self.received[rec.station_id] = rec.position
                        backoff.reset()
                        while not stop.is_set():
                            try:
                                self.queue.put(rec, timeout=0.5)
                                break
                            except queue.Full:
                                continue
                        if stop.is_set():
                            break
            except BadPacket as exc:
                log.error("SeedLink %s: %s; resuming after it", shown, exc)
                if exc.station in sids:
                    old = self.received.get(exc.station)
                    self.received[exc.station] = Position(exc.sequence,
                                                          old.time if old else None)
            except FeedError as exc:
                log.warning("SeedLink %s: %s", shown, exc)
            except Exception:  # the connection's error boundary: whatever ends it, reconnect
                log.exception("SeedLink %s: reader failed", shown)
            finally:
                self._links.pop(url, None)
            if not stop.is_set():
                delay = backoff.next_delay()
                log.info("SeedLink %s: reconnecting in %.0f s", shown, delay)
                stop.wait(delay)

    def warm_up(self, positions: Mapping[str, Position]) -> Iterator[Record]:
        """The records of the ``[stream] warmup_s`` before each station's resume point
        (``positions``), server by server; a server that cannot serve them is logged
        and skipped (its stations start cold)."""
        for url, sids in self.groups.items():
            pos: dict[str, UTCDateTime] = {}
            for sid in sids:
                t = positions[sid].time if sid in positions else None
                if t is not None:
                    pos[sid] = t
            if not pos:
                continue
            t1 = max(pos.values())
            t0 = min(pos.values()) - self.cfg.warmup_s
            try:
                records = self.client(url).fetch_records(
                    [station_request(s) for s in pos], t0, t1, timeout_s=60.0)
            except FeedError as exc:
                log.warning("warm-up read from %s failed (%s): filters start cold",
                            mask_url(url), exc)
                continue
            n = 0
            for rec in records:
                until = pos.get(rec.station_id)
                end = rec.position.time  # from the header: the pickers' gate checks the rest
                if until is None or end is None or end > until:
                    continue
                n += 1
                yield rec
            log.info("warm-up: %d records from %s", n, mask_url(url))
