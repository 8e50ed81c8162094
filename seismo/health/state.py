"""Which stations changed status since the last run (persisted in a JSON file).

Engineers are told about a station when its summary status changes (OK -> WARN,
WARN -> FAIL, FAIL -> OK, ...), not on every run. A station never seen before
counts as previously OK, so a new FAIL is reported and a new OK is not.
Stations absent from a run (e.g. ``--station`` runs) keep their stored state.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.errors import DataError
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

    Raises:
        DataError: the state file exists but is not a valid state file (the
            message names it). A missing file is an empty state.
    """

    def __init__(self, state_file: str | os.PathLike[str]) -> None:
        self.path = Path(state_file)
        self._state: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise DataError(f"cannot read health state file {self.path}: {exc}") from None
        try:
            data = json.loads(raw)
            stations = data["stations"]
            if not isinstance(stations, dict) or any(
                v.get("status") not in _STATUSES for v in stations.values()
            ):
                raise ValueError("bad 'stations' table")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"health state file {self.path} is not valid: {exc}") from None
        return stations

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
        body = json.dumps({"version": 1, "stations": self._state}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".health_state.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
