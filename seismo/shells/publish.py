"""The edges around :mod:`seismo.shells.window`: store results and raise alerts.

:class:`Runner` takes a :class:`~seismo.shells.window.WindowResult` (or its parts,
as the Airflow DAG has them) and

* writes the window's own picks, the per-station status and the events to
  InfluxDB (when configured; an outage spools, it never stops detection);
* never overwrites an event a seismologist has reviewed;
* queues alerts for the events and delivers what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seismo.alerts.service import AlertService
from seismo.config import Settings
from seismo.io.external import ExternalSource
from seismo.io.store import InfluxStore
from seismo.model import Event, Pick, StationResult
from seismo.shells.window import Window, WindowResult

if TYPE_CHECKING:
    from seismo.io.store.connection import InfluxConnection

log = logging.getLogger(__name__)


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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Runner:
    """Store and alert for windows. ``store``/``alerts`` may be None (turned off)."""

    def __init__(self, settings: Settings, *, store: Any | None = None, alerts: Any | None = None):
        self.settings = settings
        self.store = store
        self.alerts = alerts
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

            st = InfluxStore.from_settings(settings, connection)
        al = None
        if alerts and (settings.alerts.enabled or alert_dir is not None):

            al = AlertService.from_settings(settings, exercise=exercise, alert_dir=alert_dir)
        return cls(settings, store=st, alerts=al)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pieces
    def reviewed(self, events: Sequence[Event]) -> dict[str, Event]:
        """Stored reviewed versions (confirmed/rejected) of ``events``, by id."""
        if self.store is None or not events:
            return {}
        since = min(e.time for e in events) - 600
        until = max(e.time for e in events) + 600
        try:
            stored = self.store.query_events(since, until)
        except Exception as exc:  # store down: cannot tell, keep the automatic result
            log.warning("cannot check review status (store unavailable): %s", exc)
            return {}
        ids = {e.id for e in events}
        return {e.id: e for e in stored if e.id in ids and e.status != "automatic"}

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
        reviewed = self.reviewed(events)
        fresh = [e for e in events if e.id not in reviewed]
        try:
            fresh = self.external.attach(fresh)
        except Exception:  # external bulletins never stop publication
            log.exception("external solutions could not be attached for window %s", window)
        rep.skipped_reviewed = sorted(reviewed)
        rep.events = len(events)
        rep.event_ids = [e.id for e in events]
        if self.store is not None:
            for wr in (
                self.store.write_picks(own),
                self.store.write_station_results(list(stations), window.end),
                self.store.write_events(fresh),
            ):
                rep.written += wr.written
                rep.spooled += wr.spooled
                rep.rejected += wr.n_rejected
        if self.alerts is not None:
            queued: list[Any] = []
            try:
                queued = self.alerts.process_events(list(fresh))
                rep.alerts_queued = len(queued)
                dr = self.alerts.deliver_due()
                rep.alerts_delivered = dr.delivered
                rep.alerts_pending = dr.pending
            except Exception:  # alerts never stop detection; the outbox keeps what was queued
                log.exception("alerting failed for window %s", window)
            if self.store is not None and queued:  # the `alerts` measurement (event show)
                self.store.write_alerts([alert_record(q) for q in queued])
        return rep


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
