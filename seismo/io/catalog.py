"""Reference catalogues and detection files for ``seismo evaluate``.

:func:`read_catalog` reads an event list from

* **QuakeML** (``.xml``, ``.quakeml``, ``.qml``; through ObsPy ``read_events``): the
  preferred (else first) origin and magnitude of each event, and its picks
  (``waveform_id`` and ``phase_hint``);
* **JSON**: ``{"events": [{time, latitude, longitude, depth_km, magnitude,
  magnitude_type}, ...]}``. ``origin_time`` is accepted for ``time`` and ``depth``
  (km) for ``depth_km``, so the files written by ``seismo detect --json`` read
  back, with their picks (``station``, ``network``, ``phase``, ``time``);
* **CSV** with a header row naming at least ``time``, ``latitude`` and
  ``longitude`` (aliases: ``origin_time``; ``lat``; ``lon``; ``depth``; ``mag``;
  ``magtype``).

Times are ISO 8601, UTC. A bad row or value raises :class:`~seismo.errors.DataError`
naming the file, the event (row) and the key.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.model import EventSummary

log = logging.getLogger(__name__)

_ALIASES = {
    "time": ("time", "origin_time", "origin", "datetime"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "long"),
    "depth_km": ("depth_km", "depth"),
    "magnitude": ("magnitude", "mag"),
    "magnitude_type": ("magnitude_type", "magtype", "mag_type"),
    "id": ("id", "event_id", "eventid"),
}


@dataclass(frozen=True)
class CatalogPick:
    """A pick an event was built from: ``NET.STA``, phase label and time (UTC)."""

    station_id: str
    phase: str
    time: UTCDateTime


@dataclass(frozen=True, kw_only=True)
class CatalogEvent(EventSummary):
    """One event of a catalogue: the :class:`~seismo.model.EventSummary` (degrees, km;
    ``depth_km``/``magnitude`` may be unknown, ``id`` may be empty) with the picks it
    was built from.

    ``depth_fixed`` is True when the producer says that the depth was not
    solved for (seismo's JSON ``depth_fixed``, QuakeML ``depth_type`` "operator
    assigned"). ``flags`` carries further remarks of the producer on the solution.
    """

    id: str = ""
    picks: tuple[CatalogPick, ...] = ()
    depth_fixed: bool = False
    flags: tuple[str, ...] = ()


def _get(rec: dict[str, Any], key: str) -> Any:
    for name in _ALIASES[key]:
        if name in rec and rec[name] not in (None, ""):
            return rec[name]
    return None


def _num(val: Any, key: str, where: str) -> float | None:
    if val is None:
        return None
    try:
        x = float(val)
    except (TypeError, ValueError):
        raise DataError(f"{where}: {key} is not a number: {val!r}") from None
    if not math.isfinite(x):
        raise DataError(f"{where}: {key} is not finite: {val!r}")
    return x


def _time(val: Any, key: str, where: str) -> UTCDateTime:
    if isinstance(val, dict) and "__utc__" in val:
        val = val["__utc__"]
    try:
        return UTCDateTime(str(val))
    except (TypeError, ValueError):  # what UTCDateTime raises for a string it cannot read
        raise DataError(f"{where}: {key} is not an ISO 8601 time: {val!r}") from None


def event_from_record(rec: dict[str, Any], where: str) -> CatalogEvent:
    """A :class:`CatalogEvent` from a flat record (JSON object or CSV row)."""
    t = _get(rec, "time")
    if t is None:
        raise DataError(f"{where}: no 'time' (or 'origin_time')")
    time = _time(t, "time", where)
    lat = _num(_get(rec, "latitude"), "latitude", where)
    lon = _num(_get(rec, "longitude"), "longitude", where)
    if lat is None or lon is None:
        raise DataError(f"{where}: 'latitude' and 'longitude' are required")
    if not (-90 <= lat <= 90 and -180 <= lon <= 360):
        raise DataError(f"{where}: latitude/longitude out of range: {lat}, {lon}")
    mtype = _get(rec, "magnitude_type")
    picks = []
    for j, p in enumerate(rec.get("picks") or ()):
        if not isinstance(p, dict) or "station" not in p or "time" not in p:
            raise DataError(f"{where}: picks[{j}] needs station and time")
        sid = f"{p.get('network', '')}.{p['station']}"
        picks.append(
            CatalogPick(sid, str(p.get("phase", "?")), _time(p["time"], f"picks[{j}].time", where))
        )
    flags = tuple(str(f) for f in rec.get("flags") or ())
    return CatalogEvent(
        time=time,
        latitude=lat,
        longitude=lon,
        depth_km=_num(_get(rec, "depth_km"), "depth_km", where),
        magnitude=_num(_get(rec, "magnitude"), "magnitude", where),
        magnitude_type=None if mtype is None else str(mtype),
        id=str(_get(rec, "id") or ""),
        picks=tuple(picks),
        depth_fixed=bool(rec.get("depth_fixed", False)),
        flags=flags,
    )


def _read_json(p: Path) -> list[CatalogEvent]:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read catalogue {p}: {exc}") from None
    if isinstance(data, list):
        records = data
    elif isinstance(data, dict) and isinstance(data.get("events"), list):
        records = data["events"]
    else:
        raise DataError(f"catalogue {p}: expected a top-level 'events' list")
    out = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise DataError(f"catalogue {p}: events[{i}] is not an object")
        out.append(event_from_record(rec, f"catalogue {p}, events[{i}]"))
    return out


def _read_csv(p: Path) -> list[CatalogEvent]:
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"cannot read catalogue {p}: {exc}") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    if not reader.fieldnames:
        raise DataError(f"catalogue {p}: no header row")
    fields = {f.strip().lower() for f in reader.fieldnames}
    for key in ("time", "latitude", "longitude"):
        if not fields & set(_ALIASES[key]):
            raise DataError(f"catalogue {p}: header has no '{key}' column ({sorted(fields)})")
    out = []
    for i, row in enumerate(reader, start=2):
        rec = {k.strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in row.items()
               if k is not None}
        out.append(event_from_record(rec, f"catalogue {p}, line {i}"))
    return out


def _read_quakeml(p: Path) -> list[CatalogEvent]:
    from seismo.io.output import read_quakeml

    cat = read_quakeml(p, what=f"catalogue {p}", format=None)
    out = []
    for i, ev in enumerate(cat):
        where = f"catalogue {p}, event {i}"
        org = ev.preferred_origin() or (ev.origins[0] if ev.origins else None)
        if org is None or org.latitude is None or org.longitude is None:
            raise DataError(f"{where}: no origin with latitude and longitude")
        mag = ev.preferred_magnitude() or (ev.magnitudes[0] if ev.magnitudes else None)
        picks = []
        for pk in ev.picks:
            w = pk.waveform_id
            if w is None or pk.time is None:
                continue
            picks.append(CatalogPick(f"{w.network_code or ''}.{w.station_code or ''}",
                                     str(pk.phase_hint or "?"), pk.time))
        fixed = str(getattr(org, "depth_type", "") or "") == "operator assigned"
        out.append(
            CatalogEvent(
                time=org.time,
                latitude=float(org.latitude),
                longitude=float(org.longitude),
                depth_km=None if org.depth is None else float(org.depth) / 1000.0,
                magnitude=None if mag is None or mag.mag is None else float(mag.mag),
                magnitude_type=None if mag is None else mag.magnitude_type,
                id=str(ev.resource_id).rsplit("/", 1)[-1],
                picks=tuple(picks),
                depth_fixed=fixed,
            )
        )
    return out


def read_catalog(path: str | Path, fmt: str = "auto") -> list[CatalogEvent]:
    """Events of a QuakeML, JSON or CSV file (module docstring), sorted by time.

    Args:
        fmt: "auto" (by extension, else by the first character), "quakeml", "json" or "csv".
    Raises:
        DataError: missing or malformed file, or a bad event (named).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"catalogue not found: {p}")
    kind = fmt.lower()
    if kind == "auto":
        ext = p.suffix.lower()
        if ext in (".xml", ".quakeml", ".qml"):
            kind = "quakeml"
        elif ext == ".json":
            kind = "json"
        elif ext in (".csv", ".txt"):
            kind = "csv"
        else:
            head = p.read_text(encoding="utf-8", errors="replace").lstrip()[:1]
            kind = {"<": "quakeml", "{": "json", "[": "json"}.get(head, "csv")
    readers = {"quakeml": _read_quakeml, "json": _read_json, "csv": _read_csv}
    if kind not in readers:
        raise DataError(f"unknown catalogue format {fmt!r} (auto, quakeml, json, csv)")
    events = readers[kind](p)
    log.info("catalogue %s: %d events (%s)", p, len(events), kind)
    return sorted(events, key=lambda e: float(e.time))
