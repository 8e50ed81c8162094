"""Pre-processing: merge, gaps, clipped/dead flags, despiking, per-kind filtering."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from seismo.inventory import stations
from seismo.station.picker.settings import PickerConfig
from seismo.station.processing import condition_stream, prepare_stream
from seismo.station.settings import InstrumentConfig

T0 = UTCDateTime("2026-03-01T00:00:00Z")
INSTRUMENT = InstrumentConfig()


@pytest.fixture(scope="module")
def sta(inventory):
    for s in stations(inventory):
        if s.kinds() == {"velocity", "acceleration"}:
            return s
    raise AssertionError("no HH+HN station")


def _trace(sta, cha: str, data: np.ndarray, start: UTCDateTime = T0, fs: float = 100.0) -> Trace:
    loc = next(c.location for c in sta.channels if c.channel == cha)
    return Trace(
        data if isinstance(data, np.ma.MaskedArray) else np.asarray(data),
        header={
            "network": sta.network,
            "station": sta.station,
            "location": loc,
            "channel": cha,
            "sampling_rate": fs,
            "starttime": start,
        },
    )


def _noise(n: int, seed: int = 0, scale: float = 100.0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(0, scale, n)).astype(np.int32)


def test_small_gap_interpolated_large_gap_split(inventory, sta) -> None:
    cfg = PickerConfig(max_gap_s=0.5)
    x = _noise(6000)
    small = Stream([_trace(sta, "HHZ", x[:2000]), _trace(sta, "HHZ", x[2030:], T0 + 20.30)])
    segs = condition_stream(small, inventory, cfg, instrument=INSTRUMENT)
    assert len(segs) == 1 and segs[0].stats.npts == 6000
    filled = segs[0].data[2000:2030]
    assert np.allclose(filled, np.linspace(x[1999], x[2030], 32)[1:-1])
    large = Stream([_trace(sta, "HHZ", x[:2000]), _trace(sta, "HHZ", x[2100:], T0 + 21.0)])
    segs = condition_stream(large, inventory, cfg, instrument=INSTRUMENT)
    assert [s.stats.npts for s in segs] == [2000, 3900]
    # masked input and NaN samples are gaps too
    m = np.ma.masked_array(x.astype(float), mask=np.zeros(6000, bool))
    m.mask[3000:3200] = True
    m.data[100] = np.nan
    segs = condition_stream(Stream([_trace(sta, "HHZ", m)]), inventory, cfg, instrument=INSTRUMENT)
    assert [s.stats.npts for s in segs] == [3000, 2800]
    assert np.isfinite(segs[0].data).all()


def test_flags_kind_clipped_dead_spikes(inventory, sta) -> None:
    cfg = PickerConfig()
    x = _noise(3000)
    clip = x.copy()
    clip[1000:1010] = 2**23 - 1
    spiky = x.copy()
    spiky[500] = 5_000_000
    st = Stream(
        [
            _trace(sta, "HHZ", clip),
            _trace(sta, "HHN", np.full(3000, 77, dtype=np.int32)),
            _trace(sta, "HNZ", spiky),
        ]
    )
    segs = {t.stats.channel: t for t in prepare_stream(st, inventory, cfg, instrument=INSTRUMENT)}
    z, n, a = segs["HHZ"].stats.seismo, segs["HHN"].stats.seismo, segs["HNZ"].stats.seismo
    assert z["kind"] == "velocity" and a["kind"] == "acceleration"
    assert z["n_clipped"] == 10 and list(z["clipped_idx"][:2]) == [1000, 1001]
    assert not z["dead"] and n["dead"]
    assert a["n_spikes"] == 1 and z["dip"] == -90.0
    assert segs["HNZ"].data.dtype == np.float64
    # the full-scale level is the [instrument] setting
    low = InstrumentConfig(full_scale_counts=200.0)
    segs = {t.stats.channel: t for t in prepare_stream(st, inventory, cfg, instrument=low)}
    assert segs["HHZ"].stats.seismo["n_clipped"] > 10


def test_filter_band_causal_and_mixed_rates(inventory, sta) -> None:
    fs = 100.0
    t = np.arange(6000) / fs
    # 0.2 Hz (removed) + 8 Hz (kept) in the 2-15 Hz band
    x = (1e4 * np.sin(2 * np.pi * 0.2 * t) + 100 * np.sin(2 * np.pi * 8 * t)).astype(np.int32)
    st = Stream([_trace(sta, "HHZ", x), _trace(sta, "HNZ", x[::2], fs=50.0)])
    prepared = prepare_stream(st, inventory, PickerConfig(), instrument=INSTRUMENT)
    out = {tr.stats.channel: tr for tr in prepared}
    hz = out["HHZ"].data[2000:]
    assert 80 < np.abs(hz).max() < 120
    assert out["HNZ"].stats.sampling_rate == 50.0 and out["HNZ"].stats.npts == 3000
    # causal: an impulse produces no output before it; zero-phase does
    imp = np.zeros(4000, dtype=np.int32)
    imp[2000] = 10000
    st = Stream([_trace(sta, "HHZ", imp + _noise(4000, scale=0.0) + 0)])
    causal_cfg = PickerConfig(causal=True, spike_mad=0)
    zp_cfg = PickerConfig(causal=False, spike_mad=0)
    causal = prepare_stream(st, inventory, causal_cfg, instrument=INSTRUMENT)[0].data
    zp = prepare_stream(st, inventory, zp_cfg, instrument=INSTRUMENT)[0].data
    assert np.abs(causal[1500:1999]).max() < 1e-6 * np.abs(causal).max() + 1e-3
    assert np.abs(zp[1900:1999]).max() > 0.01 * np.abs(zp).max()


def test_mixed_rates_same_id_skips_only_that_channel(inventory, sta) -> None:
    bad = Stream([_trace(sta, "HHZ", _noise(1000)), _trace(sta, "HHZ", _noise(1000), T0 + 20, 50)])
    good = _trace(sta, "HHN", _noise(1000))
    segs = condition_stream(bad + Stream([good]), inventory, PickerConfig(), instrument=INSTRUMENT)
    assert [s.stats.channel for s in segs] == ["HHN"]
