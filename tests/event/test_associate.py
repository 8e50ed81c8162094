"""Association of synthetic picks: overlapping events, spurious picks, far events."""

from __future__ import annotations

import numpy as np
from obspy import UTCDateTime
from test_locate import T0, ring_network, synth_picks  # shared synthetic-pick helpers

from seismo.event.associate import associate, remove_glitches
from seismo.event.candidate import EventCandidate, tolerance_s
from seismo.event.gridstack import stack_grid
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import Pick

ACFG = AssociateConfig()
LCFG = LocateConfig()


def spurious(stations: dict[str, StationInfo], n: int, rng: np.random.Generator,
             start: UTCDateTime = T0 - 5.0, length_s: float = 65.0) -> list[Pick]:
    """Noise picks: random station, random time, mostly labelled P."""
    ids = sorted(stations)
    out = []
    for _ in range(n):
        s = stations[ids[int(rng.integers(len(ids)))]]
        t = start + float(rng.uniform(0.0, length_s))
        ph = "P" if rng.random() < 0.7 else "S"
        out.append(Pick(Pick.make_id(f"{s.id}.00.HHZ", ph, t), s.network, s.station, "00", "HHZ",
                        ph, t, 0.1, 4.0, 50.0))
    return out


def check_event(ev: EventCandidate, truth: list[Pick], lat: float, lon: float,
                tol_km: float = 3.0) -> None:
    assert float(distance_km(ev.latitude, ev.longitude, lat, lon)) < tol_km
    assert {p.id for p in ev.picks} == {p.id for p in truth}
    keys = [(p.station_id, p.phase) for p in ev.picks]
    assert len(keys) == len(set(keys))  # at most one P and one S per station


def test_single_event(sz, model) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    picks = synth_picks(sz, model, 22.66, 114.18, 9.0, t0=T0 + 10, noise=0.05, rng=rng)
    events = associate(picks, sz, model, ACFG, LCFG)
    assert len(events) == 1
    check_event(events[0], picks, 22.66, 114.18)
    assert abs(events[0].time - (T0 + 10)) < 0.3
    assert events[0].stack_count >= 20


def test_two_overlapping_events(sz, model) -> None:  # type: ignore[no-untyped-def]
    """6 s apart at opposite ends of the city (~44 km): both found, picks not mixed."""
    rng = np.random.default_rng(2)
    a = synth_picks(sz, model, 22.60, 113.95, 8.0, t0=T0 + 5, noise=0.05, rng=rng)
    b = synth_picks(sz, model, 22.62, 114.38, 12.0, t0=T0 + 11, noise=0.05, rng=rng)
    assert float(distance_km(22.60, 113.95, 22.62, 114.38)) > 40
    events = associate(a + b, sz, model, ACFG, LCFG)
    assert len(events) == 2
    check_event(events[0], a, 22.60, 113.95)
    check_event(events[1], b, 22.62, 114.38)


def test_spurious_picks_rejected(sz, model) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    ev = synth_picks(sz, model, 22.70, 114.05, 10.0, t0=T0 + 20, noise=0.05, rng=rng)
    noise = spurious(sz, 25, rng)
    # a spike: simultaneous picks at 6 stations (a telemetry glitch) - coincident, not consistent
    spike = [Pick(f"spike{i}", s.network, s.station, "00", "HHZ", "P", T0 + 40.0, 0.05, 50.0, 1e6)
             for i, s in enumerate(list(sz.values())[:12:2])]
    events = associate(ev + noise + spike, sz, model, ACFG, LCFG)
    assert len(events) == 1
    check_event(events[0], ev, 22.70, 114.05)


def test_noise_only_gives_nothing(sz, model) -> None:  # type: ignore[no-untyped-def]
    for seed in (4, 5):
        assert associate(spurious(sz, 40, np.random.default_rng(seed)), sz, model, ACFG,
                         LCFG) == []


