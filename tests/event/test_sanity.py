"""Sanity of a solution before it is published (seismo.event.sanity), and the depth rules
it shares with the locator (shallow free depths that a near station resolves)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from obspy import UTCDateTime

from seismo.event.depth import depth_unresolved, shallow_resolved
from seismo.event.sanity import (
    MAX_RMS_RATIO,
    depth_on_bound,
    expected_rms_s,
    origin_outside_span,
    rms_excess,
    sanity_reasons,
)
from seismo.event.settings import LocateConfig
from seismo.inventory import StationInfo
from seismo.model import Arrival, Event

T0 = UTCDateTime("2026-05-01T00:10:00")
CFG = LocateConfig(depth_min_km=-1.3)
STATIONS = {f"XX.S{i}": StationInfo("XX", f"S{i}", 30.0, 100.0, 1300.0 - 20 * i, "", ())
            for i in range(5)}


def event(depth_km: float = 0.6, rms_s: float = 0.02, fixed: bool = False,
          dist_km: tuple[float, ...] = (0.8, 1.5, 2.0, 2.7, 3.1)) -> Event:
    arr = tuple(
        Arrival(f"p{i}", "XX", f"S{i}", "HHZ", "P", T0 + 0.3 + 0.2 * d, d, 0.0, 0.01)
        for i, d in enumerate(dist_km)
    )
    return Event("e", T0, 30.0, 100.0, depth_km, rms_s, 90.0, len(arr), len(arr), 0.2, 0.3,
                 False, arrivals=arr, depth_fixed=fixed)


def test_origin_outside_the_processed_span() -> None:
    start, end = T0 - 60, T0 + 60
    assert origin_outside_span(T0, start, end, 30.0) is None
    assert "after the processed span" in (origin_outside_span(end + 2 * 86400, start, end, 30.0)
                                          or "")
    assert "before the processed span" in (origin_outside_span(start - 31, start, end, 30.0)
                                           or "")
    assert origin_outside_span(start - 29, start, end, 30.0) is None


def test_rms_against_the_model_error() -> None:
    ev = event()
    exp = expected_rms_s(ev, CFG)
    assert exp == pytest.approx(np.hypot(CFG.pick_sigma_s, 0.0), rel=0.05)  # short times
    assert rms_excess(ev, CFG) is None
    assert rms_excess(dataclasses.replace(ev, rms_s=0.9 * MAX_RMS_RATIO * exp), CFG) is None
    why = rms_excess(dataclasses.replace(ev, rms_s=497549.0), CFG)
    assert why and why.startswith("rms 4.98e+05 s")
    assert rms_excess(dataclasses.replace(ev, rms_s=float("nan")), CFG)


def test_depth_on_a_bound() -> None:
    # 0.6 km below sea level under stations at 1.2-1.3 km: free, inside the range
    assert depth_on_bound(event(0.6), CFG, STATIONS) is None
    # at the shallow bound (the highest station) with a station 0.8 km away: resolved
    assert depth_on_bound(event(-1.2), CFG, STATIONS) is None
    # at the shallow bound with no station within two depths: not resolved
    far = event(-1.2, dist_km=(8.0, 9.0, 10.0, 11.0, 12.0))
    assert "shallow bound" in (depth_on_bound(far, CFG, STATIONS) or "")
    assert "deep bound" in (depth_on_bound(event(CFG.depth_max_km), CFG, STATIONS) or "")
    assert "fixed depth" in (depth_on_bound(event(-1.2, fixed=True), CFG, STATIONS) or "")
    # a depth read from a depth phase (sP - P) is the data's, below the local range or not
    slab = dataclasses.replace(event(96.7, dist_km=(340.0, 360.0, 380.0, 400.0, 420.0)),
                               depth_method="depth phase")
    assert depth_on_bound(slab, CFG, STATIONS) is None
    assert "deep bound" in (depth_on_bound(dataclasses.replace(slab, depth_method=""), CFG,
                                           STATIONS) or "")


def test_all_reasons_together() -> None:
    bad = dataclasses.replace(event(CFG.depth_max_km, rms_s=50.0), time=T0 + 3 * 86400)
    reasons = sanity_reasons(bad, CFG, STATIONS, (T0 - 60, T0 + 60), 30.0)
    assert len(reasons) == 3
    assert sanity_reasons(event(), CFG, STATIONS, (T0 - 60, T0 + 60), 30.0) == []


def test_shallow_depth_rule_of_the_locator() -> None:
    """Issue 22: stations 1.3 km above sea level, a depth range starting at sea level: an
    event 0-1 km below sea level sits on the bound; a station within two depths below it
    resolves that, so the depth stays free (it used to be forced to 10 km)."""
    cfg = LocateConfig(depth_min_km=0.0)
    dist = np.array([1.0, 2.0, 3.0])
    elev = [1300.0, 1300.0, 1300.0]
    assert shallow_resolved(cfg, 0.0, dist, elev)  # 1.3 km below the stations, one at 1 km
    assert depth_unresolved(cfg, 0.1, 0.5, dist, elev) is None
    # the same at sea level: no station within two depths (0.5 km floor) of the bound
    assert not shallow_resolved(cfg, 0.0, dist + 0.5, [0.0, 0.0, 0.0])
    assert "shallow bound" in (depth_unresolved(cfg, 0.1, 0.5, dist + 0.5, [0.0] * 3) or "")
    # deep bound, large sigma, far stations
    assert "deep bound" in (depth_unresolved(cfg, 39.8, 0.5, dist, elev) or "")
    assert "sigma" in (depth_unresolved(cfg, 5.0, 20.0, dist, elev) or "")
    assert "nearest station" in (depth_unresolved(cfg, 5.0, 1.0, dist + 150, elev) or "")
