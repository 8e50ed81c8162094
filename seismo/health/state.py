"""Which stations changed status since the last run (persisted in a JSON file).

Engineers are told about a station when its summary status changes (OK -> WARN,
WARN -> FAIL, FAIL -> OK, ...), not on every run. A station never seen before
counts as previously OK, so a new FAIL is reported and a new OK is not.
Stations absent from a run (e.g. ``--station`` runs) keep their stored state.

The same file keeps each channel's **noise baseline**: its band levels (PSD - NHNM, dB)
of the last ``[health] psd_baseline_runs`` runs that were not flagged
(:func:`seismo.health.status._check_noise`), so "noisy" means noisier than this channel
usually is (docs/health.md).
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
#: The band-level metric kept in the baselines (seismo.health.status).
_LEVEL = "psd_minus_nhnm_db_"


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

    def baselines(self, station_id: str) -> dict[str, dict[str, list[float]]]:
        """``"LOC.CHA"`` -> band -> the channel's kept band levels (dB above NHNM)."""
        noise = self._state.get(station_id, {}).get("noise", {})
        return {ch: {b: [float(x) for x in v] for b, v in bands.items()}
                for ch, bands in noise.items()}

    def record(self, results: Iterable[StationHealth], keep: int = 144) -> None:
        """Store the station summaries in ``results`` and add the unflagged band levels of
        its channels to their baselines (the newest ``keep``); atomic rewrite of the file."""
        items = list(results)
        for h in items:
            if not h.channel:
                sid = f"{h.network}.{h.station}"
                entry = self._state.setdefault(sid, {})
                entry.update(status=h.status, time=str(h.time), reasons=list(h.reasons))
        for h in items:
            if not h.channel:
                continue
            sid = f"{h.network}.{h.station}"
            if sid not in self._state:
                continue  # a channel without its station's summary: not recorded
            noise = self._state[sid].setdefault("noise", {})
            for name, value in h.metrics.items():
                if not name.startswith(_LEVEL):
                    continue
                band = name[len(_LEVEL):]
                if h.metrics.get(f"psd_flag_{band}", 1.0) != 0.0:
                    continue  # flagged: a fault never becomes the channel's normal
                hist = noise.setdefault(f"{h.location}.{h.channel}", {}).setdefault(band, [])
                hist.append(round(float(value), 2))
                del hist[:-keep]
        self._save()

    def update(self, results: Iterable[StationHealth], keep: int = 144) -> list[StatusChange]:
        """:meth:`changes` then :meth:`record`: the changes since the last update."""
        items = list(results)
        found = self.changes(items)
        self.record(items, keep)
        return found

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.path, {"version": 1, "stations": self._state}, indent=1, sort_keys=True)


def _stations(data: Any) -> dict[str, dict[str, Any]]:
    """The station table of a state file's JSON ``data`` (raises on a wrong shape)."""
    stations = data["stations"]
    if not isinstance(stations, dict) or any(
        not isinstance(v, dict) or v.get("status") not in _STATUSES
        or not isinstance(v.get("noise", {}), dict) for v in stations.values()
    ):
        raise ValueError("bad 'stations' table")
    return stations
