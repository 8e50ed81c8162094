"""Travel times of seismo.event.velocity against closed-form layered-earth formulas."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from seismo.errors import ConfigError
from seismo.event.velocity import VelocityModel, first_arrival, load_velocity_model


@pytest.fixture(scope="module")
def halfspace() -> VelocityModel:
    return VelocityModel("halfspace", (0.0,), (6.0,), vp_vs=1.75, max_distance_km=200.0,
                         max_depth_km=40.0)


@pytest.fixture(scope="module")
def two_layer() -> VelocityModel:
    # 10 km of 5 km/s over an 8 km/s half-space (a textbook "crust over mantle")
    return VelocityModel("two", (0.0, 10.0), (5.0, 8.0), max_distance_km=300.0, max_depth_km=30.0)


def test_shipped_model_loads(settings) -> None:  # type: ignore[no-untyped-def]
    m = load_velocity_model(settings.network.velocity_model)
    assert m.tops_km[0] == 0.0 and len(m.tops_km) == len(m.vp) >= 2
    t = m.travel_time("P", np.array([0.0, 10.0, 100.0, 700.0]), 10.0)
    assert np.all(np.diff(t) > 0)
    # at 700 km the first arrival is Pn: in a sphere its apparent velocity at the surface is
    # the mantle velocity times R / r of the ray's deepest point (just below the Moho)
    assert m.earth_radius_km == pytest.approx(6371.0)
    slope = (m.travel_time("P", 710.0, 10.0) - m.travel_time("P", 690.0, 10.0)) / 20.0
    r_moho = m.earth_radius_km - m.tops_km[-1]
    assert m.vp[-1] * m.earth_radius_km / r_moho <= 1.0 / float(slope) <= m.vp[-1] * 1.01
    # a flat model ("spherical = false") keeps the head wave at the mantle velocity
    flat = dataclasses.replace(m, earth_radius_km=None, _tables={})
    slope = (flat.travel_time("P", 710.0, 10.0) - flat.travel_time("P", 690.0, 10.0)) / 20.0
    assert 1.0 / float(slope) == pytest.approx(m.vp[-1], rel=1e-3)


def _taup_model(m: VelocityModel, folder: Path) -> object:
    """ObsPy TauP (Crotwell et al. 1999) through ``m``'s own layers: the crust, then the
    half-space velocity down to 210 km, then ak135 below (an independent ray code in a
    sphere; the diving waves to 1000 km stay above 210 km)."""
    from importlib import resources

    from obspy.taup import TauPyModel
    from obspy.taup.taup_create import build_taup_model
    from obspy.taup.velocity_model import VelocityModel as TauPVelocity

    base = TauPVelocity.read_tvel_file(str(resources.files("obspy.taup") / "data" / "ak135.tvel"))
    r = m.ratios()
    rows = []
    bottoms = [*m.tops_km[1:], m.tops_km[-1]]
    for i in range(len(m.vp) - 1):
        rows += [f"{z} {m.vp[i]} {m.vp[i] / r[i]:.5f} 2.8" for z in (m.tops_km[i], bottoms[i])]
    rows.append("mantle")
    rows += [f"{z} {m.vp[-1]} {m.vp[-1] / r[-1]:.5f} 3.3" for z in (m.tops_km[-1], 210.0)]
    core = inner = False
    for lay in base.layers:
        top, bot = max(float(lay["top_depth"]), 210.0), float(lay["bot_depth"])
        if bot <= 210.0:
            continue
        a = [float(lay[f"top_{k}"]) for k in ("p_velocity", "s_velocity", "density")]
        b = [float(lay[f"bot_{k}"]) for k in ("p_velocity", "s_velocity", "density")]
        if a[1] == 0.0 and not core:
            rows.append("outer-core")
            core = True
        elif a[1] > 0.0 and core and not inner:
            rows.append("inner-core")
            inner = True
        rows += [f"{top} {a[0]} {a[1]} {a[2]}", f"{bot} {b[0]} {b[1]} {b[2]}"]
    nd = folder / "locator.nd"
    nd.write_text("\n".join(rows) + "\n")
    build_taup_model(str(nd), output_folder=str(folder), verbose=False)
    return TauPyModel(str(folder / "locator.npz"))


def test_spherical_times_match_taup(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The Earth-flattened tables of the shipped model against ObsPy TauP through the same
    model in a sphere: within 0.05 s from 50 to 1000 km, shallow and 120 km deep (a source
    below the tables, traced on demand). The flat-earth times are 0.4-0.8 s late at 700 km."""
    m = load_velocity_model(settings.network.velocity_model)
    flat = dataclasses.replace(m, earth_radius_km=None, _tables={})
    taup = _taup_model(m, tmp_path)
    km_per_deg = np.pi * 6371.0 / 180.0
    for z in (10.0, 20.0, 120.0):
        for d in (50.0, 300.0, 700.0, 1000.0):
            for fam, names in (("P", ["p", "P", "Pn"]), ("S", ["s", "S", "Sn"])):
                ref = min(a.time for a in taup.get_travel_times(z, d / km_per_deg, names))
                assert float(m.travel_time(fam, d, z)) == pytest.approx(ref, abs=0.05), (z, d, fam)
    late = float(flat.travel_time("P", 700.0, 10.0)) - float(m.travel_time("P", 700.0, 10.0))
    assert 0.3 < late < 1.0


