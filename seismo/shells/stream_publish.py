"""The publisher of ``seismo stream``: event versions in, the window path's publishing edge out.

Each :class:`~seismo.shells.stream_events.EventUpdate` goes through the one publishing
edge (:class:`~seismo.shells.publish.Publisher`), as the window path's events do:

* **identity**: the first version of a tracked event takes the id and next version of
  a known event it matches (:class:`~seismo.shells.registry.EventRegistry`: events this
  stream announced (state file), events in the outbox and, refreshed in the background,
  events in InfluxDB): so a restart or the DAG's later solution continues one event's
  versions and alert thread. Later versions keep the id and count up;
* **the alert thread**: first version -> Alert, material change -> Update (the alert
  service decides from the outbox), fallen apart -> Cancel;
* **storage**: picks, versions (tag ``solution=stream``), alert records and the
  heartbeat go to InfluxDB from a writer thread (:class:`StoreWriter`), so a slow
  database never holds detection up; delivery runs in its own thread
  (:class:`Deliverer`), woken as soon as something is queued.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from obspy import UTCDateTime

from seismo.errors import SeismoError, StoreError
from seismo.io.store.points import STREAM_SOLUTION
from seismo.model import Event, Pick
from seismo.shells.publish import Publisher
from seismo.shells.stream_events import EventUpdate
from seismo.shells.stream_state import AnnouncedEvents

log = logging.getLogger(__name__)


class StoreWriter:
    """Store writes in order, off the detection thread (a slow database waits here)."""

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[str, Callable[[], Any]] | None] = queue.Queue()

    def put(self, what: str, write: Callable[[], Any]) -> None:
        """Queue ``write()`` (``what`` names it in the log)."""
        self._q.put((what, write))

    def close(self) -> None:
        """The writes queued so far are the last: :meth:`run` returns after them."""
        self._q.put(None)

    @property
    def pending(self) -> int:
        return self._q.qsize()

    def run(self) -> None:
        """The writer thread's body: until :meth:`close`."""
        while True:
            item = self._q.get()
            if item is None:
                return
            what, write = item
            try:
                write()
            except StoreError as exc:
                log.error("STORE: writing %s failed: %s", what, exc)
            except Exception:  # one store write's error boundary: the writer thread goes on
                log.exception("STORE: writing %s failed", what)


class Deliverer:
    """Delivers due alerts as soon as they are queued, and retries every few seconds."""

    def __init__(self, publisher: Publisher, every_s: float = 2.0) -> None:
        self.publisher = publisher
        self.every_s = every_s
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """The delivery thread's body: until ``stop`` is set."""
        while not stop.is_set():
            self._wake.wait(self.every_s)
            self._wake.clear()
            self.deliver()

    def deliver(self) -> None:
        """One delivery round (the outbox keeps what is not delivered; the next retries)."""
        alerts = self.publisher.alerts
        if alerts is None:
            return
        try:
            alerts.deliver_due()
        except Exception:  # one delivery round's error boundary: the next round retries
            log.exception("alert delivery failed")


@dataclass
class _Thread:
    """One tracked event as published: its id, last version, last event, alert thread."""

    id: str
    version: int
    event: Event | None = None
    alerted: bool = False


