"""The simulator's physics: TauP times, fixed station terms, Brune saturation, Mwp, dispersion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from obspy import UTCDateTime
from scipy.fft import irfft, rfft, rfftfreq

from seismo.simulate import Scenario, ScenarioEvent, Simulator
from seismo.simulate.earth import load_earth_model
from seismo.simulate.physics import (
    FREE_SURFACE,
    RADIATION_P,
    group_velocity,
    moment_nm,
)

REF = UTCDateTime("2026-06-01T00:00:00")
#: Wood-Anderson poles (rad/s), gain 1 (IASPEI; T0 = 0.8 s, h = 0.7).
WA_POLES = (-5.49779 + 5.60886j, -5.49779 - 5.60886j)


def _sim(settings, inventory, *events: ScenarioEvent) -> Simulator:  # type: ignore[no-untyped-def]
    return Simulator.from_settings(settings.simulator, settings.network,
                                   Scenario("t", REF, events=events), inventory=inventory)


def _wa_ml(sim: Simulator, sid: str, t_end_after_s: float) -> float:
    """IASPEI ML from the noise-free horizontals, WA-filtered, up to ``t_end_after_s`` after S."""
    truth = sim.truth(peaks=False)[0]
    tp, ts = truth.arrivals[sid]
    m = sim.motion(0, sid, 100.0)
    n = m.zne.shape[1]
    f = rfftfreq(n, 0.01)
    s = 2j * np.pi * f
    h = 1.0 / ((s - WA_POLES[0]) * (s - WA_POLES[1]))  # acceleration -> WA displacement
    wa = irfft(rfft(m.zne[1:], axis=1) * h, n, axis=1)
    stop = m.onset + int((ts - tp + t_end_after_s) * 100)
    amp = float(np.mean(np.abs(wa[:, :stop]).max(axis=1))) * 1e9
    r = truth.hypocentral_km[sid]
    return math.log10(amp) + 1.11 * math.log10(r) + 0.00189 * r - 2.09


def test_earth_model_is_not_the_locators(settings) -> None:  # type: ignore[no-untyped-def]
    """The shipped simulator crust over ak135 differs from the locator's model."""
    m = load_earth_model(settings.simulator.physics.earth_model)
    nd = m.nd_text()
    assert "mantle" in nd and "outer-core" in nd and "inner-core" in nd
    assert m.moho_km == 29.0 and m.at(5.0)[0] == 5.92 and m.at(100.0)[0] > 8.0
    assert m.key() == load_earth_model(settings.simulator.physics.earth_model).key()