def test_halfspace_exact(halfspace: VelocityModel) -> None:
    """Straight rays: T = sqrt(x² + z²) / v."""
    x = np.array([0.0, 0.5, 3.0, 10.0, 37.3, 120.0])
    for z in (0.0, 0.7, 5.0, 17.0, 33.3):
        t = first_arrival(halfspace, "P", x, z)
        np.testing.assert_allclose(t, np.hypot(x, z) / 6.0, atol=1e-6)


def test_halfspace_table_interpolation(halfspace: VelocityModel) -> None:
    """The bilinear 1 km table is within 10 ms of the exact time away from the source."""
    rng = np.random.default_rng(0)
    x = rng.uniform(3.0, 190.0, 500)
    z = rng.uniform(3.0, 39.0, 500)
    t = halfspace.travel_time("P", x, z)
    exact = np.hypot(x, z) / 6.0
    assert np.max(np.abs(t - exact)) < 0.01
    # on grid nodes the table is exact
    np.testing.assert_allclose(halfspace.travel_time("P", 25.0, 12.0), np.hypot(25, 12) / 6.0,
                               atol=1e-9)


def test_head_wave_crossover(two_layer: VelocityModel) -> None:
    """Surface source over one layer: crossover at x = 2h sqrt((v2+v1)/(v2-v1)).

    Shearer, Introduction to Seismology, §4.3: T_head = x/v2 + 2h sqrt(1/v1² - 1/v2²).
    """
    h, v1, v2 = 10.0, 5.0, 8.0
    x_cross = 2 * h * np.sqrt((v2 + v1) / (v2 - v1))  # 41.6 km
    x = np.array([5.0, 20.0, x_cross - 1.0, x_cross + 1.0, 80.0, 250.0])
    t = first_arrival(two_layer, "P", x, 0.0)
    direct = x / v1
    head = x / v2 + 2 * h * np.sqrt(1 / v1**2 - 1 / v2**2)
    np.testing.assert_allclose(t, np.minimum(direct, head), atol=1e-6)
    assert np.all(t[x < x_cross] == pytest.approx(direct[x < x_cross]))
    assert np.all(t[x > x_cross] < direct[x > x_cross])


def test_head_wave_buried_source(two_layer: VelocityModel) -> None:
    """Source at depth z in the top layer: intercept uses (2h - z)."""
    h, v1, v2, z = 10.0, 5.0, 8.0, 6.0
    x = np.array([150.0, 300.0])
    t = first_arrival(two_layer, "P", x, z)
    np.testing.assert_allclose(t, x / v2 + (2 * h - z) * np.sqrt(1 / v1**2 - 1 / v2**2), atol=1e-6)
    # below the interface the direct ray through both layers arrives first everywhere
    t_deep = first_arrival(two_layer, "P", np.array([0.0]), 20.0)
    assert t_deep[0] == pytest.approx(10.0 / v1 + 10.0 / v2, abs=1e-6)


def test_s_is_p_times_vp_vs() -> None:
    m = VelocityModel("ratio", (0.0, 2.0, 15.0), (5.0, 6.0, 6.8), vp_vs=1.78,
                      max_distance_km=400.0, max_depth_km=30.0)
    x = np.linspace(0.0, 390.0, 40)
    for z in (0.0, 3.0, 14.0, 25.0):
        np.testing.assert_allclose(m.travel_time("S", x, z), 1.78 * m.travel_time("P", x, z),
                                   rtol=1e-9)