def test_below_min_stations(sz, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(sz, model, 22.66, 114.18, 9.0)
    three = [p for p in picks if p.station in ("FUTN", "LUOH", "BUJI")]
    assert associate(three, sz, model, ACFG, LCFG) == []
    five = [p for p in picks if p.station in ("FUTN", "LUOH", "BUJI", "YANT", "LHUA")]
    assert len(associate(five, sz, model, ACFG, LCFG)) == 1
    strict = AssociateConfig(min_stations=6)
    assert associate(five, sz, model, strict, LCFG) == []


def test_small_event_near_stations_only(sz, model) -> None:  # type: ignore[no-untyped-def]
    """A small event picked only at the 6 nearest stations is still an event."""
    lat, lon = 22.70, 114.30
    near = sorted(sz, key=lambda k: float(distance_km(lat, lon, sz[k].latitude,
                                                      sz[k].longitude)))[:6]
    picks = synth_picks({k: sz[k] for k in near}, model, lat, lon, 6.0,
                        noise=0.05, rng=np.random.default_rng(6))
    events = associate(picks, sz, model, ACFG, LCFG)
    assert len(events) == 1
    check_event(events[0], picks, lat, lon)


def test_p_only_picks(sz, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(sz, model, 22.55, 114.40, 14.0, phases="P", noise=0.05,
                        rng=np.random.default_rng(7))
    events = associate(picks, sz, model, ACFG, LCFG)
    assert len(events) == 1
    check_event(events[0], picks, 22.55, 114.40)


def test_offshore_daya_bay(sz, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(sz, model, 22.45, 114.70, 10.0, noise=0.05, rng=np.random.default_rng(8))
    events = associate(picks, sz, model, ACFG, LCFG)
    assert len(events) == 1
    check_event(events[0], picks, 22.45, 114.70)
    assert events[0].origin.outside_network


def test_far_event(sz, model) -> None:  # type: ignore[no-untyped-def]
    """Manila Trench, ~740 km: one event, flagged outside the network; P+S fix the distance."""
    rng = np.random.default_rng(9)
    p_only = synth_picks(sz, model, 18.0, 119.3, 20.0, t0=T0 - 80, phases="P", noise=0.05,
                         rng=rng)
    events = associate(p_only, sz, model, ACFG, LCFG)
    assert len(events) == 1 and events[0].origin.outside_network
    assert {p.id for p in events[0].picks} == {p.id for p in p_only}
    both = synth_picks(sz, model, 18.0, 119.3, 20.0, t0=T0 - 80, noise=0.1, rng=rng)
    events = associate(both, sz, model, ACFG, LCFG)
    assert len(events) == 1  # P and S in one event, not two plane waves
    check_event(events[0], both, 18.0, 119.3, tol_km=25.0)


def test_relabel_p_as_s(sz, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(sz, model, 22.62, 114.10, 8.0)
    victim = next(p for p in picks if p.station == "LHUA" and p.phase == "S")
    wrong = Pick(Pick.make_id(victim.seed_id, "P", victim.time), victim.network, victim.station,
                 victim.location, victim.channel, "P", victim.time, 0.05, 10.0, 1.0)
    picks = [p for p in picks if p is not victim] + [wrong]
    plain = associate(picks, sz, model, AssociateConfig(relabel_phases=False), LCFG)
    assert len(plain) == 1 and wrong.id not in {p.id for p in plain[0].picks}
    assert plain[0].origin.n_phases == 39
    relabel = associate(picks, sz, model, AssociateConfig(relabel_phases=True), LCFG)
    assert len(relabel) == 1 and relabel[0].origin.n_phases == 40
    s = [p for p in relabel[0].picks if p.station == "LHUA" and p.phase == "S"]
    assert len(s) == 1 and s[0].time == victim.time


def test_relabel_s_as_p(sz, model) -> None:  # type: ignore[no-untyped-def]
    """A first arrival labelled S by its polarisation fits the event as P: it becomes the
    station's P (the arrival's fit to the event)."""
    picks = synth_picks(sz, model, 22.62, 114.10, 8.0)
    victim = next(p for p in picks if p.station == "LHUA" and p.phase == "P")
    wrong = Pick(Pick.make_id(victim.seed_id, "S", victim.time), victim.network, victim.station,
                 victim.location, victim.channel, "S", victim.time, 0.05, 10.0, 1.0)
    picks = [p for p in picks if p is not victim] + [wrong]
    ev = associate(picks, sz, model, ACFG, LCFG)
    assert len(ev) == 1 and ev[0].origin.n_phases == 40
    p = [q for q in ev[0].picks if q.station == "LHUA" and q.phase == "P"]
    assert len(p) == 1 and p[0].time == victim.time


def test_synthetic_network_two_events(model) -> None:  # type: ignore[no-untyped-def]
    net = ring_network(30.0, 103.0, 20.0, 8)
    rng = np.random.default_rng(10)
    a = synth_picks(net, model, 30.08, 103.05, 6.0, t0=T0, noise=0.05, rng=rng)
    b = synth_picks(net, model, 29.92, 102.93, 12.0, t0=T0 + 3.0, noise=0.05, rng=rng)
    events = associate(a + b + spurious(net, 8, rng), net, model, ACFG, LCFG)
    assert len(events) == 2
    check_event(events[0], a, 30.08, 103.05)
    check_event(events[1], b, 29.92, 102.93)


def test_unknown_stations_ignored_and_grid_cached(sz, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(sz, model, 22.66, 114.18, 9.0)
    ghost = Pick("ghost", "GH", "OST", "00", "HHZ", "P", T0 + 1.0, 0.05, 10.0, 1.0)
    events = associate([*picks, ghost], sz, model, ACFG, LCFG)
    assert len(events) == 1 and "ghost" not in {p.id for p in events[0].picks}
    assert stack_grid(sz, model, ACFG) is stack_grid(dict(sz), model, ACFG)
    assert associate([], sz, model, ACFG, LCFG) == []


def test_remove_glitches(sz) -> None:  # type: ignore[no-untyped-def]
    st = list(sz.values())

    def pk(i: int, dt: float) -> Pick:
        s = st[i]
        return Pick(f"g{i}", s.network, s.station, "00", "HHZ", "P", T0 + dt, 0.05, 9.0, 1.0)

    burst = [pk(i, 10.0 + 0.004 * i) for i in range(5)]  # 5 stations within 16 ms
    three = [pk(i, 30.0) for i in range(5, 8)]  # 3 stations: may be a real circumcentre event
    spread = [pk(i, 40.0 + 0.5 * i) for i in range(8, 14)]
    kept = remove_glitches(burst + three + spread, ACFG)
    assert {p.id for p in kept} == {p.id for p in three + spread}
    off = AssociateConfig(glitch_min_stations=0)
    assert len(remove_glitches(burst, off)) == 5


def test_glitches_against_the_onset_rate_of_a_dense_network() -> None:
    """A dense network's wavefronts give tens of onsets a second: 4 of them within 20 ms
    happen by chance and are kept; a 12-station burst at the same rate is still a
    glitch."""
    rng = np.random.default_rng(3)

    def pk(k: int, t: float) -> Pick:
        return Pick(f"d{k}", "PV", f"S{k:03d}", "00", "HNZ", "P", T0 + t, 0.05, 9.0, 1.0)

    # 30 onsets/s over 4 s at distinct stations, and 4 of them within 12 ms at 2 s
    wave = [pk(k, float(t)) for k, t in enumerate(np.sort(rng.uniform(0.0, 4.0, 120)))
            if abs(t - 2.0) > 0.03]
    chance = [pk(200 + k, 2.0 + 0.004 * k) for k in range(4)]
    kept = remove_glitches(wave + chance, ACFG)
    assert {p.id for p in kept} == {p.id for p in wave + chance}
    burst = [pk(300 + k, 3.0 + 0.001 * k) for k in range(12)]
    kept = remove_glitches(wave + burst, ACFG)
    assert {p.id for p in burst} - {p.id for p in kept} == {p.id for p in burst}
    assert len(kept) >= len(wave) - 2  # at most the onsets that fell inside the burst


def test_tolerance_grows_with_travel_time() -> None:
    tol = tolerance_s(ACFG, np.array([0.0, 10.0, 100.0]))
    np.testing.assert_allclose(tol, [ACFG.residual_floor_s, ACFG.residual_floor_s + 0.5,
                                     ACFG.max_residual_s])


def test_regional_sg_is_associated_as_sg(sz, model) -> None:  # type: ignore[no-untyped-def]
    """~300 km away the S picked on horizontals is Sg, seconds after the first-arrival Sn:
    each pick is associated with the phase that fits, and the arrival is named so."""
    from seismo.geo import destination

    lat, lon = destination(22.64, 114.18, 60.0, 300.0)
    ps = synth_picks(sz, model, lat, lon, 10.0, phases=("P",), t0=T0 - 60)
    sg = []
    for sid, s in sz.items():
        d = float(distance_km(lat, lon, s.latitude, s.longitude))
        t = T0 - 60 + float(model.travel_time("Sg", d, 10.0)) + s.elevation_m / 1000.0 / (
            model.velocity_at(0.0, "S"))
        sg.append(Pick(Pick.make_id(f"{sid}.00.HHN", "S", t), s.network, s.station, "00", "HHN",
                       "S", t, 0.1, 10.0, 1.0))
    assert float(sg[0].time) - float(T0 - 60) > 0  # sanity
    events = associate(ps + sg, sz, model, ACFG, LCFG)
    assert len(events) == 1
    phases = {a.phase for a in events[0].origin.arrivals}
    assert "Sg" in phases and phases <= {"Pg", "Pn", "Sg", "Sn"}
    assert sum(a.phase == "Sg" for a in events[0].origin.arrivals) >= 15
    assert float(distance_km(events[0].latitude, events[0].longitude, lat, lon)) < 30.0


def test_small_networks_adapt(model) -> None:  # type: ignore[no-untyped-def]
    """Three 3-C stations still locate (6 phases); four vertical-only stations with P only
    too; the thresholds never exceed what the live stations can give."""
    from seismo.event.associate import adapt_to_network
    from seismo.inventory import ChannelInfo

    def net(n: int, vertical_only: bool) -> dict[str, StationInfo]:
        ring = ring_network(30.0, 103.0, 15.0, n - 1)
        out = {}
        for sid, s in ring.items():
            comps = [("HHZ", -90.0)] + ([] if vertical_only else [("HHN", 0.0), ("HHE", 0.0)])
            chans = tuple(
                ChannelInfo(s.network, s.station, "00", c, s.latitude, s.longitude,
                            s.elevation_m, 0.0, 0.0, dip, 100.0, "velocity", 1.0)
                for c, dip in comps
            )
            out[sid] = StationInfo(s.network, s.station, s.latitude, s.longitude,
                                   s.elevation_m, s.site_name, chans)
        return out

    three = net(3, vertical_only=False)
    cfg3 = adapt_to_network(ACFG, three)
    assert (cfg3.min_stations, cfg3.min_phases) == (3, 6)
    picks = synth_picks(three, model, 30.03, 103.02, 8.0)
    assert len(associate(picks, three, model, ACFG, LCFG)) == 1
    four_z = net(4, vertical_only=True)
    cfg4 = adapt_to_network(ACFG, four_z)
    assert (cfg4.min_stations, cfg4.min_phases) == (4, 4)
    picks = synth_picks(four_z, model, 30.03, 103.02, 8.0, phases=("P",))
    assert len(associate(picks, four_z, model, ACFG, LCFG)) == 1
    # the shipped network is left alone
    assert adapt_to_network(ACFG, net(20, vertical_only=False)) is ACFG


def test_grid_and_stack_in_blocks_equal_the_whole(sz, model, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The grid's travel times, the stack and the locator's grid search are built in
    blocks of nodes (locate.node_blocks), so that a 500-station network's temporaries
    stay small: blocks of 7 elements give exactly what one block gives, and the
    associator finds the same event."""
    from seismo.event import gridstack, locate

    rng = np.random.default_rng(5)
    picks = synth_picks(sz, model, 22.66, 114.18, 9.0, t0=T0 + 10, noise=0.05, rng=rng)
    picks += spurious(sz, 15, rng)
    out = {}
    for block in (10**12, 7):
        monkeypatch.setattr(locate, "BLOCK_ELEMENTS", block)
        gridstack._grid.cache_clear()
        st = gridstack._Stack.build(picks, sz, model, ACFG, LCFG)
        sp, score = st.stack(np.arange(len(picks)))
        node = int(np.argmax(score.max(axis=1)))
        seed = st.seed(node, int(np.argmax(score[node])), sp)
        events = associate(picks, sz, model, ACFG, LCFG)
        out[block] = (st.grid.tt, score, seed, [(e.time, e.latitude, e.longitude, e.depth_km)
                                                for e in events])
    gridstack._grid.cache_clear()
    (tt_a, sc_a, seed_a, ev_a), (tt_b, sc_b, seed_b, ev_b) = out.values()
    assert np.array_equal(tt_a, tt_b) and np.array_equal(sc_a, sc_b)
    assert seed_a == seed_b and len(seed_a) >= ACFG.min_phases
    assert ev_a == ev_b and len(ev_a) == 1
