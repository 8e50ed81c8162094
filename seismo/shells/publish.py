"""The publishing edge of every shell: identity, versions, the alert thread, storage.

:class:`Publisher` is the one edge between measured events and the world, for the
window path (:class:`Runner`: the Airflow DAG, ``seismo detect``, drills) and for
``seismo stream`` (:mod:`seismo.shells.stream_publish`):

* **identity and versions**: a new solution takes the id and next version of the known
  event it is (:class:`~seismo.shells.registry.EventRegistry`: the store, the outbox,
  the stream state, this process; :func:`seismo.event.identity.identify`);
* **the alert thread**: :class:`~seismo.alerts.service.AlertService` decides from the
  thread recorded in the outbox whether a version is an Alert, an Update or nothing;
  :meth:`Publisher.cancel` ends a thread with a Cancel;
* **storage**: the event versions and the records of the queued messages go to InfluxDB
  through a *sink* the shell chooses (a window runs its writes in order after the
  alerts went out; the stream hands them to its writer thread): a slow or failing
  store never holds an alert up.

Alerting never stops publication: a failing outbox is logged and reported, the event
is still stored.

:class:`Runner` takes a :class:`~seismo.shells.window.WindowResult` (or its parts,
as the Airflow DAG has them) and

* queues alerts for the events and delivers what is due — first, and whatever
  happens to storage (the outbox is its own directory, ``alerts.outbox_dir``,
  which may live on another disk than the spool);
* writes the window's own picks, the per-station status and the events to
  InfluxDB (when configured; an outage spools, it never stops detection);
* never overwrites an event a seismologist has reviewed;
* says when a window saw too little to detect anything (see :func:`network_down`).

A window in which fewer stations delivered data than an event needs
(``associate.min_stations``) cannot show an earthquake however strong. The
runner then queues a *network-down notice* (:func:`network_down`: which stations
delivered nothing and why, in Chinese and English) to the on-call group through the
outbox (the same channels as earthquake alerts) and logs an error. It is rate-limited by
the wall clock and by outage, never by data time: one notice when an outage starts in
this process, and at most one per wall-clock hour per installation (the notice's key), so
a backfill over a ten-year data gap sends one, not one per data hour. A window without
any station result (a later re-measurement of its events) is never "down". The run
itself succeeds: the notice, not a red task in Airflow, is what reaches the people on
call (docs/reliability.md).

A window pass that finds no event where ``seismo stream`` announced one (the
event's first pick inside the window, ``UNCONFIRMED_GUARD_S`` from its edges) cancels
the stream's alert thread, when ``[stream] dag_cancels`` is on and the window had
every station's data (docs/streaming.md, "Reconciliation"): the complete pass is
the authority. Unless the window held the stream event's picks (at least
``associate.min_stations`` stations' picks within ``PICK_MATCH_S`` of the stored
stream version's): then the window pass failed to associate an event its data show,
and a correct Alert is not withdrawn for that (it is logged). It never sends a second
Alert: its own solution of an event the stream announced takes that event's id (the
registry knows the stream's events from the outbox and the store).

A storage failure that loses points (spool unusable *and* server unreachable)
is logged as an error and recorded in :attr:`RunReport.store_error`; the shells
turn it into a failure after the alerts went out (the Airflow task fails and is
retried; ``seismo detect`` exits non-zero).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from obspy import UTCDateTime

from seismo.alerts.outbox import QueuedMessage
from seismo.alerts.rules import ONCALL
from seismo.alerts.service import AlertService
from seismo.config import Settings
from seismo.errors import AlertError, SeismoError, StoreError
from seismo.event.identity import event_id_time, origin_time_bounds
from seismo.io.external import ExternalSource
from seismo.io.store import InfluxStore
from seismo.model import Event, EventSummary, Pick, StationResult
from seismo.shells.registry import (
    MATCH_SPAN_S,
    EventRegistry,
    KnownEventSource,
    RecentEvents,
    StoredAlerts,
    StoredEvents,
)
from seismo.shells.window import WindowResult
from seismo.shells.window_context import Window

if TYPE_CHECKING:
    from seismo.io.store.connection import InfluxConnection

log = logging.getLogger(__name__)

#: A stream event whose first pick is this close to a window edge is left to the
#: neighbouring window (its first pick there may differ by a sample or two), s.
UNCONFIRMED_GUARD_S = 5.0
#: A window pick and a stream pick of one station and phase this close are one onset (s):
#: the two pickers refine the same onset to within a few samples; design choice, a
#: margin well above that and well below an S-P time.
PICK_MATCH_S = 0.5


@dataclass
class RunReport:
    """What the edges did for one window (plain numbers, JSON-able)."""

    events: int = 0
    picks: int = 0
    station_errors: dict[str, str] = field(default_factory=dict)
    written: int = 0
    spooled: int = 0
    rejected: int = 0
    skipped_reviewed: list[str] = field(default_factory=list)
    alerts_queued: int = 0
    alerts_delivered: int = 0
    alerts_pending: int = 0
    event_ids: list[str] = field(default_factory=list)
    store_error: str | None = None
    alert_error: str | None = None
    network_down: str | None = None
    cancelled: list[str] = field(default_factory=list)  # stream events not confirmed
    spool_kept: dict[str, int] = field(default_factory=dict)  # segments of other destinations

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: Where a publisher's store writes go: ``sink(what, write)``; ``write()`` does the write.
Sink = Callable[[str, Callable[[], Any]], None]


@dataclass
class Publication:
    """What one publication did: the events published, the messages queued, and the
    alerting error when the outbox failed (the events were stored all the same)."""

    events: list[Event] = field(default_factory=list)
    queued: list[QueuedMessage] = field(default_factory=list)
    alert_error: str | None = None


def alert_service(
    settings: Settings,
    *,
    exercise: bool = False,
    alert_dir: Path | None = None,
    store: InfluxStore | None = None,
) -> AlertService:
    """The installation's alert service: its outbox (``[alerts] outbox_dir``), the store's
    alert record as the second source (``store``, when given), the console's public
    address for links (``[web]``). Every shell builds its alert service here."""
    return AlertService.from_settings(
        settings.alerts, settings.network, exercise=exercise, alert_dir=alert_dir,
        web=settings.web.base_url, history=None if store is None else StoredAlerts(store))


class EdgeOptions(TypedDict, total=False):
    """How a shell opens its edges (:func:`open_edges`), all optional: ``store`` and
    ``alerts`` False turn that edge off (default True: as configured); ``alert_dir`` adds
    a directory channel to every alert group; ``exercise`` marks the messages as a drill
    (:meth:`AlertService.from_settings`); ``connection`` replaces the store connection of
    the settings (e.g. one from an Airflow Connection)."""

    store: bool
    alerts: bool
    alert_dir: Path | None
    exercise: bool
    connection: InfluxConnection | None


def open_edges(
    settings: Settings, **options: Unpack[EdgeOptions]
) -> tuple[InfluxStore | None, AlertService | None]:
    """The store and the alert service as configured (None when off, :class:`EdgeOptions`)."""
    alert_dir = options.get("alert_dir")
    st = None
    if options.get("store", True) and settings.store.enabled:
        st = InfluxStore.from_settings(settings.store, options.get("connection"))
    al = None
    if options.get("alerts", True) and (settings.alerts.enabled or alert_dir is not None):
        al = alert_service(settings, exercise=options.get("exercise", False),
                           alert_dir=alert_dir, store=st)
    return st, al


@dataclass(eq=False)
class Publisher:
    """The publishing edge (module docstring). ``store``/``alerts`` may be None (off)."""

    registry: EventRegistry
    _: KW_ONLY
    store: InfluxStore | None = None
    alerts: AlertService | None = None

    def identify(self, events: Sequence[Event], *, taken: Collection[str] = ()) -> list[Event]:
        """New solutions with the id and version of the known events they are."""
        return self.registry.identify(events, taken=taken)

    def publish(self, events: Sequence[Event], sink: Sink | None) -> Publication:
        """Alert (Alert / Update / nothing per thread), then store the versions and the
        records of the queued messages through ``sink`` (None: not stored)."""
        out = Publication(list(events))
        if not events:
            return out
        alerts = self.alerts
        if alerts is not None:
            self._alert(out, f"alerting {', '.join(e.id for e in events)}",
                        lambda: alerts.process_events(list(events)))
        if sink is not None and self.store is not None:
            store, evs = self.store, list(events)
            sink("events", lambda: store.write_events(evs))
        self.record(out.queued, sink)
        return out

    def cancel(self, event: Event, reason: str, sink: Sink | None) -> Publication:
        """End ``event``'s open alert threads with a Cancel (nothing where none is open)."""
        out = Publication([event])
        alerts = self.alerts
        if alerts is None:
            return out
        self._alert(out, f"cancelling {event.id}", lambda: alerts.cancel(event, reason))
        self.record(out.queued, sink)
        return out

    @staticmethod
    def _alert(out: Publication, what: str, queue: Callable[[], list[QueuedMessage]]) -> None:
        """The alert path's error boundary: a failing outbox is logged and reported in
        ``out``; publication goes on (what was queued stays in the outbox)."""
        try:
            out.queued = queue()
        except (SeismoError, OSError) as exc:
            out.alert_error = f"{type(exc).__name__}: {exc}"
            log.error("%s failed: %s", what, exc)

    def record(self, queued: Sequence[QueuedMessage], sink: Sink | None) -> None:
        """Store the records of queued messages (the ``alerts`` measurement)."""
        if queued and sink is not None and self.store is not None:
            store, recs = self.store, [alert_record(q) for q in queued]
            sink("alerts", lambda: store.write_alerts(recs))

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class Runner:
    """Store and alert for windows. ``store``/``alerts`` may be None (turned off)."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: InfluxStore | None = None,
        alerts: AlertService | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.alerts = alerts
        self.stored = StoredEvents(store) if store is not None else None
        sources: dict[str, KnownEventSource] = {}
        if self.stored is not None:
            sources["store"] = self.stored
        if alerts is not None:
            sources["outbox"] = alerts
        tol = settings.pipeline
        registry = EventRegistry(sources, tol.event_match_time_s, tol.event_match_distance_km,
                                 recent=RecentEvents())
        self.publisher = Publisher(registry, store=store, alerts=alerts)
        # authoritative solutions (FDSN event service / QuakeML folder), when configured
        self.external = ExternalSource(settings.external)
        self._outage = False  # the previous window of this process was down

    @classmethod
    def from_settings(cls, settings: Settings, **options: Unpack[EdgeOptions]) -> Runner:
        """Store and alerts as configured (:func:`open_edges`)."""
        st, al = open_edges(settings, **options)
        return cls(settings, store=st, alerts=al)

    def close(self) -> None:
        self.publisher.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pieces
    def reviewed(self, events: Sequence[Event]) -> dict[str, Event]:
        """Stored reviewed versions (confirmed/rejected) of ``events``, by id."""
        if self.stored is None or not events:
            return {}
        since = min(e.time for e in events) - MATCH_SPAN_S
        until = max(e.time for e in events) + MATCH_SPAN_S
        try:
            stored = self.stored.events(since, until)
        except (SeismoError, OSError) as exc:  # store down: cannot tell, keep the automatic result
            log.warning("cannot read stored events (store unavailable): %s", exc)
            return {}
        ids = {e.id for e in events}
        return {e.id: e for e in stored if e.id in ids and e.status != "automatic"}

    def _held_picks(self, event_id: str, picks: Sequence[Pick]) -> int:
        """How many stations' picks of the stored stream version of ``event_id`` the
        window's ``picks`` hold (same station and phase within ``PICK_MATCH_S``); 0 when
        the store has no version with picks."""
        if self.stored is None:
            return 0
        bounds = origin_time_bounds(event_id)
        if bounds is None:
            return 0
        try:
            stored = self.stored.events(bounds[0] - MATCH_SPAN_S, bounds[1] + MATCH_SPAN_S)
        except (SeismoError, OSError) as exc:
            log.warning("stream event %s: stored picks unreadable: %s", event_id, exc)
            return 0
        theirs = next((e.picks for e in stored if e.id == event_id), ())
        held = set()
        for p in theirs:
            if any(q.station_id == p.station_id and q.phase == p.phase
                   and abs(q.time - p.time) <= PICK_MATCH_S for q in picks):
                held.add(p.station_id)
        return len(held)

    def cancel_unconfirmed(
        self, window: Window, events: Sequence[Event], sink: Sink | None = None,
        picks: Sequence[Pick] = (),
    ) -> tuple[list[QueuedMessage], list[str]]:
        """Cancel the stream's announced events of ``window`` that the window pass did not
        find, unless the window held their picks (module docstring); returns (queued
        messages, cancelled event ids)."""
        if self.alerts is None or not self.settings.stream.dag_cancels:
            return [], []
        found = {e.id for e in events}
        queued: list[QueuedMessage] = []
        done: list[str] = []
        lo, hi = window.start + UNCONFIRMED_GUARD_S, window.end - UNCONFIRMED_GUARD_S
        for m in self.alerts.open_threads(window.start - 600, window.end + 60,
                                          solution="stream"):
            first = event_id_time(m.subject_id)
            if first is None or not lo <= first < hi or m.subject_id in found:
                continue
            if m.subject_id in done or m.event is None:
                continue
            held = self._held_picks(m.subject_id, picks)
            if held >= self.settings.associate.min_stations:
                log.warning("stream event %s: the window pass over %s found no event although "
                            "it holds the picks of %d of its stations (association failed): "
                            "the stream's alert stands", m.subject_id, window, held)
                continue
            reason = (f"the minute-by-minute (authoritative) pass over {window} finds no "
                      "event for this real-time solution")
            log.warning("stream event %s not confirmed by window %s: cancelled",
                        m.subject_id, window)
            got = self.publisher.cancel(_stub_event(m.event), reason, sink)
            if got.alert_error:
                raise AlertError(got.alert_error)
            queued += got.queued
            done.append(m.subject_id)
        return queued, done

    def handle(self, result: WindowResult) -> RunReport:
        return self.handle_parts(result.window, result.stations, result.events)

    def handle_parts(
        self, window: Window, stations: Sequence[StationResult], events: Sequence[Event]
    ) -> RunReport:
        rep = RunReport()
        own: list[Pick] = [
            p for r in stations for p in r.picks if window.start <= p.time < window.end
        ]
        rep.picks = len(own)
        rep.station_errors = {r.station_id: r.error for r in stations if r.error}
        if self.stored is not None:
            self.stored.forget()  # read the store again for this window
        events = self.publisher.identify(events)
        reviewed = self.reviewed(events)
        fresh = [e for e in events if e.id not in reviewed]
        try:
            fresh = self.external.attach(fresh)
        except (SeismoError, OSError):  # external bulletins never stop publication
            log.exception("external solutions could not be attached for window %s", window)
        rep.skipped_reviewed = sorted(reviewed)
        rep.events = len(events)
        rep.event_ids = [e.id for e in events]
        down = network_down(window, stations, self.settings.associate.min_stations)
        rep.network_down = None if down is None else down.text
        if down is not None:
            log.error("%s", down.text)
        writes: list[tuple[str, Callable[[], Any]]] = []

        def later(what: str, write: Callable[[], Any]) -> None:
            writes.append((what, write))  # run after the alerts went out

        sink: Sink | None = None
        if self.store is not None:
            store, sink = self.store, later
            sink("picks", lambda: store.write_picks(own))
            sink("station status", lambda: store.write_station_results(list(stations), window.end))
        published = self.publisher.publish(fresh, sink)
        rep.alert_error = published.alert_error
        queued = list(published.queued)
        if self.alerts is not None:
            try:  # the alert path of the window: what was queued stays in the outbox
                if down is not None and not self._outage:  # an outage starts (this process)
                    # at most one per wall-clock hour per installation: the notice's key
                    hour = UTCDateTime(time.time()).strftime("%Y-%m-%dT%H")
                    notice = self.alerts.send_notice(
                        ONCALL, down.subject, down.text, f"network-down.{hour}",
                        subject_zh=down.subject_zh, text_zh=down.text_zh)
                    self.publisher.record(notice, sink)
                    queued += notice
                if stations:  # a window without station results says nothing of the network
                    self._outage = down is not None
                if not rep.network_down and not rep.station_errors and not rep.alert_error:
                    more, rep.cancelled = self.cancel_unconfirmed(window, events, sink, own)
                    queued += more
                dr = self.alerts.deliver_due()
                rep.alerts_delivered = dr.delivered
                rep.alerts_pending = dr.pending
            except (SeismoError, OSError) as exc:
                rep.alert_error = f"{type(exc).__name__}: {exc}"
                log.error("alerting failed for window %s: %s", window, exc)
            rep.alerts_queued = len(queued)
        errors: list[str] = []
        for what, write in writes:
            try:
                wr = write()
            except StoreError as exc:  # each kind on its own: one failure never hides others
                errors.append(f"{what}: {exc}")
                continue
            rep.written += wr.written
            rep.spooled += wr.spooled
            rep.rejected += wr.n_rejected
            rep.spool_kept.update(wr.kept_foreign)
        if errors:
            rep.store_error = "; ".join(errors)
            log.error("STORE FAILED for window %s (alerts were processed first): %s",
                      window, rep.store_error)
        return rep


def _stub_event(m: EventSummary) -> Event:
    """The event of an outbox message, as far as a Cancel message needs it."""
    nan = float("nan")
    return Event(
        id=m.id, time=m.time, latitude=m.latitude, longitude=m.longitude,
        depth_km=m.depth_km if m.depth_km is not None else nan,
        rms_s=nan, azimuthal_gap_deg=nan, n_phases=0, n_stations=0,
        horizontal_uncertainty_km=nan, vertical_uncertainty_km=nan, outside_network=False,
        magnitude=m.magnitude, solution="stream",
    )


@dataclass(frozen=True)
class NetworkDown:
    """A network-down notice: the stations that delivered nothing, in both languages."""

    live: tuple[str, ...]
    silent: tuple[tuple[str, str], ...]  # (station id, why)
    subject: str
    text: str
    subject_zh: str
    text_zh: str


def network_down(
    window: Window, stations: Sequence[StationResult], min_stations: int
) -> NetworkDown | None:
    """The network-down notice when fewer than ``min_stations`` stations delivered data,
    else None. No station results at all (a re-measurement of a window's events) is not
    an outage: None.

    A network smaller than ``min_stations`` needs all its stations, and at least 3 (the
    minimum of :func:`seismo.event.associate.adapt_to_network`): a 3-station network
    with every station live is not down.
    """
    if not stations:
        return None
    live = [r for r in stations if not r.error and r.n_samples > 0]
    min_stations = max(3, min(min_stations, len(stations)))
    if len(live) >= min_stations:
        return None
    silent = [(r.station_id, r.error or "no data") for r in stations if r not in live]
    shown = silent[:20]
    more = len(silent) - len(shown)
    t0 = window.start.strftime("%Y-%m-%d %H:%M:%S")
    t1 = window.end.strftime("%H:%M:%S")
    names = ", ".join(f"{sid} ({why})" for sid, why in shown) + (
        f" and {more} more" if more else "")
    names_zh = "、".join(f"{sid}（{why}）" for sid, why in shown) + (
        f"等另{more}个台站" if more else "")
    n = len(stations)
    text = (f"Only {len(live)} of the {n} stations delivered data for {t0}-{t1} UTC, fewer "
            f"than the {min_stations} an earthquake location needs: an earthquake in this "
            f"time cannot be detected. Stations that delivered nothing: {names}.")
    text_zh = (f"{t0}至{t1}（UTC）期间{n}个台站中仅{len(live)}个有数据，少于地震定位所需的"
               f"{min_stations}个：此期间发生的地震无法被检测。无数据的台站：{names_zh}。")
    return NetworkDown(
        tuple(r.station_id for r in live), tuple(silent),
        f"Seismic network down: {len(silent)} of {n} stations deliver no data",
        text,
        f"地震台网中断：{n}个台站中{len(silent)}个无数据",
        text_zh,
    )


def alert_record(q: QueuedMessage) -> dict[str, Any]:
    """The ``alerts`` measurement record of a queued CAP message: what every process and
    installation reads as the second source of the alert record
    (:meth:`QueuedMessage.from_record`)."""
    e = q.event
    return {
        "event_id": q.subject_id,
        "identifier": q.identifier,
        "sender": q.sender,
        "seq": q.seq,
        "msg_type": q.msg_type,
        "status": q.status,
        "group": q.group,
        "channel": ",".join(q.channels),
        "sent": q.sent,
        "created": q.created,
        "magnitude": None if e is None else e.magnitude,
        "latitude": None if e is None else e.latitude,
        "longitude": None if e is None else e.longitude,
        "depth_km": None if e is None else e.depth_km,
        "origin_time": None if e is None else str(e.time),
        "intensity": q.intensity,
        "tsunami": q.tsunami,
        "saturated": q.saturated,
        "solution": q.solution or None,
        "review_status": q.review_status or None,
        "final": q.final,
        "tsunami_magnitude": q.tsunami_magnitude,
        "tsunami_radius_km": q.tsunami_radius_km,
    }
