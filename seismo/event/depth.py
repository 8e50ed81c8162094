"""When a free depth is a solution: the depth rules of the locator and the sanity check.

Depth needs a station within about one to two focal depths (Gomberg et al. 1990 [3P];
docs/location.md, step 5): :func:`depth_unresolved` says why a free depth is not a
solution (its uncertainty, the nearest station, a search bound), and
:func:`shallow_resolved` when a free depth on the shallow bound (the highest station,
the velocity model's datum) is a valid shallow solution after all: a station lies
within ``depth_distance_ratio`` times the depth below it. Used by
:func:`seismo.event.locate.locate` (fix the depth or not) and by
:mod:`seismo.event.sanity` (never publish a depth on a bound the data did not give).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from seismo.event.settings import LocateConfig

#: A free depth within this of a search bound counts as "at the bound" (km; the LM step
#: is clamped to the bound, the grid refinement ends at ~0.1 km).
BOUND_KM = 0.5


def shallowest_km(cfg: LocateConfig) -> float:
    """The shallowest depth (km below sea level) of ``cfg``: ``depth_min_km``, 0 when unset
    (:func:`seismo.event.locate.locate` sets it to the velocity model's datum)."""
    return 0.0 if cfg.depth_min_km is None else cfg.depth_min_km


def shallow_resolved(
    cfg: LocateConfig, depth_km: float, distances_km: Sequence[float] | NDArray,
    elevations_m: Sequence[float],
) -> bool:
    """Whether a station resolves a shallow ``depth_km`` (below sea level): one lies
    within ``depth_distance_ratio`` times the depth below it (at least ``BOUND_KM``)
    in epicentral distance (Gomberg et al. 1990 [3P]; module docstring, step 5)."""
    below = depth_km + np.asarray(elevations_m, float) / 1000.0
    reach = cfg.depth_distance_ratio * np.maximum(below, BOUND_KM)
    return bool(np.any(np.asarray(distances_km, float) <= reach))


def depth_unresolved(
    cfg: LocateConfig, depth_km: float, sigma_km: float, distances_km: NDArray,
    elevations_m: Sequence[float],
) -> str | None:
    """Why a free ``depth_km`` (km below sea level, 1-sigma ``sigma_km``) of an origin
    with stations at epicentral ``distances_km`` and ``elevations_m`` is not resolved
    (None: it is). The rules of the module docstring, step 5; ``cfg.depth_min_km`` must
    be set (:func:`locate` sets it)."""
    zmin = shallowest_km(cfg)
    nearest = float(np.min(distances_km))
    if sigma_km > cfg.max_depth_sigma_km:
        return f"depth sigma {sigma_km:.1f} km > {cfg.max_depth_sigma_km:g} km"
    if nearest > cfg.fix_depth_beyond_km:
        return f"nearest station {nearest:.0f} km > {cfg.fix_depth_beyond_km:g} km"
    below = max(depth_km, cfg.fixed_depth_km) - zmin
    if nearest > cfg.depth_distance_ratio * below:
        return (f"nearest station {nearest:.1f} km > {cfg.depth_distance_ratio:g} x "
                f"{below:.1f} km depth")
    if depth_km >= cfg.depth_max_km - BOUND_KM:
        return f"on the deep bound {cfg.depth_max_km:g} km"
    if depth_km <= zmin + BOUND_KM and not shallow_resolved(
        cfg, depth_km, distances_km, elevations_m
    ):
        return f"on the shallow bound {zmin:g} km with no station within " \
               f"{cfg.depth_distance_ratio:g} depths"
    return None
