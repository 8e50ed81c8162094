"""Thresholds from the inventory (seismo.event.geometry) on generated networks.

Each generated network differs in aperture, station spacing and elevation (a 4 km
micro-network 1.3 km above sea level, three stations, a city network, a 250 km regional
network, a mountain network 2-3 km up). For each, the derived thresholds follow their
rules, and an event inside it, with arrival times from straight rays in a half-space
from the source to each station at its true elevation (not the locator's vertical-ray
elevation term), is associated and located at its epicentre and depth, with the depth
free, also when it lies above sea level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pytest
from obspy import UTCDateTime

from seismo.event.associate import adapt_to_network, associate
from seismo.event.geometry import (
    curvature_distance_km,
    depth_nodes,
    derive,
    network_geometry,
    separable_s_stations,
)
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.shortfall import shortfall
from seismo.event.velocity import VelocityModel
from seismo.geo import destination, distance_km
from seismo.inventory import StationInfo
from seismo.model import Pick

VP, VP_VS = 5.5, 1.73
T0 = UTCDateTime("2026-05-01T00:00:00")


@dataclass(frozen=True)
class Net:
    name: str
    n: int
    aperture_km: float
    elevation_m: tuple[float, float]
    event_depth_km: float  # below sea level (negative: above it)
    sample_rate: float  # the picks' precision: two samples


NETS = [
    Net("micro", 5, 3.7, (1250.0, 1360.0), 0.6, 500.0),
    Net("micro-above-sea-level", 5, 3.7, (1250.0, 1360.0), -0.4, 500.0),
    Net("three", 3, 30.0, (20.0, 300.0), 8.0, 100.0),
    Net("city", 12, 60.0, (0.0, 120.0), 9.0, 100.0),
    Net("regional", 30, 250.0, (10.0, 900.0), 12.0, 100.0),
    Net("mountain", 8, 20.0, (2000.0, 3000.0), -1.0, 200.0),
]


def make_network(net: Net, seed: int = 7) -> dict[str, StationInfo]:
    """Stations on a jittered ring plus a random interior, ``aperture_km`` across."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = 30.0, 100.0
    out = {}
    for i in range(net.n):
        if i < max(3, net.n // 2):
            az = 360.0 * i / max(3, net.n // 2) + rng.uniform(-10, 10)
            r = net.aperture_km / 2.0 * rng.uniform(0.85, 1.0)
        else:
            az = rng.uniform(0, 360)
            r = net.aperture_km / 2.0 * np.sqrt(rng.uniform(0.0, 0.8))
        la, lo = destination(lat0, lon0, az, r)
        el = float(rng.uniform(*net.elevation_m))
        out[f"XX.S{i:02d}"] = StationInfo("XX", f"S{i:02d}", la, lo, el, "", ())
    return out


def halfspace() -> VelocityModel:
    return VelocityModel("half-space", (0.0,), (VP,), vp_vs=VP_VS, max_distance_km=1000.0,
                         max_depth_km=60.0)


def straight_ray_picks(
    stations: dict[str, StationInfo], lat: float, lon: float, depth_km: float,
    phases: dict[str, tuple[str, ...]], sigma_s: float,
) -> list[Pick]:
    """Exact half-space times from the source to each station at its elevation."""
    out = []
    for sid, s in stations.items():
        x = float(distance_km(lat, lon, s.latitude, s.longitude))
        r = float(np.hypot(x, depth_km + s.elevation_m / 1000.0))
        for ph in phases.get(sid, ("P", "S")):
            t = T0 + r / (VP if ph == "P" else VP / VP_VS)
            cha = "HHZ" if ph == "P" else "HHN"
            out.append(Pick(Pick.make_id(f"{sid}.00.{cha}", ph, t), s.network, s.station, "00",
                            cha, ph, t, sigma_s, 20.0, 1000.0))  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def model() -> VelocityModel:
    return halfspace()


@pytest.mark.parametrize("net", NETS, ids=lambda n: n.name)
def test_thresholds_follow_their_rules(net: Net, model: VelocityModel) -> None:
    st = make_network(net)
    g = network_geometry(st)
    assoc, loc = AssociateConfig(), LocateConfig()
    d = derive(st, model, assoc, loc, merge_s=1.0)
    top = max(s.elevation_m for s in st.values())
    assert d.model.datum_km == pytest.approx(top / 1000.0)
    assert d.locate.depth_min_km == pytest.approx(-top / 1000.0)
    a = d.associate
    assert a.grid_spacing_km == pytest.approx(max(min(g.spacing_km / 2, 3.0), 0.1), abs=1e-3)
    assert d.locate.grid_spacing_km == pytest.approx(max(min(g.spacing_km, 5.0), 0.1), abs=1e-3)
    assert a.grid_margin_km == pytest.approx(min(g.aperture_km, 30.0), abs=1e-3)
    r_c = curvature_distance_km(g.aperture_km, VP, loc.pick_sigma_s)
    assert a.max_distance_km == pytest.approx(
        min(1000.0, max(g.radius_km + a.grid_margin_km, r_c)), abs=1e-3)
    assert a.depths_km is not None and a.depths_km[0] == pytest.approx(-top / 1000.0)
    assert a.depths_km[-1] == loc.depth_max_km and np.all(np.diff(a.depths_km) > 0)
    # the fallback depth: the region's, or shallower for a small aperture
    assert d.locate.fixed_depth_km <= loc.fixed_depth_km
    assert d.locate.fixed_depth_km == pytest.approx(
        min(10.0, -top / 1000.0 + g.aperture_km / 2.0), abs=1e-3)
    # every threshold says where it came from
    names = {t.name for t in d.thresholds}
    assert {"[associate] grid_spacing_km", "[associate] max_distance_km",
            "[associate] depths_km", "[locate] depth_min_km", "[locate] fixed_depth_km",
            "stations with a separable S"} <= names
    assert all(t.rule for t in d.thresholds)


def test_micro_network_gives_one_phase_per_station(model: VelocityModel) -> None:
    """S-P across a 4 km network is shorter than the 1 s merge span: no separable S, and
    the phase minimum drops to one per station (6 -> 5 for 5 stations)."""
    st = make_network(NETS[0])
    d = derive(st, model, AssociateConfig(), LocateConfig(), merge_s=1.0)
    assert d.separable_s == frozenset()
    cfg = adapt_to_network(d.associate, st, True, d.separable_s)
    assert (cfg.min_stations, cfg.min_phases) == (4, 5)
    # a shorter merge span separates them again
    assert separable_s_stations(st, d.model, d.locate.fixed_depth_km, 0.2) == set(st)
    # a regional network separates every S
    reg = make_network(NETS[4])
    dr = derive(reg, model, AssociateConfig(), LocateConfig(), merge_s=1.0)
    assert dr.separable_s == frozenset(reg)
    assert adapt_to_network(dr.associate, reg, True, dr.separable_s).min_phases == 6


@pytest.mark.parametrize("net", NETS, ids=lambda n: n.name)
@pytest.mark.parametrize("with_s", [True, False], ids=["P+S", "P only"])
def test_event_inside_is_found_with_its_depth(net: Net, with_s: bool,
                                              model: VelocityModel) -> None:
    st = make_network(net)
    d = derive(st, model, AssociateConfig(), LocateConfig(), merge_s=1.0)
    g = d.geometry
    lat, lon = destination(g.centre[0], g.centre[1], 60.0, 0.15 * g.aperture_km)
    phases = {sid: ("P", "S") if with_s else ("P",) for sid in st}
    sigma = 2.0 / net.sample_rate
    picks = straight_ray_picks(st, lat, lon, net.event_depth_km, phases, sigma)
    loc = d.locate.model_copy(update={"pick_sigma_s": sigma})
    sep = d.separable_s if with_s else frozenset()
    events = associate(picks, st, d.model, d.associate, loc, separable_s=sep)
    if not with_s and net.n == 3:
        assert events == []  # 3 phases cannot locate 4 unknowns
        return
    assert len(events) == 1
    o = events[0].origin
    assert o.n_phases == len(picks)
    tol = max(0.05 * g.aperture_km, 0.2)
    assert float(distance_km(o.latitude, o.longitude, lat, lon)) < tol
    assert abs(float(o.time - T0)) < 0.05 + 0.01 * g.aperture_km
    below = [net.event_depth_km + s.elevation_m / 1000.0 for s in st.values()]
    epi = [float(distance_km(lat, lon, s.latitude, s.longitude)) for s in st.values()]
    near = any(e <= loc.depth_distance_ratio * b for e, b in zip(epi, below, strict=True))
    if near and (with_s or net.n >= 5):
        # depth from the highest station down: free and right, also above sea level
        assert not o.depth_fixed
        assert o.depth_km == pytest.approx(net.event_depth_km, abs=0.5)
    elif not near:
        # no station within two focal depths: the depth is the network's fallback
        assert o.depth_fixed and o.depth_km == pytest.approx(loc.fixed_depth_km)


def test_depth_nodes_grow_from_the_datum() -> None:
    z = depth_nodes(-1.3, 0.4, 30.0)
    assert z[0] == -1.3 and z[-1] == 30.0
    steps = np.diff(z)
    assert steps[0] == pytest.approx(0.4) and np.all(steps[:-1] >= 0.4 - 1e-9)
    assert np.all(np.diff(steps[:-1]) >= -1e-9)  # never shrinking (the last step is cut)
    with pytest.raises(ValueError):
        depth_nodes(5.0, 1.0, 2.0)


def test_shortfall_warns_for_an_unreachable_phase_minimum(
    model: VelocityModel, caplog: pytest.LogCaptureFixture
) -> None:
    """5 stations with one pick each and a phase minimum of 6 (the S not counted as
    separable would lower it): every group falls short, which is what the warning is for."""
    st = make_network(NETS[0])
    cfg = AssociateConfig()
    groups = []
    for k in range(4):
        p = straight_ray_picks(st, 30.0, 100.0, 0.5, {sid: ("P",) for sid in st}, 0.004)
        groups += [Pick(x.id + f"-{k}", x.network, x.station, x.location, x.channel, x.phase,
                        x.time + 40.0 * k, x.uncertainty_s, x.snr, x.amplitude) for x in p]
    sf = shortfall(groups, [], st, model, cfg, s_picks=True)  # every S counted: min 6
    assert (sf.groups, sf.short, sf.min_phases) == (4, 4, 6)
    assert sf.warning() is not None and "4 of 4" in sf.warning()  # type: ignore[operator]
    ok = shortfall(groups, [], st, model, cfg, s_picks=True, separable_s=set())
    assert ok.short == 0 and ok.warning() is None
    with caplog.at_level(logging.INFO):
        assert associate(groups, st, model, cfg, LocateConfig()) == []