def test_travel_time_broadcasts(two_layer: VelocityModel) -> None:
    d = np.array([[10.0, 20.0], [30.0, 40.0]])
    z = np.array([[5.0], [12.0]])
    t = two_layer.travel_time("P", d, np.broadcast_to(z, d.shape))
    assert t.shape == (2, 2)
    assert t[1, 0] == pytest.approx(float(two_layer.travel_time("P", 30.0, 12.0)))


def test_velocity_at(two_layer: VelocityModel) -> None:
    assert two_layer.velocity_at(0.0) == 5.0
    assert two_layer.velocity_at(9.99) == 5.0
    assert two_layer.velocity_at(10.0) == 8.0
    assert two_layer.velocity_at(0.0, "S") == pytest.approx(5.0 / 1.73)
    with pytest.raises(ValueError, match="phase"):
        two_layer.velocities("Q")


@pytest.mark.parametrize(
    ("tops", "vp", "match"),
    [
        ((0.0, 5.0), (6.0,), "differ in length"),
        ((1.0,), (6.0,), "first layer top"),
        ((0.0, 5.0, 5.0), (5.0, 6.0, 7.0), "must increase"),
        ((0.0,), (-1.0,), "velocities"),
    ],
)
def test_model_validation(tops: tuple, vp: tuple, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        VelocityModel("bad", tops, vp)


def test_load_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="not found"):
        load_velocity_model(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ncolour = 3\n[[layers]]\ntop_km = 0.0\nvp = 5.0\n')
    with pytest.raises(ConfigError, match="colour"):
        load_velocity_model(bad)
    bad.write_text('[[layers]]\ntop_km = 0.0\nvp = "fast"\n')
    with pytest.raises(ConfigError, match=r"layers\[0\]"):
        load_velocity_model(bad)
    bad.write_text("[[layers]]\ntop_km = 3.0\nvp = 5.0\n")
    with pytest.raises(ConfigError, match="first layer top"):
        load_velocity_model(bad)


def test_explicit_phases(settings) -> None:  # type: ignore[no-untyped-def]
    """Pg/Sg (crust) and Pn/Sn (head wave on the half-space): the first arrival is their
    minimum; Pn does not exist before its critical distance; Sg trails Sn far away."""
    from seismo.event.velocity import NO_ARRIVAL_S

    m = load_velocity_model(settings.network.velocity_model)
    x = np.array([5.0, 50.0, 150.0, 300.0, 700.0])
    for fam in ("P", "S"):
        first = m.travel_time(fam, x, 10.0)
        g, n = m.travel_time(f"{fam}g", x, 10.0), m.travel_time(f"{fam}n", x, 10.0)
        assert np.allclose(first, np.minimum(g, n), atol=1e-6)
    assert m.travel_time("Pn", 5.0, 10.0) == pytest.approx(NO_ARRIVAL_S)
    assert m.travel_time("Pg", 5.0, 10.0) == pytest.approx(m.travel_time("P", 5.0, 10.0))
    lag = m.travel_time("Sg", x, 10.0) - m.travel_time("Sn", x, 10.0)
    # beyond any residual tolerance of the first arrival (Sn at 4.39 km/s: mantle Vp/Vs 1.80)
    assert lag[3] > 4.0 and lag[4] > 15.0
    # a source in the half-space: no crustal phase, the "n" phase is its direct ray
    deep = m.tops_km[-1] + 5.0
    assert m.travel_time("Pg", 100.0, deep) == pytest.approx(NO_ARRIVAL_S)
    assert m.travel_time("Pn", 100.0, deep) == pytest.approx(m.travel_time("P", 100.0, deep))
    with pytest.raises(ValueError, match="must be one of"):
        m.velocities("Lg")


def test_mantle_vp_vs_from_the_model_file(settings) -> None:  # type: ignore[no-untyped-def]
    """Per-layer Vp/Vs: the shipped model's mantle is 1.80 (iasp91), its crust 1.73."""
    m = load_velocity_model(settings.network.velocity_model)
    assert m.ratios()[-1] == pytest.approx(1.80) and m.ratios()[0] == pytest.approx(1.73)
    assert m.velocities("S")[-1] == pytest.approx(m.vp[-1] / 1.80)
    assert m.travel_time("S", 40.0, 10.0) == pytest.approx(1.73 * m.travel_time("P", 40.0, 10.0))


def test_reduced_interpolation_is_exact_near_the_source(halfspace: VelocityModel) -> None:
    """The table interpolates T - R/v0: in the top layer the direct ray is exact at any
    distance, also within a grid step of the source (a plain bilinear cone is ~40 ms off
    for S there)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 3.0, 300)
    z = rng.uniform(0.0, 3.0, 300)
    for ph, v in (("P", 6.0), ("S", 6.0 / 1.75)):
        np.testing.assert_allclose(halfspace.travel_time(ph, x, z), np.hypot(x, z) / v,
                                   atol=1e-9)


@pytest.mark.parametrize("datum_km", [0.0, 0.35, 1.3, 2.7])
def test_datum_extends_the_top_layer_upwards(datum_km: float) -> None:
    """With the surface ``datum_km`` above sea level, a source between sea level and the
    datum exists, interfaces stay at their depths below sea level, and times are to the
    datum."""
    m = VelocityModel("two", (0.0, 10.0), (5.0, 8.0), max_distance_km=200.0,
                      max_depth_km=40.0).with_datum(datum_km)
    assert m.min_depth_km == -datum_km
    assert m.velocity_at(-datum_km) == 5.0 and m.velocity_at(9.9) == 5.0
    assert m.velocity_at(10.1) == 8.0
    # a source above sea level, straight rays in the top layer
    z = -0.5 * datum_km
    x = np.array([0.0, 0.7, 2.0, 5.0])
    np.testing.assert_allclose(m.travel_time("P", x, z), np.hypot(x, z + datum_km) / 5.0,
                               atol=1e-9)
    # the head wave along the interface 10 km below sea level, from a source at sea
    # level: a down leg of 10 km and an up leg of 10 km + the datum (Shearer, ch. 4)
    far = 150.0
    expect = far / 8.0 + (10.0 + (10.0 + datum_km)) * np.sqrt(1 / 5.0**2 - 1 / 8.0**2)
    assert float(m.travel_time("Pn", far, 0.0)) == pytest.approx(expect, abs=2e-3)


def test_station_time_for_straight_rays() -> None:
    """Source and stations in the top layer: the time to a station at its elevation is
    the straight ray to first order in the station's depth below the datum (the highest
    station), above or below sea level; the vertical-ray (HYPO71) term is not."""
    high = VelocityModel("hs", (0.0,), (6.0,), max_distance_km=100.0,
                         max_depth_km=30.0).with_datum(1.4)
    rng = np.random.default_rng(2)
    worst = worst_vertical = 0.0
    for _ in range(200):
        x, z, elev = rng.uniform(2, 15), rng.uniform(-0.4, 8.0), rng.uniform(900.0, 1400.0)
        exact = np.hypot(x, z + elev / 1000.0) / 6.0
        got = float(high.station_time("P", x, z, elev))
        vertical = float(high.travel_time("P", x, z)) + (elev / 1000.0 - 1.4) / 6.0
        worst = max(worst, abs(got - exact))
        worst_vertical = max(worst_vertical, abs(vertical - exact))
    assert worst < 0.01 < worst_vertical
    # at the datum the term vanishes; with the correction off the station is there
    assert float(high.station_time("S", 7.0, 3.0, 1400.0)) == float(
        high.travel_time("S", 7.0, 3.0))


def test_station_time_below_the_tables() -> None:
    """A source below the tables (an intermediate-depth event whose depth a depth phase
    gave) is timed from its own depth, as travel_time does, not from the tables' last row:
    in a half-space the straight ray, to a station at the datum and 600 m below it."""
    hs = VelocityModel("hs", (0.0,), (8.0,), max_distance_km=600.0, max_depth_km=80.0)
    x = np.array([250.0, 360.0, 420.0])
    for z in (97.0, 140.0):
        exact = np.hypot(x, z) / 8.0
        assert hs.station_time("P", x, z, 0.0) == pytest.approx(exact, abs=0.05)
        # the elevation term uses the ray's own vertical slowness at that depth
        p = x / (np.hypot(x, z) * 8.0)
        below = exact - 0.6 * np.sqrt(1 / 64.0 - p**2)
        assert hs.station_time("P", x, z, -600.0) == pytest.approx(below, abs=0.05)
    assert float(hs.station_time("P", 360.0, 97.0, 0.0)) - float(
        hs.station_time("P", 360.0, 80.0, 0.0)) > 0.2  # not the clamped 80 km row


def test_datum_bounds() -> None:
    with pytest.raises(ConfigError, match="datum"):
        VelocityModel("hs", (0.0,), (6.0,), datum_km=12.0)
    m = VelocityModel("hs", (0.0,), (6.0,))
    assert m.with_datum(0.0) is m and m.with_datum(1.0).fingerprint() != m.fingerprint()
