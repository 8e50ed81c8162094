"""The registry of known events: every place seismo knows events from, read through one
interface, and the one identity rule applied to them.

A new solution takes the id of the known event it is (:func:`seismo.event.identity.identify`):
so a reprocessed window, the DAG's later solution of an event ``seismo stream``
announced, or a stream restarted mid-event continue one event's versions and alert
thread. The events known come from sources with one small interface,
:class:`KnownEventSource` (``known_events(since, until)`` ->
:class:`~seismo.model.EventSummary`):

* the store (:class:`StoredEvents`, read when needed; :class:`StoredSnapshot`, refreshed
  in the background for ``seismo stream``, so a slow database never holds it up);
* the outbox (:meth:`seismo.alerts.service.AlertService.known_events`, the events alerted);
* the stream state (:class:`seismo.shells.stream_state.AnnouncedEvents`, the events the
  stream announced);
* this process (:class:`RecentEvents`, the events it handled: ``seismo detect`` without a
  store).

One unreadable source never stops detection: it is logged and the others decide.

The store is also the second source of the **alert record** (:class:`StoredAlerts`,
:class:`StoredSnapshot`; :class:`seismo.alerts.service.SentHistory`): the messages other
processes and installations recorded in its ``alerts`` measurement, so a thread continues
after them and an identifier is never reused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from obspy import UTCDateTime

from seismo.alerts.outbox import QueuedMessage
from seismo.errors import SeismoError
from seismo.event.identity import identify, merge_known, origin_time_bounds
from seismo.model import Event, EventSummary

if TYPE_CHECKING:
    from seismo.io.store import InfluxStore

log = logging.getLogger(__name__)

#: Known events this far (s) before the earliest and after the latest origin time of a
#: batch are looked at (the matching itself allows ``pipeline.event_match_time_s``).
MATCH_SPAN_S = 600.0
#: Events a process remembers as handled (:class:`RecentEvents`).
RECENT_MAX = 1000


class KnownEventSource(Protocol):
    """Something that knows events (module docstring)."""

    def known_events(self, since: UTCDateTime, until: UTCDateTime) -> list[EventSummary]:
        """The events it knows with origin time in ``[since, until]``.

        Raises:
            SeismoError, OSError: the source cannot be read now.
        """
        ...


class StoredEvents:
    """The events stored in InfluxDB (latest version of each), read when asked; the events
    of the range read last are kept until :meth:`forget` (a window reads them once for
    identity and for its reviewed events)."""

    def __init__(self, store: InfluxStore) -> None:
        self.store = store
        self._cache: tuple[tuple[UTCDateTime, UTCDateTime], list[Event]] | None = None

    def events(self, since: UTCDateTime, until: UTCDateTime) -> list[Event]:
        """Stored events with origin time in ``[since, until]`` (raises StoreError)."""
        if self._cache is not None and self._cache[0] == (since, until):
            return self._cache[1]
        found: list[Event] = self.store.query_events(since, until)
        self._cache = ((since, until), found)
        return found

    def forget(self) -> None:
        self._cache = None

    def known_events(self, since: UTCDateTime, until: UTCDateTime) -> list[EventSummary]:
        return [EventSummary.of(e) for e in self.events(since, until)]


def _messages(rows: list[dict], stream: str) -> list[QueuedMessage]:  # type: ignore[type-arg]
    out = []
    for r in rows:
        m = QueuedMessage.from_record(r, stream)
        if m is not None:
            out.append(m)
    return out


class StoredSnapshot:
    """The events stored in InfluxDB over the last ``span_s`` (and ``ahead_s`` ahead), and
    the alert records sent over that span, read by :meth:`refresh` (from a background
    thread): answering never waits for the database. Empty until the first refresh."""

    def __init__(self, store: InfluxStore, span_s: float = 3600.0, ahead_s: float = 60.0) -> None:
        self.store = store
        self.span_s = span_s
        self.ahead_s = ahead_s
        self._events: list[EventSummary] = []
        self._alerts: dict[str, list[dict]] = {}  # type: ignore[type-arg]

    def refresh(self, now: UTCDateTime) -> None:
        """Read the store (raises StoreError; the previous snapshot then stays)."""
        found = self.store.query_events(now - self.span_s, now + self.ahead_s)
        rows = self.store.query_alerts(now - self.span_s, now + self.ahead_s)
        self._events = [EventSummary.of(e) for e in found]
        alerts: dict[str, list[dict]] = {}  # type: ignore[type-arg]
        for r in rows:
            alerts.setdefault(str(r.get("event_id")), []).append(r)
        self._alerts = alerts

    def known_events(self, since: UTCDateTime, until: UTCDateTime) -> list[EventSummary]:
        return [k for k in self._events if since <= k.time <= until]

    def sent_messages(self, subject_id: str, stream: str) -> list[QueuedMessage]:
        """The messages about ``subject_id`` in the last snapshot (never waits)."""
        return _messages(self._alerts.get(subject_id, []), stream)


class StoredAlerts:
    """The store's alert record, read per event when asked (the window path, review).

    After a failed read the store is not asked again for ``retry_s`` (the outbox decides
    meanwhile), so a store that is down costs one timeout, not one per event.
    """

    def __init__(self, store: InfluxStore, retry_s: float = 60.0) -> None:
        self.store = store
        self.retry_s = retry_s
        self._down_until = 0.0

    def sent_messages(self, subject_id: str, stream: str) -> list[QueuedMessage]:
        if subject_id.startswith("notice.") or time.monotonic() < self._down_until:
            return []
        bounds = origin_time_bounds(subject_id)
        try:
            rows = self.store.query_alert_records(subject_id,
                                                  None if bounds is None else bounds[0])
        except (SeismoError, OSError):
            self._down_until = time.monotonic() + self.retry_s
            raise
        return _messages(rows, stream)


class RecentEvents:
    """The events this process handled, the newest ``max_n``."""

    def __init__(self, max_n: int = RECENT_MAX) -> None:
        self.max_n = max_n
        self._events: list[EventSummary] = []

    def add(self, events: Iterable[EventSummary]) -> None:
        self._events.extend(events)
        del self._events[:-self.max_n]

    def known_events(self, since: UTCDateTime, until: UTCDateTime) -> list[EventSummary]:
        return [k for k in self._events if since <= k.time <= until]


class EventRegistry:
    """Known events from every source, and identity (module docstring).

    Args:
        sources: name -> source (the name is for the log).
        time_s, distance_km: the matching tolerances (``pipeline.event_match_time_s``,
            ``event_match_distance_km``).
        recent: where identified events are remembered (None: not remembered here, e.g.
            the stream, whose state file does it).
    """

    def __init__(
        self,
        sources: Mapping[str, KnownEventSource],
        time_s: float,
        distance_km: float,
        recent: RecentEvents | None = None,
    ) -> None:
        self.sources = dict(sources)
        if recent is not None:
            self.sources["this process"] = recent
        self.time_s = time_s
        self.distance_km = distance_km
        self.recent = recent

    def known(self, since: UTCDateTime, until: UTCDateTime) -> list[EventSummary]:
        """Every source's events with origin time in ``[since, until]``, one per id (the
        highest version)."""
        found: list[EventSummary] = []
        for name, src in self.sources.items():
            try:
                found += src.known_events(since, until)
            except (SeismoError, OSError) as exc:  # one unreadable source: the others decide
                log.error("cannot read known events from the %s: %s", name, exc)
        return merge_known(found)

    def identify(self, events: Sequence[Event], *, taken: Collection[str] = ()) -> list[Event]:
        """Each of ``events`` with the id and version of the known event it is
        (:func:`seismo.event.identity.identify`; ids in ``taken`` are not matched), by
        origin time."""
        if not events:
            return []
        since = min(e.time for e in events) - MATCH_SPAN_S
        until = max(e.time for e in events) + MATCH_SPAN_S
        out = identify(events, self.known(since, until), self.time_s, self.distance_km,
                       taken=taken)
        if self.recent is not None:
            self.recent.add(EventSummary.of(e) for e in out)
        return out
