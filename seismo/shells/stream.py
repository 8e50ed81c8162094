"""``seismo stream``: the real-time detector beside the minute-by-minute DAG.

One long-running process (docs/streaming.md), four parts along the data flow, each
in its own module and testable alone, joined here:

1. **Readers** (:mod:`seismo.shells.stream_readers`): one SeedLink connection per
   server, each in its own thread, reconnecting and resuming after the last record
   received. Records go through a bounded queue.
2. **Station pickers** (:mod:`seismo.shells.stream_pickers`): each record feeds its
   station's picker and amplitude state (the window's classes, state carried); out come
   :class:`~seismo.shells.stream_pickers.StationPicks` messages.
3. **Associator** (:mod:`seismo.shells.stream_events`): the incremental association on
   the pool of recent picks; each event followed is measured by the window's
   measurement stage and becomes a version when it changed; out come
   :class:`~seismo.shells.stream_events.EventUpdate` messages.
4. **Publisher** (:mod:`seismo.shells.stream_publish`): the publishing edge of the
   window path (identity, versions, the alert thread, storage from a writer thread,
   delivery in its own thread).

Plus the **heartbeat** (:class:`Heartbeat`, a point to InfluxDB every ``heartbeat_s``)
and the **state** (:mod:`seismo.shells.stream_state`: positions, pool picks and
announced events, saved every second to ``[stream] state_file``).

The parts meet through the queue of records and two kinds of small JSON-able
messages. ``seismo stream --role pickers --part K/N`` and ``--role associator`` run
them as separate processes joined by Redis Streams (:mod:`seismo.shells.stream_split`,
docs/streaming.md, "Split"); without ``--role`` this one process runs them all.

SIGTERM (or Ctrl-C): the feeds stop, queued records are processed, the state is
saved, the writer drains and the spool is flushed, due alerts are delivered
(within ``shutdown_s``), then the process exits 0.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from obspy import UTCDateTime

from seismo.boundary import boundary
from seismo.config import Settings, mask_url
from seismo.errors import SeismoError
from seismo.io.event_archive import RecordRing, write_event_records
from seismo.io.seedlink.client import Record
from seismo.model import Event
from seismo.shells.publish import Publisher, open_edges
from seismo.shells.registry import EventRegistry, KnownEventSource, StoredSnapshot
from seismo.shells.stream_events import EventUpdate, StreamAssociator
from seismo.shells.stream_pickers import AmplitudeSource, StationPickers, StationPicks
from seismo.shells.stream_publish import Deliverer, StoreWriter, StreamPublisher
from seismo.shells.stream_readers import SeedLinkReaders, resume_pickers, seedlink_groups
from seismo.shells.stream_state import (
    AnnouncedEvents,
    StreamState,
    load_state,
    save_state_logged,
)
from seismo.shells.window_context import Context

log = logging.getLogger(__name__)

#: Refresh of the stored events used for identity (s).
STORE_KNOWN_S = 30.0
#: Records processed in a row before the loop looks at its clocks.
_BATCH = 500


class StationView(Protocol):
    """What the heartbeat and the association read of the stations: the station pickers
    (:class:`~seismo.shells.stream_pickers.StationPickers`) or, in the split stream's
    associator, their mirror."""

    @property
    def n_records(self) -> int: ...

    @property
    def n_picks(self) -> int: ...

    @property
    def n_stations(self) -> int: ...

    @property
    def n_rejected(self) -> int: ...

    def live(self, now: float) -> set[str]: ...

    def lag_s(self, now: float) -> float | None: ...


@dataclass
class Ticker:
    """Something to do every ``every_s`` seconds of host time (``last``: when it was)."""

    every_s: float
    last: float = 0.0

    def due(self, now: float) -> bool:
        """Whether it is due at ``now``; if so, it counts as done now."""
        if now - self.last < self.every_s:
            return False
        self.last = now
        return True


@dataclass
class Heartbeat:
    """The stream's heartbeat: what it has done, every ``every_s`` (a point to InfluxDB,
    read by the station-health check, :mod:`seismo.health.stream`)."""

    host: str
    every_s: float
    started: float

    def fields(
        self,
        now: float,
        pickers: StationView,
        events: StreamAssociator | None,
        out: StreamPublisher | None,
        queued: int,
    ) -> dict[str, Any]:
        """The heartbeat's fields at ``now`` (s, UTC); ``lag_s`` None before any data."""
        return {
            "uptime_s": round(now - self.started, 1),
            "stations_live": len(pickers.live(now)),
            "stations": pickers.n_stations,
            "records": pickers.n_records,
            "picks": pickers.n_picks,
            "event_versions": 0 if out is None else out.n_versions,
            "events_open": 0 if events is None else events.n_open,
            "queue": queued,
            "lag_s": pickers.lag_s(now),
            "records_rejected": pickers.n_rejected,
        }


