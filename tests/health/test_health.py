"""Station health: metrics, status rules and each fault on realistic synthetic noise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from obspy import Stream, UTCDateTime, read
from obspy.signal.quality_control import MSEEDMetadata
from test_health_synth import clean_stream

from seismo.errors import DataError
from seismo.health import assess_channel, assess_station
from seismo.health import metrics as m
from seismo.inventory import StationInfo, stations
from seismo.model import StationHealth
from seismo.station.settings import InstrumentConfig

T0 = UTCDateTime(2026, 1, 15, 8, 0, 0)
INSTRUMENT = InstrumentConfig()
WIN = 600.0
T1 = T0 + WIN


@pytest.fixture(scope="module")
def info(inventory) -> StationInfo:
    """A station with both a velocity (HH?) and an acceleration (HN?) sensor."""
    return next(s for s in stations(inventory) if len(s.kinds()) == 2)


@pytest.fixture(scope="module")
def clean(inventory, info) -> Stream:
    return clean_stream(inventory, info, T0, WIN, seed=7)


@pytest.fixture(scope="module")
def cfg(settings):
    return settings.health


def _assess(st, info, cfg, inventory, now=None, **kw) -> dict[str, StationHealth]:
    res = assess_station(
        st, info, T0, T1, now or T1 + 2.0, cfg, instrument=INSTRUMENT, inventory=inventory, **kw
    ).results
    assert res[-1].channel == ""
    return {h.channel: h for h in res}


def _chan(info: StationInfo, code: str):
    return next(c for c in info.channels if c.channel == code)


def _cut(tr, a: float, b: float):
    """Samples of ``tr`` in [T0 + a, T0 + b)."""
    return tr.slice(T0 + a, T0 + b - 0.005, nearest_sample=False)


def _only(st: Stream, code: str):
    return next(t for t in st if t.stats.channel == code)


# --------------------------------------------------------------------------- clean
def test_clean_station_is_ok(clean, info, cfg, inventory) -> None:
    res = _assess(clean, info, cfg, inventory)
    assert len(res) == len(info.channels) + 1
    for h in res.values():
        assert h.status == "OK", (h.channel, h.reasons)
        assert h.reasons == ()
        assert h.time == T1
    hhz = res["HHZ"].metrics
    assert hhz["availability"] == pytest.approx(100.0)
    assert hhz["latency"] == pytest.approx(2.0)
    assert hhz["gap"] == 0 and hhz["overlap"] == 0 and hhz["spike"] == 0
    assert hhz["rms"] > 10.0 and abs(hhz["offset"]) < 0.1 * hhz["rms"]
    assert hhz["rms_si"] == pytest.approx(hhz["rms"] / _chan(info, "HHZ").sensitivity)
    # PSD between the noise models in both bands.
    for band in ("0.1-1s", "1-10s"):
        assert hhz[f"psd_minus_nhnm_db_{band}"] < 0 < hhz[f"psd_minus_nlnm_db_{band}"]
    assert res[""].metrics["n_ok"] == len(info.channels)


def test_results_round_trip_json(clean, info, cfg, inventory) -> None:
    for h in _assess(clean, info, cfg, inventory).values():
        assert StationHealth.from_dict(h.to_dict()) == h


def test_reversed_window_raises(clean, info, cfg) -> None:
    with pytest.raises(DataError, match="not after start"):
        assess_channel(clean, _chan(info, "HHZ"), T1, T0, T1, cfg, instrument=INSTRUMENT)


# --------------------------------------------------------------------------- faults
def test_gaps_reported_with_total_and_availability(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    hne = _only(st, "HNE")
    st.remove(hne)
    # three gaps of 10.0, 10.0 and 11.0 s
    cuts = [(100.0, 110.0), (200.0, 210.0), (300.0, 311.0)]
    edges = [0.0] + [x for c in cuts for x in c] + [WIN]
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        st.append(_cut(hne, a, b))
    res = _assess(st, info, cfg, inventory)
    assert res["HNE"].status == "WARN"
    assert res["HNE"].reasons == ("3 gaps totalling 31.0 s (availability 94.8 %)",)
    assert res["HNE"].metrics["gap"] == 3
    assert res["HNE"].metrics["gap_s"] == pytest.approx(31.0)
    assert res[""].status == "WARN"
    assert "HNE: 3 gaps totalling 31.0 s (availability 94.8 %)" in res[""].reasons
    assert res["HHZ"].status == "OK"


def test_dead_channel(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    _only(st, "HHZ").data[:] = 0
    res = _assess(st, info, cfg, inventory)
    assert res["HHZ"].status == "FAIL"
    assert res["HHZ"].reasons == ("dead channel (std 0.0 counts over 600 s)",)
    assert res[""].status == "FAIL"
    assert "HHZ: dead channel (std 0.0 counts over 600 s)" in res[""].reasons


def test_flat_line_stretch(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    tr = _only(st, "HHN")
    tr.data[10000:12500] = 1234  # 25 s stuck
    res = _assess(st, info, cfg, inventory)
    assert res["HHN"].status == "FAIL"
    assert any(r.startswith("flat line: 25.0 s") for r in res["HHN"].reasons)


def test_spikes(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    tr = _only(st, "HHE")
    for i in (5000, 17000, 30001, 41000, 55555):
        tr.data[i] += 200000
    res = _assess(st, info, cfg, inventory)
    h = res["HHE"]
    assert h.status == "WARN"
    assert h.metrics["spike"] == 5
    assert h.reasons[0] == "5 spikes (> 20 x MAD level)"
    assert res["HHN"].metrics["spike"] == 0


def test_earthquake_wave_train_is_not_a_spike(clean, info, cfg) -> None:
    tr = _only(clean, "HHZ").copy()
    t = np.arange(3000) / 100.0
    envelope = np.exp(-t / 5.0) * (1 - np.exp(-t * 20))
    quake = 200.0 * tr.std() * envelope * np.sin(2 * np.pi * 8.0 * t)
    tr.data = tr.data.astype(np.float64)
    tr.data[20000:23000] += quake
    assert m.count_spikes(tr.data, 100.0, cfg.spike_threshold, cfg.spike_context_s) == 0
    tr.data[40000] += 200.0 * tr.std()
    assert m.count_spikes(tr.data, 100.0, cfg.spike_threshold, cfg.spike_context_s) == 1


def test_clipping(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    tr = _only(st, "HHZ")
    fs = INSTRUMENT.full_scale_counts
    t = np.arange(tr.stats.npts) / 100.0
    burst = np.zeros_like(t)
    burst[30000:33000] = 3 * fs * np.sin(2 * np.pi * 1.0 * t[30000:33000])
    tr.data = np.clip(tr.data + burst, -fs, fs - 1).astype(np.int32)
    h = _assess(st, info, cfg, inventory)["HHZ"]
    assert h.status == "FAIL"
    assert 1.0 < h.metrics["clip_pct"] < 5.0
    assert any(r.startswith("clipping: ") and "% of full scale" in r for r in h.reasons)


def test_late_data(clean, info, cfg, inventory) -> None:
    st = Stream([_cut(t, 0.0, 505.0) for t in clean])
    res = _assess(st, info, cfg, inventory, now=T1)
    for code in ("HHZ", "HNZ"):
        h = res[code]
        assert h.status == "WARN"
        assert h.reasons[0] == "latency 95 s > 60 s"
        assert h.metrics["latency"] == pytest.approx(95.0)
        assert h.metrics["gap"] == 0  # the missing tail is latency, not a gap
    assert res[""].metrics["latency"] == pytest.approx(95.0)
    # Later still: FAIL.
    res = _assess(st, info, cfg, inventory, now=T1 + 600.0)
    assert res["HHZ"].status == "FAIL"
    assert res["HHZ"].reasons[0] == "latency 695 s > 600 s"


def test_wrong_sampling_rate(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    tr = _only(st, "HNN")
    tr.data = tr.data[::2].copy()
    tr.stats.sampling_rate = 50.0
    h = _assess(st, info, cfg, inventory)["HNN"]
    assert h.status == "FAIL"
    assert "sampling rate 50 Hz != 100 Hz in StationXML" in h.reasons
    assert h.metrics["rate_hz"] == 50.0


def test_noisy_site(inventory, info, cfg) -> None:
    st = clean_stream(inventory, info, T0, WIN, seed=3, gain_db=40.0)
    res = _assess(st, info, cfg, inventory)
    h = res["HHZ"]
    assert h.status == "WARN"
    assert any(r.startswith("noisy: PSD ") and "above NHNM at 1-10 s" in r for r in h.reasons)
    assert h.metrics["psd_minus_nhnm_db_1-10s"] > h.metrics["psd_minus_nhnm_db_0.1-1s"] > 0


def test_outage_with_fetch_error(info, cfg, inventory) -> None:
    res = _assess(None, info, cfg, inventory, fetch_error="connection refused")
    assert res[""].status == "FAIL"
    assert res[""].reasons == ("outage: connection refused",)
    assert res[""].metrics["outage"] == 1.0
    for c in info.channels:
        assert res[c.channel].status == "FAIL"
        assert res[c.channel].reasons == ("outage: no data in the 600 s window",)


def test_one_missing_channel_is_a_channel_outage(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    st.remove(_only(st, "HNZ"))
    res = _assess(st, info, cfg, inventory)
    assert res["HNZ"].status == "FAIL"
    assert res[""].status == "FAIL"
    assert res[""].reasons == ("HNZ: outage: no data in the 600 s window",)
    assert res[""].metrics["outage"] == 0.0


def test_overlap(clean, info, cfg, inventory) -> None:
    st = clean.copy()
    st.append(_cut(_only(st, "HHZ"), 100.0, 102.0))
    h = _assess(st, info, cfg, inventory)["HHZ"]
    assert h.status == "WARN"
    assert h.reasons == ("1 overlaps totalling 2.0 s",)


def test_timing_quality_from_blockette_1001(clean, info, cfg, tmp_path) -> None:
    tr = _only(clean, "HHZ").copy()
    tr.stats.mseed = {"blkt1001": {"timing_quality": 30}}
    path = tmp_path / "tq.mseed"
    tr.write(str(path), format="MSEED", encoding="STEIM2")
    st = read(str(path), details=True)
    h = assess_channel(st, _chan(info, "HHZ"), T0, T1, T1, cfg, instrument=INSTRUMENT).health
    assert h.metrics["timing"] == pytest.approx(30.0)
    assert h.status == "WARN"
    assert h.reasons == ("timing quality 30 % < 80 %",)


# --------------------------------------------------------------------------- reference
def test_gap_stats_agree_with_obspy_mseedmetadata(clean, tmp_path) -> None:
    """MSEEDMetadata (ObsPy) is the reference for gaps, overlaps and availability."""
    tr = _only(clean, "HHZ")
    parts = [
        _cut(tr, 5, 150),  # 5 s late start: a gap
        _cut(tr, 157.5, 400),  # 7.5 s gap
        _cut(tr, 390, 395),  # 5 s overlap
        _cut(tr, 420, WIN),  # 20 s gap, data to the window end
    ]
    path = tmp_path / "parts.mseed"
    Stream(parts).write(str(path), format="MSEED", encoding="STEIM2")
    ref = MSEEDMetadata([str(path)], starttime=T0, endtime=T1, add_c_segments=False).meta
    traces = m.trim_to_window(read(str(path)), T0, T1)
    got = m.gap_stats(traces, T0, T1)
    assert got.n_gaps == ref["num_gaps"] == 3
    assert got.gap_s == pytest.approx(ref["sum_gaps"])
    assert got.max_gap_s == pytest.approx(ref["max_gap"])
    assert got.n_overlaps == ref["num_overlaps"] == 1
    assert got.overlap_s == pytest.approx(ref["sum_overlaps"])
    assert got.availability_pct == pytest.approx(ref["percent_availability"])
    assert got.tail_s == pytest.approx(0.0)


def _flat_run_reference(x) -> int:
    best = run = 1 if len(x) else 0
    for a, b in itertools.pairwise(x):
        run = run + 1 if a == b else 1
        best = max(best, run)
    return best


@pytest.mark.parametrize(
    "x", [[], [1], [1, 1, 2, 2, 2, 3], [5, 5, 5, 5], [1, 2, 3], [0, 0, 1, 0, 0, 0]]
)
def test_longest_flat_run_matches_reference(x) -> None:
    assert m.longest_flat_run(np.array(x)) == _flat_run_reference(x)


def test_bad_spike_arguments_raise() -> None:
    with pytest.raises(ValueError, match="spike threshold k"):
        m.count_spikes(np.zeros(100), 100.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="sampling_rate"):
        m.count_spikes(np.zeros(100), -1.0, 20.0, 0.5)


# --------------------------------------------------------------------------- root cause first
def test_clipping_is_listed_before_the_spikes_it_causes(clean, info, cfg, inventory) -> None:
    """Root cause first: a clipped burst (and the spikes of its edges) reads "clipping"
    first, on the channel and in the station summary; the spikes say where they come from."""
    st = clean.copy()
    tr = _only(st, "HHZ")
    fs = INSTRUMENT.full_scale_counts
    data = tr.data.astype(np.float64)
    for i in (5000, 17000, 41000):  # isolated spikes, listed by the detector
        data[i] += 200000
    data[30000:30400] = fs  # a stuck-at-full-scale stretch: clipping
    tr.data = np.clip(data, -fs, fs - 1).astype(np.int32)
    res = _assess(st, info, cfg, inventory)
    h = res["HHZ"]
    kinds = [r.split(":")[0].split(" (")[0] for r in h.reasons]
    assert h.reasons[0].startswith("clipping: "), h.reasons
    spikes = [r for r in h.reasons if "spike" in r]
    assert spikes and all(r.endswith("(from the clipping)") for r in spikes), h.reasons
    assert kinds.index("clipping") < min(i for i, r in enumerate(h.reasons) if "spike" in r)
    assert res[""].reasons[0].startswith("HHZ: clipping: "), res[""].reasons


def test_station_summary_lists_root_causes_before_symptoms(clean, info, cfg, inventory) -> None:
    """A dead channel (a root cause) comes before another channel's spikes (a symptom),
    whatever the order of the channels in the StationXML."""
    st = clean.copy()
    hne = _only(st, "HHE")
    hne.data[5000] += 200000
    _only(st, "HNZ").data[:] = 0
    res = _assess(st, info, cfg, inventory)
    first = res[""].reasons[0]
    assert "dead channel" in first and first.startswith("HNZ: "), res[""].reasons


# --------------------------------------------------------------------------- noise baseline
def _level(res, band: str = "1-10s") -> float:
    return res["HHZ"].metrics[f"psd_minus_nhnm_db_{band}"]


def test_urban_noise_a_few_db_above_the_nhnm_is_not_noisy(inventory, info, cfg) -> None:
    """A channel a few dB above Peterson's NHNM (an urban site; docs/simulator.md) is
    normal when it has no baseline yet: noisy is NHNM + psd_warn_db_above_nhnm."""
    st = clean_stream(inventory, info, T0, WIN, seed=3, gain_db=28.0)
    res = _assess(st, info, cfg, inventory)
    assert 0.0 < _level(res) < cfg.psd_warn_db_above_nhnm
    assert res["HHZ"].status == "OK", res["HHZ"].reasons


def test_noise_is_judged_against_the_channels_own_baseline(inventory, info, cfg) -> None:
    """With a baseline, "noisy" is relative to the channel's usual level: its usual 40 dB
    above the NHNM is OK; the same station 40 dB noisier than usual is noisy; 20 dB
    quieter than usual is suspect (gain or response)."""
    loud = clean_stream(inventory, info, T0, WIN, seed=3, gain_db=40.0)
    first = _assess(loud, info, cfg, inventory)
    assert first["HHZ"].status == "WARN"  # no baseline yet: far above the NHNM
    assert any("no baseline" in r for r in first["HHZ"].reasons)
    level = {b: _level(first, b) for b in ("0.1-1s", "1-10s")}
    n = cfg.psd_baseline_min_runs

    def base(shift: float) -> dict[str, dict[str, list[float]]]:
        return {f"{c.location}.{c.channel}": {b: [v + shift] * n for b, v in level.items()}
                for c in info.channels if c.channel == "HHZ"}

    usual = _assess(loud, info, cfg, inventory, baselines=base(0.0))
    assert usual["HHZ"].status == "OK", usual["HHZ"].reasons
    assert abs(usual["HHZ"].metrics["psd_minus_baseline_db_1-10s"]) < 0.01
    louder = _assess(loud, info, cfg, inventory, baselines=base(-40.0))
    assert louder["HHZ"].status == "WARN"
    assert any(r.startswith("noisy: PSD 40.0 dB above this channel's usual level")
               for r in louder["HHZ"].reasons), louder["HHZ"].reasons
    quieter = _assess(loud, info, cfg, inventory, baselines=base(20.0))
    assert any("quieter than this channel's usual level" in r for r in quieter["HHZ"].reasons)
    # too short a history: the NHNM reference still applies
    few = {k: {b: v[:n - 1] for b, v in d.items()} for k, d in base(0.0).items()}
    assert _assess(loud, info, cfg, inventory, baselines=few)["HHZ"].status == "WARN"


def test_flagged_levels_never_enter_the_baseline(inventory, info, cfg, tmp_path) -> None:
    """The state keeps unflagged band levels only: a noisy fault never becomes the
    channel's normal; a normal level is kept (newest ``keep``)."""
    from seismo.health.state import HealthStateTracker

    tr = HealthStateTracker(tmp_path / "state.json")
    quiet = assess_station(clean_stream(inventory, info, T0, WIN, seed=3), info, T0, T1,
                           T1, cfg, instrument=INSTRUMENT, inventory=inventory).results
    loud = assess_station(clean_stream(inventory, info, T0, WIN, seed=3, gain_db=40.0), info,
                          T0, T1, T1, cfg, instrument=INSTRUMENT, inventory=inventory).results
    for _ in range(3):
        tr.record(quiet, keep=2)
    tr.record(loud, keep=2)
    again = HealthStateTracker(tmp_path / "state.json").baselines(info.id)
    hhz = next(f"{c.location}.{c.channel}" for c in info.channels if c.channel == "HHZ")
    q = next(h for h in quiet if h.channel == "HHZ").metrics["psd_minus_nhnm_db_1-10s"]
    assert again[hhz]["1-10s"] == pytest.approx([q, q], abs=0.01)
