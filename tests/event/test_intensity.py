"""Instrumental and predicted intensity (seismo.event.intensity)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.event import attenuation as A
from seismo.event import intensity as I
from seismo.event.arrivals import EventRecords
from seismo.event.settings import IntensityConfig
from seismo.event.sites import Site
from seismo.geo import distance_km, hypocentral_km
from seismo.inventory import station_map
from seismo.model import AmplitudeSeries, StationIntensity

ORIGIN = UTCDateTime(2026, 3, 1, 12, 0, 10)
START = UTCDateTime(2026, 3, 1, 12, 0, 0)


def p_time(epi_km: float, depth_km: float) -> float:
    return math.hypot(epi_km, depth_km) / 6.0


def s_time(epi_km: float, depth_km: float) -> float:
    return math.hypot(epi_km, depth_km) / 3.5


# ---------------------------------------------------------------- GB/T 17742-2020
@pytest.mark.parametrize(
    ("pga", "pgv", "expected"), [(0.5, 0.05, 5.8), (1.0, 0.1, 6.8), (2.0, 0.2, 7.7)]
)
def test_intensity_cn_check_values(pga: float, pgv: float, expected: float) -> None:
    assert I.intensity_cn(pga, pgv) == expected


def test_intensity_cn_components_rule_and_clip() -> None:
    ia, iv = I.intensity_cn_components(1.0, 0.1)
    assert float(ia) == pytest.approx(6.59) and float(iv) == pytest.approx(6.77)
    # I_A >= 6 but I_V < 6: the AND rule averages (6.59 + 5.867) / 2 = 6.2.
    assert I.CN_COMBINATION == "and"
    assert I.intensity_cn(1.0, 0.05) == 6.2
    assert I.intensity_cn(1e-6, 1e-7) == 1.0
    assert I.intensity_cn(1e3, 1e2) == 12.0
    out = I.intensity_cn(np.array([0.5, 1.0]), np.array([0.05, 0.1]))
    assert out.tolist() == [5.8, 6.8]
    with pytest.raises(DataError, match="PGA"):
        I.intensity_cn(0.0, 0.1)


# ---------------------------------------------------------------- MMI
def test_worden2012_check_values() -> None:
    assert I.mmi_from_pga(0.1 * I.G) == pytest.approx(5.77, abs=0.005)
    assert I.mmi_from_pgv(0.10) == pytest.approx(6.05, abs=0.005)
    # Lower branch (log10 Y <= t1): PGA 10 cm/s² -> 1.78 + 1.55.
    assert I.mmi_from_pga(0.10) == pytest.approx(3.33)
    assert I.mmi_from_pgv(1e-7) == 1.0 and I.mmi_from_pga(1e4) == 10.0
    with pytest.raises(DataError, match="PGV"):
        I.mmi_from_pgv(-1.0)


def test_worden2012_combination() -> None:
    # Weak shaking: PGA-based; strong: PGV-based; between: a blend of the two.
    weak_a, weak_v = 0.05, 0.001
    assert I.mmi_worden2012(weak_a, weak_v) == round(I.mmi_from_pga(weak_a), 2)
    strong_a, strong_v = 5.0, 0.6
    assert I.mmi_worden2012(strong_a, strong_v) == round(I.mmi_from_pgv(strong_v), 2)
    mid_a, mid_v = 1.0, 0.2  # MMI_A ≈ 5.8
    ma, mv = I.mmi_from_pga(mid_a), I.mmi_from_pgv(mid_v)
    assert 5 < ma < 7
    assert min(ma, mv) < I.mmi_worden2012(mid_a, mid_v) < max(ma, mv)


# ---------------------------------------------------------------- prediction
def test_atkinson_wald_2007_values_and_trends() -> None:
    # Hand computation: M3, Rrup 10 km -> R = sqrt(100 + 196).
    r = math.sqrt(296.0)
    lr = math.log10(r)
    hand = 12.27 + 2.270 * -3 + 0.1304 * 9 - 1.30 * lr - 0.000707 * r - 0.577 * 3 * lr
    assert A.mmi_atkinson_wald_2007(3.0, 10.0) == pytest.approx(hand)
    # Beyond Rt = 30 km the B term applies.
    r = math.sqrt(100.0**2 + 196.0)
    lr = math.log10(r)
    hand = (
        12.27
        + 2.270 * -1
        + 0.1304 * 1
        - 1.30 * lr
        - 0.000707 * r
        + 1.95 * math.log10(r / 30)
        - 0.577 * 5 * lr
    )
    assert A.mmi_atkinson_wald_2007(5.0, 100.0) == pytest.approx(hand)
    d = np.array([5.0, 20.0, 50.0, 150.0])
    m5 = A.mmi_atkinson_wald_2007(5.0, d)
    assert np.all(np.diff(m5) < 0)
    assert np.all(A.mmi_atkinson_wald_2007(6.0, d) > m5)


def test_china_east_relation() -> None:
    # At R = 0 the long and short axes agree (the ellipse closes at the epicentre).
    long0 = A.intensity_china_east(3.0, 0.0, "long")
    short0 = A.intensity_china_east(3.0, 0.0, "short")
    assert long0 == pytest.approx(5.7123 + 1.3626 * 3 - 4.2903 * math.log10(25))
    assert short0 == pytest.approx(3.6588 + 1.3626 * 3 - 3.5406 * math.log10(13))
    assert long0 == pytest.approx(short0, abs=0.01)
    r = np.array([10.0, 50.0])
    assert np.all(A.intensity_china_east(5.0, r, "long") > A.intensity_china_east(5.0, r, "short"))
    mean = A.intensity_china_east(5.0, r, "mean")
    assert np.allclose(
        mean,
        (A.intensity_china_east(5.0, r, "long") + A.intensity_china_east(5.0, r, "short")) / 2,
    )


# ---------------------------------------------------------------- observed at stations
@pytest.fixture(scope="module")
def smap(inventory):
    return station_map(inventory)


def _series(info, pga: float, pgv: float, *, clipped: tuple[int, ...] = ()) -> AmplitudeSeries:
    n = 120
    a = np.full(n, pga * 1e-3)
    v = np.full(n, pgv * 1e-3)
    a[25], v[26] = pga, pgv
    return AmplitudeSeries(
        network=info.network,
        station=info.station,
        start=START,
        step_s=1.0,
        wa_n_nm=tuple(np.ones(n)),
        wa_e_nm=tuple(np.ones(n)),
        pga_ms2=tuple(a),
        pgv_ms=tuple(v),
        clipped=clipped,
    )


def test_station_intensities(smap) -> None:
    ids = sorted(smap)[:3]
    info = [smap[i] for i in ids]
    lat, lon = info[0].latitude, info[0].longitude + 0.05
    amps = {
        ids[0]: _series(info[0], 1.0, 0.1),
        ids[1]: _series(info[1], 0.5, 0.05),
        ids[2]: _series(info[2], 2.0, 0.2, clipped=(25,)),
    }
    cfg = IntensityConfig()
    obs = I.station_intensities(
        EventRecords(ORIGIN, lat, lon, 8.0, amps, smap, p_time, s_time), cfg
    )
    assert [o.station for o in obs] == [info[0].station, info[1].station]
    assert obs[0].intensity_cn == 6.8 and obs[1].intensity_cn == 5.8
    assert obs[0].pga_ms2 == 1.0 and obs[0].pgv_ms == 0.1
    assert obs[0].mmi == pytest.approx(I.mmi_worden2012(1.0, 0.1))
    expected_epi = float(distance_km(lat, lon, info[0].latitude, info[0].longitude))
    assert obs[0].epi_distance_km == pytest.approx(expected_epi, abs=1e-3)
    with_clipped = I.station_intensities(
        EventRecords(ORIGIN, lat, lon, 8.0, amps, smap, p_time, s_time), cfg,
        include_clipped=True,
    )
    assert len(with_clipped) == 3 and with_clipped[2].intensity_cn == 7.7
    # The window [P - 1 s, S + window_s] excludes a peak before the P wave.
    early = {ids[0]: _series(info[0], 1.0, 0.1)}
    late_origin = ORIGIN + 30.0
    late = I.station_intensities(
        EventRecords(late_origin, lat, lon, 8.0, early, smap, p_time, s_time), cfg
    )
    assert late[0].pga_ms2 == pytest.approx(1e-3)


# ---------------------------------------------------------------- sites, anchoring
def _observed_at(smap, lat, lon, depth, mag, cfg, delta: float) -> list[StationIntensity]:
    """Observations equal to the prediction plus ``delta`` at every station."""
    out = []
    for info in smap.values():
        epi = float(distance_km(lat, lon, info.latitude, info.longitude))
        hypo = float(hypocentral_km(epi, depth))
        cn, mmi = A.predict_intensity(
            cfg.relation, mag, np.array([epi]), np.array([hypo]), cfg.china_axis, "ML",
            cfg.macroseismic_region,
        )
        out.append(
            StationIntensity(
                network=info.network,
                station=info.station,
                latitude=info.latitude,
                longitude=info.longitude,
                pga_ms2=0.1,
                pgv_ms=0.01,
                intensity_cn=float(cn[0]) + delta,
                mmi=float(mmi[0]) + delta,
            )
        )
    return out


SITES = [
    Site(name="Near", kind="district", latitude=22.60, longitude=114.05),
    Site(name="Far", kind="nuclear_plant", latitude=22.60, longitude=114.55),
]


@pytest.mark.parametrize("region", ["moderate_strong", "eastern_strong"])
def test_macroseismic_prediction_anchored(smap, region: str) -> None:
    cfg = IntensityConfig(relation="yu2013", macroseismic_region=region)
    lat, lon, depth, mag = 22.62, 114.06, 8.0, 5.0
    plain = I.predict_sites(lat, lon, depth, mag, SITES, [], cfg)
    assert {s.basis for s in plain} == {"macroseismic"}
    assert plain[0].sigma_cn == A.YU2013_SIGMA[region]
    assert [s.name for s in plain] == ["Near", "Far"]
    assert plain[0].intensity_cn > plain[1].intensity_cn and plain[0].mmi > plain[1].mmi
    assert plain[0].distance_km < plain[1].distance_km
    up = I.predict_sites(
        lat, lon, depth, mag, SITES, _observed_at(smap, lat, lon, depth, mag, cfg, 0.8), cfg
    )
    for p, u in zip(plain, up, strict=True):
        assert u.intensity_cn == pytest.approx(p.intensity_cn + 0.8, abs=0.06)
        assert u.mmi == pytest.approx(p.mmi + 0.8, abs=0.006)
    # The shift is bounded by cfg.max_anchor_correction.
    big = I.predict_sites(
        lat, lon, depth, mag, SITES, _observed_at(smap, lat, lon, depth, mag, cfg, 4.0), cfg
    )
    assert big[0].mmi == pytest.approx(plain[0].mmi + cfg.max_anchor_correction, abs=0.006)


def test_predict_sites_needs_enough_observations(smap) -> None:
    cfg = IntensityConfig(relation="yu2013", min_anchor_stations=3)
    lat, lon, depth, mag = 22.62, 114.06, 8.0, 4.6
    obs = _observed_at(smap, lat, lon, depth, mag, cfg, 1.0)
    plain = I.predict_sites(lat, lon, depth, mag, SITES, [], cfg)
    two = I.predict_sites(lat, lon, depth, mag, SITES, obs[:2], cfg)
    assert two == plain
    # Observations at the scale floor ("not felt") are upper bounds: they pull the
    # predictions down (bounded), never up (issue 14: anchoring at the floor).
    floor = [dataclasses.replace(o, intensity_cn=1.0, mmi=1.0) for o in obs]
    low = I.predict_sites(lat, lon, depth, mag, SITES, floor, cfg)
    for p, f in zip(plain, low, strict=True):
        assert f.intensity_cn < p.intensity_cn and f.mmi < p.mmi
    with pytest.raises(DataError, match="magnitude"):
        I.predict_sites(lat, lon, depth, float("nan"), SITES, [], cfg)
    assert I.predict_sites(lat, lon, depth, mag, [], obs, cfg) == []


def test_anchor_when_every_observation_sits_at_the_floor() -> None:
    """Every station "not felt" while the relation predicts III-IV there: the shift makes
    the predictions at the stations not felt too (the min_n-th largest requirement), within
    the bound; a single floor station does not decide."""
    pred = [3.4, 2.9, 2.6, 2.2]
    shift = I.anchor_correction([1.0] * 4, pred, bound=5.0, min_n=2)
    assert max(p + shift for p in sorted(pred)[:-1]) <= I.NOT_FELT_BELOW + 1e-9
    assert shift == pytest.approx(I.NOT_FELT_BELOW - 2.9)
    assert I.anchor_correction([1.0], [3.0], bound=5.0, min_n=2) == 0.0
    assert I.anchor_correction([1.0] * 4, pred, bound=1.0, min_n=2) == -1.0  # bounded
    # felt observations decide the mean; floor stations can only lower it
    assert I.anchor_correction([4.0, 4.2, 1.0], [3.0, 3.2, 1.2], bound=2.0, min_n=2) == 1.0


def test_site_terms_borcherdt() -> None:
    f = A.site_amplification([250.0, 500.0, 1000.0, float("nan")], 500.0)
    assert f == pytest.approx([2.0**0.65, 1.0, 0.5**0.65, 1.0])
    d_cn, d_mmi = A.site_terms([250.0], 500.0, [6.0])
    assert d_cn[0] == pytest.approx(3.0 * 0.65 * math.log10(2.0))
    assert d_mmi[0] == pytest.approx(3.16 * 0.65 * math.log10(2.0))
    cfg = IntensityConfig()
    soft = [dataclasses.replace(SITES[0], vs30=200.0), dataclasses.replace(SITES[1], vs30=800.0)]
    plain = I.predict_sites(22.62, 114.06, 8.0, 5.0, SITES, [], cfg)
    sited = I.predict_sites(22.62, 114.06, 8.0, 5.0, soft, [], cfg)
    assert sited[0].intensity_cn > plain[0].intensity_cn
    assert sited[1].intensity_cn < plain[1].intensity_cn


def test_macroseismic_relation_of_the_moderate_to_strong_region() -> None:
    """The Pearl River Delta lies in the moderate-to-strong earthquake region of GB
    18306-2015: its coefficients (Yu, Li & Xiao 2013) are the default zone, and the
    relation serves only from Ms 4.5 (below it the instrumental basis does)."""
    cfg = IntensityConfig(relation="yu2013")
    assert cfg.macroseismic_region == "moderate_strong"
    got = A.intensity_yu2013(5.0, 20.0, "long")
    assert got == pytest.approx(5.8410 + 1.0710 * 5 - 3.6570 * math.log10(35.0))
    assert A.intensity_yu2013(5.0, 20.0, "short") == pytest.approx(
        3.9440 + 1.0710 * 5 - 2.8450 * math.log10(35.0))
    small = I.predict_sites(22.62, 114.06, 8.0, 3.0, SITES, [], cfg)
    assert {s.basis for s in small} == {"instrumental"}
    with pytest.raises(DataError, match="region"):
        A.intensity_yu2013(5.0, 10.0, region="tibet")


def test_mmi_from_the_larger_unfiltered_horizontal(smap) -> None:
    ids = sorted(smap)[:1]
    info = smap[ids[0]]
    base = _series(info, 0.05, 0.005)
    n = len(base.pga_ms2)
    h_a = np.full(n, 1e-4)
    h_v = np.full(n, 1e-5)
    h_a[25], h_v[26] = 0.08, 0.009  # unfiltered horizontal peaks above the band-passed sum
    amps = {ids[0]: dataclasses.replace(base, pga_h_ms2=tuple(h_a), pgv_h_ms=tuple(h_v))}
    obs = I.station_intensities(
        EventRecords(ORIGIN, info.latitude, info.longitude + 0.05, 8.0, amps, smap, p_time,
                     s_time), IntensityConfig(),
    )
    assert obs[0].mmi == pytest.approx(I.mmi_worden2012(0.08, 0.009))
    assert obs[0].intensity_cn == pytest.approx(float(I.intensity_cn(0.05, 0.005)))


def test_intensity_text_below_felt() -> None:
    assert I.intensity_cell(1.0) == "<II" and I.intensity_cell(1.49) == "<II"
    assert I.intensity_cell(1.5) == "1.5" and I.intensity_cell(None) == "-"
    assert not I.felt(1.2) and I.felt(2.0)


def test_intensity_note_explains_sites_nearer_than_stations() -> None:
    from seismo.model import SiteIntensity

    obs = [StationIntensity("SZ", "A", 22.7, 114.3, 0.01, 0.001, 3.0, 3.0, 25.0)]
    near = [SiteIntensity("Near", "district", 22.6, 114.1, 8.0, 5.2, 5.0)]
    assert "nearer the source than any station" in I.intensity_note(obs, near)
    same = [SiteIntensity("Far", "district", 22.6, 114.1, 40.0, 3.4, 3.2)]
    assert I.intensity_note(obs, same) == ""


# ---------------------------------------------------------------- instrumental basis (GMM)
# BSSA14 with the China/Turkey term (hazardlib BooreEtAl2014HighQ, release 3.26.2, sof
# unspecified): (M, Rjb km, Vs30) -> PGA g, PGV cm/s, total sigma PGA, PGV (ln) from that
# implementation (docs/magnitude_intensity.md)
BSSA14_REFERENCE = [
    (3.0, 5.0, 760.0, 0.0038721, 0.0563633, 0.8009, 0.7586),
    (3.0, 30.0, 300.0, 0.000701872, 0.0154134, 0.8009, 0.7586),
    (4.5, 10.0, 500.0, 0.0314248, 1.11411, 0.8009, 0.7586),
    (5.5, 50.0, 760.0, 0.0301935, 0.969454, 0.6051, 0.6515),
    (6.5, 100.0, 400.0, 0.0356992, 3.91269, 0.6051, 0.6515),
    (7.0, 200.0, 250.0, 0.025102, 5.3982, 0.6234, 0.6556),
    (7.5, 300.0, 760.0, 0.00968717, 2.88162, 0.6893, 0.7223),
    (2.5, 2.0, 180.0, 0.00686472, 0.0815084, 0.7410, 0.6920),
]


@pytest.mark.parametrize(("m", "r", "vs", "pga", "pgv", "sa", "sv"), BSSA14_REFERENCE)
def test_bssa14_matches_the_hazardlib_implementation(m, r, vs, pga, pgv, sa, sv) -> None:
    from seismo.event import gmm

    for imt, want, sig in (("pga", pga, sa), ("pgv", pgv, sv)):
        ln_y, tau, phi = gmm.bssa14(imt, m, [r], [vs])
        assert math.exp(ln_y[0]) == pytest.approx(want, rel=1e-4)
        assert math.hypot(tau[0], phi[0]) == pytest.approx(sig, abs=1e-4)
    with pytest.raises(DataError, match="Vs30"):
        gmm.bssa14("pga", 5.0, [10.0], [0.0])
    with pytest.raises(DataError, match="unknown"):
        gmm.bssa14("sa1", 5.0, [10.0], [500.0])  # type: ignore[arg-type]


def _gmm_observed(smap, lat, lon, mag, ln_shift: float, vs30: float | None = None,
                  ) -> list[StationIntensity]:
    """Observations at every station: the model (at ``vs30``, else the reference) times
    exp(``ln_shift``), as 3-component vector sums."""
    from seismo.event import gmm

    out = []
    for info in smap.values():
        epi = float(distance_km(lat, lon, info.latitude, info.longitude))
        v = vs30 or IntensityConfig().reference_vs30
        pga = float(gmm.to_si("pga", gmm.bssa14("pga", mag, [epi], [v])[0])[0])
        pgv = float(gmm.to_si("pgv", gmm.bssa14("pgv", mag, [epi], [v])[0])[0])
        pga *= math.exp(ln_shift) * gmm.VECTOR_SUM_OVER_ROTD50["pga"]
        pgv *= math.exp(ln_shift) * gmm.VECTOR_SUM_OVER_ROTD50["pgv"]
        out.append(StationIntensity(info.network, info.station, info.latitude, info.longitude,
                                    pga, pgv, float(I.intensity_cn(pga, pgv)), 1.0, epi))
    return out


def test_instrumental_prediction_on_the_observations_basis(smap) -> None:
    """The default basis: BSSA14 PGA and PGV through the GB/T 17742-2020 formulas of the
    observations, with sigma; conditioned on observations it moves towards them, and its
    sigma shrinks; a felt M3 predicts about what the stations observe (issue 23: the
    macroseismic relation said 3.4 at 5 km where the stations read 1.9)."""
    cfg = IntensityConfig()
    assert cfg.relation == "bssa14"
    lat, lon, depth, mag = 22.62, 114.06, 8.0, 3.0
    plain = I.predict_sites(lat, lon, depth, mag, SITES, [], cfg)
    assert {s.basis for s in plain} == {"instrumental"}
    assert all(s.sigma_cn is not None and 0.8 < s.sigma_cn < 1.3 for s in plain)
    assert plain[0].intensity_cn > plain[1].intensity_cn
    # observations exactly on the model: the prediction stays, its sigma shrinks
    same = I.predict_sites(lat, lon, depth, mag, SITES, _gmm_observed(smap, lat, lon, mag, 0.0),
                           cfg)
    assert same[0].intensity_cn == pytest.approx(plain[0].intensity_cn, abs=0.15)
    assert same[0].sigma_cn < plain[0].sigma_cn  # type: ignore[operator]
    # observations a factor e^0.7 (2x) above: the prediction follows (about 3.1 x 0.7 /
    # ln 10 ~ 0.9 degree), more where the stations are
    m4 = I.predict_sites(lat, lon, depth, 4.0, SITES, [], cfg)
    up = I.predict_sites(lat, lon, depth, 4.0, SITES, _gmm_observed(smap, lat, lon, 4.0, 0.7),
                         cfg)
    for p, u in zip(m4, up, strict=True):
        assert 0.5 < u.intensity_cn - p.intensity_cn < 1.05


def test_station_site_terms_come_off_before_conditioning(smap) -> None:
    """Soft-soil stations (Vs30 200 m/s) that record what the model predicts for soft soil
    say nothing about the event: the sites' predictions stay (ShakeMap 4); the same records
    taken as reference-site records would raise every site (the double count of issue 23)."""
    cfg = IntensityConfig()
    lat, lon, depth, mag = 22.62, 114.06, 8.0, 4.0
    obs = _gmm_observed(smap, lat, lon, mag, 0.0, vs30=200.0)
    soft = {k: 200.0 for k in smap}
    plain = I.predict_sites(lat, lon, depth, mag, SITES, [], cfg)
    known = I.predict_sites(lat, lon, depth, mag, SITES, obs, cfg, "ML", soft)
    blind = I.predict_sites(lat, lon, depth, mag, SITES, obs, cfg, "ML", {})
    for p, k, b in zip(plain, known, blind, strict=True):
        assert k.intensity_cn == pytest.approx(p.intensity_cn, abs=0.15)
        assert b.intensity_cn > p.intensity_cn + 0.3


def test_intensity_sigma_propagation() -> None:
    from seismo.event import gmm

    s = I.intensity_cn_sigma(0.05, 0.003, 0.6, 0.6)  # below VI: the mean of I_A and I_V
    sa, sv = 3.17 * 0.6 / math.log(10), 3.00 * 0.6 / math.log(10)
    want = 0.5 * math.sqrt(sa**2 + sv**2 + 2 * gmm.RHO_PGA_PGV * sa * sv)
    assert float(s) == pytest.approx(want)
    assert float(I.intensity_cn_sigma(2.0, 0.3, 0.6, 0.6)) == pytest.approx(sv)  # I = I_V
