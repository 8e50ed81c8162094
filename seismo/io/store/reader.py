"""Query rows (from :func:`seismo.io.store.writer.query`) -> model objects."""

from __future__ import annotations

import base64
import json
import logging
import zlib
from collections.abc import Iterable
from typing import Any

from seismo.errors import StoreError
from seismo.io.store.points import STATUS_CODE, STREAM_SOLUTION, utc_from_us
from seismo.model import Event, Pick, StationHealth

log = logging.getLogger(__name__)


def event_from_row(row: dict[str, Any]) -> Event:
    """Rebuild an Event from its ``json`` (or ``json_z``) field; numeric fields as fallback."""
    text = row.get("json")
    if text is None and row.get("json_z"):
        text = zlib.decompress(base64.b64decode(row["json_z"])).decode("utf-8")
    if text is not None:
        try:
            return Event.from_dict(json.loads(text))
        except (ValueError, TypeError) as exc:
            raise StoreError(
                f"event {row.get('event_id')!r}: stored JSON unreadable: {exc}"
            ) from None
    try:  # no JSON (e.g. a server that drops string fields): numeric summary only
        return Event(
            id=str(row["event_id"]), time=utc_from_us(row["time"]),
            latitude=float(row["latitude"]), longitude=float(row["longitude"]),
            depth_km=float(row["depth_km"]), rms_s=float(row.get("rms_s", float("nan"))),
            azimuthal_gap_deg=float(row.get("azimuthal_gap_deg", float("nan"))),
            n_phases=int(row.get("n_phases", 0)), n_stations=int(row.get("n_stations", 0)),
            horizontal_uncertainty_km=float(row.get("horizontal_uncertainty_km", float("nan"))),
            vertical_uncertainty_km=float(row.get("vertical_uncertainty_km", float("nan"))),
            outside_network=bool(row.get("outside_network", False)),
            depth_fixed=bool(row.get("depth_fixed", False)),
            magnitude=row.get("magnitude"), max_intensity=row.get("max_intensity"),
            max_mmi=row.get("max_mmi"), status=row.get("status") or "automatic",
            version=int(row.get("version", 1)),
            magnitude_type=row.get("magnitude_type") or "ML",
            solution="stream" if row.get("solution") == STREAM_SOLUTION else "window",
        )
    except KeyError as exc:
        raise StoreError(f"events row at {row.get('time')} lacks field {exc}") from None


def latest_versions(events: Iterable[Event]) -> list[Event]:
    """One Event per id: the highest version (ties: the latest creation time). Sorted by time."""
    best: dict[str, Event] = {}
    for e in events:
        cur = best.get(e.id)
        if cur is None or (e.version, e.creation_time or e.time) > (
            cur.version, cur.creation_time or cur.time
        ):
            best[e.id] = e
    return sorted(best.values(), key=lambda e: (e.time, e.id))


def pick_from_row(row: dict[str, Any]) -> Pick:
    """Rebuild a Pick from a ``picks`` row."""
    on, off, early = row.get("trigger_on_us"), row.get("trigger_off_us"), row.get("early_onset_us")
    return Pick(
        id=str(row["pick_id"]), network=row.get("network", ""), station=row.get("station", ""),
        location=row.get("location", ""), channel=row.get("channel", ""),
        phase=row.get("phase", "P"), time=utc_from_us(row["time"]),
        uncertainty_s=float(row.get("uncertainty_s", float("nan"))),
        snr=float(row.get("snr", float("nan"))),
        amplitude=float(row.get("amplitude", float("nan"))),
        polarity=row.get("polarity"), kind=row.get("kind", "velocity"),
        trigger_on=utc_from_us(on) if on is not None else None,
        trigger_off=utc_from_us(off) if off is not None else None,
        early_onset=utc_from_us(early) if early is not None else None,
    )


_HEALTH_NON_METRIC = {"measurement", "time", "network", "station", "location", "channel",
                      "status", "status_code", "reasons"}


def health_from_row(row: dict[str, Any]) -> StationHealth:
    """Rebuild a StationHealth from a ``station_health`` row (metrics = numeric fields)."""
    status: Any = row.get("status")
    if status not in STATUS_CODE:
        by_code = {v: k for k, v in STATUS_CODE.items()}
        status = by_code.get(int(row.get("status_code", 2)), "FAIL")
    reasons = tuple(r for r in (row.get("reasons") or "").split("; ") if r)
    metrics = {k: float(v) for k, v in row.items()
               if k not in _HEALTH_NON_METRIC and isinstance(v, int | float)
               and not isinstance(v, bool)}
    return StationHealth(
        network=row.get("network", ""), station=row.get("station", ""),
        location=row.get("location", ""), channel=row.get("channel", ""),
        time=utc_from_us(row["time"]), status=status, reasons=reasons, metrics=metrics,
    )