class StreamPublisher:
    """Event versions in, publication out (module docstring).

    Args:
        publisher: the publishing edge (registry, store, alerts).
        announced: the events announced (the state file's), a registry source.
        sink: where store writes go (:meth:`StoreWriter.put`; None: no store).
        wake: called when messages were queued (wakes the :class:`Deliverer`).
        cancel_after_s: ``[stream] cancel_after_s``, for the Cancel's text.
        archive: called with an event's first version and its last one when it closes
            (the event waveform archive, :mod:`seismo.io.event_archive`).
    """

    def __init__(
        self,
        publisher: Publisher,
        announced: AnnouncedEvents,
        sink: Callable[[str, Callable[[], Any]], None] | None,
        wake: Callable[[], None],
        cancel_after_s: float,
        archive: Callable[[Event], None] | None = None,
    ) -> None:
        self.publisher = publisher
        self.archive = archive
        self.announced = announced
        self.sink = sink if publisher.store is not None else None
        self.wake = wake
        self.cancel_after_s = cancel_after_s
        self.threads: dict[int, _Thread] = {}
        self.n_versions = 0

    def handle(self, update: EventUpdate, now: float) -> Event | None:
        """One update; returns the version published (None for a close or a vanishing)."""
        if update.kind == "version" and update.event is not None:
            return self.version(update.key, update.event, now)
        if update.kind == "close":
            self.close(update.key)
        elif update.kind == "vanish":
            self.vanish(update.key)
        return None

    def version(self, key: int, ev: Event, now: float) -> Event:
        """Publish ``ev`` as the next version of tracked event ``key``."""
        t = self.threads.get(key)
        first = t is None
        if t is None:
            taken = {x.id for x in self.threads.values()}
            (ev,) = self.publisher.identify([ev], taken=taken)
            t = self.threads[key] = _Thread(ev.id, ev.version - 1)
        t.version += 1
        ev = dataclasses.replace(ev, id=t.id, version=t.version)
        t.event = ev
        self.n_versions += 1
        self.announced.remember(ev, alerted=t.alerted)
        log.info("stream event %s v%d: %s %.3f %.3f %.1f km ML %s I %s, %d stations, "
                 "%.1f s after origin", ev.id, ev.version, ev.time, ev.latitude, ev.longitude,
                 ev.depth_km, ev.magnitude, ev.max_intensity, ev.n_stations,
                 now - float(ev.time))
        out = self.publisher.publish([ev], self.sink)
        if out.queued:
            t.alerted = True
            self.announced.alerted(ev.id)
            self.wake()
        if first and self.archive is not None:
            self.archive(ev)
        return ev

    def close(self, key: int) -> None:
        """Tracked event ``key`` is closed: no more versions; it stays a known event."""
        t = self.threads.pop(key, None)
        if t is not None:
            self.announced.close(t.id)
            if t.event is not None and self.archive is not None:
                self.archive(t.event)

    def archive_open(self) -> None:
        """At shutdown: archive what has arrived of every open event."""
        if self.archive is not None:
            for t in self.threads.values():
                if t.event is not None:
                    self.archive(t.event)

    def vanish(self, key: int) -> None:
        """Tracked event ``key`` fell apart: forgotten, and its alert thread cancelled."""
        t = self.threads.pop(key, None)
        if t is None:
            return
        self.announced.forget(t.id)
        if t.event is None:
            return
        log.warning("stream event %s fell apart: no association found it for %.0f s",
                    t.id, self.cancel_after_s)
        if not t.alerted:
            return
        reason = ("the real-time solution fell apart: its picks no longer make an "
                  f"event (no association found it for {self.cancel_after_s:g} s)")
        if self.publisher.cancel(t.event, reason, self.sink).queued:
            self.wake()

    def picks(self, picks: Sequence[Pick]) -> None:
        """Store final picks (tag ``solution=stream``)."""
        store = self.publisher.store
        if picks and self.sink is not None and store is not None:
            got = list(picks)
            self.sink("picks", lambda: store.write_picks(got, STREAM_SOLUTION))

    def heartbeat(self, host: str, at: UTCDateTime, fields: dict[str, Any]) -> None:
        """Store one heartbeat point."""
        store = self.publisher.store
        if self.sink is not None and store is not None:
            beat = {k: v for k, v in fields.items() if v is not None}
            self.sink("heartbeat", lambda: store.write_heartbeat(host, at, **beat))

    def deliver_remaining(self) -> None:
        """At shutdown: deliver what is due (the outbox keeps the rest)."""
        alerts = self.publisher.alerts
        if alerts is None:
            return
        try:
            rep = alerts.deliver_due()
            log.info("shutdown: alerts delivered %d, pending %d", rep.delivered, rep.pending)
        except (SeismoError, OSError) as exc:  # the outbox keeps what it could not deliver
            log.error("shutdown: alert delivery failed: %s", exc)
