"""Distant events (seismo.event.planewave, distant, depthphase, trains): the plane-wave
detector, S-P distance, depth phases, far-event evidence, unconstrained locations and wave
trains, on synthetic picks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from obspy import UTCDateTime
from test_locate import T0, ring_network, synth_picks

from seismo.event import depthphase, distant, planewave, trains
from seismo.event.associate import associate
from seismo.event.locate import locate
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import VelocityModel
from seismo.geo import azimuth_deg, destination, distance_km
from seismo.inventory import StationInfo
from seismo.model import Pick

ACFG = AssociateConfig()
LCFG = LocateConfig(model_error_fraction=0.0)


def _centre(stations: dict[str, StationInfo]) -> tuple[float, float]:
    return planewave.centroid(stations)


def _distant_picks(
    stations: dict[str, StationInfo], model: VelocityModel, baz: float, dist_km: float,
    depth: float = 10.0, s_phase: str = "Sn", noise: float = 0.0, seed: int = 1,
) -> tuple[list[Pick], tuple[float, float]]:
    """P and S (as ``s_phase``) picks of an event ``dist_km`` from the network centre at
    back-azimuth ``baz``: the P labelled P, the S labelled S."""
    lat, lon = destination(*_centre(stations), baz, dist_km)
    rng = np.random.default_rng(seed)
    p = synth_picks(stations, model, lat, lon, depth, phases=("P",), noise=noise, rng=rng)
    out = list(p)
    for sid, s in stations.items():
        d = float(distance_km(lat, lon, s.latitude, s.longitude))
        t = T0 + float(model.travel_time(s_phase, d, depth)) + s.elevation_m / 1000.0 / (
            model.velocity_at(0.0, "S")) + (rng.normal(0.0, noise) if noise else 0.0)
        out.append(Pick(Pick.make_id(f"{sid}.00.HHN", "S", t), s.network, s.station, "00",
                        "HHN", "S", t, 0.1, 10.0, 1000.0))
    return out, (lat, lon)


def test_plane_wave_fit_recovers_slowness_and_backazimuth() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-40, 40, 12), rng.uniform(-40, 40, 12)
    baz, v = 75.0, 8.0  # the wave comes from 75 deg: it travels towards 255 deg
    sx, sy = -math.sin(math.radians(baz)) / v, -math.cos(math.radians(baz)) / v
    t = 3.0 + sx * x + sy * y + rng.normal(0, 0.05, 12)
    fit = planewave.fit_plane(t, x, y, np.full(12, 0.05))
    assert fit is not None
    sig_s, sig_a = fit.sigmas()
    assert fit.backazimuth_deg == pytest.approx(baz, abs=3 * sig_a + 0.5)
    assert 1.0 / fit.slowness == pytest.approx(v, rel=0.05)
    assert 0 < sig_s < 0.01 and 0 < sig_a < 5.0
    # collinear stations fix no plane
    assert planewave.fit_plane(t[:3] * 0 + 1.0, np.array([0.0, 1, 2]), np.array([0.0, 1, 2]),
                              np.full(3, 0.1)) is None


def test_plane_wave_detector_finds_a_distant_event_and_not_noise(sz, model) -> None:  # type: ignore[no-untyped-def]
    picks, _ = _distant_picks(sz, model, 60.0, 335.0, noise=0.05)
    waves = planewave.detect_plane_waves(picks, sz, ACFG)
    assert len(waves) == 1
    w = waves[0]
    assert w.backazimuth_deg == pytest.approx(60.0, abs=5.0)
    assert 7.5 < w.apparent_velocity_kms < 8.5  # Pn
    assert len(w.picks) >= 0.9 * len(sz)
    # a local event below the network is no plane wave of Pn speed
    local = synth_picks(sz, model, 22.66, 114.18, 9.0, phases=("P",))
    assert planewave.detect_plane_waves(local, sz, ACFG) == []
    # random onsets are none either
    rng = np.random.default_rng(5)
    ids = sorted(sz)
    noise = []
    for _ in range(60):
        s = sz[ids[int(rng.integers(len(ids)))]]
        t = T0 + float(rng.uniform(0, 60))
        noise.append(Pick(Pick.make_id(f"{s.id}.00.HHZ", "P", t), s.network, s.station, "00",
                          "HHZ", "P", t, 0.1, 4.0, 50.0))
    assert planewave.detect_plane_waves(noise, sz, ACFG) == []


@pytest.mark.parametrize(("s_phase", "dist"), [("Sn", 530.0), ("Sg", 300.0)])
def test_distant_event_located_from_s_minus_p(sz, model, s_phase, dist) -> None:  # type: ignore[no-untyped-def]
    """Each S branch is tried from its S-P consensus; the one the S picks fit wins, and the
    epicentre comes out within a few km, its S named as it was made."""
    picks, (lat, lon) = _distant_picks(sz, model, 150.0, dist, s_phase=s_phase, noise=0.05)
    wave = planewave.detect_plane_waves(picks, sz, ACFG)[0]
    found = distant.locate_distant(wave, picks, sz, model, ACFG, LCFG)
    assert found is not None and found.branch == s_phase
    o = found.origin
    assert float(distance_km(o.latitude, o.longitude, lat, lon)) < 10.0
    assert {a.phase for a in o.arrivals} == {"Pn", s_phase}
    assert trains.far_evidence(o, sz, model, ACFG, LCFG) == []
    assert trains.unconstrained(o, sz, ACFG) == []


def test_p_only_distant_event_is_unconstrained(sz, model) -> None:  # type: ignore[no-untyped-def]
    """From P alone a city network knows the direction, not the distance: flagged."""
    picks, _ = _distant_picks(sz, model, 150.0, 700.0, noise=0.05)
    p_only = [p for p in picks if p.phase == "P"]
    o = locate(p_only, sz, model, LocateConfig())
    why = trains.unconstrained(o, sz, ACFG)
    assert why and any("ellipse" in w or "gap" in w for w in why)


def test_local_pg_fitted_far_away_fails_the_apparent_velocity(model) -> None:  # type: ignore[no-untyped-def]
    """A local event's onsets cross a small array at crustal speed: a distant epicentre
    that fits their times predicts Pn's 7.9 km/s and is rejected (issue 22: 5.8 km/s
    where Pn is ~7.9)."""
    net = ring_network(47.0, 8.0, 8.0, 6)
    lat, lon = destination(47.0, 8.0, 30.0, 60.0)  # 60 km away: Pg across the array
    picks = synth_picks(net, model, lat, lon, 5.0, phases=("P",))
    far_lat, far_lon = destination(47.0, 8.0, 30.0, 240.0)
    # located as Pn (a distant epicentre): its times fit within the pick errors of a
    # small array, its apparent velocity does not
    o = locate(picks, net, model, LocateConfig(model_error_fraction=0.0),
               initial=(far_lat, far_lon, 10.0), full_search=False,
               phases={p.id: "Pn" for p in picks})
    assert float(distance_km(o.latitude, o.longitude, 47.0, 8.0)) > 2 * ACFG.far_km
    why = trains.far_evidence(o, net, model, ACFG, LCFG)
    assert why and "km/s" in why[0]
    # the true distance passes
    o_true = locate(picks, net, model, LocateConfig(model_error_fraction=0.0),
                    initial=(lat, lon, 5.0), full_search=False)
    assert trains.far_evidence(o_true, net, model, ACFG, LCFG) == []


def test_depth_phase_gives_a_deep_source(sz, model) -> None:  # type: ignore[no-untyped-def]
    """A second plane wave of the P's slowness, 20-30 s after it, is sP of a source ~100 km
    deep; the event is then located at that depth (not fixed at 10 km)."""
    z = 120.0
    picks, (lat, lon) = _distant_picks(sz, model, 100.0, 380.0, depth=z, s_phase="S")
    p_first = {p.station_id: p for p in picks if p.phase == "P"}
    wave = planewave.detect_plane_waves([p for p in picks if p.phase == "P"], sz, ACFG)[0]
    delay = depthphase.vertical_delay_s(model, wave.slowness_s_km, z, "sP")
    assert 15.0 < delay < 40.0
    sp = [Pick(Pick.make_id(f"{sid}.00.HHZ", "P", p.time + delay), p.network, p.station, "00",
               "HHZ", "P", p.time + delay, 0.05, 8.0, 500.0) for sid, p in p_first.items()]
    found = distant.locate_distant(wave, picks + sp, sz, model, ACFG, LCFG)
    assert found is not None and found.depth_phase is not None
    assert found.depth_phase.depth_sp_km == pytest.approx(z, rel=0.05)
    assert found.origin.depth_km == pytest.approx(z, rel=0.05)
    assert not found.origin.depth_fixed
    assert float(distance_km(found.origin.latitude, found.origin.longitude, lat, lon)) < 15.0
    assert len(found.explained) >= 0.9 * len(sz)
    # the pP reading of the same delay is deeper: the sP one is a lower bound
    z_pp = depthphase.depth_from_delay(model, wave.slowness_s_km, delay, "pP", 400.0)
    assert z_pp is None or z_pp > z
    # a shallow event has no depth phase
    shallow, _ = _distant_picks(sz, model, 100.0, 380.0, depth=15.0)
    w2 = planewave.detect_plane_waves(shallow, sz, ACFG)[0]
    assert depthphase.depth_phase({p.station_id: p.time for p in w2.picks}, shallow,
                                w2.slowness_s_km, model, ACFG) is None


def test_associate_finds_the_distant_event_and_no_local_one_in_its_train(sz, model) -> None:  # type: ignore[no-untyped-def]
    """A distant event's P (plane wave), S and S-coda onsets: one distant event; the coda
    onsets that would locate as a "local" event inside the network prove nothing."""
    picks, (lat, lon) = _distant_picks(sz, model, 60.0, 335.0, noise=0.05)
    # S-coda onsets 2-6 s after each S, some labelled P (what a large event's coda gives)
    rng = np.random.default_rng(9)
    coda = []
    for p in [q for q in picks if q.phase == "S"]:
        t = p.time + float(rng.uniform(2.0, 6.0))
        ph = "P" if rng.random() < 0.3 else "S"
        coda.append(Pick(Pick.make_id(f"{p.station_id}.00.HHE", ph, t), p.network, p.station,
                         "00", "HHE", ph, t, 0.2, 4.0, 800.0))
    events = associate(picks + coda, sz, model, ACFG, LocateConfig())
    assert len(events) == 1
    ev = events[0]
    assert ev.distant and float(distance_km(ev.latitude, ev.longitude, lat, lon)) < 15.0
    train = trains.train_of("x", ev.origin, sz, model, ACFG)
    assert all(train.covers(p) for p in coda)
    assert sum(train.explains(p) for p in picks) >= 0.9 * len(picks)


def test_prove_local_in_a_train(sz, model) -> None:  # type: ignore[no-untyped-def]
    """Inside a distant train a local event needs clean P onsets with a local moveout:
    a real local event has them, a group of S-labelled coda onsets does not."""
    far, _ = _distant_picks(sz, model, 60.0, 335.0)
    o_far = associate(far, sz, model, ACFG, LocateConfig())[0].origin
    train = trains.train_of("the distant event", o_far, sz, model, ACFG)
    t_local = o_far.time + 120.0  # in the coda
    local = synth_picks(sz, model, 22.66, 114.18, 9.0, t0=t_local)
    o_local = locate(local, sz, model, LCFG)
    labelled_p = {p.id for p in local if p.phase == "P"}
    assert train.covers(local[0])
    assert trains.prove_local(o_local, [train], labelled_p, ACFG) is None
    # the same origin with its P onsets relabelled from S (not P-polarised): not proven
    why = trains.prove_local(o_local, [train], set(), ACFG)
    assert why is not None and "clean P onsets at 0" in why
    # outside any train nothing is asked
    assert trains.prove_local(o_local, [], set(), ACFG) is None


def test_micro_array_prefers_the_local_partition(model) -> None:  # type: ignore[no-untyped-def]
    """Five stations within 4 km: the onsets of two micro-events 28 s apart make two local
    events, never one far event with P from the first and S from the second (issue 22)."""
    lat0, lon0 = 47.5, 8.5
    net = {}
    for i, (az, r) in enumerate([(0, 0.0), (0, 1.8), (72, 1.9), (144, 1.7), (216, 2.0)]):
        la, lo = destination(lat0, lon0, az, r) if r else (lat0, lon0)
        s = StationInfo("MI", f"M{i}", la, lo, 1300.0, "micro", ())
        net[s.id] = s
    a = synth_picks(net, model, lat0 + 0.005, lon0, 1.5, t0=T0, sigma=0.01)
    b = synth_picks(net, model, lat0, lon0 + 0.006, 1.2, t0=T0 + 28.0, sigma=0.01)
    cfg = ACFG.model_copy(update={"min_phases": 5, "min_stations": 4})
    events = associate(a + b, net, model, cfg, LocateConfig())
    assert events, "the two micro-events are found"
    for e in events:
        assert float(distance_km(e.latitude, e.longitude, lat0, lon0)) < 10.0
        assert not e.distant


def test_wave_train_explains_and_covers(sz, model) -> None:  # type: ignore[no-untyped-def]
    lat, lon = destination(*_centre(sz), 150.0, 500.0)
    t0 = UTCDateTime(2026, 1, 1)
    train = trains.WaveTrain.of("t", t0, lat, lon, 10.0, sz, model, ACFG, 20.0)
    sid = sorted(sz)[0]
    s = sz[sid]
    d = float(distance_km(lat, lon, s.latitude, s.longitude))

    def pick(dt: float, ph: str = "P") -> Pick:
        return Pick(Pick.make_id(f"{sid}.00.HHZ", ph, t0 + dt), s.network, s.station, "00",
                    "HHZ", ph, t0 + dt, 0.1, 5.0, 10.0)

    tp = float(model.travel_time("P", d, 10.0))
    tsn = float(model.travel_time("Sn", d, 10.0))
    assert train.explains(pick(tp)) and train.explains(pick(tsn, "S"))
    assert train.explains(pick(tp + 20.0))  # its depth phase
    assert not train.explains(pick(tp + 10.0))
    assert train.covers(pick(tp + 10.0))
    assert train.covers(pick(d / 2.5 + 100.0)) and not train.covers(pick(d / 2.5 + 300.0))
    assert not train.covers(pick(tp - 5.0))
    assert azimuth_deg(lat, lon, s.latitude, s.longitude) >= 0  # sanity


# --------------------------------------------------- independent travel times (ObsPy TauP)
# The arrivals below come from ObsPy's TauP (Crotwell, Owens & Ritsema 1999, SRL 70) in
# iasp91 (Kennett & Engdahl 1991, GJI 105): another travel-time code through another
# Earth model than seismo's flattened layers, so the detector and the locator are judged
# on the physics, not on their own model. The elevation delay uses iasp91's upper crust.
_IASP91_VP, _IASP91_VS = 5.80, 3.36  # km/s, iasp91's layer at 0-20 km
_P_NAMES, _S_NAMES = ("p", "P", "Pn", "Pg"), ("s", "S", "Sn", "Sg")


@pytest.fixture(scope="module")
def iasp91():  # type: ignore[no-untyped-def]
    from obspy.taup import TauPyModel

    return TauPyModel("iasp91")


def _first(taup, depth: float, dist_km: float, names: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from obspy.geodetics import kilometer2degrees

    arr = taup.get_travel_times(depth, kilometer2degrees(dist_km), list(names))
    return min(arr, key=lambda a: a.time)


def _taup_picks(
    taup, stations: dict[str, StationInfo], lat: float, lon: float, depth: float,  # type: ignore[no-untyped-def]
    with_s: bool = True, noise: float = 0.03, seed: int = 2,
) -> list[Pick]:
    """First P (labelled P) and first S (labelled S) from TauP at every station."""
    from obspy.geodetics import gps2dist_azimuth

    rng = np.random.default_rng(seed)
    out = []
    for sid, s in stations.items():
        d = gps2dist_azimuth(lat, lon, s.latitude, s.longitude)[0] / 1000.0
        for ph, names, v, cha in (("P", _P_NAMES, _IASP91_VP, "HHZ"),
                                  ("S", _S_NAMES, _IASP91_VS, "HHN")):
            if ph == "S" and not with_s:
                continue
            t = T0 + (_first(taup, depth, d, names).time + s.elevation_m / 1000.0 / v
                      + rng.normal(0.0, noise))
            out.append(Pick(Pick.make_id(f"{sid}.00.{cha}", ph, t), s.network, s.station,
                            "00", cha, ph, t, 0.1, 10.0, 1000.0))
    return out


def _strip() -> dict[str, StationInfo]:
    """A coastal strip: 16 stations over ~140 x 25 km, 0-900 m high, at 38.5 N 141.3 E."""
    rng = np.random.default_rng(11)
    out = {}
    for i in range(16):
        la, lo = destination(38.5, 141.3, 20.0, -70.0 + 140.0 * i / 15)
        la, lo = destination(la, lo, 110.0, float(rng.uniform(-12.0, 12.0)))
        s = StationInfo("ST", f"C{i:02d}", la, lo, float(rng.uniform(0, 900)), "strip", ())
        out[s.id] = s
    return out


def _geometry(name: str, sz: dict[str, StationInfo]) -> dict[str, StationInfo]:
    return {"sz": sz, "strip": _strip(), "ring": ring_network(46.8, 8.2, 35.0, 9)}[name]


@pytest.mark.parametrize("net_name", ["sz", "strip", "ring"])
@pytest.mark.parametrize(("baz", "dist"), [(60.0, 400.0), (235.0, 800.0), (120.0, 5500.0)])
def test_plane_wave_matches_taup_ray_parameter(sz, iasp91, net_name, baz, dist) -> None:  # type: ignore[no-untyped-def]
    """The plane wave fitted to TauP's first P arrivals has TauP's ray parameter at the
    network (Pn at 400 and 800 km, teleseismic P at ~50 deg) and the geodesic back-azimuth,
    within 3 standard errors plus the curvature of the wavefront over the aperture."""
    from obspy.geodetics import gps2dist_azimuth

    net = _geometry(net_name, sz)
    lat0, lon0 = planewave.centroid(net)
    lat, lon = destination(lat0, lon0, baz, dist)
    picks = _taup_picks(iasp91, net, lat, lon, 15.0, with_s=False)
    waves = planewave.detect_plane_waves(picks, net, ACFG)
    assert len(waves) == 1
    w = waves[0]
    d_km, az, _ = gps2dist_azimuth(lat0, lon0, lat, lon)
    p_true = _first(iasp91, 15.0, d_km / 1000.0, _P_NAMES).ray_param / 6371.0  # s/rad -> s/km
    assert w.slowness_s_km == pytest.approx(p_true, abs=3 * w.slowness_sigma_s_km
                                            + 0.02 * p_true)
    assert abs((w.backazimuth_deg - az + 180.0) % 360.0 - 180.0) < (
        3 * w.backazimuth_sigma_deg + 1.5)
    assert len(w.picks) >= 0.9 * len(net)


@pytest.mark.parametrize("net_name", ["sz", "strip", "ring"])
def test_local_event_below_the_network_is_no_distant_event(sz, model, iasp91, net_name) -> None:  # type: ignore[no-untyped-def]
    """A source below the middle of a network crosses it nearly as a steep plane wave
    (below a ring, exactly); its S-P of a near source makes it a local event, located
    there, never a distant one (distant.near_sp)."""
    net = _geometry(net_name, sz)
    lat0, lon0 = planewave.centroid(net)
    local = _taup_picks(iasp91, net, lat0, lon0, 8.0)
    events = associate(local, net, model, ACFG, LocateConfig())
    assert len(events) == 1 and not events[0].distant
    assert float(distance_km(events[0].latitude, events[0].longitude, lat0, lon0)) < 5.0
    waves = planewave.detect_plane_waves(local, net, ACFG)
    assert all(distant.near_sp(w, local, net, model, ACFG) for w in waves)


@pytest.mark.parametrize("net_name", ["sz", "strip"])
@pytest.mark.parametrize(("baz", "dist"), [(150.0, 450.0), (300.0, 700.0)])
def test_taup_distant_event_located_and_not_rejected(  # type: ignore[no-untyped-def]
    sz, model, iasp91, net_name, baz, dist
) -> None:
    """A distant event with TauP's P and S (iasp91, not the locator's model): located on
    its S-P branch within a tenth of its distance, and its P slowness supports the
    location (no far-event evidence against it)."""
    net = _geometry(net_name, sz)
    lat, lon = destination(*planewave.centroid(net), baz, dist)
    picks = _taup_picks(iasp91, net, lat, lon, 10.0)
    wave = planewave.detect_plane_waves(picks, net, ACFG)[0]
    found = distant.locate_distant(wave, picks, net, model, ACFG, LCFG)
    assert found is not None and found.branch == "Sn"
    o = found.origin
    err = float(distance_km(o.latitude, o.longitude, lat, lon))
    assert err < 0.1 * dist, err
    assert trains.far_evidence(o, net, model, ACFG, LCFG) == []


@pytest.mark.parametrize("net_name", ["sz", "strip", "ring"])
@pytest.mark.parametrize(("baz", "dist"), [(120.0, 700.0), (300.0, 450.0)])
def test_one_s_minus_p_among_late_s_onsets_locates(sz, model, net_name, baz, dist) -> None:  # type: ignore[no-untyped-def]
    """S onsets that disagree (one the first S, two later in the S train, 8 and 11 s late):
    no two agree, so the earliest S-P gives the distance along the plane wave's
    back-azimuth (first_sp); the location is constrained and within a few per cent of its
    distance. Without the one good S the distance rests on the late onsets' S-P and the
    event is located too far, never nearer than the truth."""
    net = _geometry(net_name, sz)
    picks, (lat, lon) = _distant_picks(net, model, baz, dist, noise=0.05, seed=4)
    p_only = [p for p in picks if p.phase == "P"]
    s_all = sorted((p for p in picks if p.phase == "S"), key=lambda p: p.station_id)
    good, late1, late2 = s_all[0], s_all[len(s_all) // 2], s_all[-1]
    late = [dataclasses.replace(late1, time=late1.time + 8.0),
            dataclasses.replace(late2, time=late2.time + 11.0)]
    pool = [*p_only, good, *late]
    wave = planewave.detect_plane_waves(pool, net, ACFG)[0]
    found = distant.locate_distant(wave, pool, net, model, ACFG, LCFG)
    assert found is not None and found.branch == "S"
    o = found.origin
    assert [a.pick_id for a in o.arrivals if a.phase.startswith("S")] == [good.id]
    assert float(distance_km(o.latitude, o.longitude, lat, lon)) < 0.05 * dist
    assert trains.far_evidence(o, net, model, ACFG, LCFG) == []
    assert trains.unconstrained(o, net, ACFG) == []
    # the ellipse's major axis lies along the ray (the distance is what S-P gives)
    assert o.ellipse_90[0] > o.ellipse_90[1]
    # late S onsets alone: the distance comes out too large, not too small
    found_late = distant.locate_distant(wave, p_only + late, net, model, ACFG, LCFG)
    assert found_late is not None
    c = planewave.centroid(net)
    d_late = float(distance_km(*c, found_late.origin.latitude, found_late.origin.longitude))
    assert d_late > float(distance_km(*c, lat, lon))


@pytest.mark.parametrize("net_name", ["sz", "strip"])
def test_emergent_s_onsets_locate_a_distant_event(sz, model, net_name) -> None:  # type: ignore[no-untyped-def]
    """Every S trigger 5-9 s after the true Sn (an emergent S in the P coda), each pick
    holding its wide-window onset as ``early_onset`` 0-0.5 s after the truth: the distant
    locator reads S-P at that onset and finds the event within 5 % of its distance;
    from the trigger times alone the distance comes out wrong by tens of km."""
    net = _geometry(net_name, sz)
    dist = 700.0
    picks, (lat, lon) = _distant_picks(net, model, 120.0, dist, noise=0.05, seed=6)
    rng = np.random.default_rng(2)
    triggered, emergent = [], []
    for p in picks:
        if p.phase != "S":
            triggered.append(p)
            emergent.append(p)
            continue
        late = p.time + float(rng.uniform(5.0, 9.0))
        moved = dataclasses.replace(p, time=late, id=Pick.make_id(p.seed_id, "S", late))
        triggered.append(moved)
        emergent.append(dataclasses.replace(moved, early_onset=p.time + float(rng.uniform(0, 0.5))))

    def error_km(pool: list[Pick]) -> float:
        wave = planewave.detect_plane_waves(pool, net, ACFG)[0]
        found = distant.locate_distant(wave, pool, net, model, ACFG, LCFG)
        assert found is not None
        o = found.origin
        return float(distance_km(o.latitude, o.longitude, lat, lon))

    assert error_km(emergent) < 0.05 * dist
    assert error_km(triggered) > 30.0
    assert distant.emergent_s(emergent[-1]).time == emergent[-1].early_onset
    assert distant.emergent_s(emergent[-1]).id == emergent[-1].id
