"""The stateful station processing: fed in pieces (real time) or span by span (``seismo
detect``'s chunks) it gives what the window path gives on the same samples (picks within
a sample, identical peaks)."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import Stream, UTCDateTime

from seismo.errors import PickerInputError
from seismo.station.amplitudes import StationMotion, series_values, station_amplitudes
from seismo.station.despike import Despiker
from seismo.station.picker import pick_stream
from seismo.station.picker.detector import ClassicStaLta, RecursiveStaLta
from seismo.station.picker.kernels import classic_sta_lta, recursive_bias, recursive_sta_lta
from seismo.station.picker.station import StationPicker
from seismo.station.picker.trigger import Trigger, trigger_onsets
from seismo.station.processing import channel_map


def _pieces(rng: np.random.Generator, n: int, most: int) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < n:
        m = int(rng.integers(1, most))
        out.append((i, min(n, i + m)))
        i += m
    return out


def test_trigger_fed_in_pieces_equals_whole() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(5, 400))
        c = np.repeat(rng.choice([0.5, 1.0, 2.0, 3.0, 5.0, 8.0], n // 5 + 1), 5)[:n]
        c = c + rng.normal(0, 0.3, n)
        kw = {"min_len": int(rng.integers(0, 8)), "max_len": int(rng.integers(8, 60)),
              "dead_time": int(rng.integers(0, 40))}
        whole = trigger_onsets(c, 4.0, 1.5, **kw)
        trig = Trigger(4.0, 1.5, **kw)
        got = []
        for a, b in _pieces(rng, n, 30):
            got += trig.feed(c[a:b])
        trig.finish()
        assert [(t.on, t.off) for t in got] == whole


@pytest.mark.parametrize("cls", [RecursiveStaLta, ClassicStaLta])
def test_sta_lta_state_matches_kernels(cls) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 30000) * (1 + 20 * (np.arange(30000) > 20000))
    if cls is RecursiveStaLta:
        ref = recursive_sta_lta(x, 50, 1000) / recursive_bias(x.size, 50, 1000)
    else:
        ref = classic_sta_lta(x, 50, 1000)
    det = cls(50, 1000)
    got = np.concatenate([det.process(x[a:b]) for a, b in _pieces(rng, x.size, 300)])
    assert np.array_equal(got == 0, ref == 0)
    ok = ref != 0
    assert np.max(np.abs(got[ok] - ref[ok]) / ref[ok]) < 1e-9


@pytest.mark.parametrize("cls", [RecursiveStaLta, ClassicStaLta])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_sta_lta_state_rejects_a_non_finite_sample_anywhere(cls, bad) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    for pos in (0, 1, 299, 300, 1500, 2999):
        x = rng.normal(0, 1, 3000)
        x[pos] = bad
        det = cls(50, 1000)
        with pytest.raises(PickerInputError, match="NaN/inf"):
            for a, b in [(0, 300), (300, 301), (301, 3000)]:
                det.process(x[a:b])


def test_despiker_fed_in_pieces_equals_whole() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(3, 3000))
        x = rng.normal(0, 100, n)
        for i in rng.integers(0, n, 4):
            x[i] += rng.choice([-1, 1]) * 1e6
        whole = Despiker(50, 100)
        a = whole.process(x, final=True)
        parts = Despiker(50, 100)
        b = np.concatenate([parts.process(x[i:j]) for i, j in _pieces(rng, n, 300)]
                           + [parts.process(np.empty(0), final=True)])
        assert np.array_equal(a, b) and whole.n_spikes == parts.n_spikes


@pytest.fixture(scope="module")
def quake(settings, inventory):  # type: ignore[no-untyped-def]
    """130 s of four stations around the felt_m3_city scenario quake (counts)."""
    from seismo.simulate import Simulator

    sim = Simulator.from_settings(settings.simulator, settings.network, scenario="felt_m3_city")
    origin = sim.truth(peaks=False)[0].origin
    t0 = UTCDateTime(int(origin.timestamp)) - 40
    ids = sim.station_ids[:4]
    return t0, {sid: sim.waveforms(*sid.split("."), t0, t0 + 130) for sid in ids}


def _records(st: Stream, t0: UTCDateTime, n: int) -> list[Stream]:
    """The stream cut into 1 s records, channels interleaved as a SeedLink feed sends."""
    return [st.slice(t0 + k, t0 + k + 1 - 1e-6) for k in range(n)]


def test_picks_fed_record_by_record_equal_the_window(settings, inventory, quake) -> None:  # type: ignore[no-untyped-def]
    t0, streams = quake
    chmap = channel_map(inventory)
    n_picks = 0
    for sid, st in streams.items():
        window = pick_stream(st, inventory, settings.picker, instrument=settings.instrument)
        sp = StationPicker(settings.picker, settings.instrument, chmap, retention_s=110)
        early: dict[str, UTCDateTime] = {}
        got = []
        for k, rec in enumerate(_records(st, t0, 130)):
            for tr in rec:
                got += sp.feed(tr)
            for p in sp.provisional():
                early.setdefault(p.phase, t0 + k + 1)
        got += sp.flush()
        got.sort(key=lambda p: (float(p.time), p.id))
        assert [(p.phase, p.seed_id) for p in got] == [(p.phase, p.seed_id) for p in window], sid
        for a, b in zip(got, window, strict=True):
            assert abs(float(a.time - b.time)) <= 0.01  # within a sample at 100 Hz
            assert (a.snr, a.uncertainty_s, a.polarity) == (b.snr, b.uncertainty_s, b.polarity)
            assert a.amplitude == pytest.approx(b.amplitude, rel=1e-9)
        n_picks += len(window)
        p = next(x for x in window if x.phase == "P")
        assert early["P"] - p.time <= 2.5  # provisional ~1 s after the trigger, 1 s records
    assert n_picks >= 6


def test_peaks_fed_record_by_record_equal_the_window(settings, inventory, quake) -> None:  # type: ignore[no-untyped-def]
    t0, streams = quake
    for sid, st in streams.items():
        net, sta = sid.split(".")
        window = station_amplitudes(st, inventory, t0, 130, settings.intensity,
                                    instrument=settings.instrument)
        sm = StationMotion(net, sta, inventory, settings.intensity,
                           instrument=settings.instrument, origin=UTCDateTime(0), keep_s=600)
        for rec in _records(st, t0, 130):
            for tr in rec:
                sm.feed(tr)
        got = sm.series(t0, 130)
        assert window is not None and got is not None
        assert got.start == window.start and got.wa_channels == window.wa_channels
        for field in ("wa_n_nm", "wa_e_nm", "pga_ms2", "pgv_ms"):
            a = series_values(getattr(got, field))[:-1]  # the last second: window flushes it
            b = series_values(getattr(window, field))[:-1]
            assert np.allclose(a, b, rtol=1e-9, equal_nan=True), (sid, field)


def test_picks_fed_span_by_span_equal_record_by_record(settings, inventory, quake) -> None:  # type: ignore[no-untyped-def]
    """``feed_span`` (a chunk of every channel at once, overlapping the previous one) gives
    the record-by-record picks; ``settled_until`` is a promise: no later pick is earlier."""
    t0, streams = quake
    chmap = channel_map(inventory)
    rng = np.random.default_rng(7)
    n_picks = 0
    for sid, st in streams.items():
        ref = StationPicker(settings.picker, settings.instrument, chmap, retention_s=110)
        want = [p for rec in _records(st, t0, 130) for tr in rec for p in ref.feed(tr)]
        want += ref.flush()
        want.sort(key=lambda p: (float(p.time), p.id))
        for _ in range(3):
            sp = StationPicker(settings.picker, settings.instrument, chmap, retention_s=110)
            got: list = []
            a, settled = 0.0, None
            while a < 130:
                b = min(130.0, a + float(rng.uniform(3, 40)))
                # spans overlap the samples already fed, as detect's chunk reads do
                new = sp.feed_span(st.slice(t0 + max(0.0, a - 20), t0 + b - 1e-6))
                assert settled is None or all(p.time >= settled for p in new)
                settled = sp.settled_until()
                got += new
                a = b
            new = sp.flush()
            assert settled is None or all(p.time >= settled for p in new)
            got += new
            got.sort(key=lambda p: (float(p.time), p.id))
            assert [(p.phase, p.seed_id) for p in got] == [(p.phase, p.seed_id) for p in want], sid
            for x, y in zip(got, want, strict=True):
                assert abs(float(x.time - y.time)) <= 0.01
                assert (x.snr, x.uncertainty_s, x.polarity) == (y.snr, y.uncertainty_s, y.polarity)
                assert x.amplitude == pytest.approx(y.amplitude, rel=1e-9)
        n_picks += len(want)
    assert n_picks >= 6