def test_station_elevation_delays_the_arrivals(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    sim = _sim(settings, inventory, ScenarioEvent(REF + 10, 22.6, 114.1, 8.0, 3.0))
    a = sim.travel.first("P", 8.0, 0.2)
    high = sim.travel.elevation_delay_s("P", 1300.0, a.p_s_per_km)
    assert high == pytest.approx(1.3 * math.sqrt(1 / 5.92**2 - a.p_s_per_km**2), rel=1e-9)
    assert sim.travel.elevation_delay_s("P", 0.0, a.p_s_per_km) == 0.0


def test_statics_and_site_terms_fixed_per_station(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    one = _sim(settings, inventory, ScenarioEvent(REF + 10, 22.6, 114.1, 8.0, 3.0))
    two = _sim(settings, inventory, ScenarioEvent(REF + 99, 22.7, 114.3, 12.0, 2.0))
    terms = {sid: one.terms(sid) for sid in one.station_ids}
    assert terms == {sid: two.terms(sid) for sid in two.station_ids}  # any event, any run
    statics = [t.p_static_s for t in terms.values()]
    sites = [t.site_factor for t in terms.values()]
    assert len(set(statics)) == len(statics) and 0 < np.std(statics) < 0.2
    assert len(set(sites)) == len(sites)
    for t in terms.values():
        assert t.s_static_s == pytest.approx(t.p_static_s * 5.92 / 3.42)
    # two events: each arrival carries the same static of its station
    ev1, ev2 = one.scenario.events[0], two.scenario.events[0]
    sid = "SZ.GUAM"
    d1 = one._phase_times(ev1, sid)["P"][0] - one.travel.first("P", 8.0, _deg(one, ev1, sid)).time_s
    d2 = (
        two._phase_times(ev2, sid)["P"][0] - two.travel.first("P", 12.0, _deg(two, ev2, sid)).time_s
    )
    e1 = d1 - one.travel.elevation_delay_s(
        "P",
        one.station(sid).elevation_m,
        one.travel.first("P", 8.0, _deg(one, ev1, sid)).p_s_per_km,
    )
    e2 = d2 - two.travel.elevation_delay_s(
        "P",
        two.station(sid).elevation_m,
        two.travel.first("P", 12.0, _deg(two, ev2, sid)).p_s_per_km,
    )
    assert e1 == pytest.approx(terms[sid].p_static_s) and e2 == pytest.approx(e1)


def _deg(sim: Simulator, ev: ScenarioEvent, sid: str) -> float:
    from obspy.geodetics import locations2degrees

    s = sim.station(sid)
    return float(locations2degrees(ev.latitude, ev.longitude, s.latitude, s.longitude))


def test_brune_wood_anderson_ml_saturates(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    """ML read in the S window follows Mw for small events and saturates for great ones
    (no magnitude relation sets the level: Brune source, spreading, Q, duration)."""
    lat, lon = 23.5, 117.2  # Nan'ao, ~340 km from GUAM
    ml = {}
    for mw in (4.0, 5.0, 6.3, 7.3):
        sim = _sim(settings, inventory, ScenarioEvent(REF + 60, lat, lon, 15.0, mw))
        sim.physics = sim.physics.__class__(**{**sim.physics.__dict__, "surface_min_deg": 180.0})
        ml[mw] = _wa_ml(sim, "SZ.GUAM", 40.0)
    assert ml[7.3] < 7.3 - 0.3  # "saturated": an Mw 7.3 reads well below 7.3
    assert ml[5.0] - ml[4.0] > 0.8  # small events: ML tracks Mw
    assert ml[7.3] - ml[6.3] < 0.75  # great events: it no longer does
    assert abs(ml[5.0] - 5.0) < 0.5


def test_mwp_recoverable_from_the_p_displacement(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    """The time integral of the vertical P displacement is M0 R_P F cos(i) / (4 pi rho
    alpha^3 R) (Aki & Richards 2002 eq. 4.32; radiation averaged, times the record's own
    radiation factor): Tsuboi's Mwp recovers Mw within 0.15."""
    sim = _sim(settings, inventory, ScenarioEvent(REF + 60, 19.5, 119.8, 20.0, 7.5))
    for sid in ("SZ.GUAM", "SZ.XILI"):
        truth = sim.truth(peaks=False)[0]
        tp, ts = truth.arrivals[sid]
        m = sim.motion(0, sid, 100.0)
        n = m.zne.shape[1]
        f = rfftfreq(n, 0.01)
        spec = rfft(m.zne[0])
        vspec = np.zeros_like(spec)
        vspec[1:] = spec[1:] / (2j * np.pi * f[1:])
        v = irfft(vspec, n)
        v -= v[: m.onset].mean()
        d = np.cumsum(v) / 100.0
        d -= d[: m.onset].mean()
        integ = np.cumsum(d) / 100.0
        seg = integ[m.onset : m.onset + int((ts - tp - 1.0) * 100)] - integ[m.onset]
        peak = seg[np.argmax(np.abs(seg))]
        # expected level from the physics (record radiation factor and polarity included)
        phases, _ = sim._phases(0, sim.scenario.events[0], sim.station(sid))
        p = phases[0]
        rec = sim._station_record(0, sim.scenario.events[0], sid)
        cos_i = math.sqrt(1 - (p.p_s_per_km * rec.vp0) ** 2)
        assert m.p_integral_z == pytest.approx(p.level * rec.p_polarity * rec.radiation_p * cos_i)
        vp, _, rho = sim.earth.at(20.0)
        r_m = truth.hypocentral_km[sid] * 1000.0
        level = (
            moment_nm(7.5)
            * RADIATION_P
            * FREE_SURFACE
            / (4 * math.pi * rho * 1e3 * (vp * 1e3) ** 3 * r_m)
        )
        assert p.level == pytest.approx(level, rel=1e-6)
        assert 0.7 < peak / m.p_integral_z < 1.4
        # Tsuboi et al. (1995): M0 = max|int u_z| 4 pi rho alpha^3 r / F_p, Mwp from M0
        m0 = abs(peak) / (rec.radiation_p * cos_i) * 4 * math.pi * rho * 1e3 * (vp * 1e3) ** 3 * r_m
        m0 /= RADIATION_P * FREE_SURFACE
        assert (math.log10(m0) - 9.05) / 1.5 == pytest.approx(7.5, abs=0.15)


def test_rayleigh_waves_are_dispersed(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    """Long periods arrive first (normal dispersion) at the group velocity of the curve."""
    sim = _sim(settings, inventory, ScenarioEvent(REF + 60, 19.5, 119.8, 20.0, 7.5))
    sid = "SZ.GUAM"
    truth = sim.truth(peaks=False)[0]
    m = sim.motion(0, sid, 100.0)
    n = m.zne.shape[1]
    f = rfftfreq(n, 0.01)
    spec = rfft(m.zne[0])
    arrivals = {}
    for period in (40.0, 12.0):
        band = np.exp(-0.5 * ((f - 1 / period) / (0.12 / period)) ** 2)
        x = np.abs(irfft(spec * band, n))
        k = int(np.argmax(x))
        arrivals[period] = (k - m.onset) / 100.0 + float(truth.arrivals[sid][0] - truth.origin)
    epi = truth.epicentral_km[sid]
    assert arrivals[40.0] < arrivals[12.0] - 20.0
    for period, t in arrivals.items():
        expect = epi / float(group_velocity(np.array([period]), sim.physics.dispersion)[0])
        assert t == pytest.approx(expect, rel=0.1), (period, t, expect)


def test_depth_phases_and_long_coda(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    """A 120 km deep event has sP (TauP); a great event's S coda stays above the
    noise at high frequency for minutes."""
    deep = _sim(settings, inventory, ScenarioEvent(REF + 60, 22.3, 121.1, 120.0, 6.0))
    times = deep._phase_times(deep.scenario.events[0], "SZ.GUAM")
    assert "sP" in times and times["sP"][0] - times["P"][0] > 20.0
    big = _sim(settings, inventory, ScenarioEvent(REF + 60, 20.4, 119.9, 20.0, 7.6))
    sid = "SZ.KUIC"  # rural
    truth = big.truth(peaks=False)[0]
    tp, ts = truth.arrivals[sid]
    st = big.waveforms("SZ", "KUIC", tp - 120, ts + 400, channel="HHZ")
    tr = st[0].copy()
    tr.data = tr.data.astype(float)
    tr.filter("bandpass", freqmin=2.0, freqmax=8.0)
    fs = tr.stats.sampling_rate
    noise = np.abs(tr.data[int(10 * fs) : int(100 * fs)]).max()
    k = int((ts + 180 - tr.stats.starttime) * fs)
    late = np.abs(tr.data[k : k + int(30 * fs)]).max()
    assert late > 3 * noise  # three minutes after S, 2-8 Hz coda still stands out


def test_deterministic_across_instances_and_windows(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    ev = ScenarioEvent(REF + 60, 22.6, 114.1, 8.0, 3.5)
    a = _sim(settings, inventory, ev).waveforms("SZ", "LUOH", REF + 50, REF + 110)
    b = _sim(settings, inventory, ev)
    b1 = b.waveforms("SZ", "LUOH", REF + 50, REF + 80)
    b2 = b.waveforms("SZ", "LUOH", REF + 80, REF + 110)
    for tr in a:
        parts = [x for x in (b1 + b2) if x.id == tr.id]
        np.testing.assert_array_equal(tr.data, np.concatenate([p.data for p in parts]))
