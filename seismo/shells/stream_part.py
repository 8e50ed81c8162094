"""A picker part of the split ``seismo stream``: ``--role pickers --part K/N``.

The SeedLink readers (:mod:`seismo.shells.stream_readers`) and station pickers
(:mod:`seismo.shells.stream_pickers`) of the single process, for the stations of part
K of N only (:func:`part_stations`), publishing to Redis Streams instead of feeding an
associator in the same process (:class:`~seismo.shells.stream_broker.BatchSender`;
SeisComP runs scautopick and scautoloc the same way over its messaging bus). The
associator is :mod:`seismo.shells.stream_split`.

**Which stations.** Station ``NET.STA`` belongs to part ``crc32("NET.STA") mod N + 1``
(zlib's CRC-32 of the id: the same on every host and Python, unlike ``hash()``, and a
station keeps its part when others are added or removed; for N much smaller than the
stations the parts are nearly even: the 500 stations of config/families/province500.toml
fall 251 and 249 into 2 parts, 126, 125, 125 and 124 into 4).

**State and restart.** Each part keeps its own state file (``[stream] state_file`` with
``.pickers-KofN`` before the suffix, or ``--state-file``): the SeedLink position of each
of its stations. After a restart it resumes after them and warms its filters on the
``warmup_s`` before (picks from that re-read are dropped), as the single process does.

**Heartbeat.** Its own point every ``heartbeat_s`` (host tag ``<host>:pickers-KofN``):
records, picks, live stations, lag behind real time, queued records, batches waiting
for the broker.

**Broker down.** Batches wait in a bounded buffer (``[stream.broker] buffer_s``) and go
out when Redis is back; the part keeps reading and picking.

**Event waveforms.** The part keeps the raw records of its stations for the last
minutes and writes them to ``<event id>.pickers-KofN.mseed`` when the associator asks
(:class:`~seismo.shells.stream_broker.ArchiveRequest`, stream ``<prefix>:archive``).

**Not in a part.** Association, alerts, storing picks and events: the associator's.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.boundary import boundary
from seismo.config import Settings, mask_url
from seismo.errors import BrokerError, ConfigError, SeismoError
from seismo.io.event_archive import RecordRing, write_event_records
from seismo.shells.publish import open_edges
from seismo.shells.stream import Heartbeat, StreamProcess, Ticker
from seismo.shells.stream_amplitudes import station_update
from seismo.shells.stream_broker import ArchiveRequest, BatchSender, PartBatch, open_broker
from seismo.shells.stream_pickers import StationPickers, StationPicks
from seismo.shells.stream_publish import StoreWriter
from seismo.shells.stream_readers import SeedLinkReaders, resume_pickers, seedlink_groups
from seismo.shells.stream_state import StreamState, load_state, save_state_logged
from seismo.shells.window_context import Context

log = logging.getLogger(__name__)

#: Records processed in a row before the loop looks at its clocks.
_BATCH = 500


def parse_part(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N), 1 <= K <= N <= 64.

    Raises:
        ConfigError: anything else."""
    k, sep, n = text.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise ConfigError(f"--part {text!r}: expected K/N, e.g. 1/2")
    part, parts = int(k), int(n)
    if not 1 <= part <= parts <= 64:
        raise ConfigError(f"--part {text!r}: need 1 <= K <= N <= 64")
    return part, parts


def part_of(station_id: str, parts: int) -> int:
    """The part (1..``parts``) that picks ``station_id`` (module docstring)."""
    return zlib.crc32(station_id.encode()) % parts + 1


def part_stations(station_ids: Sequence[str], part: int, parts: int) -> list[str]:
    """The stations of part ``part`` of ``parts``, sorted."""
    return sorted(s for s in station_ids if part_of(s, parts) == part)


def role_state_file(path: Path, role: str) -> Path:
    """``stream_state.json`` -> ``stream_state.<role>.json``."""
    return path.with_name(f"{path.stem}.{role}{path.suffix}")