class StreamProcess(ABC):
    """The life cycle every ``seismo stream`` process shares (the single process, a
    picker part, the associator): restore the saved state, start the threads, loop until
    :attr:`stop` is set, then shut down, whatever the loop raised."""

    stop: threading.Event

    def run(self, stop: threading.Event | None = None) -> int:
        """Run until ``stop`` (or :attr:`stop`) is set; returns the exit code (0)."""
        if stop is not None:
            self.stop = stop
        self._restore()
        self._start()
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    @abstractmethod
    def _restore(self) -> None:
        """Load the saved state (positions, picks, events) before anything starts."""

    @abstractmethod
    def _start(self) -> None:
        """Start the threads; return when the loop may begin."""

    @abstractmethod
    def _loop(self) -> None:
        """The main loop, until :attr:`stop` is set."""

    @abstractmethod
    def _shutdown(self) -> None:
        """Stop the threads, process what arrived, save the state, close the edges."""


class StreamService(StreamProcess):
    """The real-time detector (module docstring).

    Args:
        settings: the configuration.
        feed: a ``seedlink://`` URL serving every station (default: the configuration).
        inventory: StationXML file (default: ``[network] inventory``).
        alert_dir: adds a directory channel to every alert group (as ``seismo detect``).
        store, alerts: False turns InfluxDB writes / alerting off.
        state_file: default ``[stream] state_file``.
        host: the heartbeat's ``host`` tag (default: this machine's name).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        feed: str | None = None,
        inventory: str | Path | None = None,
        alert_dir: Path | None = None,
        store: bool = True,
        alerts: bool = True,
        exercise: bool = False,
        state_file: Path | None = None,
        host: str | None = None,
    ) -> None:
        self.settings = settings
        self.cfg = cfg = settings.stream
        self.ctx = Context.from_settings(settings, inventory)
        self.state_file = Path(state_file or cfg.state_file)
        self.stop = threading.Event()
        st, al = open_edges(settings, store=store, alerts=alerts, alert_dir=alert_dir,
                            exercise=exercise)
        self.announced = AnnouncedEvents()
        self.stored = StoredSnapshot(st) if st is not None else None
        if al is not None:  # the store's alert record, from the background snapshot only:
            al.history = self.stored  # the alert path never waits for the database
        sources: dict[str, KnownEventSource] = {"stream state": self.announced}
        if al is not None:
            sources["outbox"] = al
        if self.stored is not None:
            sources["store"] = self.stored
        tol = settings.pipeline
        self.publisher = Publisher(
            EventRegistry(sources, tol.event_match_time_s, tol.event_match_distance_km),
            store=st, alerts=al)
        self._open_input(feed)
        self.events = StreamAssociator(self.ctx, cfg, self.amplitudes)
        self.writer = StoreWriter()
        self.deliverer = Deliverer(self.publisher)
        self.archive_dir = Path(cfg.event_archive_dir)
        self.out = StreamPublisher(self.publisher, self.announced, self.writer.put,
                                   self.deliverer.wake, cfg.cancel_after_s,
                                   archive=self._archive if self.ring is not None else None)
        self.heartbeat = Heartbeat(host or socket.gethostname(), cfg.heartbeat_s, time.time())
        self._threads: list[threading.Thread] = []

    def _open_input(self, feed: str | None) -> None:
        """The SeedLink readers and the station pickers (here, in this process), and the
        raw records of the last minutes (each event's miniSEED is archived from there)."""
        settings, cfg = self.settings, self.cfg
        self.readers = SeedLinkReaders(seedlink_groups(settings, sorted(self.ctx.stations), feed),
                                       cfg, timeout_s=settings.feeds.timeout_s)
        self.pickers = StationPickers(self.ctx.stations, self.ctx.inventory,
                                      {sid: self.ctx.picker_cfg(sid) for sid in self.ctx.stations},
                                      settings.intensity, settings.instrument, cfg,
                                      at=UTCDateTime())
        self.stations: StationView = self.pickers
        self.amplitudes: AmplitudeSource = self.pickers
        self.ring: RecordRing | None = RecordRing(
            cfg.event_archive_pre_s + cfg.event_archive_post_s + cfg.close_after_s)
        self.pickers.recorder = self.ring.add

    # ------------------------------------------------------------------ life cycle
    def _start(self) -> None:
        self._start_threads()  # records queue up while the caches warm
        t = time.perf_counter()
        self.events.warm_caches()
        log.info("association caches warm in %.1f s", time.perf_counter() - t)
        self._started()

    def _started(self) -> None:
        log.info("seismo stream: %d stations from %s", len(self.pickers.states),
                 ", ".join(mask_url(u) for u in self.readers.groups))

    def _inputs(self) -> list[threading.Thread]:
        return self.readers.start(self.stop)

    def _start_threads(self) -> None:
        own = [threading.Thread(target=self.writer.run, name="stream-store", daemon=True),
               threading.Thread(target=self.deliverer.run, args=(self.stop,),
                                name="stream-alerts", daemon=True)]
        if self.stored is not None:
            own.append(threading.Thread(target=self._known_refresher, name="stream-known",
                                        daemon=True))
        for t in own:
            t.start()
        self._threads = [*self._inputs(), *own]

    def _close_input(self) -> None:
        self.readers.close()
        for rec in self.readers.drain():  # what was received is processed (then saved)
            self._process(rec)

    def _shutdown(self) -> None:
        self.stop.set()
        deadline = time.monotonic() + self.cfg.shutdown_s
        self._close_input()
        self._save()
        self.out.archive_open()  # open events: what has arrived so far
        self._beat(time.time(), stopped=True)
        self.writer.close()
        self.deliverer.wake()
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.out.deliver_remaining()
        store = self.publisher.store
        if store is not None:
            try:
                flushed = store.flush_spool()
                log.info("shutdown: spool flushed (%s)", flushed)
            except SeismoError as exc:
                log.error("shutdown: spool not flushed (kept on disk): %s", exc)
        self.publisher.close()
        log.info("seismo stream stopped: %d records, %d picks, %d event versions; "
                 "%.0f s running, %.1f s of CPU", self.stations.n_records, self.stations.n_picks,
                 self.out.n_versions, time.time() - self.heartbeat.started, time.process_time())

    # ------------------------------------------------------------------ state
    def _restore(self) -> None:
        st = load_state(self.state_file)
        self.events.restore(st.picks)
        self.announced.restore(st.events)
        resume_pickers(self.readers, self.pickers, st, self.state_file)

    def _save(self) -> None:
        save_state_logged(self.state_file, self._state())

    def _state(self) -> StreamState:
        return StreamState(positions=dict(self.pickers.positions), picks=self.events.pool,
                           events=self.announced.memos(), saved=UTCDateTime())

    # ------------------------------------------------------------------ main loop
    def _loop(self) -> None:
        last_assoc = 0.0
        measure, save = Ticker(1.0), Ticker(1.0)
        beat = Ticker(self.heartbeat.every_s, time.time())
        while not self.stop.is_set():
            self._drain()
            now = time.time()
            at = self.stations_clock(now)  # the network's data time: liveness, pool, closing
            if self.events.due(now, last_assoc):
                self._route(self.events.update(now, self.stations.live(now), at), now)
                last_assoc = now
            if measure.due(now):
                self._route(self.events.remeasure(now, at), now)
            if save.due(now):
                self._save()
            if beat.due(now):
                self._beat(now)

    def stations_clock(self, now: float) -> float:
        return self.pickers.clock(now)

    def _drain(self) -> None:
        """The records queued (up to a batch; waits up to 0.2 s for the first one), and
        those whose hold for a missing one ran out."""
        for rec in self.readers.take(_BATCH, 0.2):
            self._process(rec)
        for msg in self.pickers.flush(time.time()):  # records held for a missing one
            self._handle(msg)

    def _process(self, rec: Record) -> None:
        """One record: the station pickers, then the associator and the store. Nothing
        one record does stops the stream (the pickers' gate and boundary; this one is for
        what lies outside them)."""
        with boundary("stream record", logger=log, station=rec.station_id):
            msg = self.pickers.process(rec)
            if msg is not None:
                self._handle(msg)

    def _handle(self, msg: StationPicks) -> None:
        self.events.add(msg)
        self.out.picks(msg.final)

    def _route(self, updates: list[EventUpdate], now: float) -> None:
        for u in updates:
            ev = self.out.handle(u, now)
            if ev is not None:
                self.events.accepted(u.key, ev)

    def _archive(self, ev: Event) -> None:
        """Write the records around ``ev``'s origin to the event archive (off this thread
        when there is a store writer; a failure is logged, never raised)."""
        assert self.ring is not None
        t0 = float(ev.time) - self.cfg.event_archive_pre_s
        records = self.ring.span(t0, float(ev.time) + self.cfg.event_archive_post_s)
        root, eid = self.archive_dir, ev.id

        def write() -> None:
            try:
                write_event_records(root, eid, records)
            except (OSError, SeismoError) as exc:
                log.error("event %s: waveforms not archived in %s: %s", eid, root, exc)

        if self.publisher.store is not None and not self.stop.is_set():
            self.writer.put("event waveforms", write)
        else:
            write()

    def _beat(self, now: float, stopped: bool = False) -> None:
        fields = self.heartbeat.fields(now, self.stations, self.events, self.out,
                                       self._queued())
        if stopped:  # the last beat of a clean shutdown (seismo.health.stream)
            fields["stopped"] = True
        log.info("heartbeat: %s", fields)
        self.out.heartbeat(self.heartbeat.host, UTCDateTime(now), fields)

    def _queued(self) -> int:
        return self.readers.queue.qsize()

    def _known_refresher(self) -> None:
        """Events stored in InfluxDB (e.g. the DAG's), for identity; off the main thread."""
        assert self.stored is not None
        while not self.stop.is_set():
            try:
                self.stored.refresh(UTCDateTime())
            except (SeismoError, OSError) as exc:  # store down: the outbox and the state remain
                log.debug("stored events not read: %s", exc)
            self.stop.wait(STORE_KNOWN_S)
