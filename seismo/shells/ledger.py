"""The detection DAG's record of windows: planned, partly done, done, not processed.

A per-minute run processes its own window and, when time allows, windows that
earlier runs planned but could not finish (a run over its timeout, tasks
killed, a store failure) or never planned (runs skipped while one was late). So
that no window is dropped silently, each run leaves a trace in
``[airflow] ledger_dir``, one directory per window (its start, UTC)::

    <ledger_dir>/20260115T030100/planned.json        the runs that planned it
    <ledger_dir>/20260115T030100/stations/SZ.BUJI.json   one station's result
    <ledger_dir>/20260115T030100/done.json           stored and alerted
    <ledger_dir>/20260115T030100/dropped.json        given up (older than backlog_s)

A station's result is written as soon as it is known ("store what it has"), so
a later run does not fetch that station again; a window is only associated,
stored and alerted when every station has a result, and is marked done after
its store and alerts, so a window is never stored or alerted twice by the
ledger's doing (the store and the outbox are idempotent anyway). Files are
written atomically and durably (:mod:`seismo.durable`); a file
that cannot be read back is moved aside (``*.bad``) with an error, and its window
or station is treated as not recorded (planned again, fetched again).

:meth:`WindowLedger.plan` decides what a run does: its own window first, then
the oldest unfinished ones within ``backlog_s``, at most ``max_windows_per_run``
in all. Unfinished windows older than ``backlog_s`` are marked dropped and
reported at ERROR with the ``seismo detect`` range that would process them.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.config import Settings
from seismo.durable import json_object, load_json, write_json
from seismo.errors import InventoryError, SeismoError
from seismo.inventory import check_codes
from seismo.model import StationResult, station_result_from_dict
from seismo.shells.window_context import Window

log = logging.getLogger(__name__)

_STAMP = "%Y%m%dT%H%M%S"


class LedgerError(SeismoError):
    """The ledger directory cannot be used."""


def _write(path: Path, data: Any) -> None:
    """Write JSON atomically (:func:`seismo.durable.write_json`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)


def _planned(data: Any) -> dict[str, Any]:
    """A ``planned.json`` record: ``{"window": ..., "runs": [...]}``."""
    rec = json_object(data)
    if not isinstance(rec.get("runs", []), list):
        raise TypeError(f"'runs' is a {type(rec['runs']).__name__}, not a list")
    return rec


@dataclass
class Plan:
    """What one run does: windows in the order to process them, and what was given up."""

    windows: list[Window]
    dropped: list[str] = field(default_factory=list)  # "[start - end)" of given-up spans
    backlog: int = 0  # unfinished windows left for later runs


