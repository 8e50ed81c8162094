"""Geodesy (seismo.geo) against ObsPy's ellipsoidal geodesic and its own inverses."""

from __future__ import annotations

import numpy as np
import pytest
from obspy.geodetics import gps2dist_azimuth

from seismo.geo import (
    KM_PER_DEG,
    azimuth_deg,
    destination,
    destinations,
    distance_km,
    from_local_xy,
    local_xy,
)

SHENZHEN = (22.55, 114.06)
MANILA_TRENCH = (19.5, 119.8)  # offshore Luzon


def test_distance_and_destination() -> None:
    # one degree of latitude on the mean sphere: 2*pi*R/360 = 111.195 km
    assert float(distance_km(0.0, 0.0, 1.0, 0.0)) == pytest.approx(111.195, abs=0.01)
    assert pytest.approx(111.195, abs=0.01) == KM_PER_DEG
    la, lo = destination(22.5, 114.0, 90.0, 50.0)
    assert isinstance(la, float) and isinstance(lo, float)
    assert float(distance_km(22.5, 114.0, la, lo)) == pytest.approx(50.0, abs=1e-6)
    assert float(distance_km(22.5, 114.0, *MANILA_TRENCH)) == pytest.approx(690.0, abs=10.0)


@pytest.mark.parametrize("target", [(22.7, 114.3), (21.0, 116.0), MANILA_TRENCH, (25.0, 121.5)])
def test_distance_and_azimuth_agree_with_obspy_ellipsoid(target: tuple[float, float]) -> None:
    """Within 0.5 % in distance and 0.5 degree in azimuth below 1000 km (module doc)."""
    d_m, az, _ = gps2dist_azimuth(*SHENZHEN, *target)
    assert float(distance_km(*SHENZHEN, *target)) == pytest.approx(d_m / 1000.0, rel=5e-3)
    assert float(azimuth_deg(*SHENZHEN, *target)) == pytest.approx(az, abs=0.5)


def test_destinations_is_the_vectorised_destination() -> None:
    az = np.array([0.0, 45.0, 170.0, 300.0])
    dist = np.array([1.0, 30.0, 250.0, 900.0])
    la, lo = destinations(*SHENZHEN, az, dist)
    assert la.shape == lo.shape == (4,)
    for i in range(4):
        assert (la[i], lo[i]) == pytest.approx(destination(*SHENZHEN, az[i], dist[i]))
    assert np.allclose(distance_km(*SHENZHEN, la, lo), dist)
    back = azimuth_deg(*SHENZHEN, la, lo)
    assert np.allclose((back - az + 180.0) % 360.0 - 180.0, 0.0, atol=1e-9)
    # across the antimeridian the longitude wraps into [-180, 180)
    _, lo2 = destination(0.0, 179.9, 90.0, 50.0)
    assert -180.0 <= lo2 < -179.0


def test_local_xy_round_trip() -> None:
    lat = np.array([22.0, 22.1, 22.6])
    lon = np.array([114.1, 114.0, 113.8])
    x, y = local_xy(22.3, 114.0, lat, lon)
    back_lat, back_lon = from_local_xy(22.3, 114.0, x, y)
    assert np.allclose(back_lat, lat) and np.allclose(back_lon, lon)
    # within ~200 km the plane distance is the great-circle distance to < 0.5 %
    assert np.allclose(np.hypot(x, y), distance_km(22.3, 114.0, lat, lon), rtol=5e-3)
