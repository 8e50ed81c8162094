"""Sanity of a solution before anything is published: checks every located event passes.

The associator and the locator return the best solution the picks allow; nothing in
a least-squares fit stops that best solution from being absurd. Whatever path made
an origin (a window, ``seismo stream``, a relocation), it is published only when:

1. **its origin lies inside the processed span**: not after the end of the data the
   picks came from (an origin precedes its picks), and not earlier than the span's
   start by more than the longest travel time the search allows (its first arrival
   would then precede the data) (:func:`origin_outside_span`);
2. **its rms is comparable to the model error**: at most :data:`MAX_RMS_RATIO` times
   the rms the pick errors and the travel-time model error predict for its arrivals,
   sigma_i² = max(pick uncertainty, ``pick_sigma_s`` (x ``s_sigma_factor`` for S))²
   + (``model_error_fraction`` x travel time)² (the error model of the locator,
   :mod:`seismo.event.uncertainty`) (:func:`rms_excess`);
3. **its depth is not on a search bound**: a free depth on the deep bound, or on the
   shallow bound without a station close enough to resolve it
   (:func:`seismo.event.depth.shallow_resolved`), or a fixed depth that is itself a
   bound, is a depth the data did not give (:func:`depth_on_bound`). A depth read from a
   depth phase (``depth_method`` "depth phase", :mod:`seismo.event.depthphase`) is the
   data's own: the locator holds it there, and it may lie below the local search range
   (an intermediate-depth slab event at 100-300 km under a crustal range of 0-40 km).

Each check is a function that returns the reason it fails (None: passes);
:func:`sanity_reasons` runs them all. The shells log a failing solution with its
reasons and never publish it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from obspy import UTCDateTime

from seismo.event.depth import BOUND_KM, shallow_resolved, shallowest_km
from seismo.event.settings import LocateConfig
from seismo.inventory import StationInfo
from seismo.model import Event

#: An rms more than this many times the expected one is not a solution ("orders of
#: magnitude above the model error", issue 22; a chi-square with n - 4 degrees of
#: freedom exceeds 10 x its expectation with a vanishing probability for any n >= 5).
MAX_RMS_RATIO = 10.0


def origin_outside_span(
    time: UTCDateTime, start: UTCDateTime, end: UTCDateTime, max_travel_s: float
) -> str | None:
    """Reason when an origin at ``time`` cannot belong to picks from ``[start, end)``
    whose travel times are at most ``max_travel_s`` (s)."""
    if time > end:
        return f"origin {time} after the processed span (ends {end})"
    if time < start - max_travel_s:
        return (f"origin {time} more than {max_travel_s:.0f} s (the longest travel time) "
                f"before the processed span (starts {start})")
    return None


def expected_rms_s(event: Event, cfg: LocateConfig) -> float:
    """The rms (s) the pick errors and the model error predict for ``event``'s arrivals."""
    unc = {p.id: p.uncertainty_s for p in event.picks}
    var = []
    for a in event.arrivals:
        floor = cfg.pick_sigma_s * (cfg.s_sigma_factor if a.phase.startswith("S") else 1.0)
        pick = max(float(unc.get(a.pick_id, 0.0)), floor)
        tt = max(float(a.time - event.time), 0.0)
        var.append(pick**2 + (cfg.model_error_fraction * tt) ** 2)
    return math.sqrt(sum(var) / len(var)) if var else cfg.pick_sigma_s


def rms_excess(event: Event, cfg: LocateConfig) -> str | None:
    """Reason when ``event``'s rms exceeds :data:`MAX_RMS_RATIO` x :func:`expected_rms_s`."""
    exp = expected_rms_s(event, cfg)
    if not math.isfinite(event.rms_s) or event.rms_s > MAX_RMS_RATIO * exp:
        return (f"rms {event.rms_s:.3g} s is more than {MAX_RMS_RATIO:g} x the {exp:.3f} s "
                "the pick and model errors allow")
    return None


def depth_on_bound(
    event: Event, cfg: LocateConfig, stations: Mapping[str, StationInfo]
) -> str | None:
    """Reason when ``event``'s depth (km below sea level) lies on a bound of the depth
    range ``cfg`` (``depth_min_km`` resolved, as :func:`seismo.event.locate.locate` does)
    that the data did not resolve."""
    if event.depth_method == "depth phase":  # the data's own depth (module doc, 3)
        return None
    zmin = shallowest_km(cfg)
    z = event.depth_km
    if z >= cfg.depth_max_km - BOUND_KM:
        return f"depth {z:.1f} km on the deep bound ({cfg.depth_max_km:g} km)"
    if z > zmin + BOUND_KM:
        return None
    if event.depth_fixed:
        return f"fixed depth {z:.2f} km on the shallow bound ({zmin:g} km)"
    dist = [a.distance_km for a in event.arrivals]
    elev = [stations[f"{a.network}.{a.station}"].elevation_m if f"{a.network}.{a.station}"
            in stations else 0.0 for a in event.arrivals]
    if dist and shallow_resolved(cfg, z, dist, elev):
        return None
    return (f"depth {z:.2f} km on the shallow bound ({zmin:g} km) with no station within "
            f"{cfg.depth_distance_ratio:g} depths")


def sanity_reasons(
    event: Event,
    cfg: LocateConfig,
    stations: Mapping[str, StationInfo],
    span: tuple[UTCDateTime, UTCDateTime],
    max_travel_s: float,
) -> list[str]:
    """Every reason why ``event`` must not be published (empty: sane)."""
    out = [
        origin_outside_span(event.time, span[0], span[1], max_travel_s),
        rms_excess(event, cfg),
        depth_on_bound(event, cfg, stations),
    ]
    return [r for r in out if r]
