"""The messages between the picker parts and the associator of a split ``seismo stream``,
and both ends of the broker (Redis Streams, :class:`~seismo.io.broker.StreamBroker`).

Every ``[stream.broker] publish_every_s`` a picker part appends one :class:`PartBatch`
to the stream ``<prefix>:stations``: the
:class:`~seismo.shells.stream_pickers.StationPicks` messages of its records since the
last batch (a message that only repeats a station's provisional picks is left out) and
a station update per station whose state changed
(:func:`~seismo.shells.stream_amplitudes.station_update`). The parts append to one
stream, so the associator sees each part's batches in order.

:class:`BatchSender` (picker part): while Redis is unreachable the batches wait in a
bounded buffer (``buffer_s`` worth; the oldest are dropped, counted and logged) and
go out in order when it is back; the part never stops for the broker.

:class:`BatchReceiver` (associator): reads through the consumer group ``group``
(XREADGROUP), acknowledges each batch after it was processed (XACK). At start it
first re-reads what the stream still holds up to the group's last delivered entry
(:meth:`BatchReceiver.replay`: the peaks of the last minutes, as the stations' states
had them; picks already processed are re-added to the pool, which ignores duplicates),
then its pending entries (delivered, not acknowledged: a crash between the two), then
the new ones.

**Event waveforms.** The raw records stay in the picker parts. When the associator
would archive an event's waveforms (first version, close, shutdown) it appends an
:class:`ArchiveRequest` to ``<prefix>:archive``; every part reads that stream (XREAD,
no group: each part serves every request) and writes the records it holds of its own
stations to ``<event id>.pickers-KofN.mseed`` in ``[stream] event_archive_dir``
(:func:`~seismo.io.event_archive.read_event_waveforms` reads the parts' files together).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from seismo.config import secret
from seismo.errors import BrokerError, ConfigError
from seismo.io.broker import StreamBroker
from seismo.shells.settings import BrokerConfig
from seismo.shells.stream_pickers import StationPicks

log = logging.getLogger(__name__)

_FORMAT = 1
#: Entries read per XREADGROUP / XRANGE call.
READ_COUNT = 50


@dataclass
class PartBatch:
    """One picker part's news (module docstring). ``counts``: the part's running totals
    (records, picks, rejected records, stations), for the associator's heartbeat."""

    part: str  # "1/2"
    at: float  # host clock when sent (UTC s)
    picks: list[StationPicks] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "part": self.part, "at": self.at,
                "picks": [m.to_dict() for m in self.picks], "stations": self.stations,
                "counts": self.counts}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PartBatch:
        if d.get("format") != _FORMAT:
            raise BrokerError(f"batch format {d.get('format')!r}, expected {_FORMAT}")
        return cls(str(d["part"]), float(d["at"]),
                   [StationPicks.from_dict(m) for m in d["picks"]], list(d["stations"]),
                   {str(k): int(v) for k, v in d.get("counts", {}).items()})


@dataclass(frozen=True)
class ArchiveRequest:
    """Archive the records of ``event_id`` from ``t0`` to ``t1`` (UTC s)."""

    event_id: str
    t0: float
    t1: float

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "t0": self.t0, "t1": self.t1}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArchiveRequest:
        return cls(str(d["event_id"]), float(d["t0"]), float(d["t1"]))


def open_broker(cfg: BrokerConfig, *, stream: str = "stations",
                timeout_s: float = 5.0) -> StreamBroker:
    """The stream ``<prefix>:<stream>`` of ``cfg``, checked: Redis answers now.

    Raises:
        ConfigError: no ``[stream.broker] url``.
        BrokerError: Redis does not answer (the message names the masked URL)."""
    if not cfg.url:
        raise ConfigError("seismo stream --role needs a broker: set [stream.broker] url "
                          "(redis://host:port/db; the stack writes its own)")
    broker = StreamBroker(cfg.url, f"{cfg.prefix}:{stream}", maxlen=cfg.maxlen,
                          password=secret(cfg.password_env), timeout_s=timeout_s)
    try:
        version = broker.ping()
    except BrokerError as exc:
        broker.close()
        raise BrokerError(f"the split stream cannot start: {exc}") from None
    log.info("broker: Redis %s at %s, stream %s", version, broker.shown, broker.key)
    return broker