class PickerPart(StreamProcess):
    """Part ``part`` of ``parts`` of the station pickers (module docstring).

    Args:
        settings: the configuration (``[stream]``, ``[stream.broker]``, the network).
        part, parts: K and N of ``--part K/N``.
        feed, inventory, store, state_file, host: as :class:`~seismo.shells.stream.StreamService`.

    Raises:
        ConfigError: no broker URL, no station in this part.
        BrokerError: Redis does not answer at start.
    """

    def __init__(
        self,
        settings: Settings,
        part: int,
        parts: int,
        *,
        feed: str | None = None,
        inventory: str | Path | None = None,
        store: bool = True,
        state_file: Path | None = None,
        host: str | None = None,
    ) -> None:
        self.cfg = cfg = settings.stream
        self.tag = f"pickers-{part}of{parts}"
        self.part = f"{part}/{parts}"
        ctx = Context.from_settings(settings, inventory)
        mine = part_stations(sorted(ctx.stations), part, parts)
        if not mine:
            raise ConfigError(f"--part {self.part}: no station of the {len(ctx.stations)} "
                              "falls in this part (fewer parts)")
        self.broker = open_broker(cfg.broker)
        self.sender = BatchSender(self.broker, cfg.broker)
        self.readers = SeedLinkReaders(seedlink_groups(settings, mine, feed), cfg,
                                       timeout_s=settings.feeds.timeout_s)
        self.pickers = StationPickers({s: ctx.stations[s] for s in mine}, ctx.inventory,
                                      {s: ctx.picker_cfg(s) for s in mine}, settings.intensity,
                                      settings.instrument, cfg, at=UTCDateTime())
        self.state_file = Path(state_file or role_state_file(Path(cfg.state_file), self.tag))
        # the raw records of the last minutes, for the associator's archive requests
        self.ring = RecordRing(cfg.event_archive_pre_s + cfg.event_archive_post_s
                               + cfg.close_after_s)
        self.pickers.recorder = self.ring.add
        self.archive_dir = Path(cfg.event_archive_dir)
        self.requests = open_broker(cfg.broker, stream="archive")
        self._after = self.requests.last_id()  # requests from now on
        st, _ = open_edges(settings, store=store, alerts=False)
        self.store = st
        self.writer = StoreWriter()
        self.heartbeat = Heartbeat(f"{host or socket.gethostname()}:{self.tag}",
                                   cfg.heartbeat_s, time.time())
        self.stop = threading.Event()
        self._picks: list[StationPicks] = []
        self._sent_prov: dict[str, tuple[str, ...]] = {}
        self._sent_newest: dict[str, int | None] = {}
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ life cycle
    def _start(self) -> None:
        writer = threading.Thread(target=self.writer.run, name="stream-store", daemon=True)
        writer.start()
        self._threads = [*self.readers.start(self.stop), writer]
        log.info("seismo stream, picker part %s: %d stations from %s, to %s", self.part,
                 len(self.pickers.states), ", ".join(mask_url(u) for u in self.readers.groups),
                 self.broker.shown)

    def _restore(self) -> None:
        resume_pickers(self.readers, self.pickers, load_state(self.state_file),
                       self.state_file)

    def _save(self) -> None:
        save_state_logged(self.state_file, StreamState(
            positions=dict(self.pickers.positions), saved=UTCDateTime()))

    def _shutdown(self) -> None:
        self.stop.set()
        deadline = time.monotonic() + self.cfg.shutdown_s
        self.readers.close()
        for rec in self.readers.drain():  # what was received is processed and published
            self._process(rec)
        self._publish(time.time())
        self._serve_archive(now_write=True)
        self._save()
        if self.sender.buffer:
            log.error("shutdown: %d batches not delivered to the broker (it is down)",
                      len(self.sender.buffer))
        self._beat(time.time(), stopped=True)
        self.writer.close()
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if self.store is not None:
            try:
                self.store.flush_spool()
            except SeismoError as exc:
                log.error("shutdown: spool not flushed (kept on disk): %s", exc)
            self.store.close()
        self.broker.close()
        self.requests.close()
        log.info("picker part %s stopped: %d records, %d picks, %d batches sent; %.0f s "
                 "running, %.1f s of CPU", self.part, self.pickers.n_records,
                 self.pickers.n_picks, self.sender.n_sent,
                 time.time() - self.heartbeat.started, time.process_time())

    # ------------------------------------------------------------------ main loop
    def _loop(self) -> None:
        every = self.cfg.broker.publish_every_s
        publish, save = Ticker(every), Ticker(1.0)
        beat = Ticker(self.heartbeat.every_s, time.time())
        while not self.stop.is_set():
            for rec in self.readers.take(_BATCH, min(0.2, every)):
                self._process(rec)
            now = time.time()
            for msg in self.pickers.flush(now):
                self._collect(msg)
            if publish.due(now):
                self._publish(now)
                self._serve_archive()
            if save.due(now):
                self._save()
            if beat.due(now):
                self._beat(now)

    def _process(self, rec: Any) -> None:
        with boundary("stream record", logger=log, station=rec.station_id):
            msg = self.pickers.process(rec)
            if msg is not None:
                self._collect(msg)

    def _collect(self, msg: StationPicks) -> None:
        """Keep ``msg`` for the next batch unless it only repeats the station's
        provisional picks."""
        prov = tuple(p.id for p in msg.provisional)
        if not msg.final and self._sent_prov.get(msg.station_id, ()) == prov:
            return
        self._sent_prov[msg.station_id] = prov
        self._picks.append(msg)

    def _publish(self, now: float) -> None:
        """One batch: the picks collected and the stations whose state changed."""
        updates = []
        for sid, state in self.pickers.states.items():
            with boundary("station update", logger=log, station=sid):
                u = station_update(state, self.pickers.arrived.get(sid),
                                   self._sent_newest.get(sid))
                if u is not None:
                    self._sent_newest[sid] = u["newest"]
                    updates.append(u)
        batch = None
        if updates or self._picks:
            batch = PartBatch(self.part, now, self._picks, updates, {
                "records": self.pickers.n_records, "picks": self.pickers.n_picks,
                "rejected": self.pickers.n_rejected, "stations": self.pickers.n_stations})
            self._picks = []
        self.sender.send(batch, now)

    def _serve_archive(self, now_write: bool = False) -> None:
        """The associator's archive requests since the last look: this part's records of
        each event to its file (off this thread, unless ``now_write``)."""
        try:
            got = self.requests.read_after(self._after, 100)
        except BrokerError as exc:  # the broker is down: the sender says so
            log.debug("archive requests not read: %s", exc)
            return
        for entry, msg in got:
            self._after = entry
            try:
                req = ArchiveRequest.from_dict(msg)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("archive request %s unreadable, skipped: %s", entry, exc)
                continue
            write = functools.partial(self._write_archive, req, self.ring.span(req.t0, req.t1))
            if now_write:
                write()
            else:
                self.writer.put("event waveforms", write)

    def _write_archive(self, req: ArchiveRequest, records: list[bytes]) -> None:
        try:
            write_event_records(self.archive_dir, req.event_id, records, part=self.tag)
        except (OSError, SeismoError) as exc:
            log.error("event %s: waveforms not archived in %s: %s", req.event_id,
                      self.archive_dir, exc)

    def _beat(self, now: float, stopped: bool = False) -> None:
        fields = self.heartbeat.fields(now, self.pickers, None, None, self.readers.queue.qsize())
        if stopped:  # the last beat of a clean shutdown (seismo.health.stream)
            fields["stopped"] = True
        fields["broker_buffer"] = len(self.sender.buffer)
        fields["broker_dropped"] = self.sender.n_dropped
        log.info("heartbeat: %s", fields)
        if self.store is not None:
            store, host = self.store, self.heartbeat.host
            beat = {k: v for k, v in fields.items() if v is not None}
            self.writer.put("heartbeat",
                            lambda: store.write_heartbeat(host, UTCDateTime(now), **beat))
