"""The alert service: rules -> CAP messages -> outbox -> channels.

Typical use (one pipeline window)::

    svc = AlertService.from_settings(settings.alerts, settings.network, exercise=False)
    svc.process_events(events)   # decide, build Alert/Update, enqueue (durable)
    svc.deliver_due()            # try every due item; retried on later calls

Message threads. Each (event, group) has a thread of messages with sequence
numbers 1, 2, ...: the first is an Alert, later ones are Updates and a Cancel
ends the thread. An Update goes out when the event changed materially compared
with the last message of the thread (:meth:`AlertService._update_reason`): the
magnitude by >= ``update_min_magnitude_change``, the hypocentre by >=
``update_min_location_change_km``, the (integer) intensity degree, the tsunami
decision, the saturation flag or the review status; and once, when the complete
minute-by-minute solution confirms a real-time one ("final"). Changes for the worse go
out at once; changes for the better (hysteresis) only when they have held
``update_downgrade_hold_s`` or a complete solution or a review confirms them. The
real-time detector and the window pass share the threads: whichever solution comes
first sends the Alert, the other continues with Updates (docs/streaming.md). The CAP
identifier is ``<sender>.<event id>.<group>.v<seq>`` (plus ``.exercise``), and
Updates/Cancels reference every earlier message of the thread.

The alert record. The thread is read from the installation's outbox
(``[alerts] outbox_dir``) and, as a second source, from the store's ``alerts``
measurement (``history``, :class:`SentHistory`): a message another process or
installation recorded there takes its sequence number, so an identifier is never
reused for other content (the record is copied into this outbox, without channels).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from obspy import UTCDateTime

from seismo.alerts.cap import cap_datetime, make_identifier, validate_cap
from seismo.alerts.channels import Channel, DirectoryChannel, build_channel
from seismo.alerts.gazetteer import NamedSite
from seismo.alerts.messages import (
    Built,
    Context,
    Header,
    Notice,
    Progress,
    build_cancel_message,
    build_event_message,
    build_notice_message,
)
from seismo.alerts.outbox import (
    DEFAULT_DEADLINE_S,
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
)
from seismo.alerts.settings import AlertsConfig
from seismo.alerts.thread import ThreadRules, tsunami_radius
from seismo.boundary import boundary
from seismo.errors import AlertError, ConfigError, SeismoError
from seismo.event.identity import origin_time_bounds
from seismo.event.sites import load_sites
from seismo.model import Event, EventSummary
from seismo.network import NetworkConfig

log = logging.getLogger(__name__)

#: Name of the directory channel added by ``alert_dir`` (``seismo detect --alert-dir``).
ALERT_DIR_CHANNEL = "alert-dir"


def _epoch(now: UTCDateTime | None) -> float:
    return time.time() if now is None else float(now.timestamp)


def load_named_sites(path: Path) -> tuple[NamedSite, ...]:
    """The sites file's places for the gazetteer (config/sites.toml); () (warning) if
    unusable."""
    try:
        sites = load_sites(path)
    except ConfigError as exc:
        log.warning("sites file %s unusable for place names: %s", path, exc)
        return ()
    return tuple(NamedSite(s.name, s.name_zh or s.name, s.kind, s.latitude, s.longitude)
                 for s in sites)


class SentHistory(Protocol):
    """A second record of the messages sent (the store's ``alerts`` measurement)."""

    def sent_messages(self, subject_id: str, stream: str) -> list[QueuedMessage]:
        """The messages of ``stream`` ("actual" or "exercise") about ``subject_id``.

        Raises:
            SeismoError, OSError: the record cannot be read now (the outbox decides).
        """
        ...




class AlertService:
    """Decide, build, queue and deliver alerts. See the module docstring.

    Args:
        config: the ``[alerts]`` section.
        region: monitored region (lat_min, lat_max, lon_min, lon_max), degrees.
        channels: delivery channels by name.
        groups: recipient group -> channel names.
        network_name: shown as CAP senderName and in texts.
        sites: named places for the messages' place names (config/sites.toml).
        exercise: drills: CAP status Exercise, separate identifiers and threads.
        web: the console's public base URL (messages link ``<web>/events/<id>``).
        history: the second source of the alert record (the store), or None.
    """

    def __init__(
        self,
        config: AlertsConfig,
        *,
        region: tuple[float, float, float, float],
        channels: dict[str, Channel],
        groups: dict[str, list[str]],
        network_name: str = "seismic network",
        network_name_zh: str = "",
        sites: Iterable[NamedSite] = (),
        exercise: bool = False,
        web: str = "",
        history: SentHistory | None = None,
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
        self.ctx = Context(config.rules, tuple(sites), config.contact, web,
                           config.info_expires_s, network_name_zh or network_name)
        self.history = history
        self.exercise = exercise
        self.status = "Exercise" if exercise else "Actual"
        self.stream = "exercise" if exercise else "actual"
        self.outbox = Outbox(config.outbox_dir)
        self.thread_rules = ThreadRules(config.rules)  # Updates, hysteresis, tsunami area
        #: messages the outbox could not record (disk full, read-only): delivered directly
        #: and kept here, key -> (message, channel -> delivered at), until it takes them
        self._unsent: dict[str, tuple[QueuedMessage, dict[str, float]]] = {}

    @classmethod
    def from_settings(
        cls,
        cfg: AlertsConfig,
        network: NetworkConfig,
        *,
        exercise: bool = False,
        alert_dir: Path | None = None,
        web: str = "",
        history: SentHistory | None = None,
    ) -> AlertService:
        """Build the service from ``[alerts]`` and ``[network]`` (region, name, sites).

        ``alert_dir`` adds a directory channel (``alert-dir``) to every group,
        including oncall, tsunami and engineers, for this run only; ``web`` is the
        console's public base URL, ``history`` the store's record of sent messages.
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
            network_name_zh=network.name_zh,
            sites=load_named_sites(network.sites),
            exercise=exercise,
            web=web,
            history=history,
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
        final: bool = False,
        tsunami_radius_km: float | None = None,
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
            review_status="" if event is None else event.status,
            final=final,
            tsunami_magnitude=None if decision is None else finite(decision.tsunami_magnitude),
            tsunami_radius_km=tsunami_radius_km,
        )
        try:
            return self.outbox.add(msg)
        except OSError as exc:  # the alert path is the last thing that may fail
            return self._unrecorded(msg, exc, now), True

    # ------------------------------------------------------------------ outbox unwritable
    def _unrecorded(self, msg: QueuedMessage, exc: OSError, now: float) -> QueuedMessage:
        """The outbox cannot record ``msg``: deliver it directly to its channels and keep it
        (with the channels that have it) until the outbox takes it (:meth:`_flush_unsent`)."""
        log.error("OUTBOX UNWRITABLE (%s): %s delivered directly to %s; kept in memory and "
                  "recorded as soon as %s can be written", exc, msg.identifier,
                  ", ".join(msg.channels) or "no channel", self.outbox.root)
        self._unsent[msg.key] = (msg, self._deliver_directly(msg, {}, now))
        return msg

    def _deliver_directly(self, msg: QueuedMessage, done: dict[str, float],
                          now: float) -> dict[str, float]:
        """Deliver ``msg`` to its channels not in ``done``, each in its own thread under its
        deadline; ``done`` plus the channels that took it (channel -> epoch s)."""
        got: dict[str, float] = {}

        def one(channel: str) -> None:
            with boundary("direct delivery", expected=(Exception,), logger=log,
                          delivery=msg.identifier, channel=channel) as failure:
                self._send(Outbox.item_for(msg, channel))
            if not failure:
                got[channel] = now

        todo = [ch for ch in msg.channels if ch not in done]
        threads = [threading.Thread(target=one, args=(ch,), daemon=True,
                                    name=f"direct-{ch}") for ch in todo]
        for t in threads:
            t.start()
        until = time.monotonic() + max((self._deadline(ch) for ch in todo), default=0.0) + 5.0
        for t in threads:
            t.join(max(0.0, until - time.monotonic()))
        return {**done, **got}

    def _flush_unsent(self, now: float) -> None:
        """Record the messages the outbox could not take, once it can (the channels that
        have them get delivered markers, the others pending items); until then retry the
        direct delivery of the channels that do not have them."""
        for key, (msg, done) in list(self._unsent.items()):
            try:
                self.outbox.add(msg, delivered=done)
            except OSError:
                if set(done) != set(msg.channels):
                    self._unsent[key] = (msg, self._deliver_directly(msg, done, now))
                continue
            del self._unsent[key]
            log.warning("outbox %s writable again: %s recorded (delivered directly to %s)",
                        self.outbox.root, msg.identifier, ", ".join(done) or "no channel")

    def _repair(self, msg: QueuedMessage) -> None:
        """Re-create the delivery items of a recorded message lost to a crash (a no-op
        for a message the outbox does not hold, or when it cannot be written now)."""
        if msg.key in self._unsent:
            return
        try:
            self.outbox.add(msg)
        except OSError as exc:
            log.warning("outbox %s: lost items of %s not re-created now: %s",
                        self.outbox.root, msg.identifier, exc)

    @property
    def unsent(self) -> int:
        """Messages not yet recorded in the outbox (it could not be written)."""
        return len(self._unsent)

    def _thread(self, thread: str, subject_id: str, group: str) -> list[QueuedMessage]:
        """The thread's messages, oldest first: the outbox's, completed from the second
        source (the store) with any message recorded elsewhere (copied into the outbox
        without channels, so its identifier is never given to other content)."""
        mine = self.outbox.history(thread)
        held = [m for m, _ in self._unsent.values()
                if m.thread == thread and m.seq not in {x.seq for x in mine}]
        if held:  # messages the outbox could not take yet are part of the thread
            mine = sorted([*mine, *held], key=lambda m: m.seq)
        if self.history is None:
            return mine
        try:
            theirs = self.history.sent_messages(subject_id, self.stream)
        except (SeismoError, OSError) as exc:  # the store is down: the outbox decides
            log.warning("alert record of %s in the store unreadable (%s); the outbox %s "
                        "decides", subject_id, exc, self.outbox.root)
            return mine
        have = {m.seq for m in mine}
        new = [m for m in theirs if m.thread == thread and m.seq not in have]
        for m in sorted(new, key=lambda m: m.seq):
            log.warning("alert record: %s (%s) was sent by another process or installation "
                        "(found in the store, not in %s); the thread continues after it",
                        m.identifier, m.msg_type, self.outbox.root)
            try:
                self.outbox.add(m)  # no channels: recorded, never delivered from here
            except OSError as exc:
                log.warning("outbox %s: %s not copied now: %s", self.outbox.root,
                            m.identifier, exc)
        return sorted([*mine, *new], key=lambda m: m.seq) if new else mine

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
                history = self._thread(thread, event.id, group)
                if not history and group not in decision.groups:
                    continue
                final = False
                if history:
                    last = history[-1]
                    if last.msg_type == "Cancel":
                        continue
                    why = self.thread_rules.update_reason(thread, history, event, decision, now)
                    if why is None:
                        self._repair(last)  # idempotent: re-creates lost items only
                        continue
                    msg_type, seq = "Update", last.seq + 1
                    refs = [m.reference for m in history]
                    final = why == "final"
                else:
                    msg_type, seq, refs = "Alert", 1, []
                radius = None
                if group == TSUNAMI:
                    radius = tsunami_radius(history, event, decision)
                kind = "Tsunami" if group == TSUNAMI else "Earthquake"
                header = self._header(event.id, group, seq, msg_type, refs, now)
                built = build_event_message(event, decision, kind, header, self.ctx,
                                            Progress(final=final, tsunami_radius_km=radius))
                rec, new = self._record(
                    built, thread=thread, seq=seq, subject_id=event.id, group=group, now=now,
                    event=event, saturated=decision.saturated, decision=decision,
                    final=final, tsunami_radius_km=radius,
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
                history = self._thread(thread, event.id, group)
                if not history:
                    continue
                last = history[-1]
                if last.msg_type == "Cancel":
                    self._repair(last)
                    continue
                seq = last.seq + 1
                header = self._header(
                    event.id, group, seq, "Cancel", [m.reference for m in history], now
                )
                kind = "Tsunami" if group == TSUNAMI else "Earthquake"
                built = build_cancel_message(event, kind, reason, header, self.ctx)
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
        subject_zh: str | None = None,
        text_zh: str | None = None,
        now: UTCDateTime | None = None,
    ) -> list[QueuedMessage]:
        """Queue an operational notice (e.g. a station-health state change) to ``group``,
        in Chinese (``subject_zh``, ``text_zh``) and English.

        ``key`` identifies the notice (e.g. ``"health.NET.STA.FAIL.2026-11-29T12:00"``):
        the same key is queued once, however often it is sent.
        """
        t = _epoch(now)
        subject_id = f"notice.{key}"
        thread = thread_key(self.stream, subject_id, group)
        notice = Notice(subject, text, subject_zh or subject, text_zh or text)
        with self.outbox.enqueue_lock():
            history = self.outbox.history(thread)
            if history:
                self._repair(history[0])
                return []
            header = self._header(subject_id, group, 1, "Alert", [], t)
            built = build_notice_message(notice, header, self.network_name, self.ctx)
            rec, new = self._record(
                built, thread=thread, seq=1, subject_id=subject_id, group=group, now=t
            )
        return [rec] if new else []

    def last_notice(self, prefix: str, group: str) -> QueuedMessage | None:
        """The newest notice to ``group`` whose key starts with ``prefix`` (by creation)."""
        stem = f"notice.{prefix}"
        found = [m for m in self.outbox.latest_by_subject(self.stream,
                                                          lambda s: s.startswith(stem))
                 if m.group == group]
        return max(found, key=lambda m: m.created, default=None)

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
        """Deliver every due outbox item; failures are retried with exponential backoff.
        Messages the outbox could not record are recorded first, when it can."""
        if self._unsent:
            self._flush_unsent(_epoch(now))
        rep = self.outbox.deliver_due(
            self._send,
            _epoch(now),
            backoff_initial_s=self.config.backoff_initial_s,
            backoff_max_s=self.config.backoff_max_s,
            expire_s=self.config.expire_s,
            deadline_s=self._deadline,
        )
        if self._unsent:  # not recorded yet: still pending
            rep = dataclasses.replace(rep, pending=rep.pending + len(self._unsent))
        return rep

    def _deadline(self, channel: str) -> float:
        """The total deadline of one delivery attempt on ``channel`` (s)."""
        return float(getattr(self.channels.get(channel), "timeout_s", DEFAULT_DEADLINE_S))
