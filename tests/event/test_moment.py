"""P-wave magnitudes (Mwp, Mwpd, Mpd) and the Ms_BB rules, on per-second series built from
the physics they invert, for stations from half a degree to eight degrees.

The series are what the station stage sends (``dz_nm``: the mean displacement of each
second, through the station's 0.005 Hz two-pole high-pass; ``hf_z_nms``: the 1-5 Hz
envelope; ``pd_z_nm``; ``lp_z_nms``), so the expected values are known: Tsuboi's integral
of the Brune P pulse, Wu & Zhao's Pd, the IASPEI Ms_BB.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.signal
from obspy import UTCDateTime
from obspy.geodetics import kilometers2degrees

from seismo.event.arrivals import EventRecords
from seismo.event.magnitude import LocalMagnitude
from seismo.event.magtype import Motions
from seismo.event.measure import EventMeasurer, apply_magnitudes, magnitude_types
from seismo.event.moment import DurationMomentMagnitude, PMomentMagnitude, integral_for_mw
from seismo.event.pwave import PWaveMagnitude, pd_for_magnitude
from seismo.event.pwindow import stitch
from seismo.event.settings import IntensityConfig, MagnitudeConfig
from seismo.event.surface import SurfaceMagnitude, hold_surface_magnitude, vmax_for_ms_bb
from seismo.geo import destination, distance_km, hypocentral_km
from seismo.inventory import StationInfo
from seismo.model import AmplitudeSeries, Event, Magnitude, Pick
from seismo.station.series import LONG_PERIOD_HIGHPASS_HZ

ORIGIN = UTCDateTime(2026, 5, 1, 0, 10, 0)
VP, VS = 6.3, 3.64  # km/s, a homogeneous crust for the travel times
DEPTH = 15.0
CFG = MagnitudeConfig()
LAT0, LON0 = 22.0, 116.0


def p_time(epi: float, depth: float) -> float:
    return math.hypot(epi, depth) / VP


def s_time(epi: float, depth: float) -> float:
    return math.hypot(epi, depth) / VS


def _ring(delta_deg: float, n: int = 8) -> dict[str, StationInfo]:
    km = delta_deg * 111.195
    out = {}
    for k in range(n):
        lat, lon = destination(LAT0, LON0, 360.0 * k / n + 7.0, km)
        out[f"XX.S{k:02d}"] = StationInfo("XX", f"S{k:02d}", float(lat), float(lon), 0.0,
                                          "", ())
    return out


def _series(info: StationInfo, mw: float, *, start: UTCDateTime, n: int, rng: np.random.Generator,
            noise_nm: float = 2.0, duration_s: float | None = None, clip_at: int | None = None,
            lp_nms: float | None = None, pd_m: float | None = None, depth: float = DEPTH,
            echo: tuple[float, float] | None = None) -> AmplitudeSeries:
    """One station: a Brune P displacement pulse whose integral is Mw's (Tsuboi), through
    the 0.005 Hz high-pass, as per-second means; an envelope lasting the rupture; Pd.
    ``echo`` = (delay s, level): a depth phase, that much later, ``level`` x the P pulse,
    with its own high-frequency envelope."""
    epi = float(distance_km(LAT0, LON0, info.latitude, info.longitude))
    hypo = float(hypocentral_km(epi, depth))
    tp = ORIGIN + p_time(epi, depth)
    fs = 20.0
    t = np.arange(n * int(fs)) / fs
    level_nm_s = integral_for_mw(mw, hypo, depth, CFG.mwp_moho_km) * 1e9
    dur = duration_s if duration_s is not None else 10 ** (0.5 * mw - 2.6)  # ~1/fc
    wc = 2.0 / dur
    tt = np.clip(t - float(tp - start), 0.0, None)
    u = level_nm_s * wc**2 * tt * np.exp(-wc * tt) + noise_nm * rng.standard_normal(t.size)
    if echo is not None:
        te = np.clip(t - float(tp - start) - echo[0], 0.0, None)
        u += echo[1] * level_nm_s * wc**2 * te * np.exp(-wc * te)
    sos = scipy.signal.butter(2, LONG_PERIOD_HIGHPASS_HZ, "highpass", fs=fs, output="sos")
    u = scipy.signal.sosfilt(sos, u) + 1234.0  # the station's offset is arbitrary
    dz = u.reshape(n, int(fs)).mean(axis=1)
    sec = np.arange(n) - float(tp - start)
    hf = np.where((sec >= -1) & (sec < dur), 1e4, 1e4 * np.exp(-np.clip(sec - dur, 0, None) / 2))
    hf = np.where(sec < -1, 10.0, hf)
    if echo is not None:
        hf = np.where((sec >= echo[0] - 1) & (sec < echo[0] + dur), 1e4, hf)
    pd = np.full(n, 1.0)
    if pd_m is not None:
        pd[(sec >= -1) & (sec < 3)] = pd_m * 1e9
    lp = np.full(n, np.nan if lp_nms is None else lp_nms * 1e-3)
    if lp_nms is not None:
        k = int(float(ORIGIN - start) + epi / 3.3)
        if 0 <= k < n:
            lp[k] = lp_nms
    clipped = () if clip_at is None else tuple(range(clip_at, clip_at + 3))
    return AmplitudeSeries("XX", info.station, start, 1.0, pga_ms2=tuple(np.full(n, 1e-3)),
                           dz_nm=tuple(dz), hf_z_nms=tuple(hf), pd_z_nm=tuple(pd),
                           lp_z_nms=tuple(lp), clipped=clipped)


def _motions(stations, series, event: Event | None = None, windows=None, depth: float = DEPTH,
             pp_delay=None) -> Motions:
    rec = EventRecords(ORIGIN, LAT0, LON0, depth, series, stations, p_time, s_time,
                       pp_delay_fn=pp_delay)
    return Motions(rec, windows, event=event)


def _network(delta: float, mw: float, **kw) -> tuple[dict, dict]:
    st = _ring(delta)
    rng = np.random.default_rng(int(delta * 100 + mw * 10))
    start = ORIGIN - 40.0
    n = int(s_time(delta * 111.2, DEPTH)) + 80
    return st, {sid: _series(info, mw, start=start, n=n, rng=rng, **kw)
                for sid, info in st.items()}


@pytest.mark.parametrize(("delta", "mw"), [(0.5, 5.5), (3.0, 5.5), (3.0, 6.5), (3.0, 7.3),
                                           (8.0, 6.5), (8.0, 7.3)])
def test_mwp_recovers_mw_from_the_p_displacement(delta: float, mw: float) -> None:
    """Within 0.1 wherever the P window before S holds the rupture (at half a degree it
    holds ~5 s: an M 5.5, not an M 6.5, see the lower-bound test)."""
    st, ser = _network(delta, mw)
    got = PMomentMagnitude(CFG).measure(_motions(st, ser))
    assert got.magnitude is not None
    assert got.magnitude.value == pytest.approx(mw, abs=0.1)
    assert got.magnitude.n_stations == len(st) and got.magnitude.type == "Mwp"
    assert got.magnitude.duration_s is not None
    d = DurationMomentMagnitude(CFG).measure(_motions(st, ser))
    assert d.magnitude is not None and d.magnitude.value == pytest.approx(mw, abs=0.15)


def test_the_station_high_pass_is_undone() -> None:
    """Without undoing the 0.005 Hz high-pass an Mw 7.3 (about 17 s of rupture) read
    0.1 low; the window-long inverse restores it."""
    st, ser = _network(3.0, 7.3)
    got = PMomentMagnitude(CFG).measure(_motions(st, ser)).magnitude
    assert got is not None and abs(got.value - 7.3) < 0.05


def test_a_deep_source_is_read_before_its_pp() -> None:
    """An Mw 6.0 120 km deep at 3 deg: its sP, 26 s after P and three times the P pulse
    (S radiation converted at the free surface), lies in the P window before S (41 s) and
    was read as moment (Mwp and Mwpd 0.3-0.6 high). The window that ends before the pP
    (Tsuboi et al. 1999) reads the P alone."""
    depth, mw = 120.0, 6.0
    st = _ring(3.0)
    rng = np.random.default_rng(7)
    start = ORIGIN - 40.0
    n = int(s_time(3.0 * 111.2, depth)) + 80
    ser = {sid: _series(info, mw, start=start, n=n, rng=rng, depth=depth, echo=(26.0, 3.0))
           for sid, info in st.items()}

    def pp_delay(epi: float, z: float) -> float:  # 2 z cos(i) / Vp, the homogeneous model
        return 2.0 * z * z / (math.hypot(epi, z) * VP)

    assert pp_delay(3.0 * 111.2, depth) == pytest.approx(12.9, abs=0.2)
    for t in (PMomentMagnitude(CFG), DurationMomentMagnitude(CFG)):
        high = t.measure(_motions(st, ser, depth=depth)).magnitude
        assert high is not None and high.value > mw + 0.25
        got = t.measure(_motions(st, ser, depth=depth, pp_delay=pp_delay)).magnitude
        assert got is not None and got.value == pytest.approx(mw, abs=0.15)


def test_a_rupture_longer_than_the_p_window_gives_lower_bounds() -> None:
    """At half a degree the P window before S is ~7 s: a 40 s rupture (a great or slow
    event) is read as a lower bound, never as a plain small magnitude."""
    st, ser = _network(0.5, 7.3, duration_s=40.0)
    for t in (PMomentMagnitude(CFG), DurationMomentMagnitude(CFG)):
        m = t.measure(_motions(st, ser)).magnitude
        assert m is not None and m.lower_bound


def test_clipped_noisy_and_lonely_stations_give_nothing() -> None:
    st, ser = _network(3.0, 6.5)
    tp = int(p_time(3.0 * 111.2, DEPTH)) + 40
    clipped = {k: dataclasses.replace(v, clipped=tuple(range(tp, tp + 3))) for k, v in ser.items()}
    assert PMomentMagnitude(CFG).measure(_motions(st, clipped)).magnitude is None
    # a few stations clipped: the others decide
    some = dict(ser)
    for k in list(some)[:3]:
        some[k] = clipped[k]
    m = PMomentMagnitude(CFG).measure(_motions(st, some)).magnitude
    assert m is not None and m.n_stations == len(st) - 3
    # noise only: nothing
    st2, quiet = _network(3.0, 2.0, noise_nm=50.0)
    assert PMomentMagnitude(CFG).measure(_motions(st2, quiet)).magnitude is None
    # above the noise at fewer than half the stations (a local event in a great one's
    # wave train): nothing
    mixed = {k: (ser[k] if i < 3 else quiet[k]) for i, k in enumerate(ser)}
    assert PMomentMagnitude(CFG).measure(_motions(st, mixed)).magnitude is None


def test_windows_are_stitched_and_waited_for() -> None:
    """Two overlapping windows of the window path (each filter restarted, a different
    displacement offset) give the value of one long series; data ending inside a P
    window makes the measurement wait."""
    st, ser = _network(8.0, 6.5)
    one = PMomentMagnitude(CFG).measure(_motions(st, ser)).magnitude
    assert one is not None
    split = {}
    for sid, s in ser.items():
        a = dataclasses.replace(s, dz_nm=s.dz_nm[:150], hf_z_nms=s.hf_z_nms[:150],
                                pd_z_nm=s.pd_z_nm[:150], lp_z_nms=s.lp_z_nms[:150],
                                pga_ms2=s.pga_ms2[:150])
        b = dataclasses.replace(s, start=s.start + 100, dz_nm=tuple(
            np.asarray(s.dz_nm[100:]) + 777.0), hf_z_nms=s.hf_z_nms[100:],
            pd_z_nm=s.pd_z_nm[100:], lp_z_nms=s.lp_z_nms[100:], pga_ms2=s.pga_ms2[100:])
        split[sid] = [a, b]
    both = PMomentMagnitude(CFG).measure(_motions(st, {}, windows=split)).magnitude
    assert both is not None and both.value == pytest.approx(one.value, abs=0.05)
    early = PMomentMagnitude(CFG).measure(
        _motions(st, {}, windows={k: [v[0]] for k, v in split.items()}))
    assert early.magnitude is None and early.waiting
    vals, _ = stitch(split["XX.S00"], "dz_nm", split["XX.S00"][0].start + 95, 10)
    assert np.all(np.isfinite(vals))


def test_mwp_is_awaited_for_possibly_large_events_only() -> None:
    st = _ring(3.0)
    ev = Event("e", ORIGIN, LAT0, LON0, DEPTH, 0.5, 200.0, 8, 8, 5.0, 5.0, True,
               magnitude=6.0)
    t = PMomentMagnitude(CFG)
    assert t.awaits(ev, st)
    small = dataclasses.replace(ev, magnitude=2.5, outside_network=False)
    assert not t.awaits(small, st)
    done = dataclasses.replace(ev, magnitudes=(Magnitude("Mwp", 6.3, 0.1, 8),))
    assert not t.awaits(done, st)


@pytest.mark.parametrize("mw", [3.5, 5.0, 6.0])
def test_mpd_follows_wu_and_zhao(mw: float) -> None:
    """Pd of the first 3 s (Wu & Zhao 2006) at 20-60 km gives back M."""
    rng = np.random.default_rng(3)
    st = _ring(0.3)
    ser = {}
    for sid, info in st.items():
        epi = float(distance_km(LAT0, LON0, info.latitude, info.longitude))
        pd_m = pd_for_magnitude(mw, float(hypocentral_km(epi, DEPTH))) / 100.0
        ser[sid] = _series(info, mw, start=ORIGIN - 20, n=60, rng=rng, pd_m=pd_m)
    m = PWaveMagnitude(CFG).measure(_motions(st, ser)).magnitude
    assert m is not None and m.type == "Mpd" and m.value == pytest.approx(mw, abs=0.05)


def test_mpd_is_preferred_only_until_a_complete_ml() -> None:
    types = magnitude_types(CFG)
    ev = Event("e", ORIGIN, LAT0, LON0, DEPTH, 0.5, 90.0, 8, 8, 1.0, 1.0, False)
    mpd = Magnitude("Mpd", 4.1, 0.3, 5)
    first = apply_magnitudes(ev, [mpd], types)
    assert first.magnitude_type == "Mpd" and first.magnitude == 4.1  # no headline without M
    p_only = apply_magnitudes(ev, [Magnitude("ML", 3.8, None, 4, lower_bound=True), mpd], types)
    assert p_only.magnitude_type == "Mpd"
    later = apply_magnitudes(ev, [Magnitude("ML", 4.4, 0.2, 8), mpd], types)
    assert later.magnitude_type == "ML"  # superseded by ML once S is in


def test_ms_bb_needs_two_degrees_at_90_percent() -> None:
    """Delta >= 2 degrees must hold at 90 % confidence: stations at 2.2 degrees count for
    a well-located event, not for one whose 90 % ellipse reaches 50 km nearer."""
    st = _ring(2.2)
    ser = {}
    for sid, info in st.items():
        epi = float(distance_km(LAT0, LON0, info.latitude, info.longitude))
        v = vmax_for_ms_bb(6.0, float(kilometers2degrees(epi)))
        ser[sid] = _series(info, 5.0, start=ORIGIN - 30, n=260, rng=np.random.default_rng(1),
                           lp_nms=v)
    ev = Event("e", ORIGIN, LAT0, LON0, DEPTH, 0.5, 200.0, 8, 8, 3.0, 5.0, True,
               ellipse_90_major_km=5.0)
    t = SurfaceMagnitude(CFG)
    good = t.measure(_motions(st, ser, ev)).magnitude
    assert good is not None and good.value == pytest.approx(6.0, abs=0.02)
    wide = dataclasses.replace(ev, ellipse_90_major_km=50.0)
    assert t.measure(_motions(st, ser, wide)).magnitude is None
    assert not t.awaits(wide, st)
    # clipped in the surface-wave window: left out
    k = int(30 + 2.2 * 111.2 / 3.3)
    clip = {s: dataclasses.replace(x, clipped=(k,)) for s, x in ser.items()}
    assert t.measure(_motions(st, clip, ev)).magnitude is None
    # another event's picks in the window: left out, unless it is known to be much smaller
    pk = [Pick(f"{s}.P", "XX", st[s].station, "", "HHZ", "P", ORIGIN + k - 30 + 5, 0.1, 5.0, 1.0)
          for s in st]
    other = Event("o", ORIGIN + 60, LAT0 + 2, LON0, 10.0, 0.2, 90.0, 8, 8, 1.0, 1.0, False,
                  picks=tuple(pk))
    motions = Motions(EventRecords(ORIGIN, LAT0, LON0, DEPTH, ser, st, p_time, s_time),
                      event=dataclasses.replace(ev, magnitude=6.2), others=(other,))
    assert t.measure(motions).magnitude is None
    small = dataclasses.replace(other, magnitude=2.5)
    motions = dataclasses.replace(motions, others=(small,))
    assert t.measure(motions).magnitude is not None


def test_ms_bb_that_contradicts_the_ml_is_held_for_review() -> None:
    """Issue 22: noise read as Ms_BB 5.8 beside an ML 1.6 is held, not published, unless a
    P-wave moment magnitude confirms it; a saturating ML holds nothing."""
    ml, ms = Magnitude("ML", 1.6, 0.2, 5), Magnitude("Ms_BB", 5.8, 0.1, 3)
    held = hold_surface_magnitude([ml, ms], CFG)
    assert held[1].held and not held[1].published
    ev = Event("e", ORIGIN, LAT0, LON0, DEPTH, 0.5, 90.0, 8, 8, 1.0, 1.0, False)
    pref = apply_magnitudes(ev, held, magnitude_types(CFG))
    assert pref.magnitude_type == "ML" and pref.magnitude == 1.6
    confirmed = hold_surface_magnitude([ml, ms, Magnitude("Mwp", 5.6, 0.1, 6)], CFG)
    assert not confirmed[1].held
    big = hold_surface_magnitude([Magnitude("ML", 5.9, 0.2, 9), Magnitude("Ms_BB", 7.3)], CFG)
    assert not big[1].held
    # the same for a P-wave moment magnitude: a local ML 3.9 inside a great event's surface
    # waves read "Mwp 6.1" (coastal16); Ms_BB, independent data, would confirm it
    p_read = hold_surface_magnitude([Magnitude("ML", 3.9, 0.2, 16), Magnitude("Mwp", 6.1),
                                     Magnitude("Mwpd", 6.0)], CFG)
    assert p_read[1].held and p_read[2].held
    ok = hold_surface_magnitude([Magnitude("ML", 3.9), Magnitude("Mwp", 6.1),
                                 Magnitude("Ms_BB", 6.0)], CFG)
    assert not ok[1].held and not ok[2].held


def test_every_path_measures_the_new_types() -> None:
    """The measurement stage lists them, so the window, chunk, stream and DAG paths all do."""
    names = [t.name for t in magnitude_types(CFG)]
    assert names == ["ML", "Mpd", "Mwp", "Ms_BB", "Mwpd"]
    st, ser = _network(3.0, 6.8)
    m = EventMeasurer(st, p_time, s_time, [], CFG, IntensityConfig(),
                      types=[LocalMagnitude(CFG), PMomentMagnitude(CFG)])
    ev = Event("e", ORIGIN, LAT0, LON0, DEPTH, 0.5, 200.0, 8, 8, 3.0, 5.0, True)
    got = m.measure(ev, ser).event
    assert got.magnitude_type == "Mwp" and got.magnitude == pytest.approx(6.8, abs=0.1)
