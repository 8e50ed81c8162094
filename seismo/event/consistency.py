"""Is a located event physically consistent with its picks and amplitudes?

The associator accepts a candidate only when its travel-time residuals are
small; a small residual alone does not make an event real. A group of picks from
two neighbouring events, or of mislabelled phases, can be fitted by a hypocentre
far outside the network, where the geometry forgives almost any timing (the
"phantom" of docs/consistency.md). Every event therefore passes these checks
(each documented with its reason in ``docs/consistency.md``):

1. **P present** - at least ``min_p_phases`` P picks: an event is nucleated by P;
   groups of S-labelled picks alone are what the scattered S coda of an earlier
   event produces.
2. **P before S** - at every station with both, S follows P, and the S-P time
   agrees with the one predicted at the epicentral distance within the two
   association tolerances and the model error of the S-P time
   (:func:`s_minus_p_tolerance_s`).
3. **Moveout** - the P arrival times grow with distance: over the stations with a P
   pick, the rank correlation of P travel time and epicentral distance is not
   negative when the distances differ by more than the P tolerance allows.
4. **Far events need far-event evidence** - an epicentre more than ``far_km``
   outside the network (the convex hull of its stations) must have P picks at
   ``far_min_p_stations`` stations, and the direction of the plane wave fitted to
   those P picks must point to the epicentre (within ``far_max_azimuth_deg``): across a
   small network, the only thing that tells a distant source from a local one is
   the moveout of its first arrivals.
5. **Amplitudes decay with distance** (:func:`check_amplitudes`, after the
   magnitude) - when the hypocentral distances of the stations span a factor of
   at least 1.5, the Wood-Anderson amplitudes must not grow with distance (rank
   correlation below +0.5); otherwise the location (and with it the magnitude) is
   contradicted by the data. This one flags the event with its reason
   (``Event.flags``, shown by review and the console) rather than dropping it: with
   3-6 stations and 0.2-0.3 log units of site scatter it fails for a few per cent of
   real events.

Far events need more (:func:`seismo.event.trains.far_evidence`, called with these
checks by the associator): the P apparent velocity must match the phase the model
predicts at the located distance.

Each check returns a reason string when it fails; :func:`check_origin` returns
them all (empty: consistent).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from seismo.event.settings import AssociateConfig
from seismo.event.velocity import VelocityModel
from seismo.geo import azimuth_deg, hull_distance_km
from seismo.inventory import StationInfo
from seismo.model import StationMagnitude

#: Check 5 runs when the farthest station is at least this many times farther than the
#: nearest, and fails above this rank correlation of amplitude with distance (design
#: choices, docs/consistency.md).
AMPLITUDE_MIN_DISTANCE_RATIO = 1.5
AMPLITUDE_MAX_RANK_CORRELATION = 0.5


def _rank_corr(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (ties by average rank); 0 for fewer than 3 values."""
    if len(a) < 3:
        return 0.0

    def ranks(x: Sequence[float]) -> np.ndarray:
        arr = np.asarray(x, dtype=float)
        order = np.argsort(arr, kind="stable")
        r = np.empty(len(arr))
        r[order] = np.arange(len(arr), dtype=float)
        for v in np.unique(arr):
            m = arr == v
            if m.sum() > 1:
                r[m] = r[m].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    sa, sb = ra.std(), rb.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(np.mean((ra - ra.mean()) * (rb - rb.mean())) / (sa * sb))


def s_minus_p_tolerance_s(rules: AssociateConfig, predicted_s: float) -> float:
    """How far an S-P time may differ from the predicted ``predicted_s`` (s): the two
    association tolerances at zero travel time (``s_minus_p_tolerance_s``) plus the model
    error of the S-P time itself (``residual_fraction`` of it: a 1-D model good to a few
    per cent in velocity is 2-3 s off in S-P at 500 km, docs/consistency.md, check 2)."""
    return rules.s_minus_p_tolerance_s + rules.residual_fraction * max(predicted_s, 0.0)


