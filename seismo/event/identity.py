"""Event identity: the id of an event, and what an id says about the event.

An event id is ``<prefix><YYYYmmddTHHMMSS><cc>``, e.g. ``sz20260115T03020155``:
the configured prefix (``pipeline.event_id_prefix``) and the time of the
event's earliest associated pick, UTC, to 10 ms (``cc`` = hundredths of a
second). It depends only on pick times, so overlapping reads and reprocessing a
window give one event with one id (see :mod:`seismo.shells.window`).

Encoding (:func:`event_id`) and decoding (:func:`event_id_time`,
:func:`origin_time_bounds`) live here and nowhere else.

An id from the earliest pick changes when that pick changes (the nearest
station was down, then recovered). So before a new solution gets a new id it is
*matched* (:func:`match_event`) against the events already known (stored,
alerted, seen; :class:`KnownEvent`): origin time within
``pipeline.event_match_time_s`` and epicentre within
``pipeline.event_match_distance_km`` (docs/reliability.md). A match keeps the
known id; :func:`same_solution` tells a repeat (same version) from a changed
solution (next version). The DAG, ``seismo detect`` and drills use this through
:meth:`seismo.shells.publish.Runner.identify`; a streaming shell uses the same
functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from obspy import UTCDateTime

from seismo import geo
from seismo.errors import DataError
from seismo.model import Event, Pick

#: The time part of an event id: first pick time to 10 ms.
_ID_TIME = re.compile(r"(\d{8}T\d{6})(\d{2})$")

#: Window around the first-pick time encoded in an id in which the event's origin lies,
#: seconds. The origin precedes the first pick by the P travel time to the nearest
#: station: < 3 min out to ~1500 km at P ~8 km/s; 30 min is a generous bound (design
#: choice). A relocation (manual picks) may move the origin a little after it.
ORIGIN_BEFORE_ID_S = 1800.0
ORIGIN_AFTER_ID_S = 120.0


def first_pick_time(picks: Iterable[Pick]) -> UTCDateTime:
    """The earliest pick time, the time an event id encodes.

    Raises:
        DataError: no pick.
    """
    times = [p.time for p in picks]
    if not times:
        raise DataError("an event id needs at least one pick")
    return min(times)


def event_id(prefix: str, first_pick: UTCDateTime) -> str:
    """A stable event id from the earliest associated pick time (10 ms resolution)."""
    t = UTCDateTime(round(float(first_pick.timestamp), 2))
    return f"{prefix}{t.strftime('%Y%m%dT%H%M%S')}{t.microsecond // 10000:02d}"


def event_id_time(event_id: str) -> UTCDateTime | None:
    """The first-pick time encoded in an event id, or None if the id has another form."""
    m = _ID_TIME.search(event_id)
    if not m:
        return None
    try:
        return UTCDateTime(m.group(1)) + int(m.group(2)) / 100.0
    except ValueError:  # digits in the right places, but not a calendar time
        return None


def origin_time_bounds(event_id: str) -> tuple[UTCDateTime, UTCDateTime] | None:
    """Earliest and latest origin time an event with this id can have (None: not known)."""
    t = event_id_time(event_id)
    if t is None:
        return None
    return t - ORIGIN_BEFORE_ID_S, t + ORIGIN_AFTER_ID_S


# --------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class KnownEvent:
    """What identifies an already known event: id, origin and version (0: not known)."""

    id: str
    time: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float | None = None
    magnitude: float | None = None
    version: int = 0

    @classmethod
    def of(cls, e: Event) -> KnownEvent:
        return cls(e.id, e.time, e.latitude, e.longitude, e.depth_km, e.magnitude, e.version)


def match_event(
    event: Event, known: Sequence[KnownEvent], time_s: float, distance_km: float
) -> KnownEvent | None:
    """The known event that ``event`` is a solution of, or None.

    A known event matches when its origin time is within ``time_s`` and its
    epicentre within ``distance_km``; of several, the closest in normalised
    time + distance wins.
    """
    best: tuple[float, KnownEvent] | None = None
    for k in known:
        dt = abs(float(event.time - k.time))
        if dt > time_s:
            continue
        d = float(geo.distance_km(event.latitude, event.longitude, k.latitude, k.longitude))
        if not d <= distance_km:
            continue
        score = dt / time_s + d / distance_km
        if best is None or score < best[0]:
            best = (score, k)
    return None if best is None else best[1]


def same_solution(event: Event, known: KnownEvent) -> bool:
    """Whether ``event`` repeats ``known``'s solution (reprocessing the same data)."""
    def close(a: float | None, b: float | None, tol: float) -> bool:
        return (a is None) == (b is None) and (a is None or b is None or abs(a - b) <= tol)

    return (abs(float(event.time - known.time)) <= 1e-3
            and close(event.latitude, known.latitude, 1e-6)
            and close(event.longitude, known.longitude, 1e-6)
            and close(event.depth_km, known.depth_km, 1e-4)
            and close(event.magnitude, known.magnitude, 1e-4))


def merge_known(found: Sequence[KnownEvent]) -> list[KnownEvent]:
    """One entry per id: the highest version (the outbox's version-less entries last)."""
    best: dict[str, KnownEvent] = {}
    for k in found:
        cur = best.get(k.id)
        if cur is None or k.version > cur.version:
            best[k.id] = k
    return list(best.values())
