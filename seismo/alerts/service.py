"""The alert service: rules -> CAP messages -> outbox -> channels.

Typical use (one pipeline window)::

    svc = AlertService.from_settings(settings.alerts, settings.network, exercise=False)
    svc.process_events(events)   # decide, build Alert/Update, enqueue (durable)
    svc.deliver_due()            # try every due item; retried on later calls

Message threads. Each (event, group) has a thread of messages with sequence
numbers 1, 2, ...: the first is an Alert, later ones are Updates and a Cancel
ends the thread. An Update goes out when the event changed materially compared
with the last message of the thread, as recorded in the outbox on disk: the
magnitude by >= ``update_min_magnitude_change``, the hypocentre by >=
``update_min_location_change_km``, the (integer) intensity degree, the tsunami
decision or the saturation flag. The real-time detector and the window pass
share the threads: whichever solution comes first sends the Alert, the other
continues with Updates (docs/streaming.md). The
CAP identifier is ``<sender>.<event id>.<group>.v<seq>`` (plus ``.exercise``),
and Updates/Cancels reference every earlier message of the thread.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from pathlib import Path

from obspy import UTCDateTime

from seismo.alerts.cap import cap_datetime, make_identifier, validate_cap
from seismo.alerts.channels import Channel, DirectoryChannel, build_channel
from seismo.alerts.messages import (
    Built,
    Header,
    build_cancel_message,
    build_event_message,
    build_notice_message,
)
from seismo.alerts.outbox import (
    DeliveryItem,
    DeliveryReport,
    Outbox,
    QueuedMessage,
    event_snapshot,
    finite,
    thread_key,
)
from seismo.alerts.rules import (
    ENGINEERS,
    ONCALL,
    TSUNAMI,
    AlertDecision,
    evaluate,
    intensity_degree,
)
from seismo.alerts.settings import AlertsConfig
from seismo.boundary import boundary
from seismo.errors import AlertError, ConfigError
from seismo.event.identity import origin_time_bounds
from seismo.event.sites import load_sites
from seismo.geo import distance_km
from seismo.model import Event, EventSummary
from seismo.network import NetworkConfig

log = logging.getLogger(__name__)

#: Name of the directory channel added by ``alert_dir`` (``seismo detect --alert-dir``).
ALERT_DIR_CHANNEL = "alert-dir"


def _epoch(now: UTCDateTime | None) -> float:
    return time.time() if now is None else float(now.timestamp)


def load_site_names_zh(path: Path) -> dict[str, str]:
    """``name -> name_zh`` from the sites file (config/sites.toml); {} (warning) if unusable."""
    try:
        sites = load_sites(path)
    except ConfigError as exc:
        log.warning("sites file %s unusable for Chinese site names: %s", path, exc)
        return {}
    out: dict[str, str] = {s.name: s.name_zh or s.name for s in sites}
    return out


class AlertService:
    """Decide, build, queue and deliver alerts. See the module docstring.

    Args:
        config: the ``[alerts]`` section.
        region: monitored region (lat_min, lat_max, lon_min, lon_max), degrees.
        channels: delivery channels by name.
        groups: recipient group -> channel names.
        network_name: shown as CAP senderName and in texts.
        sites_zh: English site name -> Chinese name.
        exercise: drills: CAP status Exercise, separate identifiers and threads.
    """

    def __init__(
        self,
        config: AlertsConfig,
        *,
        region: tuple[float, float, float, float],
        channels: dict[str, Channel],
        groups: dict[str, list[str]],
        network_name: str = "seismic network",
        sites_zh: dict[str, str] | None = None,
        exercise: bool = False,
    ) -> None:
        for group, names in groups.items():
            for n in names:
                if n not in channels:
                    raise AlertError(f"alert group '{group}' names unknown channel '{n}'")
        self.config = config
        self.rules = config.rules
        self.region = region
        self.channels = channels
        self.groups = {g: list(dict.fromkeys(names)) for g, names in groups.items()}
        self.network_name = network_name
        self.sites_zh = dict(sites_zh or {})
        self.exercise = exercise
        self.status = "Exercise" if exercise else "Actual"
        self.stream = "exercise" if exercise else "actual"
        self.outbox = Outbox(config.outbox_dir)

    @classmethod
    def from_settings(
        cls,
        cfg: AlertsConfig,
        network: NetworkConfig,
        *,
        exercise: bool = False,
        alert_dir: Path | None = None,
    ) -> AlertService:
        """Build the service from ``[alerts]`` and ``[network]`` (region, name, sites).

        ``alert_dir`` adds a directory channel (``alert-dir``) to every group,
        including oncall, tsunami and engineers, for this run only.
        """
        channels: dict[str, Channel] = {n: build_channel(n, c) for n, c in cfg.channels.items()}
        groups = {g: list(names) for g, names in cfg.groups.items()}
        if alert_dir is not None:
            channels[ALERT_DIR_CHANNEL] = DirectoryChannel(ALERT_DIR_CHANNEL, Path(alert_dir))
            for g in (ONCALL, TSUNAMI, ENGINEERS):
                groups.setdefault(g, [])
            for names in groups.values():
                names.append(ALERT_DIR_CHANNEL)
        return cls(
            cfg,
            region=network.region,
            channels=channels,
            groups=groups,
            network_name=network.name,
            sites_zh=load_site_names_zh(network.sites),
            exercise=exercise,
        )

    # ------------------------------------------------------------------ helpers
    def _scope(self, group: str) -> tuple[str, str | None]:
        if group in self.config.public_groups:
            return "Public", None
        return "Restricted", self.config.restriction

    def _channels_for(self, group: str) -> tuple[str, ...]:
        names = tuple(self.groups.get(group, ()))
        if not names:
            log.error(
                "ALERT GROUP '%s' HAS NO CHANNELS: the message is recorded in %s but cannot be "
                "delivered; configure alerts.groups.%s",
                group, self.outbox.messages, group,
            )  # fmt: skip
        return names

    def _header(
        self, subject_id: str, group: str, seq: int, msg_type: str, refs: Iterable[str], now: float
    ) -> Header:
        scope, restriction = self._scope(group)
        return Header(
            identifier=make_identifier(self.config.sender, subject_id, group, seq, self.status),
            sender=self.config.sender,
            sent=cap_datetime(UTCDateTime(now)),
            status=self.status,
            msg_type=msg_type,
            scope=scope,
            restriction=restriction,
            references=tuple(refs),
            sender_name=self.network_name,
        )

    def _record(
        self,
        built: Built,
        *,
        thread: str,
        seq: int,
        subject_id: str,
        group: str,
        now: float,
        event: Event | None = None,
        saturated: bool = False,
        decision: AlertDecision | None = None,
    ) -> tuple[QueuedMessage, bool]:
        problems = validate_cap(built.xml)
        if problems:  # a bug in the builders; never silently send invalid CAP
            raise AlertError(f"invalid CAP for {built.alert.identifier}: {'; '.join(problems)}")
        a = built.alert
        msg = QueuedMessage(
            key=f"{thread}__{seq:03d}__{a.msg_type}",
            thread=thread,
            seq=seq,
            identifier=a.identifier,
            sender=a.sender,
            sent=a.sent,
            status=a.status,
            msg_type=a.msg_type,
            subject_id=subject_id,
            group=group,
            channels=self._channels_for(group),
            subject=built.subject,
            text=built.text,
            xml=built.xml,
            created=now,
            event=None if event is None else event_snapshot(event),
            saturated=saturated,
            intensity=None if decision is None else finite(decision.max_intensity),
            tsunami=None if decision is None else decision.tsunami,
            solution="" if event is None else event.solution,
        )
        return self.outbox.add(msg)

    def _changed(self, last: QueuedMessage, event: Event, decision: AlertDecision) -> bool:
        """Whether ``event`` differs enough from the last message to send an Update."""
        was = last.event
        last_mag = None if was is None else was.magnitude
        mag = finite(event.magnitude)
        if (mag is None) != (last_mag is None) or decision.saturated != last.saturated:
            return True
        if (was is not None and mag is not None and was.magnitude_type is not None
                and was.magnitude_type != event.magnitude_type):
            return True  # another magnitude type supersedes (Mpd -> ML, ML -> Mwp, -> Mww)
        if last.tsunami is not None and last.tsunami != decision.tsunami:
            return True
        now_i = finite(decision.max_intensity)
        if last.intensity is not None and now_i is not None and (
            intensity_degree(now_i) != intensity_degree(last.intensity)
        ):
            return True
        dmag = 0.0 if mag is None or last_mag is None else abs(mag - last_mag)
        if dmag >= self.rules.update_min_magnitude_change - 1e-9:  # tolerance: 3.5-3.2 < 0.3
            return True
        if was is None:
            return True
        epi = float(distance_km(was.latitude, was.longitude, event.latitude, event.longitude))
        dz = 0.0
        depth = finite(event.depth_km)
        if depth is not None and was.depth_km is not None:
            dz = depth - was.depth_km
        return math.hypot(epi, dz) >= self.rules.update_min_location_change_km

    # ------------------------------------------------------------------ public API
    def decide(self, event: Event) -> AlertDecision:
        """The rule decision for ``event`` (no side effect)."""
        return evaluate(event, self.rules, self.region)

    def process_events(
        self, events: list[Event], *, now: UTCDateTime | None = None
    ) -> list[QueuedMessage]:
        """Decide, build and enqueue Alerts/Updates; return the newly queued messages.

        Reprocessing the same events queues nothing new (and repairs any delivery
        item lost to a crash). A rejected event cancels its earlier messages.
        One failing event is logged and does not stop the others.
        """
        if not self.config.enabled:
            log.info("alerts disabled: %d events not evaluated", len(events))
            return []
        t = _epoch(now)
        out: list[QueuedMessage] = []
        for event in events:
            # one bad event never stops the others; logged loudly
            with boundary("alert processing", logger=log, level=logging.ERROR, event=event.id):
                if event.status == "rejected":
                    out += self._cancel(event, "rejected by seismologist review", t)
                else:
                    out += self._process_one(event, t)
        return out

    def _process_one(self, event: Event, now: float) -> list[QueuedMessage]:
        decision = self.decide(event)
        if decision.groups:
            log.info(
                "event %s alerts %s: %s", event.id, decision.groups, "; ".join(decision.reasons)
            )
        out: list[QueuedMessage] = []
        with self.outbox.enqueue_lock():
            for group in (ONCALL, TSUNAMI):
                thread = thread_key(self.stream, event.id, group)
                history = self.outbox.history(thread)
                if not history and group not in decision.groups:
                    continue
                if history:
                    last = history[-1]
                    if last.msg_type == "Cancel":
                        continue
                    if not self._changed(last, event, decision):
                        self.outbox.add(last)  # idempotent: re-creates lost items only
                        continue
                    msg_type, seq = "Update", last.seq + 1
                    refs = [m.reference for m in history]
                else:
                    msg_type, seq, refs = "Alert", 1, []
                kind = "Tsunami" if group == TSUNAMI else "Earthquake"
                header = self._header(event.id, group, seq, msg_type, refs, now)
                built = build_event_message(
                    event, decision, kind, header, self.rules, self.sites_zh
                )
                rec, new = self._record(
                    built, thread=thread, seq=seq, subject_id=event.id, group=group, now=now,
                    event=event, saturated=decision.saturated, decision=decision,
                )  # fmt: skip
                if new:
                    out.append(rec)
        return out

    def cancel(
        self, event: Event, reason: str, *, now: UTCDateTime | None = None
    ) -> list[QueuedMessage]:
        """Cancel every open thread of ``event`` (seismologist rejected it).

        Each Cancel references all earlier messages of its thread. Nothing is
        queued for groups that were never alerted or are already cancelled.
        """
        return self._cancel(event, reason, _epoch(now))

    def _cancel(self, event: Event, reason: str, now: float) -> list[QueuedMessage]:
        out: list[QueuedMessage] = []
        with self.outbox.enqueue_lock():
            for group in (ONCALL, TSUNAMI):
                thread = thread_key(self.stream, event.id, group)
                history = self.outbox.history(thread)
                if not history:
                    continue
                last = history[-1]
                if last.msg_type == "Cancel":
                    self.outbox.add(last)
                    continue
                seq = last.seq + 1
                header = self._header(
                    event.id, group, seq, "Cancel", [m.reference for m in history], now
                )
                kind = "Tsunami" if group == TSUNAMI else "Earthquake"
                built = build_cancel_message(event, kind, reason, header)
                rec, new = self._record(
                    built, thread=thread, seq=seq, subject_id=event.id, group=group, now=now,
                    event=event,
                )  # fmt: skip
                if new:
                    log.warning("event %s cancelled for %s: %s", event.id, group, reason)
                    out.append(rec)
        return out

    def send_notice(
        self,
        group: str,
        subject: str,
        text: str,
        key: str,
        *,
        now: UTCDateTime | None = None,
    ) -> list[QueuedMessage]:
        """Queue an operational notice (e.g. a station-health state change) to ``group``.

        ``key`` identifies the notice (e.g. ``"health.NET.STA.FAIL.2026-11-29T12:00"``):
        the same key is queued once, however often it is sent.
        """
        t = _epoch(now)
        subject_id = f"notice.{key}"
        thread = thread_key(self.stream, subject_id, group)
        with self.outbox.enqueue_lock():
            history = self.outbox.history(thread)
            if history:
                self.outbox.add(history[0])
                return []
            header = self._header(subject_id, group, 1, "Alert", [], t)
            built = build_notice_message(subject, text, header, self.network_name)
            rec, new = self._record(
                built, thread=thread, seq=1, subject_id=subject_id, group=group, now=t
            )
        return [rec] if new else []

    def known_events(self, since: UTCDateTime, until: UTCDateTime) -> list[EventSummary]:
        """Events alerted on (this service's stream) with origin time in [since, until].

        Each as its newest message recorded it (:class:`~seismo.model.EventSummary`,
        version 0: the outbox does not know the stored version). Only the messages of
        event ids whose encoded time fits the range are read.
        """

        def near(subject_id: str) -> bool:
            if subject_id.startswith("notice."):
                return False
            bounds = origin_time_bounds(subject_id)
            return bounds is None or (bounds[0] <= until and since <= bounds[1])

        return [m.event for m in self.outbox.latest_by_subject(self.stream, near)
                if m.event is not None and since <= m.event.time <= until]

    def open_threads(
        self, since: UTCDateTime, until: UTCDateTime, *, solution: str | None = None
    ) -> list[QueuedMessage]:
        """The newest message of every event thread not cancelled, origin time in
        [since, until] (``solution``: only threads whose newest message came from that
        path, e.g. "stream")."""

        def near(subject_id: str) -> bool:
            if subject_id.startswith("notice."):
                return False
            bounds = origin_time_bounds(subject_id)
            return bounds is None or (bounds[0] <= until and since <= bounds[1])

        out = []
        for m in self.outbox.latest_by_subject(self.stream, near):
            if m.msg_type == "Cancel" or m.event is None:
                continue
            if solution is not None and m.solution != solution:
                continue
            if since <= m.event.time <= until:
                out.append(m)
        return out

    def _send(self, item: DeliveryItem) -> None:
        channel = self.channels.get(item.channel)
        if channel is None:
            raise AlertError(
                f"channel '{item.channel}' of queued item {item.key} is not configured"
            )
        channel.send(item)

    def deliver_due(self, now: UTCDateTime | None = None) -> DeliveryReport:
        """Deliver every due outbox item; failures are retried with exponential backoff."""
        return self.outbox.deliver_due(
            self._send,
            _epoch(now),
            backoff_initial_s=self.config.backoff_initial_s,
            backoff_max_s=self.config.backoff_max_s,
            expire_s=self.config.expire_s,
        )
