"""Incremental association: events that grow as picks arrive (real time).

The same :func:`~seismo.event.associate.associate` as a window, run again on a pool
of recent picks whenever picks arrive; what this module adds is the *life* of an
event between runs:

* **pool**: final picks of the last ``pool_s`` seconds (and every pick of an open
  event, however old), plus each station's *provisional* picks (onsets whose station
  merge is not final yet, :meth:`~seismo.station.picker.station.StationPicker.provisional`;
  replaced wholesale at each update). Picks of closed events leave the pool.
* **tracking**: a candidate of a run is the open event with which it shares the most
  onsets (station and onset time within ``ONSET_TOLERANCE_S``; one candidate per
  event); a candidate that shares none is a new event. A first origin so appears as
  soon as the association minimums (``associate.min_stations``, ``min_phases``) are
  met, and the event is relocated whenever its picks change.
* **closing**: an event whose picks have not changed for ``close_after_s`` (and
  that the shell has not marked as changed, :meth:`IncrementalAssociator.touch`) is
  closed; its picks are retired.
* **falling apart**: an open event that no run has found for ``cancel_after_s`` is
  reported as vanished (the shell cancels what it announced).

Pure: no clock, no I/O. ``now`` is passed in (seconds, UTC).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field

from obspy import UTCDateTime

from seismo.errors import LocationError
from seismo.event.associate import associate
from seismo.event.candidate import EventCandidate
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import VelocityModel
from seismo.inventory import StationInfo
from seismo.model import Pick

log = logging.getLogger(__name__)

#: Two picks of one station are the same onset when their times differ by less than
#: this (s): a provisional pick and its final version (the station merge keeps onsets
#: ``station_merge_s`` = 1 s apart).
ONSET_TOLERANCE_S = 0.25


def onset_key(p: Pick) -> tuple[str, int]:
    return p.station_id, round(float(p.time) / ONSET_TOLERANCE_S)


def _shared(a: Iterable[Pick], b: Iterable[Pick]) -> int:
    """Onsets ``a`` and ``b`` have in common (times within ``ONSET_TOLERANCE_S``)."""
    keys = {onset_key(p) for p in b}
    n = 0
    for p in a:
        sid, k = onset_key(p)
        if (sid, k) in keys or (sid, k - 1) in keys or (sid, k + 1) in keys:
            n += 1
    return n


@dataclass
class TrackedEvent:
    """One event followed across association runs."""

    key: int  # local, stable
    candidate: EventCandidate
    first_seen: UTCDateTime
    last_change: UTCDateTime
    missing_since: UTCDateTime | None = None
    changed: bool = True  # picks changed since the shell last looked

    @property
    def picks(self) -> tuple[Pick, ...]:
        return self.candidate.picks


@dataclass
class Changes:
    """What one update found: events new, relocated, vanished, closed."""

    new: list[TrackedEvent] = field(default_factory=list)
    relocated: list[TrackedEvent] = field(default_factory=list)
    vanished: list[TrackedEvent] = field(default_factory=list)
    closed: list[TrackedEvent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.relocated or self.vanished or self.closed)


@dataclass(eq=False)
class IncrementalAssociator:
    """Picks in, tracked events out (module docstring). Spans in seconds."""

    stations: Mapping[str, StationInfo]
    velocity: VelocityModel
    assoc: AssociateConfig
    locate: LocateConfig
    _: KW_ONLY
    s_picks: bool = True
    separable_s: Collection[str] | None = None
    pool_s: float = 120.0
    close_after_s: float = 60.0
    cancel_after_s: float = 20.0

    def __post_init__(self) -> None:
        self.stations = dict(self.stations)
        self.final: dict[str, Pick] = {}  # pick id -> pick
        self.provisional: dict[str, list[Pick]] = {}  # station -> its provisional picks
        self.retired: dict[tuple[str, int], UTCDateTime] = {}  # onset -> pick time
        self.events: dict[int, TrackedEvent] = {}
        self._next_key = 1
        self.dirty = False  # the pool changed since the last run

    # ------------------------------------------------------------------ input
    def add(self, picks: Iterable[Pick]) -> None:
        """Final picks (duplicates by id are ignored)."""
        for p in picks:
            if p.id not in self.final and onset_key(p) not in self.retired:
                self.final[p.id] = p
                self.dirty = True

    def set_provisional(self, station_id: str, picks: list[Pick]) -> None:
        """The station's current provisional picks (replacing the previous ones)."""
        old = self.provisional.get(station_id, [])
        if [p.id for p in old] != [p.id for p in picks]:
            self.dirty = True
        if picks:
            self.provisional[station_id] = list(picks)
        else:
            self.provisional.pop(station_id, None)

    def touch(self, key: int, now: UTCDateTime) -> None:
        """New information about event ``key`` (e.g. its magnitude changed): not quiet."""
        ev = self.events.get(key)
        if ev is not None:
            ev.last_change = now

    def pool(self, now: UTCDateTime) -> list[Pick]:
        """The picks an association run uses (module docstring)."""
        held = {p.id for ev in self.events.values() for p in ev.picks}
        out = [p for p in self.final.values()
               if p.id in held or float(now - p.time) <= self.pool_s]
        finals = {onset_key(p) for p in out}
        for picks in self.provisional.values():
            out += [p for p in picks
                    if onset_key(p) not in finals and onset_key(p) not in self.retired]
        return out

    # ------------------------------------------------------------------ a run
    def update(self, now: UTCDateTime, live: Iterable[str] | None = None) -> Changes:
        """Associate the pool and follow the events; ``live``: the stations delivering
        data now (who should have picked an event; default all)."""
        changes = Changes()
        if not self.dirty:  # the same pool gives the same events: only the clocks run
            self._expire(now, changes)
            self._prune(now)
            return changes
        live_ids = set(self.stations) if live is None else set(live) & set(self.stations)
        stations = {k: v for k, v in self.stations.items() if k in live_ids}
        for ev in self.events.values():  # an event's own stations stay in the reckoning
            for p in ev.picks:
                if p.station_id in self.stations:
                    stations[p.station_id] = self.stations[p.station_id]
        pool = self.pool(now)
        cands: list[EventCandidate] = []
        if pool:
            try:
                cands = associate(pool, stations, self.velocity, self.assoc, self.locate,
                                  s_picks=self.s_picks, separable_s=self.separable_s)
            except LocationError as exc:
                log.warning("incremental association failed: %s", exc)
                return changes
        self.dirty = False
        self._follow(cands, now, changes)
        self._expire(now, changes)
        self._prune(now)
        return changes

    def _follow(self, cands: list[EventCandidate], now: UTCDateTime, changes: Changes) -> None:
        pairs = []
        for ci, c in enumerate(cands):
            for key, ev in self.events.items():
                n = _shared(c.picks, ev.picks)
                if n:
                    pairs.append((n, ci, key))
        pairs.sort(key=lambda x: (-x[0], x[1], x[2]))
        used_c: set[int] = set()
        used_e: set[int] = set()
        for _, ci, key in pairs:
            if ci in used_c or key in used_e:
                continue
            used_c.add(ci)
            used_e.add(key)
            ev = self.events[key]
            new = cands[ci]
            if {p.id for p in new.picks} != {p.id for p in ev.picks} or (
                new.origin.time != ev.candidate.origin.time
            ):
                ev.candidate = new
                ev.last_change = now
                ev.changed = True
                changes.relocated.append(ev)
            ev.missing_since = None
        for ci, c in enumerate(cands):
            if ci in used_c:
                continue
            ev = TrackedEvent(self._next_key, c, now, now)
            self._next_key += 1
            self.events[ev.key] = ev
            changes.new.append(ev)
        for key, ev in self.events.items():
            if key not in used_e and ev not in changes.new and ev.missing_since is None:
                ev.missing_since = now

    def _expire(self, now: UTCDateTime, changes: Changes) -> None:
        for key in list(self.events):
            ev = self.events[key]
            gone = ev.missing_since is not None and float(now - ev.missing_since)
            if gone is not False and gone >= self.cancel_after_s:
                changes.vanished.append(self.events.pop(key))
            elif float(now - ev.last_change) >= self.close_after_s:
                self._retire(ev)
                changes.closed.append(self.events.pop(key))

    def close_all(self) -> list[TrackedEvent]:
        """Close every open event (shutdown); their picks are retired."""
        out = list(self.events.values())
        for ev in out:
            self._retire(ev)
        self.events.clear()
        return out

    def _retire(self, ev: TrackedEvent) -> None:
        for p in ev.picks:
            self.retired[onset_key(p)] = p.time
            self.final.pop(p.id, None)

    def _prune(self, now: UTCDateTime) -> None:
        """Bounded memory: picks and retired onsets older than the pool leave."""
        held = {p.id for ev in self.events.values() for p in ev.picks}
        for pid in [pid for pid, p in self.final.items()
                    if pid not in held and float(now - p.time) > self.pool_s]:
            del self.final[pid]
        horizon = 2 * self.pool_s
        for k in [k for k, t in self.retired.items() if float(now - t) > horizon]:
            del self.retired[k]
