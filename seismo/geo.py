"""Geodesy: distance, azimuth, the direct problem, local plane coordinates and rings of
nodes around a point (the trial epicentres of location and association).

The one home of every Earth-geometry formula in seismo. Distances use a
spherical approximation with the WGS84 mean radius (6371.0088 km, Moritz 2000,
IUGG) for vectorised speed; for local networks (< 1000 km) the error against
the ellipsoidal geodesic (ObsPy ``gps2dist_azimuth``, Karney 2013) is below
0.5 %, and it is tested against it. Every function broadcasts over numpy arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088  # WGS84 mean radius R1 (Moritz 2000)
#: km per degree of great circle on that sphere (~111.195 km)
KM_PER_DEG = np.pi * EARTH_RADIUS_KM / 180.0


def distance_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray:
    """Great-circle (haversine) distance in km. Broadcasts over arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def azimuth_deg(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray:
    """Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    x = np.sin(dl) * np.cos(p2)
    y = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(x, y)) % 360.0


def hypocentral_km(epi_km: ArrayLike, depth_km: ArrayLike) -> NDArray:
    """Straight-line hypocentral distance in km (station elevation neglected)."""
    return np.hypot(np.asarray(epi_km, dtype=float), np.asarray(depth_km, dtype=float))


def destinations(
    lat: ArrayLike, lon: ArrayLike, azimuth: ArrayLike, dist_km: ArrayLike
) -> tuple[NDArray, NDArray]:
    """Points reached from (lat, lon) along ``azimuth`` (deg) after ``dist_km`` km.

    The spherical direct problem; broadcasts over arrays. Longitudes in [-180, 180).
    """
    d = np.asarray(dist_km, dtype=float) / EARTH_RADIUS_KM
    p1, l1, a = np.radians(lat), np.radians(lon), np.radians(azimuth)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(a))
    l2 = l1 + np.arctan2(np.sin(a) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


def destination(lat: float, lon: float, azimuth: float, dist_km: float) -> tuple[float, float]:
    """One point of :func:`destinations`, as floats."""
    la, lo = destinations(lat, lon, azimuth, dist_km)
    return float(la), float(lo)


def local_xy(lat0: float, lon0: float, lat: ArrayLike, lon: ArrayLike) -> tuple[NDArray, NDArray]:
    """Equirectangular (east, north) km of points around (lat0, lon0); for < ~200 km."""
    x = (np.asarray(lon) - lon0) * KM_PER_DEG * np.cos(np.radians(lat0))
    y = (np.asarray(lat) - lat0) * KM_PER_DEG
    return x, y


def from_local_xy(
    lat0: float, lon0: float, x_km: ArrayLike, y_km: ArrayLike
) -> tuple[NDArray, NDArray]:
    """Inverse of :func:`local_xy`: (lat, lon) of (east, north) km offsets."""
    lat = lat0 + np.asarray(y_km) / KM_PER_DEG
    lon = lon0 + np.asarray(x_km) / (KM_PER_DEG * np.cos(np.radians(lat0)))
    return lat, lon


def azimuthal_gap_deg(azimuths: ArrayLike) -> float:
    """Largest gap (degrees) between consecutive station azimuths seen from the epicentre."""
    az = np.sort(np.asarray(azimuths, dtype=float) % 360.0)
    if az.size == 0:
        return 360.0
    if az.size == 1:
        return 360.0
    gaps = np.diff(np.concatenate([az, az[:1] + 360.0]))
    return float(gaps.max())


# --------------------------------------------------------------------------- planar hull
def convex_hull(x: ArrayLike, y: ArrayLike) -> NDArray:
    """Vertices (n, 2) of the convex hull of points (x, y), counter-clockwise
    (Andrew's monotone chain); fewer than 3 distinct points are returned as they are."""
    pts = sorted(set(zip(np.asarray(x, float).tolist(), np.asarray(y, float).tolist(),
                         strict=True)))
    if len(pts) < 3:
        return np.array(pts)

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def inside_hull(x: float, y: float, sx: ArrayLike, sy: ArrayLike) -> bool:
    """True when (x, y) lies inside (or on) the convex hull of points (sx, sy)."""
    hull = convex_hull(sx, sy)
    if len(hull) < 3:
        return False
    a = hull
    b = np.roll(hull, -1, axis=0)
    cross = (b[:, 0] - a[:, 0]) * (y - a[:, 1]) - (b[:, 1] - a[:, 1]) * (x - a[:, 0])
    return bool(np.all(cross >= -1e-9))


def hull_distance_km(lat: float, lon: float, lats: ArrayLike, lons: ArrayLike) -> float:
    """Distance (km) of (lat, lon) outside the convex hull of the points (lats, lons); 0 inside.

    In the :func:`local_xy` plane around the points' centre (good to ~1 % within a few
    hundred km; farther, only "far outside" matters). With fewer than 3 points: the
    distance to the nearest one.
    """
    la = np.asarray(lats, float)
    lo = np.asarray(lons, float)
    if la.size == 0:
        return 0.0
    lat0, lon0 = float(la.mean()), float(lo.mean())
    sx, sy = local_xy(lat0, lon0, la, lo)
    ex, ey = local_xy(lat0, lon0, lat, lon)
    x, y = float(ex), float(ey)
    hull = convex_hull(sx, sy)
    if len(hull) < 3:
        return float(np.min(np.hypot(sx - x, sy - y)))
    if inside_hull(x, y, sx, sy):
        return 0.0
    a = hull
    d = np.roll(hull, -1, axis=0) - a
    ll = np.maximum(np.sum(d * d, axis=1), 1e-30)
    t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / ll, 0.0, 1.0)
    return float(np.min(np.hypot(x - a[:, 0] - t * d[:, 0], y - a[:, 1] - t * d[:, 1])))


def polar_nodes(
    lat0: float, lon0: float, r_inner_km: float, r_max_km: float, step_km: float,
    max_az_step_deg: float = 5.0, growth: float = 0.1,
) -> tuple[NDArray, NDArray, NDArray]:
    """Epicentre nodes (lat, lon, cell size km) on rings around (lat0, lon0).

    Rings are ``step_km`` apart up to ``r_inner_km``, then ``growth`` x distance
    apart up to ``r_max_km``; along a ring nodes are one ring step apart (in
    arc length) but never more than ``max_az_step_deg``.
    """
    radii = [0.0]
    r = 0.0
    while r < r_max_km:
        r = min(r + max(step_km, growth * r if r > r_inner_km else step_km), r_max_km)
        radii.append(r)
    lats, lons, cells = [np.array([lat0])], [np.array([lon0])], [np.array([step_km])]
    prev = 0.0
    for r in radii[1:]:
        dr = r - prev
        prev = r
        daz = min(np.degrees(max(dr, step_km) / r), max_az_step_deg)
        n = max(int(np.ceil(360.0 / daz)), 6)
        az = np.arange(n) * (360.0 / n)
        la, lo = destinations(lat0, lon0, az, np.full(n, r))
        lats.append(la)
        lons.append(lo)
        cells.append(np.full(n, max(dr, np.radians(360.0 / n) * r)))
    return np.concatenate(lats), np.concatenate(lons), np.concatenate(cells)
