"""Station QC metrics on one channel: pure functions of ObsPy traces and numpy arrays.

Names follow the SeisComP ``scqc`` vocabulary (availability, latency, gap,
overlap, offset, rms, spike, timing, outage); see docs/references.md §7 and
docs/health.md. Units: counts for amplitudes, seconds for times, percent for
availability, clipping and timing quality.

Conventions (kept consistent with ObsPy's
:class:`obspy.signal.quality_control.MSEEDMetadata`, which the tests use as the
reference implementation):

* a trace covers ``[t_first, t_last + delta)``;
* a *gap* is a jump forward of more than half a sample between the expected
  next sample and the next segment, including a late start of the data in the
  window; the missing *tail* of the window (data stopping before the window
  end) is reported separately as ``tail_s`` because it is what ``latency``
  measures (MSEEDMetadata counts it as one more gap);
* an *overlap* is a segment starting more than half a sample before the
  expected next sample; its length is the doubly covered time;
* availability is the covered time divided by the window length, in percent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from obspy import Trace, UTCDateTime
from scipy.ndimage import binary_dilation, median_filter

#: 1.4826 * MAD estimates the standard deviation of Gaussian data (Rousseeuw & Croux 1993).
MAD_TO_STD = 1.4826
#: Half-width (samples) of the running median whose residual is the spike detector's
#: high-pass; a 5-point median ignores outliers up to 2 samples wide
#: (running-median despiking, e.g. Tukey 1977) [3P: width chosen here].
SPIKE_MEDIAN_HALF = 2
#: Widest spike (samples above threshold in a row); wider outliers are signal or glitches.
MAX_SPIKE_SAMPLES = 3
#: Floor of the robust noise level, counts: one digitizer count (quantization step).
MIN_LEVEL_COUNTS = 1.0


@dataclass(frozen=True)
class GapStats:
    """Gaps, overlaps and availability of one channel in ``[start, end)``.

    Times in seconds. ``last_end`` is the end of the last sample received
    (last sample time + delta) or None without data.
    """

    n_gaps: int
    gap_s: float
    n_overlaps: int
    overlap_s: float
    covered_s: float
    availability_pct: float
    tail_s: float
    max_gap_s: float
    last_end: UTCDateTime | None
    intervals: tuple[tuple[float, float], ...]  # covered [start, end) in epoch seconds, merged


def trim_to_window(traces: Iterable[Trace], start: UTCDateTime, end: UTCDateTime) -> list[Trace]:
    """Copies of the traces cut to samples with ``start <= t < end``; empty ones dropped."""
    out = []
    for tr in traces:
        if tr.stats.npts == 0 or tr.stats.sampling_rate <= 0:
            continue
        half = 0.5 * tr.stats.delta
        cut = tr.slice(start, end - half, nearest_sample=False)
        if cut.stats.npts > 0:
            out.append(cut)
    out.sort(key=lambda t: float(t.stats.starttime.timestamp))
    return out


def gap_stats(traces: Sequence[Trace], start: UTCDateTime, end: UTCDateTime) -> GapStats:
    """Gaps, overlaps and availability of traces of ONE channel, already cut to the window.

    Raises:
        ValueError: ``end`` is not after ``start``.
    """
    ws, we = float(start.timestamp), float(end.timestamp)
    if we <= ws:
        raise ValueError(f"window end ({end}) must be after start ({start})")
    segs = sorted(
        (
            float(t.stats.starttime.timestamp),
            float(t.stats.starttime.timestamp) + t.stats.npts * t.stats.delta,
            t.stats.delta,
        )
        for t in traces
        if t.stats.npts > 0
    )
    n_gaps = n_over = 0
    gap_s = over_s = max_gap = 0.0
    expected = ws
    merged: list[list[float]] = []
    for i, (s, e, delta) in enumerate(segs):
        tol = 0.5 * delta
        d = s - expected
        if d > tol:
            n_gaps += 1
            gap_s += d
            max_gap = max(max_gap, d)
        elif d < -tol and i > 0:
            n_over += 1
            over_s += min(expected, e) - s
        if merged and s <= merged[-1][1] + tol:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
        expected = max(expected, e)
    covered = sum(min(e, we) - max(s, ws) for s, e in merged if e > ws and s < we)
    last_end = UTCDateTime(max(e for _, e, _ in segs)) if segs else None
    tail = max(0.0, we - expected) if segs else we - ws
    return GapStats(
        n_gaps=n_gaps,
        gap_s=gap_s,
        n_overlaps=n_over,
        overlap_s=over_s,
        covered_s=covered,
        availability_pct=100.0 * covered / (we - ws),
        tail_s=tail,
        max_gap_s=max_gap,
        last_end=last_end,
        intervals=tuple((s, e) for s, e in merged),
    )


def latency_s(last_end: UTCDateTime | None, now: UTCDateTime) -> float:
    """scqc *latency*: ``now`` minus the end of the last sample received, s (inf without data)."""
    if last_end is None:
        return math.inf
    return float(now - last_end)


def robust_level(x: np.ndarray) -> float:
    """Robust standard deviation 1.4826 * MAD of ``x``, floored at one count."""
    if x.size == 0:
        return MIN_LEVEL_COUNTS
    med = float(np.median(x))
    return max(MAD_TO_STD * float(np.median(np.abs(x - med))), MIN_LEVEL_COUNTS)


def count_spikes(x: np.ndarray, sampling_rate: float, k: float, context_s: float) -> int:
    """Isolated spikes in one contiguous segment (counts).

    The high-pass is the residual ``r = x - median5(x)`` of a 5-point running
    median (it does not ring on a spike, unlike an IIR high-pass). A sample is a
    spike candidate when ``|r| > k * L`` with ``L = 1.4826 * MAD(r)`` (>= 1 count).
    A candidate is a spike only if it is isolated: every other sample within
    ``context_s`` seconds (excluding the candidate and its 2 neighbours) has
    ``|r| <= k * L / 2``, and it is at most 3 samples wide. That keeps
    earthquake wave trains, whose large values come in trains, out of the spike
    count. Adjacent spike samples count once.

    Raises:
        ValueError: ``k`` or ``sampling_rate`` not positive.
    """
    if k <= 0:
        raise ValueError(f"spike threshold k ({k}) must be positive")
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate ({sampling_rate}) must be positive")
    n = x.size
    if n < 2 * SPIKE_MEDIAN_HALF + 1:
        return 0
    xf = np.asarray(x, dtype=np.float64)
    r = np.abs(xf - median_filter(xf, size=2 * SPIKE_MEDIAN_HALF + 1, mode="nearest"))
    thr = k * robust_level(r)
    cand = r > thr
    if not cand.any():
        return 0
    near = binary_dilation(cand, iterations=SPIKE_MEDIAN_HALF)
    edges = np.diff(np.concatenate(([0], near.view(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    w = max(1, round(context_s * sampling_rate))
    quiet = 0.5 * thr
    n_spikes = 0
    for a, b in zip(starts, ends, strict=True):
        if b - a > 2 * SPIKE_MEDIAN_HALF + MAX_SPIKE_SAMPLES:
            continue  # too wide for a spike
        left, right = r[max(0, a - w) : a], r[b : b + w]
        if (left.size == 0 or left.max() <= quiet) and (right.size == 0 or right.max() <= quiet):
            n_spikes += 1
    return n_spikes


def longest_flat_run(x: np.ndarray) -> int:
    """Length (samples) of the longest run of identical consecutive values."""
    if x.size == 0:
        return 0
    change = np.flatnonzero(np.diff(x) != 0)
    bounds = np.concatenate(([-1], change, [x.size - 1]))
    return int(np.diff(bounds).max())


def clip_pct(x: np.ndarray, full_scale: float, fraction: float) -> float:
    """Percent of samples with ``|x| >= fraction * full_scale`` (counts)."""
    if x.size == 0:
        return 0.0
    return 100.0 * float(np.count_nonzero(np.abs(x) >= fraction * full_scale)) / x.size


def timing_quality(traces: Sequence[Trace]) -> float | None:
    """Sample-weighted mean miniSEED blockette 1001 timing quality, % (None if absent).

    ObsPy fills ``stats.mseed.blkt1001.timing_quality`` when reading with
    ``details=True`` (and splits traces where it changes); ``False`` means unknown.
    """
    num = 0.0
    den = 0
    for tr in traces:
        mseed = tr.stats.get("mseed") or {}
        blk = mseed.get("blkt1001") if hasattr(mseed, "get") else None
        tq = blk.get("timing_quality") if blk is not None and hasattr(blk, "get") else None
        if tq is None or isinstance(tq, bool):
            continue
        num += float(tq) * tr.stats.npts
        den += tr.stats.npts
    return num / den if den else None