class WindowLedger:
    """See the module docstring. ``root`` is ``[airflow] ledger_dir``."""

    def __init__(self, root: str | Path, settings: Settings) -> None:
        self.root = Path(root)
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings) -> WindowLedger:
        return cls(settings.airflow.ledger_dir, settings)

    # ------------------------------------------------------------------ layout
    def _dir(self, w: Window) -> Path:
        return self.root / w.start.strftime(_STAMP)

    def _window(self, start: UTCDateTime) -> Window:
        p = self.settings.pipeline
        return Window(start, start + p.window_s, p.preroll_s, p.postroll_s)

    def _known(self) -> dict[int, str]:
        """Window start (ms since 1970) -> state ("done", "dropped", "pending") of every
        window on record."""
        out: dict[int, str] = {}
        if not self.root.is_dir():
            return out
        for d in self.root.iterdir():
            try:
                start = _ms(UTCDateTime.strptime(d.name, _STAMP))
            except ValueError:
                continue
            if (d / "done.json").exists():
                out[start] = "done"
            elif (d / "dropped.json").exists():
                out[start] = "dropped"
            else:
                out[start] = "pending"
        return out

    # ------------------------------------------------------------------ planning
    def plan(self, current: Window, run_id: str = "") -> Plan:
        """The windows of the run whose own window is ``current`` (module docstring);
        marks them planned."""
        cfg = self.settings.airflow
        step = round(self.settings.pipeline.window_s * 1000)
        now_ms = _ms(current.start)
        horizon = now_ms - round(cfg.backlog_s * 1000)
        self.prune(current.start - max(2 * cfg.backlog_s, 86400.0))
        known = self._known()
        todo: list[int] = []
        dropped: list[str] = []
        if known:
            # windows no run planned (runs skipped or the DAG stopped), oldest first
            missed = list(range(max(known) + step, now_ms, step))
            pending = [t for t, state in known.items() if state == "pending" and t < now_ms]
            late = sorted({*pending, *missed})
            old = [t for t in late if t < horizon]
            if old:
                dropped = self._drop(old, set(missed))
            todo = [t for t in late if t >= horizon]
        windows = [current] + [self._window(_utc(t)) for t in todo[: cfg.max_windows_per_run - 1]]
        for w in windows:
            self._mark_planned(w, run_id)
        # the rest of the backlog is put on record now (planned by no run yet), so later
        # runs find it as pending: a missed window above the newest on record is only
        # seen once; left unrecorded, it would never be processed
        for t in todo[cfg.max_windows_per_run - 1:]:
            self._mark_planned(self._window(_utc(t)), None)
        backlog = max(0, len(todo) - (cfg.max_windows_per_run - 1))
        if len(windows) > 1 or backlog:
            log.warning(
                "run %s: window %s and %d missed window(s) (%s); %d more left for later runs",
                run_id, current, len(windows) - 1, ", ".join(str(w) for w in windows[1:]), backlog,
            )
        return Plan(windows, dropped, backlog)

    def _drop(self, starts: list[int], never_planned: set[int]) -> list[str]:
        """Mark windows as given up and say so at ERROR, as contiguous spans."""
        step = round(self.settings.pipeline.window_s * 1000)
        spans: list[list[int]] = []
        for t in sorted(starts):
            if spans and t - spans[-1][1] <= step:
                spans[-1][1] = t
            else:
                spans.append([t, t])
        for t in starts:
            w = self._window(_utc(t))
            _write(self._dir(w) / "dropped.json", {
                "window": w.to_dict(), "at": str(UTCDateTime()),
                "why": "never planned" if t in never_planned else "not finished",
            })
        out = []
        for a, b in spans:
            t0, t1 = _utc(a), _utc(b + step)
            text = f"[{t0} - {t1})"
            out.append(text)
            log.error(
                "detection windows %s were NOT processed (older than [airflow] backlog_s = %.0f "
                "s); process them with: seismo detect --start %s --end %s",
                text, self.settings.airflow.backlog_s, t0, t1,
            )
        return out

    def _mark_planned(self, w: Window, run_id: str | None) -> None:
        """Record that run ``run_id`` plans ``w`` (None: ``w`` is on record, still pending)."""
        path = self._dir(w) / "planned.json"
        rec = load_json(path, _planned, what="ledger file") or {"window": w.to_dict(), "runs": []}
        if run_id is not None:
            rec["runs"] = [*rec.get("runs", []), {"run": run_id, "at": str(UTCDateTime())}]
        elif path.exists():
            return
        _write(path, rec)

    # ------------------------------------------------------------------ stations
    def save_station(self, w: Window, result: StationResult) -> None:
        """Keep one station's result for ``w`` (a later run reuses it). A station whose
        codes are not valid FDSN codes (:func:`seismo.inventory.check_codes`) would make
        the file name: it is logged at ERROR and not kept (a later run fetches it again)."""
        try:
            check_codes(network=result.network, station=result.station)
        except InventoryError as exc:
            log.error("window %s: station result not kept in the ledger %s: %s", w,
                      self.root, exc)
            return
        _write(self._dir(w) / "stations" / f"{result.station_id}.json", result.to_dict())

    def stations(self, w: Window) -> dict[str, StationResult]:
        """The station results kept for ``w``, by ``"NET.STA"``."""
        out: dict[str, StationResult] = {}
        d = self._dir(w) / "stations"
        if not d.is_dir():
            return out
        for f in sorted(d.glob("*.json")):
            r = load_json(f, station_result_from_dict, what="ledger station result",
                          advice="the station is fetched again")
            if r is not None:
                out[r.station_id] = r
        return out

    # ------------------------------------------------------------------ completion
    def complete(self, w: Window, report: dict[str, Any]) -> None:
        """``w`` is stored and alerted: mark it done, drop its station results."""
        _write(self._dir(w) / "done.json", {"window": w.to_dict(), "at": str(UTCDateTime()),
                                             "report": report})
        shutil.rmtree(self._dir(w) / "stations", ignore_errors=True)

    def is_done(self, w: Window) -> bool:
        return (self._dir(w) / "done.json").exists()

    def prune(self, before: UTCDateTime) -> int:
        """Forget windows that started before ``before`` (done or dropped); returns how many."""
        n = 0
        for start, state in self._known().items():
            if start < _ms(before) and state in ("done", "dropped"):
                shutil.rmtree(self.root / _utc(start).strftime(_STAMP), ignore_errors=True)
                n += 1
        return n


def _ms(t: UTCDateTime) -> int:
    """Milliseconds since 1970 (window starts as dictionary keys)."""
    return round(float(t.timestamp) * 1000)


def _utc(ms: int) -> UTCDateTime:
    return UTCDateTime(ms / 1000)
