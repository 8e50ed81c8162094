"""Which stations changed status since the last run (persisted in a JSON file).

Engineers are told about a station when its summary status changes (OK -> WARN,
WARN -> FAIL, FAIL -> OK, ...), not on every run. A station never seen before
counts as previously OK, so a new FAIL is reported and a new OK is not.
Stations absent from a run (e.g. ``--station`` runs) keep their stored state.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.durable import read_json, write_json
from seismo.model import HealthStatus, StationHealth

log = logging.getLogger(__name__)

_STATUSES = ("OK", "WARN", "FAIL")


@dataclass(frozen=True)
class StatusChange:
    """A station whose summary status changed; ``reasons`` are the new ones."""

    station_id: str
    old: HealthStatus
    new: HealthStatus
    time: UTCDateTime
    reasons: tuple[str, ...]

    def describe(self) -> str:
        why = "; ".join(self.reasons) if self.reasons else "all checks pass"
        return f"{self.station_id}: {self.old} -> {self.new} ({why})"


class HealthStateTracker:
    """Last summary status per station, kept in ``state_file`` (JSON).

    The file is written atomically (:mod:`seismo.durable`).

    Raises:
        StateFileError: the state file exists but cannot be read or is not a valid
            state file (a :class:`~seismo.errors.DataError`; the message names it and
            the file is left in place for a person to look at). A missing file is an
            empty state.
    """

    def __init__(self, state_file: str | os.PathLike[str]) -> None:
        self.path = Path(state_file)
        self._state: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        return read_json(self.path, _stations, what="health state file") or {}

    def status(self, station_id: str) -> HealthStatus | None:
        """The stored status of ``NET.STA`` (None if never seen)."""
        entry = self._state.get(station_id)
        return entry["status"] if entry else None

    def changes(self, results: Iterable[StationHealth]) -> list[StatusChange]:
        """Station summaries in ``results`` whose status differs from the stored one.

        Channel entries (``channel != ""``) are ignored. Nothing is stored.
        """
        out: list[StatusChange] = []
        for h in results:
            if h.channel:
                continue
            sid = f"{h.network}.{h.station}"
            old: HealthStatus = self.status(sid) or "OK"
            if h.status != old:
                out.append(StatusChange(sid, old, h.status, h.time, tuple(h.reasons)))
        return out

    def record(self, results: Iterable[StationHealth]) -> None:
        """Store the station summaries in ``results`` (atomic rewrite of the file)."""
        for h in results:
            if not h.channel:
                self._state[f"{h.network}.{h.station}"] = {
                    "status": h.status, "time": str(h.time), "reasons": list(h.reasons)
                }
        self._save()

    def update(self, results: Iterable[StationHealth]) -> list[StatusChange]:
        """:meth:`changes` then :meth:`record`: the changes since the last update."""
        items = list(results)
        found = self.changes(items)
        self.record(items)
        return found

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.path, {"version": 1, "stations": self._state}, indent=1, sort_keys=True)


def _stations(data: Any) -> dict[str, dict[str, Any]]:
    """The station table of a state file's JSON ``data`` (raises on a wrong shape)."""
    stations = data["stations"]
    if not isinstance(stations, dict) or any(
        v.get("status") not in _STATUSES for v in stations.values()
    ):
        raise ValueError("bad 'stations' table")
    return stations