class BatchSender:
    """A picker part's end (module docstring)."""

    def __init__(self, broker: StreamBroker, cfg: BrokerConfig) -> None:
        self.broker = broker
        self.buffer: collections.deque[PartBatch] = collections.deque()
        self.max_batches = max(1, round(cfg.buffer_s / cfg.publish_every_s))
        self.n_sent = 0
        self.n_dropped = 0
        self.down_since: float | None = None
        self._retry_at = 0.0

    def send(self, batch: PartBatch | None, now: float) -> None:
        """Queue ``batch`` (None: nothing new) and send what waits, oldest first."""
        if batch is not None:
            self.buffer.append(batch)
            while len(self.buffer) > self.max_batches:
                self.buffer.popleft()
                self.n_dropped += 1
                if self.n_dropped == 1 or self.n_dropped % 100 == 0:
                    log.error("broker down: %d batches dropped (buffer of %d full)",
                              self.n_dropped, self.max_batches)
        if now < self._retry_at:
            return
        while self.buffer:
            try:
                self.broker.add(self.buffer[0].to_dict())
            except BrokerError as exc:
                if self.down_since is None:
                    self.down_since = now
                    log.error("broker unreachable, buffering (up to %d batches): %s",
                              self.max_batches, exc)
                self._retry_at = now + 1.0
                return
            self.buffer.popleft()
            self.n_sent += 1
        if self.down_since is not None:
            log.warning("broker back after %.0f s", now - self.down_since)
            self.down_since = None


class BatchReceiver:
    """The associator's end (module docstring).

    Args:
        broker: the stream.
        group: the consumer group (``[stream.broker] group``).
        consumer: this consumer's name (the host).
    """

    def __init__(self, broker: StreamBroker, group: str, consumer: str) -> None:
        self.broker, self.group, self.consumer = broker, group, consumer
        self.n_read = 0
        self.n_bad = 0
        self.down_since: float | None = None
        self._pending_done = False

    def replay(self) -> Iterator[PartBatch]:
        """The batches the stream still holds up to the group's last delivered entry
        (creating the group when missing: then nothing)."""
        last = self.broker.last_delivered(self.group)
        self.broker.ensure_group(self.group)
        if last is None or last == "0-0":
            return
        start = "-"
        while True:
            got = self.broker.range(start, last, READ_COUNT)
            for entry, msg in got:
                batch = self._batch(entry, msg)
                if batch is not None:
                    yield batch
            if len(got) < READ_COUNT:
                return
            start = "(" + got[-1][0]

    def read(self, block_ms: int) -> list[tuple[str, PartBatch | None]]:
        """The next entries: first the pending ones, then new ones (waiting up to
        ``block_ms``); None for an entry that is not a batch (acknowledge it too)."""
        pending = not self._pending_done
        got = self.broker.read_group(self.group, self.consumer, count=READ_COUNT,
                                     block_ms=block_ms, pending=pending)
        if pending and not got:
            self._pending_done = True
            return self.read(block_ms)
        self.n_read += len(got)
        return [(entry, self._batch(entry, msg)) for entry, msg in got]

    def ack(self, ids: list[str]) -> None:
        self.broker.ack(self.group, ids)

    def _batch(self, entry: str, msg: dict[str, Any]) -> PartBatch | None:
        try:
            return PartBatch.from_dict(msg)
        except (BrokerError, KeyError, TypeError, ValueError) as exc:
            self.n_bad += 1
            log.error("broker entry %s is not a batch, skipped: %s", entry, exc)
            return None

    def failed(self, exc: BrokerError) -> None:
        """A read failed: logged once per outage (the caller retries)."""
        if self.down_since is None:
            self.down_since = time.time()
            log.error("broker unreachable, retrying: %s", exc)

    def recovered(self) -> None:
        if self.down_since is not None:
            log.warning("broker back after %.0f s", time.time() - self.down_since)
            self.down_since = None
