"""The persistent outbox: no alert is lost, none is delivered twice (barring one window).

Layout under the outbox directory::

    messages/<key>.json              one record per CAP message (the message history)
    pending/<key>__<channel>.json    one delivery item per (message, channel), not yet delivered
    delivered/<key>__<channel>.json  the delivered marker (the item, with delivered_at)
    dead/<key>__<channel>.json       expired items (undelivered after expire_s), logged loudly

``<key>`` is ``<stream>__<event>__<group>__<seq>__<msgType>`` where stream is
``actual`` or ``exercise``. The file name is the dedupe key: an item is created
only if no file of that name exists in pending/, delivered/ or dead/ (checked in
that order, which is safe against a concurrent pending -> delivered move because
the marker is written before the pending file is removed).

Every file is written atomically and durably (:mod:`seismo.durable`): new files
are linked into place, which fails if the name exists; updates replace the old
file. A pending item that cannot be read back is moved to dead/ with an error.

Delivery guarantee. An item is sent, then its delivered marker is written. If
the process dies after the receiver accepted the message but before the marker
is on disk, the item is sent again on the next run: delivery is *at least once*
in that window and exactly once otherwise. The CAP identifier (and e-mail
Message-ID) is deterministic, so a receiver can drop the duplicate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.alerts.cap import cap_datetime, short_hash
from seismo.boundary import boundary
from seismo.durable import json_object, quarantine, read_json, remove, write_atomic
from seismo.errors import AlertError, StateFileError
from seismo.model import Event, EventSummary

log = logging.getLogger(__name__)

_SAFE = re.compile(r"^[A-Za-z0-9.@\-]+$")

#: A channel's total deadline per attempt when it states none (s).
DEFAULT_DEADLINE_S = 30.0
#: Waited beyond a channel's deadlines before its thread is left behind (s).
DEADLINE_MARGIN_S = 5.0
#: Pending item files a channel thread of this process is delivering (never sent twice
#: at once, even when a pass left a thread behind).
_IN_FLIGHT: set[str] = set()


def safe_name(text: str) -> str:
    """A file-name-safe token for ``text`` (unchanged if already safe, else slug + hash)."""
    if _SAFE.match(text) and ".." not in text and not text.startswith("."):
        return text
    slug = re.sub(r"[^A-Za-z0-9.@\-]", "-", text).replace("..", "-")[:80]
    return f"{slug}-{short_hash(text, 8)}"


def thread_key(stream: str, subject_id: str, group: str) -> str:
    """Key of one message thread: all messages about one event (or notice) to one group."""
    return f"{stream}__{safe_name(subject_id)}__{safe_name(group)}"


#: The keys of a flat message record (:meth:`QueuedMessage.to_dict`) that hold its event.
_EVENT_KEYS = ("magnitude", "latitude", "longitude", "depth_km", "origin_time", "magnitude_type")


def finite(x: float | None) -> float | None:
    """``x``, or None when it is None, NaN or infinite."""
    return x if x is not None and math.isfinite(x) else None


def event_snapshot(event: Event) -> EventSummary | None:
    """The event as an outbox message records it (None without a finite epicentre).

    Non-finite depth and magnitude become unknown; the origin time is kept to the
    microsecond the record holds, so a message read back equals the one written.
    """
    lat, lon = finite(event.latitude), finite(event.longitude)
    if lat is None or lon is None:
        return None
    mag = finite(event.magnitude)
    return EventSummary(event.id, UTCDateTime(str(event.time)), lat, lon,
                        finite(event.depth_km), mag, 0,
                        event.magnitude_type if mag is not None else None)


@dataclass(frozen=True)
class QueuedMessage:
    """A CAP message recorded in the outbox, with the channels it goes to.

    ``event`` is the event as alerted (:class:`~seismo.model.EventSummary`: origin,
    magnitude; version 0, the outbox records none), for Update decisions and for
    matching a new solution to the event (:mod:`seismo.event.identity`); None for a
    notice. ``saturated``, ``intensity`` and ``tsunami`` (the intensity and tsunami
    decision alerted) and ``solution`` (stream or window) snapshot the decision.
    ``created`` is epoch seconds (UTC). On disk the record is flat: the event's
    fields are ``magnitude``, ``latitude``, ``longitude``, ``depth_km`` and
    ``origin_time`` (ISO 8601 UTC).
    """

    key: str
    thread: str
    seq: int
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    subject_id: str
    group: str
    channels: tuple[str, ...]
    subject: str
    text: str
    xml: str
    created: float
    event: EventSummary | None = None
    saturated: bool = False
    intensity: float | None = None  # max observed/predicted GB/T 17742 intensity alerted
    tsunami: bool | None = None  # the tsunami decision alerted (None: not recorded)
    solution: str = ""  # "stream" or "window": which path made the alerted version
    review_status: str = ""  # the event's review status alerted ("automatic", "confirmed")
    final: bool = False  # the Update that announced the complete solution
    tsunami_magnitude: float | None = None  # the magnitude the tsunami rule used
    tsunami_radius_km: float | None = None  # the tsunami area alerted (never shrinks)
    imported: str = ""  # where a record made elsewhere came from (the store), else ""

    @property
    def reference(self) -> str:
        """This message as a CAP reference triplet "sender,identifier,sent"."""
        return f"{self.sender},{self.identifier},{self.sent}"

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "event"}
        out["channels"] = list(self.channels)
        e = self.event
        out.update(dict.fromkeys(_EVENT_KEYS))
        if e is not None:
            out.update(magnitude=e.magnitude, latitude=e.latitude, longitude=e.longitude,
                       depth_km=e.depth_km, origin_time=str(e.time),
                       magnitude_type=e.magnitude_type)
        return out

    @classmethod
    def from_record(cls, row: dict[str, Any], stream: str) -> QueuedMessage | None:
        """A message sent by another process or installation, from its record in the
        store's ``alerts`` measurement (the second source of the alert record; None when
        the row is not a message of ``stream`` with a sequence number). It has no channels
        and no XML: it only says that its identifier is taken and what it said."""
        ident = str(row.get("identifier") or "")
        group = str(row.get("group") or "")
        subject = str(row.get("event_id") or "")
        status = str(row.get("status") or "")
        msg_type = str(row.get("msg_type") or "")
        seq = row.get("seq")
        if seq is None:
            m = re.search(r"\.v(\d+)(?:\.[a-z]+)?$", ident)
            seq = int(m.group(1)) if m else None
        if not (ident and group and subject and msg_type and isinstance(seq, int | float)):
            return None
        if (status == "Actual") != (stream == "actual"):
            return None
        thread = thread_key(stream, subject, group)
        sent = str(row.get("sent") or "")
        if not sent and isinstance(row.get("time"), int):  # the point's time: the sent time
            sent = cap_datetime(UTCDateTime(row["time"] / 1e6))
        data = {k: v for k, v in row.items() if v is not None}
        data.update(key=f"{thread}__{int(seq):03d}__{msg_type}", thread=thread, seq=int(seq),
                    identifier=ident,
                    sender=str(row.get("sender") or ident.split(f".{subject}.")[0]),
                    sent=sent, status=status, msg_type=msg_type,
                    subject_id=subject, group=group, channels=(), subject="", text="",
                    xml="", created=float(row.get("created") or 0.0), imported="store")
        if not data["sent"]:
            return None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueuedMessage:
        names = {f.name for f in dataclasses.fields(cls)} - {"event"}
        kw = {k: v for k, v in data.items() if k in names}
        kw["channels"] = tuple(kw.get("channels", ()))
        t, lat, lon = data.get("origin_time"), data.get("latitude"), data.get("longitude")
        if t is not None and lat is not None and lon is not None:
            kw["event"] = EventSummary(
                str(data.get("subject_id", "")), UTCDateTime(t), float(lat), float(lon),
                None if data.get("depth_km") is None else float(data["depth_km"]),
                None if data.get("magnitude") is None else float(data["magnitude"]),
                0, data.get("magnitude_type"),
            )
        return cls(**kw)


@dataclass(frozen=True)
class DeliveryItem:
    """One (message, channel) delivery. Times are epoch seconds (UTC)."""

    key: str
    message_key: str
    channel: str
    identifier: str
    sender: str
    sent: str
    msg_type: str
    group: str
    subject: str
    text: str
    xml: str
    created: float
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None
    delivered_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeliveryItem:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class DeliveryReport:
    """Result of one delivery pass: items delivered, attempts failed, items still
    pending (including not yet due), items expired to dead/. ``busy``: another
    process held the delivery lock, nothing was attempted."""

    delivered: int = 0
    failed: int = 0
    pending: int = 0
    expired: int = 0
    busy: bool = False


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


class Outbox:
    """The on-disk outbox rooted at ``root`` (created if missing)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.messages = self.root / "messages"
        self.pending = self.root / "pending"
        self.delivered = self.root / "delivered"
        self.dead = self.root / "dead"
        try:
            for d in (self.messages, self.pending, self.delivered, self.dead):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AlertError(f"cannot create outbox directory {self.root}: {exc}") from None

    # ------------------------------------------------------------------ locks
    @contextlib.contextmanager
    def _lock(self, name: str, blocking: bool) -> Iterator[bool]:
        try:
            fd = os.open(self.root / name, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a full or read-only disk: go on unlocked, say so
            log.error("OUTBOX %s: lock %s unavailable (%s): going on without it", self.root,
                      name, exc)
            yield True
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def enqueue_lock(self) -> contextlib.AbstractContextManager[bool]:
        """Serialise message creation between processes (blocking)."""
        return self._lock(".enqueue.lock", blocking=True)

    # ------------------------------------------------------------------ messages
    def _load(self, path: Path) -> dict[str, Any]:
        try:
            data = read_json(path, json_object, what="outbox file")
        except StateFileError as exc:
            raise AlertError(str(exc)) from None
        if data is None:
            raise AlertError(f"outbox file {path} is gone")
        return data

    def history(self, thread: str) -> list[QueuedMessage]:
        """Messages of one thread, oldest first."""
        pattern = str(self.messages / f"{glob.escape(thread)}__*.json")
        out = [QueuedMessage.from_dict(self._load(Path(p))) for p in glob.glob(pattern)]
        return sorted(out, key=lambda m: m.seq)

    def latest_by_subject(self, stream: str, keep: Callable[[str], bool]) -> list[QueuedMessage]:
        """The newest message of every thread of ``stream`` whose subject id passes ``keep``.

        Only the file names are listed; files are read for the kept subjects only.
        """
        newest: dict[str, tuple[int, Path]] = {}
        prefix = f"{stream}__"
        if not self.messages.is_dir():
            return []
        with os.scandir(self.messages) as entries:
            for entry in entries:
                name = entry.name
                if not name.startswith(prefix) or not name.endswith(".json"):
                    continue
                parts = name[:-5].split("__")
                if len(parts) != 5 or not keep(parts[1]):
                    continue
                try:
                    seq = int(parts[3])
                except ValueError:
                    continue
                thread = "__".join(parts[:3])
                if thread not in newest or seq > newest[thread][0]:
                    newest[thread] = (seq, Path(entry.path))
        out = []
        for _, path in newest.values():
            try:
                out.append(QueuedMessage.from_dict(self._load(path)))
            except AlertError as exc:
                log.error("%s", exc)
        return out

    def threads(self, prefix: str) -> list[str]:
        """Thread keys that start with ``prefix`` (e.g. ``actual__<event>__``)."""
        pattern = str(self.messages / f"{glob.escape(prefix)}*.json")
        found = {Path(p).name.rsplit("__", 2)[0] for p in glob.glob(pattern)}
        return sorted(found)

    def add(
        self, msg: QueuedMessage, delivered: dict[str, float] | None = None
    ) -> tuple[QueuedMessage, bool]:
        """Record ``msg`` and create its missing delivery items (idempotent).

        ``delivered`` (channel -> epoch s) names channels that already have the message
        (delivered directly while the outbox could not be written): they get the delivered
        marker instead of a pending item. Returns the recorded message (the earlier one if
        ``msg.key`` was already recorded) and whether it was new.

        Raises:
            OSError: the outbox cannot be written (disk full, read-only).
        """
        path = self.messages / f"{msg.key}.json"
        created = write_atomic(path, _dumps(msg.to_dict()), new=True)
        rec = msg if created else QueuedMessage.from_dict(self._load(path))
        for ch in rec.channels:
            self._ensure_item(rec, ch, (delivered or {}).get(ch))
        return rec, created

    @staticmethod
    def item_for(msg: QueuedMessage, channel: str) -> DeliveryItem:
        """The delivery item of ``msg`` on ``channel``."""
        name = f"{msg.key}__{safe_name(channel)}"
        return DeliveryItem(
            key=name, message_key=msg.key, channel=channel, identifier=msg.identifier,
            sender=msg.sender, sent=msg.sent, msg_type=msg.msg_type, group=msg.group,
            subject=msg.subject, text=msg.text, xml=msg.xml, created=msg.created,
            next_attempt=msg.created,
        )

    def _ensure_item(self, msg: QueuedMessage, channel: str,
                     delivered_at: float | None = None) -> None:
        item = self.item_for(msg, channel)
        name = f"{item.key}.json"
        # Order matters: pending, then delivered, then dead (see module docstring).
        for d in (self.pending, self.delivered, self.dead):
            if (d / name).exists():
                return
        if delivered_at is not None:
            done = dataclasses.replace(item, attempts=1, delivered_at=delivered_at)
            write_atomic(self.delivered / name, _dumps(done.to_dict()), new=True)
            return
        if write_atomic(self.pending / name, _dumps(item.to_dict()), new=True):
            log.info("queued %s for channel %s", msg.identifier, channel)

    # ------------------------------------------------------------------ delivery
    def counts(self) -> dict[str, int]:
        """Number of files in pending/, delivered/ and dead/."""
        return {
            d.name: sum(1 for p in d.glob("*.json") if not p.name.startswith("."))
            for d in (self.pending, self.delivered, self.dead)
        }

    def items(self, state: str, limit: int | None = None) -> list[DeliveryItem]:
        """Delivery items in ``state`` (pending, delivered or dead), newest first.

        Unreadable files are skipped (and logged); ``limit`` keeps the newest ones.
        """
        folders = {"pending": self.pending, "delivered": self.delivered, "dead": self.dead}
        folder = folders.get(state)
        if folder is None:
            raise AlertError(f"outbox state {state!r} must be pending, delivered or dead")
        out = []
        for path in folder.glob("*.json"):
            if path.name.startswith("."):
                continue
            try:
                out.append(DeliveryItem.from_dict(self._load(path)))
            except (AlertError, TypeError) as exc:
                log.error("%s", exc)
        out.sort(key=lambda i: (i.created, i.key), reverse=True)
        return out if limit is None else out[:limit]

    def requeue(self, key: str, now: float) -> DeliveryItem:
        """Move the dead item ``key`` back to pending, due at once, with a fresh expiry.

        Its attempts are kept (and its last error) so the history stays visible.
        Raises AlertError when there is no dead item of that key.
        """
        name = f"{key}.json"
        if "/" in key or key.startswith(".") or not (self.dead / name).is_file():
            raise AlertError(f"no dead outbox item {key!r} in {self.dead}")
        item = DeliveryItem.from_dict(self._load(self.dead / name))
        again = dataclasses.replace(item, created=now, next_attempt=now, delivered_at=None)
        if not write_atomic(self.pending / name, _dumps(again.to_dict()), new=True):
            raise AlertError(f"outbox item {key!r} is already pending")
        remove(self.dead / name)
        log.warning("outbox: dead item %s re-queued for channel %s", item.identifier, item.channel)
        return again

    def _move(self, item: DeliveryItem, src: Path, dest_dir: Path) -> None:
        write_atomic(dest_dir / src.name, _dumps(item.to_dict()), new=True)
        remove(src)

    def deliver_due(
        self,
        send: Callable[[DeliveryItem], None],
        now: float,
        *,
        backoff_initial_s: float,
        backoff_max_s: float,
        expire_s: float,
        deadline_s: Callable[[str], float] = lambda channel: DEFAULT_DEADLINE_S,
    ) -> DeliveryReport:
        """Attempt every pending item that is due at ``now`` (epoch s).

        ``send`` delivers one item or raises. Each channel delivers in its own thread,
        so one slow or hanging channel never holds the others up; a channel's thread is
        waited for ``deadline_s(channel)`` per item (its channel's total deadline per
        attempt) plus a margin, then left behind (its items stay pending and are not
        sent again while it runs). A failed item is retried after
        ``min(backoff_max_s, backoff_initial_s * 2**(attempts-1))`` seconds; an item
        older than ``expire_s`` is moved to dead/ and logged as an error. After a failure,
        further items of the same channel wait for the next pass (a down server costs one
        timeout per pass, not one per item).
        """
        with self._lock(".deliver.lock", blocking=False) as got:
            if not got:
                log.info("outbox %s: another process is delivering", self.root)
                return DeliveryReport(busy=True)
            pending = expired = 0
            due: dict[str, list[tuple[Path, DeliveryItem]]] = {}
            paths = sorted(p for p in self.pending.glob("*.json") if not p.name.startswith("."))
            for path in paths:
                try:
                    item = DeliveryItem.from_dict(self._load(path))
                except (AlertError, TypeError) as exc:
                    quarantine(path, str(exc), into=self.dead, what="OUTBOX: delivery item")
                    expired += 1
                    continue
                if (self.delivered / path.name).exists():  # interrupted move: finish it
                    path.unlink(missing_ok=True)
                    continue
                if now >= item.created + expire_s:
                    self._move(item, path, self.dead)
                    expired += 1
                    log.error(
                        "ALERT EXPIRED UNDELIVERED: %s to channel %s after %d attempts "
                        "(last error: %s); moved to %s",
                        item.identifier, item.channel, item.attempts, item.last_error, self.dead,
                    )  # fmt: skip
                    continue
                if item.next_attempt > now or str(path) in _IN_FLIGHT:
                    pending += 1
                    continue
                due.setdefault(item.channel, []).append((path, item))
            counts = self._deliver_channels(due, send, now, backoff_initial_s, backoff_max_s,
                                            deadline_s)
            return DeliveryReport(counts[0], counts[1], pending + counts[2], expired)

    def _deliver_channels(
        self,
        due: dict[str, list[tuple[Path, DeliveryItem]]],
        send: Callable[[DeliveryItem], None],
        now: float,
        backoff_initial_s: float,
        backoff_max_s: float,
        deadline_s: Callable[[str], float],
    ) -> tuple[int, int, int]:
        """One thread per channel (:meth:`deliver_due`); (delivered, failed, pending)."""
        results: dict[str, list[int]] = {}
        threads = []
        start = time.monotonic()
        for channel, items in due.items():
            for path, _ in items:
                _IN_FLIGHT.add(str(path))
            t = threading.Thread(
                target=self._deliver_channel, name=f"deliver-{channel}", daemon=True,
                args=(channel, items, send, now, backoff_initial_s, backoff_max_s, results))
            t.start()
            wait = deadline_s(channel) * len(items) + DEADLINE_MARGIN_S
            threads.append((t, channel, items, start + wait))
        delivered = failed = pending = 0
        for t, channel, items, until in threads:
            t.join(max(0.0, until - time.monotonic()))
            if t.is_alive():  # its items stay in flight until the thread ends
                pending += len(items)
                log.error("ALERT CHANNEL %s did not finish %d item(s) within its deadline "
                          "(%.0f s each): left behind, the other channels went on; its items "
                          "stay pending", channel, len(items), deadline_s(channel))
                continue
            d, f, p = results.get(channel, [0, 0, len(items)])
            delivered, failed, pending = delivered + d, failed + f, pending + p
        return delivered, failed, pending

    def _deliver_channel(
        self,
        channel: str,
        items: list[tuple[Path, DeliveryItem]],
        send: Callable[[DeliveryItem], None],
        now: float,
        backoff_initial_s: float,
        backoff_max_s: float,
        results: dict[str, list[int]],
    ) -> None:
        """Deliver one channel's due items in order (a thread of :meth:`deliver_due`)."""
        delivered = failed = pending = 0
        down = False
        try:
            for path, item in items:
                if down:
                    pending += 1
                    continue
                # any channel failure is retried, never fatal (logged below, with the retry)
                with boundary("delivery", expected=(Exception,), level=None,
                              delivery=item.identifier, channel=channel) as failure:
                    send(item)
                if failure:
                    attempts = item.attempts + 1
                    delay = min(backoff_max_s, backoff_initial_s * 2.0 ** (attempts - 1))
                    err = str(failure.error)[:500] or type(failure.error).__name__
                    new = dataclasses.replace(
                        item, attempts=attempts, next_attempt=now + delay, last_error=err
                    )
                    with boundary("outbox write", logger=log, level=logging.ERROR,
                                  delivery=item.identifier):
                        write_atomic(path, _dumps(new.to_dict()))
                    down = True
                    failed += 1
                    pending += 1
                    log.warning(
                        "delivery of %s to %s failed (attempt %d, retry in %.1f s): %s",
                        item.identifier, channel, attempts, delay, err,
                    )  # fmt: skip
                    continue
                done = dataclasses.replace(item, attempts=item.attempts + 1, delivered_at=now)
                with boundary("outbox write", logger=log, level=logging.ERROR,
                              delivery=item.identifier) as unmarked:
                    self._move(done, path, self.delivered)
                if unmarked:  # sent, but the marker could not be written: sent again later
                    pending += 1
                    continue
                delivered += 1
                log.info("delivered %s to %s", item.identifier, channel)
        finally:
            for path, _ in items:
                _IN_FLIGHT.discard(str(path))
            results[channel] = [delivered, failed, pending]
