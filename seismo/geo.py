"""Geodesy helpers: epicentral distance and azimuth on the WGS84 ellipsoid.

Distances use a spherical approximation with the WGS84 mean radius (6371.0088
km, Moritz 2000, IUGG) for vectorised speed; for local networks (< 1000 km)
the error against the ellipsoidal geodesic (ObsPy ``gps2dist_azimuth``,
Karney 2013) is below 0.5 %, and it is tested against it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088  # WGS84 mean radius R1 (Moritz 2000)


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


def destination(lat: float, lon: float, azimuth: float, dist_km: float) -> tuple[float, float]:
    """The point reached from (lat, lon) along ``azimuth`` (deg) after ``dist_km`` km."""
    d = dist_km / EARTH_RADIUS_KM
    p1, l1, a = np.radians(lat), np.radians(lon), np.radians(azimuth)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(a))
    l2 = l1 + np.arctan2(np.sin(a) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return float(np.degrees(p2)), float((np.degrees(l2) + 540.0) % 360.0 - 180.0)


def azimuthal_gap_deg(azimuths: ArrayLike) -> float:
    """Largest gap (degrees) between consecutive station azimuths seen from the epicentre."""
    az = np.sort(np.asarray(azimuths, dtype=float) % 360.0)
    if az.size == 0:
        return 360.0
    if az.size == 1:
        return 360.0
    gaps = np.diff(np.concatenate([az, az[:1] + 360.0]))
    return float(gaps.max())