def check_origin(
    origin: object,
    stations: Mapping[str, StationInfo],
    model: VelocityModel,
    rules: AssociateConfig,
) -> list[str]:
    """Reasons why ``origin`` (a :class:`seismo.event.locate.Origin`) is inconsistent.

    The thresholds are those of ``[associate]`` (``min_p_phases``, ``far_*`` and the
    tolerances derived from ``residual_floor_s``).
    """
    arrivals = origin.arrivals  # type: ignore[attr-defined]
    lat, lon, depth = (origin.latitude, origin.longitude,  # type: ignore[attr-defined]
                       origin.depth_km)  # type: ignore[attr-defined]
    t0 = origin.time  # type: ignore[attr-defined]
    out: list[str] = []
    p_arr = [a for a in arrivals if a.phase.startswith("P")]
    s_arr = [a for a in arrivals if a.phase.startswith("S")]
    if len(p_arr) < rules.min_p_phases:
        out.append(f"{len(p_arr)} P pick(s), {rules.min_p_phases} needed")
    # P before S, and S-P as predicted
    p_by = {f"{a.network}.{a.station}": a for a in p_arr}
    for s in s_arr:
        p = p_by.get(f"{s.network}.{s.station}")
        if p is None:
            continue
        sp = float(s.time - p.time)
        pred = float(model.travel_time(s.phase, s.distance_km, depth)) - float(
            model.travel_time(p.phase, p.distance_km, depth)
        )  # each arrival's own phase: Sg-Pn at regional distances
        if sp <= 0:
            out.append(f"S before P at {s.station}")
        elif abs(sp - pred) > s_minus_p_tolerance_s(rules, pred):
            out.append(f"S-P {sp:.1f} s at {s.station}, {pred:.1f} s predicted")
    # moveout of P with distance
    if len(p_arr) >= 3:
        d = [a.distance_km for a in p_arr]
        tt = [float(a.time - t0) for a in p_arr]
        spread = float(model.travel_time("P", max(d), depth)) - float(
            model.travel_time("P", min(d), depth)
        )
        if spread > 2 * rules.moveout_tolerance_s and _rank_corr(d, tt) < 0:
            out.append("P arrival times do not grow with distance")
    # far events
    pts = [(s.latitude, s.longitude) for s in stations.values()]
    outside = hull_distance_km(lat, lon, [p[0] for p in pts], [p[1] for p in pts])
    if outside > rules.far_km:
        n_p = len({(a.network, a.station) for a in p_arr})
        if n_p < rules.far_min_p_stations:
            out.append(
                f"{outside:.0f} km outside the network with P at {n_p} station(s) "
                f"({rules.far_min_p_stations} needed)"
            )
        else:
            baz = origin.backazimuth_deg  # type: ignore[attr-defined]
            la0 = float(np.mean([p[0] for p in pts]))
            lo0 = float(np.mean([p[1] for p in pts]))
            az = float(azimuth_deg(la0, lo0, lat, lon))
            if baz is None:
                out.append(f"{outside:.0f} km outside the network: no P plane-wave direction")
            else:
                diff = abs((baz - az + 180.0) % 360.0 - 180.0)
                if diff > rules.far_max_azimuth_deg:
                    out.append(
                        f"{outside:.0f} km outside the network at azimuth {az:.0f} deg, "
                        f"but its P waves come from {baz:.0f} deg"
                    )
    return out


def check_amplitudes(station_magnitudes: Sequence[StationMagnitude]) -> str | None:
    """A reason when the used amplitudes grow with hypocentral distance (check 5)."""
    used = [m for m in station_magnitudes if m.used]
    by_sta: dict[tuple[str, str], list[StationMagnitude]] = {}
    for m in used:
        by_sta.setdefault((m.network, m.station), []).append(m)
    if len(by_sta) < 3:
        return None
    dist = [float(np.mean([m.hypo_distance_km for m in v])) for v in by_sta.values()]
    amp = [float(np.mean([math.log10(m.amplitude_nm) for m in v])) for v in by_sta.values()]
    if max(dist) < AMPLITUDE_MIN_DISTANCE_RATIO * min(dist):
        return None
    rho = _rank_corr(dist, amp)
    if rho > AMPLITUDE_MAX_RANK_CORRELATION:
        return f"amplitudes grow with distance (rank correlation {rho:+.2f})"
    return None
