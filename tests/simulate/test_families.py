"""Scenario families: one fast smoke test per family (short spans), and the file format."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seismo.config import DEFAULT_CONFIG, load_settings
from seismo.errors import ConfigError
from seismo.io.catalog import read_catalog
from seismo.simulate import Simulator
from seismo.simulate.families import family_names, load_family, write_family


def test_shipped_families() -> None:
    assert family_names() == ["city20", "coastal16", "micro", "province500", "regional60",
                              "three_station"]


def _visible(sim: Simulator, k: int = 0, factor: float = 5.0) -> None:
    """Event ``k`` stands ``factor`` times above the noise on the nearest station's Z."""
    truth = sim.truth(peaks=False)[k]
    sid = min(truth.hypocentral_km, key=truth.hypocentral_km.__getitem__)
    tp, ts = truth.arrivals[sid]
    st = sim.waveforms(*sid.split("."), tp - 10, ts + 5)
    z = next(tr for tr in st if tr.stats.channel.endswith("Z"))
    d = z.data.astype(float)
    fs = z.stats.sampling_rate
    d -= d[: int(8 * fs)].mean()
    assert np.abs(d[int(10 * fs) :]).max() > factor * d[: int(8 * fs)].std(), sid


def _family(name: str, tmp_path):  # type: ignore[no-untyped-def]
    fam = load_family(name, quick=True)
    settings = load_settings(write_family(fam, tmp_path / name, DEFAULT_CONFIG))
    return fam, settings, Simulator.from_settings(settings.simulator, settings.network)


def test_micro_family(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fam, _s, sim = _family("micro", tmp_path)
    stations = [st for net in fam.inventory for st in net]
    assert len(stations) == 5
    assert all(1250 <= st.elevation <= 1360 for st in stations)
    chans = [ch for st in stations for ch in st]
    assert {ch.code for ch in chans} == {"DPZ", "DPN", "DPE"} and {
        ch.sample_rate for ch in chans
    } == {500.0}
    # 4.5 Hz geophones: a flat velocity response above 4.5 Hz, -40 dB/decade below
    resp = chans[0].response
    lo, hi = np.abs(resp.get_evalresp_response_for_frequencies([0.45, 45.0], output="VEL"))
    assert 50 < hi / lo < 200
    from seismo.geo import distance_km

    span = max(
        float(distance_km(a.latitude, a.longitude, b.latitude, b.longitude))
        for a in stations
        for b in stations
    )
    assert span < 4.0
    assert sim.earth.datum_m == 1400.0
    truth = sim.truth(peaks=False)
    assert len(truth) >= 3 and all(-0.6 <= t.magnitude <= 1.7 for t in truth)
    sp = [float(t.arrivals[sid][1] - t.arrivals[sid][0]) for t in truth for sid in sim.station_ids]
    assert max(sp) < 1.0 and min(sp) > 0.1  # S-P under a second
    gaps = [float(b.origin - a.origin) for a, b in itertools.pairwise(truth)]
    assert any(20.0 <= g <= 30.0 for g in gaps)  # a pair of micro-events 20-30 s apart
    _visible(sim)
    assert read_catalog(tmp_path / "micro" / "catalog.json")[0].magnitude_type == "Mw"


def test_three_station_family(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _fam, s, sim = _family("three_station", tmp_path)
    assert len(sim.station_ids) == 3 and s.network.inventory.name == "inventory.xml"
    _visible(sim)


def test_regional60_family(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fam = load_family("regional60", quick=True)
    stations = [st for net in fam.inventory for st in net]
    assert len(stations) == 60
    kinds = {ch.code[:2] for st in stations for ch in st}
    assert kinds == {"HH", "HN", "EH"}  # broadband, accelerometer, 1 Hz geophone at 100 Hz
    from seismo.geo import distance_km

    lat0, lon0 = fam.center
    assert max(float(distance_km(lat0, lon0, st.latitude, st.longitude)) for st in stations) < 130


def test_coastal16_family(tmp_path) -> None:  # type: ignore[no-untyped-def]
    full = load_family("coastal16")
    mags = sorted(e.magnitude for e in full.scenario.events if e.magnitude >= 5.5)
    assert mags == [5.8, 6.0, 6.2, 7.0, 7.3, 7.4, 7.6]
    assert any(e.depth_km == 120.0 for e in full.scenario.events)
    assert float(full.span[1] - full.span[0]) == 2700.0
    _fam, s, sim = _family("coastal16", tmp_path)
    assert len(sim.station_ids) == 16 and s.simulator.physics.dispersion == "oceanic"
    _visible(sim)


def test_city20_family(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _fam, _s, sim = _family("city20", tmp_path)
    assert len(sim.station_ids) == 20
    assert (
        sim.terms("SZ.LUOH").urban_excess_db == 3.0 and sim.terms("SZ.KUIC").urban_excess_db is None
    )
    full = load_family("city20")
    assert [e.magnitude for e in full.scenario.events] == [3.0, 7.0, 7.3, 7.5]
    _visible(sim)


def test_family_file_is_strict(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "x.toml"
    bad.write_text(
        'name = "x"\nreference = "2026-01-01"\nduration_s = 60\ncenter = [0, 0]\n'
        'earth_model = "e.toml"\ncolour = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="colour"):
        load_family(bad)


def test_family_is_reproducible() -> None:
    a, b = load_family("micro"), load_family("micro")
    assert a.scenario.events == b.scenario.events
    assert [st.latitude for n in a.inventory for st in n] == [
        st.latitude for n in b.inventory for st in n
    ]
