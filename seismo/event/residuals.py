"""Station residuals over many events: where the velocity model and the network disagree.

Every located event keeps its arrivals' residuals (observed minus predicted travel
time, s; :class:`seismo.model.Arrival`, shown by ``seismo event show`` and written to
QuakeML). One event's residuals are small by construction: the origin time and the
hypocentre absorb what they can. Over many events two things remain and show a
velocity model that is not the network's (a "foreign" model):

* **station terms**: a station whose residuals share a sign event after event (its
  site, its elevation, a wrong position; the static station corrections of HYPOINVERSE
  or NonLinLoc are their means, Lomax et al. 2009 [3P]) (:func:`station_residuals`);
* **a velocity scale**: within each event, the residuals grow with the travel time
  when the model is uniformly too slow or too fast. With the event's mean removed
  (the origin time's share), the pooled least-squares slope of residual against
  travel time, ``b``, says that the observed times are about ``(1 + b)`` times the
  predicted ones: the model's velocities are about ``-b`` too low (``b`` < 0: the
  waves are faster than the model) (:func:`velocity_scale`). The location trades part
  of it into the depth, so ``b`` understates the misfit; its sign and order are what
  a reader needs.

One event's fit also uses them: :func:`worst_outlier` names the arrival a location
drops next (the robust trim of the associators), and :func:`settle` repeats gathering,
relocating and trimming until the pick set no longer changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.model import Arrival, Event
from seismo.text import table

if TYPE_CHECKING:
    from seismo.event.locate import Origin

#: Events a station term or a velocity scale needs before it is reported (design choice:
#: fewer are anecdotes).
MIN_EVENTS = 3


def worst_outlier(
    arrivals: Sequence[Arrival],
    origin_time: UTCDateTime,
    tolerance: Callable[[NDArray], NDArray],
    floor_s: float,
) -> str | None:
    """The pick id of the arrival furthest outside its allowed residual, None when every
    arrival is within it.

    An arrival's allowed |residual| (s) is the smaller of ``tolerance(travel time s)``
    and 4 robust sigmas of the event's residuals (1.4826 x median |residual|, the MAD
    scaled to a Gaussian sigma; never below ``floor_s``): a least-squares fit spreads an
    outlier's error over the good picks, so a fixed tolerance alone keeps it.
    """
    res = np.array([abs(a.residual_s) for a in arrivals])
    tt = np.array([float(a.time - origin_time) - a.residual_s for a in arrivals])
    robust = max(4.0 * 1.4826 * float(np.median(res)), floor_s)
    excess = res / np.minimum(tolerance(tt), robust)
    k = int(np.argmax(excess))
    return arrivals[k].pick_id if excess[k] > 1.0 else None


def settle(
    origin: Origin, step: Callable[[Origin], Origin | None], rounds: int = 3
) -> Origin | None:
    """``origin`` after at most ``rounds`` of ``step`` (gather the picks that fit it,
    relocate, trim the outliers), stopping once a round keeps the same pick set; None
    when a step rejects the event."""
    for _ in range(rounds):
        new = step(origin)
        if new is None:
            return None
        same = {p.id for p in new.picks} == {p.id for p in origin.picks}
        origin = new
        if same:
            break
    return origin


@dataclass(frozen=True)
class StationResidual:
    """Residuals (s) of one station and phase family ("P"/"S") over ``n`` events."""

    station: str  # "NET.STA"
    phase: str
    n: int
    median_s: float
    mean_s: float
    spread_s: float  # median absolute deviation x 1.4826


def station_residuals(
    events: Sequence[Event], min_events: int = MIN_EVENTS
) -> list[StationResidual]:
    """Per station and phase family, the residuals of ``events`` (those with at least
    ``min_events``), by station then phase."""
    got: dict[tuple[str, str], list[float]] = {}
    for ev in events:
        for a in ev.arrivals:
            got.setdefault((f"{a.network}.{a.station}", a.phase[:1]), []).append(a.residual_s)
    out = []
    for (sid, ph), r in sorted(got.items()):
        if len(r) < min_events:
            continue
        x = np.asarray(r, float)
        med = float(np.median(x))
        out.append(StationResidual(sid, ph, len(r), round(med, 3), round(float(x.mean()), 3),
                                   round(1.4826 * float(np.median(np.abs(x - med))), 3)))
    return out


def velocity_scale(events: Sequence[Event], min_events: int = MIN_EVENTS) -> float | None:
    """The pooled slope of residual against travel time with each event's mean removed
    (module docstring; None with fewer than ``min_events`` events of 3 arrivals)."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for ev in events:
        if len(ev.arrivals) < 3:
            continue
        t = np.array([float(a.time - ev.time) for a in ev.arrivals])
        r = np.array([a.residual_s for a in ev.arrivals])
        xs.append(t - t.mean())
        ys.append(r - r.mean())
    if len(xs) < min_events:
        return None
    x, y = np.concatenate(xs), np.concatenate(ys)
    den = float(np.sum(x * x))
    return None if den <= 0 else round(float(np.sum(x * y)) / den, 4)


def residual_lines(events: Sequence[Event]) -> list[str]:
    """The velocity scale and the station terms as text lines (empty: too few events)."""
    b = velocity_scale(events)
    rows = station_residuals(events)
    out = []
    if b is not None:
        side = "faster" if b < 0 else "slower"
        out.append(f"velocity model check: observed travel times are {1 + b:.3f} x the "
                   f"predicted ones over {len(events)} events (the waves are {abs(b):.1%} "
                   f"{side} than the model; 0 % is a model that fits)")
    if rows:
        out.append(table(["station", "phase", "n", "median res (s)", "mean (s)", "spread (s)"],
                         [(r.station, r.phase, r.n, f"{r.median_s:+.3f}", f"{r.mean_s:+.3f}",
                           f"{r.spread_s:.3f}") for r in rows]))
    return out
