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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.durable import load_json, write_json
from seismo.event.identity import KnownEvent
from seismo.io.seedlink.client import Position
from seismo.model import Pick

log = logging.getLogger(__name__)

_FORMAT = 1


@dataclass
class EventMemo:
    """An event the stream announced: enough to keep its identity across a restart."""

    id: str
    version: int
    time: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float | None = None
    magnitude: float | None = None
    alerted: bool = False
    closed: bool = False

    def known(self) -> KnownEvent:
        return KnownEvent(self.id, self.time, self.latitude, self.longitude, self.depth_km,
                          self.magnitude, self.version)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "time": str(self.time),
                "latitude": self.latitude, "longitude": self.longitude,
                "depth_km": self.depth_km, "magnitude": self.magnitude,
                "alerted": self.alerted, "closed": self.closed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EventMemo:
        return cls(str(d["id"]), int(d["version"]), UTCDateTime(d["time"]),
                   float(d["latitude"]), float(d["longitude"]),
                   None if d.get("depth_km") is None else float(d["depth_km"]),
                   None if d.get("magnitude") is None else float(d["magnitude"]),
                   bool(d.get("alerted", False)), bool(d.get("closed", False)))


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
