"""The associator of the split ``seismo stream``: ``--role associator``.

The single process (:class:`~seismo.shells.stream.StreamService`) with its input
replaced: instead of SeedLink readers and station pickers in the same process, the
batches of the picker parts (:mod:`seismo.shells.stream_part`) read from Redis Streams
through a consumer group (:class:`~seismo.shells.stream_broker.BatchReceiver`). Their
station updates keep an :class:`~seismo.shells.stream_amplitudes.AmplitudeMirror`
(the measurement's :class:`~seismo.shells.stream_pickers.AmplitudeSource`, and the
network's data time and live stations), their
:class:`~seismo.shells.stream_pickers.StationPicks` go to the same
:class:`~seismo.shells.stream_events.StreamAssociator`; from there on everything is the
single process's: event versions, identity, the alert thread, storage, heartbeat
(host tag ``<host>:associator``) and the state file (``[stream] state_file`` with
``.associator`` before the suffix: the pool's picks and the announced events).

**Restart.** The state file's picks and events first; then the batches the stream still
holds up to the group's last delivered entry (the peaks of the last minutes; picks are
re-added to the pool, which ignores duplicates, and not stored again); then the
entries delivered before and never acknowledged; then new ones. A batch is
acknowledged after it was processed.

**Event waveforms.** Asked of the picker parts (:class:`~seismo.shells.stream_broker.
ArchiveRequest`), which hold the records.

**Broker down.** The associator logs once and retries every second (up to 5 s apart);
open events keep being measured and closed on what arrived.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

from obspy import UTCDateTime

from seismo.boundary import boundary
from seismo.config import Settings
from seismo.errors import BrokerError
from seismo.io.seedlink import Backoff
from seismo.model import Event
from seismo.shells.stream import StreamService
from seismo.shells.stream_amplitudes import AmplitudeMirror
from seismo.shells.stream_broker import ArchiveRequest, BatchReceiver, PartBatch, open_broker
from seismo.shells.stream_part import role_state_file
from seismo.shells.stream_state import StreamState, load_state

log = logging.getLogger(__name__)

#: XREADGROUP waits this long for new entries (ms).
BLOCK_MS = 200


class AssociatorService(StreamService):
    """The associator of the split stream (module docstring); arguments as
    :class:`~seismo.shells.stream.StreamService` (no feed).

    Raises:
        ConfigError: no broker URL.
        BrokerError: Redis does not answer at start.
    """

    def __init__(self, settings: Settings, *, state_file: Path | None = None,
                 **kwargs: object) -> None:
        state = state_file or role_state_file(Path(settings.stream.state_file), "associator")
        super().__init__(settings, state_file=state, **kwargs)  # type: ignore[arg-type]
        self.heartbeat.host = f"{self.heartbeat.host}:associator"
        self.out.archive = self._request_archive
        self._retry_at = 0.0
        self._backoff = Backoff(1.0, 5.0)  # 1, 2, 4, then every 5 s

    def _open_input(self, feed: str | None) -> None:
        cfg = self.cfg
        self.broker = open_broker(cfg.broker)
        self.requests = open_broker(cfg.broker, stream="archive")
        self.receiver = BatchReceiver(self.broker, cfg.broker.group, socket.gethostname())
        self.mirror = AmplitudeMirror(self.ctx.stations, cfg)
        self.stations = self.mirror
        self.amplitudes = self.mirror
        self.ring = None

    def _started(self) -> None:
        log.info("seismo stream, associator: %d stations, from %s (group %s)",
                 len(self.ctx.stations), self.broker.shown, self.receiver.group)

    def _inputs(self) -> list[threading.Thread]:
        return []

    def _close_input(self) -> None:
        self.broker.close()

    def _request_archive(self, ev: Event) -> None:
        """Ask the picker parts for ``ev``'s records (they hold them; the broker module
        docstring); a failure is logged, never raised (the alert path goes on)."""
        req = ArchiveRequest(ev.id, float(ev.time) - self.cfg.event_archive_pre_s,
                             float(ev.time) + self.cfg.event_archive_post_s)
        try:
            self.requests.add(req.to_dict())
        except BrokerError as exc:
            log.error("event %s: waveforms not archived (no request to the picker parts): "
                      "%s", ev.id, exc)

    def stations_clock(self, now: float) -> float:
        return self.mirror.clock(now)

    def _queued(self) -> int:
        return 0

    # ------------------------------------------------------------------ state
    def _restore(self) -> None:
        st = load_state(self.state_file)
        self.events.restore(st.picks)
        self.announced.restore(st.events)
        n = 0
        for batch in self.receiver.replay():
            self._apply(batch, store=False)
            n += 1
        log.info("associator: %d pool picks and %d events from %s, %d batches replayed "
                 "from %s", len(st.picks), len(st.events), self.state_file, n, self.broker.key)

    def _state(self) -> StreamState:
        return StreamState(picks=self.events.pool, events=self.announced.memos(),
                           saved=UTCDateTime())

    # ------------------------------------------------------------------ input
    def _drain(self) -> None:
        now = time.time()
        if now < self._retry_at:
            self.stop.wait(min(0.2, self._retry_at - now))
            return
        try:
            got = self.receiver.read(BLOCK_MS)
        except BrokerError as exc:
            self.receiver.failed(exc)
            self._retry_at = now + self._backoff.next_delay()
            return
        self.receiver.recovered()
        self._backoff.reset()
        done = []
        for entry, batch in got:
            if batch is not None:
                with boundary("broker batch", logger=log, entry=entry):
                    self._apply(batch, store=True)
            done.append(entry)
        try:
            self.receiver.ack(done)
        except BrokerError as exc:  # they stay pending: re-read after a restart (no harm)
            self.receiver.failed(exc)

    def _apply(self, batch: PartBatch, *, store: bool) -> None:
        """A part's batch: its station updates into the mirror, then its picks into the
        associator (and the store, unless replayed)."""
        for update in batch.stations:
            with boundary("station update", logger=log, station=update.get("station_id")):
                self.mirror.apply(update)
        self.mirror.note_counts(batch.part, batch.counts)
        for msg in batch.picks:
            if store:
                self._handle(msg)
            else:
                self.events.add(msg)
