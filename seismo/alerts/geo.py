"""Geography for alert rules: distances, the monitored region, land or sea, felt radius.

Land or sea comes from the ``global-land-mask`` package (GLOBE 1 km land mask,
shipped as data in the wheel; no download at run time). It is imported on first
use so that importing :mod:`seismo.alerts` has no side effect.
"""

from __future__ import annotations

import math

from seismo.errors import AlertError

#: Mean Earth radius, km (IUGG mean radius R1 = 6371.0088 km).
EARTH_RADIUS_KM = 6371.0088


def _check_latlon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise AlertError(f"latitude {lat!r} is not a valid latitude in degrees")
    if not (math.isfinite(lon) and -180.0 <= lon <= 360.0):
        raise AlertError(f"longitude {lon!r} is not a valid longitude in degrees")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees (haversine formula)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def destination(
    lat: float, lon: float, azimuth_deg: float, distance_km: float
) -> tuple[float, float]:
    """Point reached from (lat, lon) along ``azimuth_deg`` after ``distance_km`` (sphere)."""
    d = distance_km / EARTH_RADIUS_KM
    az = math.radians(azimuth_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(az))
    l2 = l1 + math.atan2(
        math.sin(az) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    lon2 = (math.degrees(l2) + 540.0) % 360.0 - 180.0
    return math.degrees(p2), lon2


def in_region(lat: float, lon: float, region: tuple[float, float, float, float]) -> bool:
    """Whether (lat, lon) lies in ``region`` = (lat_min, lat_max, lon_min, lon_max), degrees."""
    la0, la1, lo0, lo1 = region
    return la0 <= lat <= la1 and lo0 <= lon <= lo1


def is_ocean(lat: float, lon: float) -> bool:
    """Whether the point is sea according to the GLOBE 1 km land mask (global-land-mask)."""
    _check_latlon(lat, lon)
    from global_land_mask import globe  # lazy: loads a 1 km grid on first import

    lon_w = (lon + 540.0) % 360.0 - 180.0
    lat_c = min(max(lat, -89.999), 89.999)
    return bool(globe.is_ocean(lat_c, lon_w))


def is_offshore(lat: float, lon: float, uncertainty_km: float = 0.0) -> bool:
    """Whether an epicentre may be at sea.

    True if the epicentre itself is sea, or (``uncertainty_km`` > 0) if any of
    eight points on the circle of that radius around it is sea. The circle makes
    the test err toward "offshore" for an epicentre poorly located near a coast
    (a tsunami alert must not be lost to a location error).
    """
    if is_ocean(lat, lon):
        return True
    if not (uncertainty_km > 0.0 and math.isfinite(uncertainty_km)):
        return False
    for az in range(0, 360, 45):
        la, lo = destination(lat, lon, float(az), uncertainty_km)
        if is_ocean(la, lo):
            return True
    return False


# Atkinson & Wald (2007) intensity prediction, California coefficients [3P, DESIGN.md §4]:
# MMI = c1 + c2(M-6) + c3(M-6)^2 + c4 log R + c5 R + c6 B + c7 M log R,
# R = sqrt(Rrup^2 + h^2), B = max(0, log(R/Rt)).
_AW07 = (12.27, 2.270, 0.1304, -1.30, -0.000707, 1.95, -0.577)
_AW07_H_KM = 14.0
_AW07_RT_KM = 30.0


def aw07_mmi(magnitude: float, rrup_km: float) -> float:
    """Atkinson & Wald (2007) predicted MMI at rupture distance ``rrup_km`` (km) [3P]."""
    c1, c2, c3, c4, c5, c6, c7 = _AW07
    r = math.hypot(rrup_km, _AW07_H_KM)
    b = max(0.0, math.log10(r / _AW07_RT_KM))
    dm = magnitude - 6.0
    lr = math.log10(r)
    return c1 + c2 * dm + c3 * dm * dm + c4 * lr + c5 * r + c6 * b + c7 * magnitude * lr


def felt_radius_km(
    magnitude: float | None,
    depth_km: float,
    *,
    mmi: float = 3.0,
    default_km: float = 100.0,
    min_km: float = 10.0,
    max_km: float = 1000.0,
) -> float:
    """Epicentral radius (km) inside which the predicted MMI reaches ``mmi``.

    Uses :func:`aw07_mmi` with the hypocentral distance as rupture distance (a
    point source; it underestimates the felt area of long ruptures). Returns
    ``default_km`` when the magnitude is unknown; the result is clipped to
    ``[min_km, max_km]`` and rounded to 1 km.
    """
    if magnitude is None or not math.isfinite(magnitude):
        return default_km
    depth = max(0.0, depth_km) if math.isfinite(depth_km) else 10.0
    lo, hi = 0.0, max_km
    if aw07_mmi(magnitude, math.hypot(lo, depth)) < mmi:
        return min_km
    if aw07_mmi(magnitude, math.hypot(hi, depth)) >= mmi:
        return max_km
    for _ in range(40):  # bisection; MMI decreases monotonically with distance here
        mid = 0.5 * (lo + hi)
        if aw07_mmi(magnitude, math.hypot(mid, depth)) >= mmi:
            lo = mid
        else:
            hi = mid
    return float(min(max(round(lo), min_km), max_km))
