"""The small state file of ``seismo stream`` (``[stream] state_file``, JSON).

What a restart needs so that no data is lost or processed twice, and no alert is
sent twice:

* ``positions``: per station the last SeedLink record *processed* (sequence number
  and end time, :class:`~seismo.io.seedlink.client.Position`); the stream resumes
  right after it (``DATA seq time``) and first re-reads ``warmup_s`` before it to
  warm up the filters (picks made from that re-read are dropped: they were made
  before the restart);
* ``picks``: the final picks of the association pool (so that an event in progress
  keeps the picks made before the restart);
* ``events``: the events announced recently (id, version, origin, whether an alert
  thread exists), so a re-found event keeps its id and continues its versions (the
  alert history itself is the outbox's, :mod:`seismo.alerts.outbox`).

The file is replaced atomically and durably (:mod:`seismo.durable`); a missing
file is an empty state; an invalid one is reported and set aside (renamed
``*.bad``) so the stream starts afresh instead of not starting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.durable import load_json, write_json
from seismo.io.seedlink.client import Position
from seismo.model import Event, EventSummary, Pick

log = logging.getLogger(__name__)

_FORMAT = 1
#: Announced events remembered for identity (about a day of a busy network).
MEMO_MAX = 500


@dataclass
class EventMemo:
    """An event the stream announced: its summary (enough to keep its identity across a
    restart), whether it has an alert thread, whether it was closed."""

    event: EventSummary
    alerted: bool = False
    closed: bool = False

    @property
    def id(self) -> str:
        return self.event.id

    def to_dict(self) -> dict[str, Any]:
        e = self.event
        return {"id": e.id, "version": e.version, "time": str(e.time),
                "latitude": e.latitude, "longitude": e.longitude,
                "depth_km": e.depth_km, "magnitude": e.magnitude,
                "alerted": self.alerted, "closed": self.closed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EventMemo:
        event = EventSummary(
            str(d["id"]), UTCDateTime(d["time"]), float(d["latitude"]), float(d["longitude"]),
            None if d.get("depth_km") is None else float(d["depth_km"]),
            None if d.get("magnitude") is None else float(d["magnitude"]), int(d["version"]))
        return cls(event, bool(d.get("alerted", False)), bool(d.get("closed", False)))


class AnnouncedEvents:
    """The events the stream announced, newest ``max_n`` kept (what the state file
    saves): the stream state's source of known events for identity
    (:class:`~seismo.shells.registry.KnownEventSource`)."""

    def __init__(self, memos: Iterable[EventMemo] = (), max_n: int = MEMO_MAX) -> None:
        self.max_n = max_n
        self._memos: dict[str, EventMemo] = {m.id: m for m in memos}

    def restore(self, memos: Iterable[EventMemo]) -> None:
        """The events of a saved state (:attr:`StreamState.events`)."""
        self._memos.update((m.id, m) for m in memos)

    def get(self, event_id: str) -> EventMemo | None:
        return self._memos.get(event_id)

    def remember(self, event: Event, *, alerted: bool) -> None:
        """A version of ``event`` was published (``alerted``: it has an alert thread)."""
        prev = self._memos.get(event.id)
        self._memos[event.id] = EventMemo(
            EventSummary.of(event), alerted=alerted or (prev is not None and prev.alerted))

    def alerted(self, event_id: str) -> None:
        if event_id in self._memos:
            self._memos[event_id].alerted = True

    def close(self, event_id: str) -> None:
        if event_id in self._memos:
            self._memos[event_id].closed = True

    def forget(self, event_id: str) -> None:
        """The event fell apart: not a known event any more."""
        self._memos.pop(event_id, None)

    def memos(self) -> list[EventMemo]:
        """The newest ``max_n`` announced events, by origin time."""
        return sorted(self._memos.values(), key=lambda m: m.event.time)[-self.max_n:]

    def known_events(self, since: UTCDateTime, until: UTCDateTime) -> list[EventSummary]:
        return [m.event for m in self._memos.values() if since <= m.event.time <= until]


@dataclass
class StreamState:
    positions: dict[str, Position] = field(default_factory=dict)
    picks: list[Pick] = field(default_factory=list)
    events: list[EventMemo] = field(default_factory=list)
    saved: UTCDateTime | None = None


def _parse_state(data: Any) -> StreamState:
    """The state held by the JSON ``data`` of a state file (raises on a wrong shape)."""
    if data.get("format") != _FORMAT:
        raise ValueError(f"format {data.get('format')!r}, expected {_FORMAT}")
    return StreamState(
        positions={k: Position.from_dict(v) for k, v in data["positions"].items()},
        picks=[Pick.from_dict(p) for p in data["picks"]],
        events=[EventMemo.from_dict(e) for e in data["events"]],
        saved=UTCDateTime(data["saved"]) if data.get("saved") else None,
    )


def load_state(path: Path) -> StreamState:
    """The saved state (empty when the file does not exist or cannot be read; an
    invalid file is set aside as ``*.bad``)."""
    state = load_json(path, _parse_state, what="stream state file",
                      advice="the stream starts afresh")
    return state if state is not None else StreamState()


def save_state(path: Path, state: StreamState) -> None:
    """Write ``state`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {
        "format": _FORMAT,
        "saved": str(state.saved or UTCDateTime()),
        "positions": {k: v.to_dict() for k, v in sorted(state.positions.items())},
        "picks": [p.to_dict() for p in state.picks],
        "events": [e.to_dict() for e in state.events],
    }, separators=(",", ":"))


def save_state_logged(path: Path, state: StreamState) -> bool:
    """:func:`save_state`; a failure is logged (the stream goes on; the next save retries)."""
    try:
        save_state(path, state)
    except OSError as exc:
        log.error("cannot save the stream state to %s: %s", path, exc)
        return False
    return True
