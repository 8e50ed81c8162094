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
alerted, seen; :class:`~seismo.model.EventSummary`): origin time within
``pipeline.event_match_time_s`` and epicentre within
``pipeline.event_match_distance_km`` (docs/reliability.md). A match keeps the
known id; :func:`same_solution` tells a repeat (same version) from a changed
solution (next version). :func:`identify` does both for a batch of solutions; it
is the one identity rule of every shell: the window path (the DAG, ``seismo
detect``, drills) and ``seismo stream`` reach it through the event registry of the
publishing edge (:mod:`seismo.shells.registry`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Collection, Iterable, Sequence

from obspy import UTCDateTime

from seismo import geo
from seismo.errors import DataError
from seismo.model import Event, EventSummary, Pick

log = logging.getLogger(__name__)

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
def match_event(
    event: Event, known: Sequence[EventSummary], time_s: float, distance_km: float
) -> EventSummary | None:
    """The known event that ``event`` is a solution of, or None.

    A known event matches when its origin time is within ``time_s`` and its
    epicentre within ``distance_km``; of several, the closest in normalised
    time + distance wins.
    """
    best: tuple[float, EventSummary] | None = None
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


def same_solution(event: Event, known: EventSummary) -> bool:
    """Whether ``event`` repeats ``known``'s solution (reprocessing the same data)."""
    def close(a: float | None, b: float | None, tol: float) -> bool:
        return (a is None) == (b is None) and (a is None or b is None or abs(a - b) <= tol)

    return (abs(float(event.time - known.time)) <= 1e-3
            and close(event.latitude, known.latitude, 1e-6)
            and close(event.longitude, known.longitude, 1e-6)
            and close(event.depth_km, known.depth_km, 1e-4)
            and close(event.magnitude, known.magnitude, 1e-4))


def merge_known(found: Sequence[EventSummary]) -> list[EventSummary]:
    """One entry per id: the highest version (the outbox's version-less entries last)."""
    best: dict[str, EventSummary] = {}
    for k in found:
        cur = best.get(k.id)
        if cur is None or k.version > cur.version:
            best[k.id] = k
    return list(best.values())


def identify(
    events: Sequence[Event],
    known: Sequence[EventSummary],
    time_s: float,
    distance_km: float,
    *,
    taken: Collection[str] = (),
) -> list[Event]:
    """Each new solution with the id and version of the known event it is, by origin time.

    A solution matching a known event (:func:`match_event`; the ids in ``taken`` and
    those matched earlier in the batch are not matched again) takes that event's id; a
    changed solution becomes its next version (the alerts then send an Update, never a
    second Alert), an unchanged one keeps the version (reprocessing is idempotent). A
    solution that matches nothing is returned as it is.
    """
    out: list[Event] = []
    used = set(taken)
    for e in sorted(events, key=lambda ev: ev.time):
        m = match_event(e, [k for k in known if k.id not in used], time_s, distance_km)
        if m is None:
            out.append(e)
            continue
        used.add(m.id)
        version = max(m.version if same_solution(e, m) else m.version + 1, e.version, 1)
        if m.id != e.id:
            log.info("event %s is known event %s (origin %+.2f s, %.1f km apart): version %d",
                     e.id, m.id, float(e.time - m.time),
                     float(geo.distance_km(e.latitude, e.longitude, m.latitude, m.longitude)),
                     version)
        out.append(dataclasses.replace(e, id=m.id, version=version)
                   if (m.id, version) != (e.id, e.version) else e)
    return out
