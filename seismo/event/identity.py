"""Event identity: the id of an event, and what an id says about the event.

An event id is ``<prefix><YYYYmmddTHHMMSS><cc>``, e.g. ``sz20260115T03020155``:
the configured prefix (``pipeline.event_id_prefix``) and the time of the
event's earliest associated pick, UTC, to 10 ms (``cc`` = hundredths of a
second). It depends only on pick times, so overlapping reads and reprocessing a
window give one event with one id (see :mod:`seismo.shells.window`).

Encoding (:func:`event_id`) and decoding (:func:`event_id_time`,
:func:`origin_time_bounds`) live here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.model import Pick

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
