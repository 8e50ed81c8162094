"""The edges around :mod:`seismo.shells.window`: store results and raise alerts.

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
runner then queues a *network-down notice* to the on-call group through the
outbox (the same channels as earthquake alerts; at most one per clock hour
while the outage lasts) and logs an error. The run itself succeeds: the
notice, not a red task in Airflow, is what reaches the people on call
(docs/reliability.md).

A window pass that finds no event where ``seismo stream`` announced one (the
event's first pick inside the window, ``UNCONFIRMED_GUARD_S`` from its edges) cancels
the stream's alert thread, when ``[stream] dag_cancels`` is on and the window had
every station's data (docs/streaming.md, "Reconciliation"): the complete pass is
the authority. It never sends a second Alert: its own solution of an event the
stream announced takes that event's id (:meth:`Runner.identify`).

A storage failure that loses points (spool unusable *and* server unreachable)
is logged as an error and recorded in :attr:`RunReport.store_error`; the shells
turn it into a failure after the alerts went out (the Airflow task fails and is
retried; ``seismo detect`` exits non-zero).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obspy import UTCDateTime

from seismo.alerts.rules import ONCALL
from seismo.alerts.service import AlertService
from seismo.config import Settings
from seismo.errors import StoreError
from seismo.event.identity import (
    KnownEvent,
    event_id_time,
    match_event,
    merge_known,
    same_solution,
)
from seismo.geo import distance_km
from seismo.io.external import ExternalSource
from seismo.io.store import InfluxStore
from seismo.model import Event, Pick, StationResult
from seismo.shells.window import Window, WindowResult

if TYPE_CHECKING:
    from seismo.io.store.connection import InfluxConnection

log = logging.getLogger(__name__)

#: Events a runner remembers for matching (seismo detect without a store).
RECENT_MAX = 1000
#: A stream event whose first pick is this close to a window edge is left to the
#: neighbouring window (its first pick there may differ by a sample or two), s.
UNCONFIRMED_GUARD_S = 5.0


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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Runner:
    """Store and alert for windows. ``store``/``alerts`` may be None (turned off)."""

    def __init__(self, settings: Settings, *, store: Any | None = None, alerts: Any | None = None):
        self.settings = settings
        self.store = store
        self.alerts = alerts
        self._recent: list[KnownEvent] = []  # events handled by this runner (seismo detect)
        self._stored_cache: tuple[tuple[Any, Any], list[Event]] | None = None
        # authoritative solutions (FDSN event service / QuakeML folder), when configured
        self.external = ExternalSource(settings.external)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        store: bool = True,
        alerts: bool = True,
        alert_dir: Path | None = None,
        exercise: bool = False,
        connection: InfluxConnection | None = None,
    ) -> Runner:
        """Store and alerts as configured; ``connection`` replaces the store connection of
        the settings (e.g. one resolved from an Airflow Connection)."""
        st = None
        if store and settings.store.enabled:

            st = InfluxStore.from_settings(settings.store, connection)
        al = None
        if alerts and (settings.alerts.enabled or alert_dir is not None):

            al = AlertService.from_settings(settings.alerts, settings.network, exercise=exercise,
                                            alert_dir=alert_dir)
        return cls(settings, store=st, alerts=al)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pieces
    def _stored(self, events: Sequence[Event]) -> list[Event] | None:
        """Stored events (latest versions) around ``events``; None if the store cannot tell."""
        if self.store is None or not events:
            return None
        since = min(e.time for e in events) - 600
        until = max(e.time for e in events) + 600
        if self._stored_cache is not None and self._stored_cache[0] == (since, until):
            return self._stored_cache[1]
        try:
            stored: list[Event] = self.store.query_events(since, until)
        except Exception as exc:  # store down: cannot tell, keep the automatic result
            log.warning("cannot read stored events (store unavailable): %s", exc)
            return None
        self._stored_cache = ((since, until), stored)
        return stored

    def reviewed(self, events: Sequence[Event]) -> dict[str, Event]:
        """Stored reviewed versions (confirmed/rejected) of ``events``, by id."""
        stored = self._stored(events) or []
        ids = {e.id for e in events}
        return {e.id: e for e in stored if e.id in ids and e.status != "automatic"}

    def known_events(self, events: Sequence[Event]) -> list[KnownEvent]:
        """Events already known near ``events``: stored, alerted (outbox) or handled here."""
        if not events:
            return []
        since = min(e.time for e in events) - 600
        until = max(e.time for e in events) + 600
        found: list[KnownEvent] = [KnownEvent.of(e) for e in self._stored(events) or []]
        if self.alerts is not None:
            try:
                found += self.alerts.known_events(since, until)
            except Exception as exc:  # an unreadable outbox never stops detection
                log.error("cannot read known events from the outbox: %s", exc)
        found += [k for k in self._recent if since <= k.time <= until]
        return merge_known(found)

    def identify(self, events: Sequence[Event]) -> list[Event]:
        """Give each new solution the id of the known event it is (see :func:`match_event`).

        A solution matching a known event takes that event's id; a changed solution
        becomes its next version (the alerts then send an Update, never a second
        Alert), an unchanged one keeps the version (reprocessing is idempotent).
        """
        known = self.known_events(events)
        tol = self.settings.pipeline
        out: list[Event] = []
        taken: set[str] = set()
        for e in sorted(events, key=lambda ev: ev.time):
            m = match_event(e, [k for k in known if k.id not in taken],
                            tol.event_match_time_s, tol.event_match_distance_km)
            if m is None:
                out.append(e)
                continue
            taken.add(m.id)
            version = max(m.version if same_solution(e, m) else m.version + 1, e.version, 1)
            if m.id != e.id:
                log.info("event %s is known event %s (origin %+.2f s, %.1f km apart): "
                         "version %d", e.id, m.id, float(e.time - m.time),
                         float(distance_km(e.latitude, e.longitude, m.latitude, m.longitude)),
                         version)
            out.append(dataclasses.replace(e, id=m.id, version=version)
                       if (m.id, version) != (e.id, e.version) else e)
        for e in out:
            self._recent.append(KnownEvent.of(e))
        del self._recent[:-RECENT_MAX]
        return out

    def cancel_unconfirmed(
        self, window: Window, events: Sequence[Event]
    ) -> tuple[list[Any], list[str]]:
        """Cancel the stream's announced events of ``window`` that the window pass did not
        find (module docstring); returns (queued messages, cancelled event ids)."""
        if self.alerts is None or not self.settings.stream.dag_cancels:
            return [], []
        found = {e.id for e in events}
        queued: list[Any] = []
        done: list[str] = []
        lo, hi = window.start + UNCONFIRMED_GUARD_S, window.end - UNCONFIRMED_GUARD_S
        for m in self.alerts.open_threads(window.start - 600, window.end + 60,
                                          solution="stream"):
            first = event_id_time(m.subject_id)
            if first is None or not lo <= first < hi or m.subject_id in found:
                continue
            if m.subject_id in done or m.latitude is None or m.longitude is None:
                continue
            reason = (f"the minute-by-minute (authoritative) pass over {window} finds no "
                      "event for this real-time solution")
            log.warning("stream event %s not confirmed by window %s: cancelled",
                        m.subject_id, window)
            queued += self.alerts.cancel(_stub_event(m), reason)
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
        self._stored_cache = None
        events = self.identify(events)
        reviewed = self.reviewed(events)
        fresh = [e for e in events if e.id not in reviewed]
        try:
            fresh = self.external.attach(fresh)
        except Exception:  # external bulletins never stop publication
            log.exception("external solutions could not be attached for window %s", window)
        rep.skipped_reviewed = sorted(reviewed)
        rep.events = len(events)
        rep.event_ids = [e.id for e in events]
        queued: list[Any] = []
        rep.network_down = network_down(window, stations, self.settings.associate.min_stations)
        if rep.network_down:
            log.error("%s", rep.network_down)
        if self.alerts is not None:
            try:
                if rep.network_down:
                    queued += self.alerts.send_notice(
                        ONCALL, "Seismic network down: earthquakes cannot be detected",
                        rep.network_down, f"network-down.{window.start.strftime('%Y-%m-%dT%H')}",
                    )
                queued += self.alerts.process_events(list(fresh))
                if not rep.network_down and not rep.station_errors:
                    more, rep.cancelled = self.cancel_unconfirmed(window, events)
                    queued += more
                rep.alerts_queued = len(queued)
                dr = self.alerts.deliver_due()
                rep.alerts_delivered = dr.delivered
                rep.alerts_pending = dr.pending
            except Exception as exc:  # never stops detection; the outbox keeps what was queued
                rep.alert_error = f"{type(exc).__name__}: {exc}"
                log.exception("alerting failed for window %s", window)
        store = self.store
        if store is not None:
            errors: list[str] = []
            writes: list[tuple[str, Callable[[], Any]]] = [
                ("picks", lambda: store.write_picks(own)),
                ("station status",
                 lambda: store.write_station_results(list(stations), window.end)),
                ("events", lambda: store.write_events(fresh)),
            ]
            if queued:  # the `alerts` measurement (event show)
                writes.append(("alerts", lambda: store.write_alerts(
                    [alert_record(q) for q in queued])))
            for what, write in writes:
                try:
                    wr = write()
                except StoreError as exc:  # each kind on its own: one failure never hides others
                    errors.append(f"{what}: {exc}")
                    continue
                rep.written += wr.written
                rep.spooled += wr.spooled
                rep.rejected += wr.n_rejected
            if errors:
                rep.store_error = "; ".join(errors)
                log.error("STORE FAILED for window %s (alerts were processed first): %s",
                          window, rep.store_error)
        return rep


def _stub_event(m: Any) -> Event:
    """The event of an outbox message, as far as a Cancel message needs it."""
    nan = float("nan")
    return Event(
        id=m.subject_id, time=UTCDateTime(m.origin_time), latitude=m.latitude,
        longitude=m.longitude, depth_km=m.depth_km if m.depth_km is not None else nan,
        rms_s=nan, azimuthal_gap_deg=nan, n_phases=0, n_stations=0,
        horizontal_uncertainty_km=nan, vertical_uncertainty_km=nan, outside_network=False,
        magnitude=m.magnitude, solution="stream",
    )


def network_down(
    window: Window, stations: Sequence[StationResult], min_stations: int
) -> str | None:
    """The network-down message when fewer than ``min_stations`` delivered data, else None."""
    live = [r for r in stations if not r.error and r.n_samples > 0]
    if len(live) >= min_stations:
        return None
    dead = [r for r in stations if r not in live]
    detail = "; ".join(f"{r.station_id}: {r.error or 'no data'}" for r in dead[:10])
    more = f" (and {len(dead) - 10} more)" if len(dead) > 10 else ""
    return (
        f"NETWORK DOWN for window {window}: {len(live)} of {len(stations)} stations delivered "
        f"data, fewer than the {min_stations} an event needs (associate.min_stations): an "
        f"earthquake in this window cannot be detected. Without data: {detail}{more}"
    )


def alert_record(q: Any) -> dict[str, Any]:
    """The ``alerts`` measurement record of a queued CAP message."""
    return {
        "event_id": q.subject_id,
        "identifier": q.identifier,
        "msg_type": q.msg_type,
        "status": q.status,
        "group": q.group,
        "channel": ",".join(q.channels),
        "sent": q.sent,
        "magnitude": q.magnitude,
    }
