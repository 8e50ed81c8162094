"""Faster station processing gives the same numbers as the plain, obvious versions.

Each fast path (cached lookups, the compiled band-pass, the bias head, trigger ends
without an index array, window cuts of a conditioned chunk) is checked against a slow
reference implementation written out here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
from obspy import Stream, Trace, UTCDateTime

from seismo.inventory import channel_at, channel_infos, stations
from seismo.station.picker import pick_segments, pick_stream
from seismo.station.picker.kernels import (
    recursive_bias,
    recursive_bias_head,
    sosfilt_inplace,
    sosfilt_state,
)
from seismo.station.picker.trigger import trigger_onsets
from seismo.station.processing import bandpass, channel_map, condition_stream, window_segments


def _bias_reference(n: int, nsta: int, nlta: int) -> np.ndarray:
    i = np.arange(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = -np.expm1(i * math.log1p(-1.0 / nsta)) / -np.expm1(i * math.log1p(-1.0 / nlta))
    if n:
        b[0] = 1.0
    return b


@pytest.mark.parametrize("nsta,nlta,n", [(50, 1000, 400_000), (5, 10, 1000), (2, 3, 50),
                                         (200, 5000, 300_000), (50, 1000, 100), (3, 4, 0)])
def test_recursive_bias_and_its_removal_are_the_formula(nsta: int, nlta: int, n: int) -> None:
    ref = _bias_reference(n, nsta, nlta)
    assert np.array_equal(recursive_bias(n, nsta, nlta), ref)
    head = recursive_bias_head(nsta, nlta)  # what the stateful detector divides by
    assert np.array_equal(head[:n], ref[: head.size])
    assert np.all(ref[head.size :] == 1.0)  # past the head, dividing changes nothing


@pytest.mark.parametrize("corners,lo,hi", [(4, 2.0, 15.0), (2, 1.0, 30.0), (4, 0.1, 10.0)])
def test_compiled_band_pass_gives_scipys_floats(corners: int, lo: float, hi: float) -> None:
    sos = scipy.signal.iirfilter(corners, [lo / 50, hi / 50], btype="band", output="sos")
    rng = np.random.default_rng(corners)
    for n in (1, 10, 13_001, 200_000):
        x = rng.standard_normal(n) * 1e4 + 3e5
        assert np.array_equal(sosfilt_inplace(sos, x.copy()), scipy.signal.sosfilt(sos, x))
        # with a carried state (the stateful filters of the picker and the amplitudes)
        zi = scipy.signal.sosfilt_zi(sos) * x[0]
        y, zf = sosfilt_state(sos, x, zi)
        y_ref, zf_ref = scipy.signal.sosfilt(sos, x, zi=zi)
        assert np.array_equal(y, y_ref) and np.array_equal(zf, zf_ref)


def _triggers_reference(c: np.ndarray, on: float, off: float, *, min_len: int,
                        max_len: int, dead_time: int) -> list[tuple[int, int]]:
    """trigger_onsets as it was: every sample at or below ``off`` indexed up front."""
    n = c.size
    ons = np.flatnonzero(c > on)
    offs = np.flatnonzero(c <= off)
    out: list[tuple[int, int]] = []
    pos = 0
    while True:
        k = int(np.searchsorted(ons, pos))
        if k >= ons.size:
            break
        i_on = int(ons[k])
        j = int(np.searchsorted(offs, i_on))
        if i_on == pos and pos > 0 and c[pos - 1] > on:
            if j >= offs.size:
                break
            pos = int(offs[j]) + 1
            continue
        is_open = j >= offs.size
        i_end = n - 1 if is_open else int(offs[j])
        if i_end - i_on < min_len:
            if is_open:
                break
            pos = i_end + 1
            continue
        out.append((i_on, min(i_end, i_on + max_len)))
        pos = max(i_end + 1, i_on + dead_time)
    return out


def test_trigger_ends_are_found_as_before() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(50, 20_000))
        c = np.abs(rng.standard_normal(n)).cumsum() % 7.0
        c[rng.integers(0, n, 5)] = np.nan  # NaN is neither above on nor at or below off
        kw = {"min_len": int(rng.integers(0, 30)), "max_len": int(rng.integers(30, 3000)),
              "dead_time": int(rng.integers(0, 500))}
        assert trigger_onsets(c, 4.0, 1.5, **kw) == _triggers_reference(c, 4.0, 1.5, **kw)


def test_channel_lookups_match_inventory_select(inventory) -> None:  # type: ignore[no-untyped-def]
    t = UTCDateTime("2026-01-15T03:00:00")
    infos = channel_infos(inventory)
    assert channel_infos(inventory) is infos  # built once per inventory object
    for sta in stations(inventory):
        for ch in sta.channels:
            sel = inventory.select(network=ch.network, station=ch.station, location=ch.location,
                                   channel=ch.channel, time=t)
            expect = [c for n in sel for s in n for c in s]
            assert channel_at(inventory, ch.seed_id, t) is (expect[0] if expect else None)
            assert infos[ch.seed_id] == ch
    assert channel_at(inventory, "XX.NONE..HHZ", t) is None


def _noise(n: int, seed: int, start: UTCDateTime, cha: str) -> Trace:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 50
    k = n // 2  # a local earthquake-like burst
    x[k:k + 800] += np.sin(np.arange(800) * 0.9) * np.exp(-np.arange(800) / 300) * 4000
    return Trace(data=x.astype(np.int32), header={
        "network": "SZ", "station": "BUJI", "location": "00", "channel": cha,
        "sampling_rate": 100.0, "starttime": start})


def test_window_cuts_of_a_chunk_pick_as_the_window_itself(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    """Conditioning a long record once and cutting windows from it gives each window's
    picks as conditioning the window's own data (the per-window path)."""
    from seismo.io.feeds.base import trim_half_open

    t0 = UTCDateTime("2026-01-15T03:00:00")
    z, n, e = (_noise(60_000, k, t0, c) for k, c in enumerate(("HHZ", "HHN", "HHE")))
    n.data[20_000:20_400] = 0  # a flat stretch (too short to make the channel dead)
    st = Stream([z, n, e.slice(t0, t0 + 200), e.slice(t0 + 230, t0 + 600)])  # a 30 s gap
    cfg, inst = settings.picker, settings.instrument
    segs = condition_stream(st, inventory, cfg, instrument=inst, despike=False)
    chmap = channel_map(inventory)
    n_picks = 0
    for a in range(0, 480, 60):
        w0, w1 = t0 + a, t0 + a + 130
        ours = pick_segments(window_segments(segs, w0, w1, cfg), chmap, cfg, instrument=inst,
                             start=w0, end=w1)
        theirs = pick_stream(trim_half_open(st, w0, w1), inventory, cfg, instrument=inst,
                             start=w0, end=w1)
        assert [p.to_dict() for p in ours] == [p.to_dict() for p in theirs], a
        n_picks += len(ours)
    assert n_picks > 0  # the burst was picked


def test_bandpass_overwrite_leaves_other_callers_alone() -> None:
    from seismo.station.settings import BandConfig

    x = np.random.default_rng(3).standard_normal(5000)
    keep = x.copy()
    band = BandConfig(freqmin=2.0, freqmax=15.0)
    y = bandpass(x, 100.0, band, zerophase=False, taper_n=100)
    assert np.array_equal(x, keep)  # not asked to overwrite: the input is untouched
    z = bandpass(x, 100.0, band, zerophase=False, taper_n=100, overwrite_x=True)
    assert np.array_equal(y, z)
