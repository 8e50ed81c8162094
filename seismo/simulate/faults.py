"""Station faults applied to simulated data (see :class:`~seismo.simulate.scenario.Fault`).

* ``gap``    no data over the interval (the Stream gets separate traces);
* ``rate``   data produced at ``sampling_rate`` instead of the StationXML rate;
* ``noisy``  ambient noise multiplied by 10**(db/20);
* ``spikes`` Poisson(``rate_per_min``) single-sample spikes of +/-``amplitude`` counts
  per epoch-aligned minute, positions drawn from a seeded generator;
* ``clip``   everything multiplied by ``gain`` before the digitizer saturates;
* ``dead``   a constant ``value`` (counts);
* ``late``   no change to the data: the feed delays delivery (``Simulator.latency_s``).

Everything is a function of (seed, channel, fault, sample time) only, so faults
keep the simulator's window independence.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.simulate.grid import index_ceil
from seismo.simulate.noise import block_rng
from seismo.simulate.scenario import Fault


def segments(
    faults: Sequence[Fault], start: UTCDateTime, end: UTCDateTime, nominal_fs: float
) -> list[tuple[UTCDateTime, UTCDateTime, float]]:
    """Split ``[start, end)`` into (start, end, rate) pieces with data (gap and rate faults)."""
    cuts = {start.ns, end.ns}
    for f in faults:
        if f.kind in ("gap", "rate"):
            for t in (f.start, f.end):
                if t is not None and start < t < end:
                    cuts.add(t.ns)
    edges = [UTCDateTime(ns=ns) for ns in sorted(cuts)]
    pieces: list[tuple[UTCDateTime, UTCDateTime, float]] = []
    for a, b in itertools.pairwise(edges):
        if any(f.kind == "gap" and f.active(a) for f in faults):
            continue
        fs = nominal_fs
        for f in faults:
            if f.kind == "rate" and f.active(a):
                fs = f.param("sampling_rate")
        if pieces and pieces[-1][1] == a and pieces[-1][2] == fs:
            pieces[-1] = (pieces[-1][0], b, fs)
        else:
            pieces.append((a, b, fs))
    return pieces


def _span(f: Fault, i0: int, n: int, fs: Fraction) -> slice | None:
    """Samples of ``[i0, i0 + n)`` inside the fault interval, as a slice (None if none)."""
    lo = index_ceil(f.start, fs) - i0
    fend = f.end
    hi = n if fend is None else index_ceil(fend, fs) - i0
    lo, hi = max(lo, 0), min(hi, n)
    return slice(lo, hi) if hi > lo else None


def noise_gain(faults: Sequence[Fault], i0: int, n: int, fs: Fraction) -> NDArray | None:
    """Per-sample noise gain of ``noisy`` faults (None if no such fault applies)."""
    gain: NDArray | None = None
    for f in faults:
        if f.kind != "noisy":
            continue
        sl = _span(f, i0, n, fs)
        if sl is None:
            continue
        if gain is None:
            gain = np.ones(n)
        gain[sl] *= 10.0 ** (f.param("db") / 20.0)
    return gain


def spike_samples(
    f: Fault, seed: int, seed_id: str, i0: int, n: int, fs: Fraction
) -> tuple[NDArray, NDArray]:
    """Sample offsets (into ``[i0, i0+n)``) and signed amplitudes of the spikes of fault ``f``."""
    sl = _span(f, i0, n, fs)
    if sl is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    fsf = float(fs)
    t_lo = (i0 + sl.start) / fsf
    t_hi = (i0 + sl.stop) / fsf
    rate = f.param("rate_per_min")
    amp = f.param("amplitude")
    idx: list[NDArray] = []
    val: list[NDArray] = []
    key = f"spikes|{seed_id}|{f.start.ns}|{f.station}|{f.channels}"
    for minute in range(math.floor(t_lo / 60.0), math.floor(t_hi / 60.0) + 1):
        rng = block_rng(seed, key, minute)
        count = int(rng.poisson(rate))
        if count == 0:
            continue
        times = minute * 60.0 + rng.uniform(0.0, 60.0, count)
        signs = np.where(rng.random(count) < 0.5, -1.0, 1.0)
        k = np.floor(times * fsf).astype(np.int64) - i0
        keep = (k >= sl.start) & (k < sl.stop)
        idx.append(k[keep])
        val.append(signs[keep] * amp)
    if not idx:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(idx), np.concatenate(val)


def apply_sample_faults(
    data: NDArray,
    faults: Sequence[Fault],
    seed: int,
    seed_id: str,
    i0: int,
    fs: Fraction,
) -> None:
    """Apply spikes, clip gain and dead intervals to ``data`` (counts, float) in place."""
    for f in faults:
        if f.kind == "spikes":
            k, v = spike_samples(f, seed, seed_id, i0, len(data), fs)
            np.add.at(data, k, v)
    for f in faults:
        if f.kind == "clip":
            sl = _span(f, i0, len(data), fs)
            if sl is not None:
                data[sl] *= f.param("gain")
    for f in faults:
        if f.kind == "dead":
            sl = _span(f, i0, len(data), fs)
            if sl is not None:
                data[sl] = f.param("value")
