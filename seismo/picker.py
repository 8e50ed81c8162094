"""STA/LTA kernels, triggering, AIC onset refinement and the windowed P/S picker.

Kernels
    :func:`classic_sta_lta` and :func:`recursive_sta_lta` compute the same
    characteristic functions as ObsPy's C routines ``obspy.signal.trigger``
    ``classic_sta_lta`` / ``recursive_sta_lta`` (identical definitions):

    * classic: ``cft[i] = (sum(a[i-nsta+1..i]**2)/nsta) / (sum(a[i-nlta+1..i]**2)/nlta)``,
      the first ``nlta - 1`` samples are 0 (ObsPy ``stalta.c``);
    * recursive (Withers et al. 1998, p. 98): ``sta_i = a_i**2/nsta + (1 - 1/nsta) sta_{i-1}``,
      same for lta with ``nlta``, both started at 0 at sample 1 (sample 0 is not used,
      as in ObsPy ``recstalta.c``); ``cft = sta/lta``, the first ``nlta`` samples are 0.

    Where the LTA is exactly 0 (all-zero data) we return 0 instead of ObsPy's NaN.
    Input is 1-D or 2-D (channels x samples); the output has the input's shape.
    Both are compiled with numba when it is importable (block-local loops whose
    sample-to-sample chains are re-associated so that they vectorise), else pure
    numpy/scipy; results agree with ObsPy within 1e-6 past the LTA warm-up.

Picker defaults (``seismo.config.PickerConfig``), for a local urban network at 100 Hz:

* ``sta_s = 0.5`` s, ``lta_s = 10`` s: Trnkoczy (2012), IASPEI NMSOP-2 IS 8.1
  "Understanding and parameter setting of STA/LTA trigger algorithm", recommends
  STA 0.2-0.5 s for local events and LTA of ~10-60 s (short LTA for local networks,
  it follows changing urban noise). SeisComP ``scautopick`` uses STALTA(2, 80) s,
  which suits teleseismic P and is too slow for city-scale distances.
* ``trig_on = 4.0``, ``trig_off = 1.5``: Trnkoczy (2012) suggests trigger ratios of
  ~3.5-4 for noisy (urban) sites; ``trig_off`` 1.5 as in scautopick.
* band 2-15 Hz (4 corners, causal): local-event P energy sits at 2-20 Hz, microseism
  (< 1 Hz) is removed; scautopick's BW(4, 0.7, 2) is teleseismic [3P: common
  local-network practice, not a formal standard].
* ``dead_time_s = 5`` (scautopick: 30 s, teleseismic coda; a city network sees
  local aftershocks seconds apart), ``max_gap_s = 0.5`` (scautopick 4.5 s; shorter
  here because a 0.5 s interpolated gap can hide a local P onset).
* ``full_scale_counts = 2**23`` (24-bit digitizer), ``clip_fraction = 0.98``.
* ``min_snr = 3``, ``polarity_min_ratio = 5`` [heuristic, measured on synthetics in
  tests/test_picker.py], ``station_merge_s = 1`` s.

Onset refinement: the AIC picker of Maeda (1985),
``AIC(k) = k log var(x[0:k]) + (N - k - 1) log var(x[k:N])``, on a causally
band-passed snippet of ``aic_window_s`` before to ``aic_window_s / 2`` after the
trigger-on (the STA/LTA trigger lags the onset). Causal, because a zero-phase
filter spreads energy ahead of the onset: on the synthetics of the tests it picked
~0.2 s early, the causal one ~0.03 s late. The snippet is built from raw counts
with fixed sample offsets from the trigger, so the same trigger gives the same pick
in every overlapping window.

Recursive STA/LTA warm-up: the picker (not the public kernel) divides the
recursive ratio by its start-up bias ``(1 - (1-1/nsta)^i) / (1 - (1-1/nlta)^i)``
(the exponential averages' missing weight), so a segment that just started (or
restarted after a gap) does not trigger on its own warm-up. The first ``nlta``
samples never trigger: callers fetch a pre-roll of at least ``lta_s``.

One P per station per onset: P picks of one station closer than
``station_merge_s`` are merged into one, chosen by (1) an onset without clipped
samples in the amplitude window, (2) velocity before acceleration, (3) vertical
before horizontal, (4) higher SNR, (5) seed id (deterministic). An onset between
``s_min_delay_s`` and ``s_max_delay_s`` after a station's P whose horizontal SNR
beats its vertical SNR is taken as the S arrival and dropped from the P list.

Two-stage P onset: AIC on the trigger band (robust against noise), then AIC on the
wider, less delayed ``refine_band`` (causal 2-corner 1-30 Hz) restricted to at most
``_MAX_SHIFT_S`` before the first onset. The causal 2-15 Hz filter delays the onset
(its group delay: 0.16 s at 3 Hz, 0.07 s at 5 Hz); the 1-30 Hz 2-corner one much less
(0.03 s at 3 Hz). On the simulator scenarios the median P error fell from +0.02 s to
+0.01 s (docs/picker.md). The SNR is still measured on the trigger band.

S picks (``s_picks``): an onset on a station's horizontals between ``s_min_delay_s``
and ``s_max_delay_s`` after its P, with horizontal SNR above the vertical one, is
the S arrival: the best horizontal pick (unclipped, velocity, SNR) becomes phase "S".
Its onset is then re-picked by AIC on the *transverse* component in
``[max(P + s_min_delay_s, trigger_on - aic_window_s), trigger_on + aic_window_s / 2]``:
the horizontal P direction is the principal axis of the P particle motion on the two
horizontals of the same instrument over ``s_polarization_s`` after P (no channel
orientation needed), and S is picked on the perpendicular axis, where the P coda is
weakest (rotation to the transverse / polarisation-based S picking: Cichowicz 1993,
BSSA 83, 180-189; Diehl et al. 2009, BSSA 99, 1906-1920 [3P]). If the P motion is not
rectilinear (``1 - l2/l1 < 0.5``) or only one horizontal exists, the pick's own channel
is used. Both on the causal ``refine_band``. Measured: S bias +0.13..+0.27 s (AIC on
the 2-15 Hz single horizontal) -> +0.03..+0.06 s. The remaining late bias comes from
the emergent S envelope (an onset has no visible first sample).
S onsets that do not trigger the STA/LTA over the P coda are missed (known limit:
with ``dead_time_s`` 5 s, S within 5 s of P on the same channel do not trigger).

Pick uncertainty (:func:`onset_uncertainty`): the largest of a floor
(``min_uncertainty_samples``, 2 samples; for S also ``s_min_uncertainty_s``, 0.05 s),
the AIC ``min + 2`` half width and the latency to the latest possible onset (first
sample after the onset above the largest pre-onset amplitude; Diehl, Kissling &
Bormann 2012, NMSOP-2 IS 11.4 [3P]). On the simulator scenarios no P or S pick of
felt_m3_city, edge_m35, m5_daya_bay had |error| > 3 x uncertainty.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.signal
from obspy import Inventory, Stream, Trace, UTCDateTime

from seismo.config import PickerConfig
from seismo.errors import PickerInputError, SeismoError
from seismo.model import Pick, Polarity

log = logging.getLogger(__name__)

# Time-block length (samples) of the numpy kernels: 4096 float64 = 32 KiB per work
# array (the working set stays in L2 cache).  Block-local cumulative sums lose
# ~eps * (energy in nlta + block) / (energy in the STA window): measured on real records
# (tests/test_picker.py, a strong event next to quiet noise), 4096 keeps the difference
# to ObsPy <= 4.4e-7 down to nsta = 5, 16384 gave 1.3e-4.
_BLOCK = 4096

__all__ = [
    "aic_onset",
    "classic_sta_lta",
    "onset_uncertainty",
    "pick_stream",
    "recursive_sta_lta",
    "trigger_onsets",
]


# --------------------------------------------------------------------------- kernels
def _check_kernel_args(a: Any, nsta: int, nlta: int, check_finite: bool = True) -> np.ndarray:
    """Validate and return a C-contiguous float64 2-D view (channels x samples).

    ``check_finite=False`` leaves the NaN/inf check to the caller (the numba kernels
    detect non-finite sums on the fly and then call :func:`_raise_non_finite`).
    """
    for name, val in (("nsta", nsta), ("nlta", nlta)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer):
            raise PickerInputError(f"{name} ({val!r}) must be an integer number of samples")
        if val <= 0:
            raise PickerInputError(f"{name} ({val}) must be positive")
    if nsta >= nlta:
        raise PickerInputError(f"nsta ({nsta}) must be shorter than nlta ({nlta})")
    x = np.ascontiguousarray(a, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise PickerInputError(f"data must be 1-D or 2-D (channels x samples), got {x.ndim}-D")
    n = x.shape[-1]
    if n < nlta:
        raise PickerInputError(f"data length ({n}) is shorter than nlta ({nlta})")
    if check_finite and not np.isfinite(x).all():
        _raise_non_finite(x)
    return x.reshape(-1, n)


def _raise_non_finite(x: np.ndarray) -> None:
    """Raise PickerInputError naming the number of NaN/inf samples (or the overflow)."""
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise PickerInputError(f"data contain {bad} NaN/inf sample(s)")
    raise PickerInputError(
        f"data overflow float64 when squared (max |value| {float(np.max(np.abs(x))):.3g})"
    )


# Kernel implementation.  The kernels are first-order running sums/filters: ObsPy's C
# loop is bound by its sample-to-sample dependency chain (~450 M samples/s here), which
# numpy cannot beat (each numpy pass is one more trip through memory, and cumsum/lfilter
# are themselves sequential).  When numba is importable we run fused, block-local loops
# compiled by LLVM in which that chain is broken algebraically into 16 independent chains
# (the elementwise passes vectorise, the chains run interleaved):
#   * classic: the prefix sum of squares P[k] = P[k-16] + sum(x[k-15..k]**2), the 16-sample
#     sum built from four 4-sample partial sums (16 independent chains instead of one),
#     then STA/LTA = (P[k]-P[k-nsta]) / (P[k]-P[k-nlta]) * nlta/nsta.  P restarts at 0 in
#     every time block (the block re-reads ``nlta`` lead-in samples), so rounding does not
#     grow over a day (precision bound: see ``_BLOCK``).
#   * recursive: y[k] = c s[k] + a y[k-1] (a = 1 - c, s = x**2) unrolled 16 steps:
#     y[k] = a**16 y[k-16] + u[k] + a**4 u[k-4] + a**8 u[k-8] + a**12 u[k-12] with
#     u[k] = c (s[k] + a s[k-1] + a**2 s[k-2] + a**3 s[k-3]) - the same linear filter,
#     re-associated (differences to the one-step recursion are rounding, ~1e-14).
# numba is used only to fuse these passes (no threads, no fastmath: IEEE division).
# Without numba the pure-numpy versions below are used (same results within 1e-12).
# Classic numba block: the cancellation error grows with (nlta + block) / nsta (see
# _BLOCK), the re-read lead-in costs nlta / block: block = 256 * nsta - nlta, within
# [_BLOCK, 16384] (nsta=50, nlta=1000: 11264; measured <= 4.4e-7 vs ObsPy on the real
# records of the tests).  The recursive filter has no cancellation: long blocks.
_JIT_BLOCK_RECURSIVE = 16384  # 4 work arrays of 128 KiB stay in L2


def _classic_rows_loop(
    x: np.ndarray, nsta: int, nlta: int, blk: int, out: np.ndarray
) -> bool:  # pragma: no cover - compiled by numba (coverage cannot see it)
    """Classic STA/LTA of each row of ``x`` into ``out`` (numba kernel, see above).

    Returns False if a block's sum of squares is not finite (NaN/inf in ``x``, or
    overflow): every sample enters some block sum, so this is the input check.
    """
    finite = True
    nch, n = x.shape
    frac = nlta / nsta
    m = nlta + blk + 64
    c4 = np.zeros(m)  # c4[64 + j] = x[lo+j-3..lo+j]**2 summed (0 before lo)
    p = np.zeros(m)  # p[64 + j] = sum(x[lo..lo+j]**2), p[:64] = 0
    for ch in range(nch):
        xr = x[ch]
        orow = out[ch]
        for b0 in range(0, n, blk):
            e = min(b0 + blk, n)
            lo = max(b0 - nlta, 0)
            cnt = e - lo
            xs = xr[lo:e]
            for j in range(min(3, cnt)):
                t = 0.0
                for q in range(j + 1):
                    v = xs[j - q]
                    t += v * v
                c4[64 + j] = t
            c4v = c4[67:]
            for j in range(cnt - 3):
                a0 = xs[j + 3]
                a1 = xs[j + 2]
                a2 = xs[j + 1]
                a3 = xs[j]
                c4v[j] = (a0 * a0 + a1 * a1) + (a2 * a2 + a3 * a3)
            for j in range(cnt):
                p[j + 64] = p[j + 48] + ((c4[j + 64] + c4[j + 60]) + (c4[j + 56] + c4[j + 52]))
            tail = 0.0  # p's 16 chains each end with a sum over part of the block
            for j in range(cnt + 48, cnt + 64):
                tail += p[j]
            if not np.isfinite(tail):
                finite = False
            o0 = max(b0, nlta - 1)
            kb = o0 - lo + 64
            pk = p[kb:]
            ps = p[kb - nsta :]
            pl = p[kb - nlta :]
            ob = orow[o0:e]
            for j in range(e - o0):
                sta = pk[j] - ps[j]
                lta = pk[j] - pl[j]
                r = sta / lta * frac
                ob[j] = r if lta > 0.0 else 0.0
        for i in range(min(nlta - 1, n)):
            orow[i] = 0.0
    return finite


def _recursive_rows_loop(
    x: np.ndarray, nsta: int, nlta: int, blk: int, out: np.ndarray
) -> bool:  # pragma: no cover - compiled by numba
    """Recursive STA/LTA of each row of ``x`` into ``out`` (numba kernel, see above).

    Returns False if the input has a NaN/inf (or overflows): it propagates to the end of
    the 16 interleaved LTA chains (weights > 0; sample 0 is checked directly).
    """
    finite = True
    nch, n = x.shape
    cs = 1.0 / nsta
    cl = 1.0 / nlta
    a1s = 1.0 - cs
    a1l = 1.0 - cl
    a2s = a1s * a1s
    a2l = a1l * a1l
    a3s = a2s * a1s
    a3l = a2l * a1l
    a4s = a2s * a2s
    a4l = a2l * a2l
    a8s = a4s * a4s
    a8l = a4l * a4l
    a12s = a8s * a4s
    a12l = a8l * a4l
    a16s = a8s * a8s
    a16l = a8l * a8l
    m = blk + 16
    us = np.zeros(m)  # [0:16] carry the previous block's tail
    ul = np.zeros(m)
    ys = np.zeros(m)
    yl = np.zeros(m)
    for ch in range(nch):
        xr = x[ch]
        orow = out[ch]
        for k in range(16):
            us[k] = 0.0
            ul[k] = 0.0
            ys[k] = 0.0
            yl[k] = 0.0
        for b0 in range(0, n, blk):
            e = min(b0 + blk, n)
            cnt = e - b0
            j0 = 0
            if b0 == 0:  # sample 0 is not used (ObsPy), nothing before it
                j0 = min(4, cnt)
                for j in range(j0):
                    ts = 0.0
                    tl = 0.0
                    ws = cs
                    wl = cl
                    for q in range(j):  # samples j, j-1, ..., 1
                        v = xr[j - q]
                        ts += ws * (v * v)
                        tl += wl * (v * v)
                        ws *= a1s
                        wl *= a1l
                    us[16 + j] = ts
                    ul[16 + j] = tl
            xs = xr[b0 + j0 - 3 : e]
            usv = us[16 + j0 :]
            ulv = ul[16 + j0 :]
            for j in range(cnt - j0):
                v0 = xs[j + 3]
                v1 = xs[j + 2]
                v2 = xs[j + 1]
                v3 = xs[j]
                s0 = v0 * v0
                s1 = v1 * v1
                s2 = v2 * v2
                s3 = v3 * v3
                usv[j] = cs * ((a3s * s3 + a2s * s2) + (a1s * s1 + s0))
                ulv[j] = cl * ((a3l * s3 + a2l * s2) + (a1l * s1 + s0))
            for j in range(cnt):
                ys[j + 16] = a16s * ys[j] + (
                    (a12s * us[j + 4] + a8s * us[j + 8]) + (a4s * us[j + 12] + us[j + 16])
                )
                yl[j + 16] = a16l * yl[j] + (
                    (a12l * ul[j + 4] + a8l * ul[j + 8]) + (a4l * ul[j + 12] + ul[j + 16])
                )
            ysv = ys[16:]
            ylv = yl[16:]
            ob = orow[b0:e]
            for j in range(cnt):
                den = ylv[j]
                r = ysv[j] / den
                ob[j] = r if den > 0.0 else 0.0
            for k in range(16):
                us[k] = us[cnt + k]
                ul[k] = ul[cnt + k]
                ys[k] = ys[cnt + k]
                yl[k] = yl[cnt + k]
        tail = xr[0] * xr[0]
        for k in range(16):
            tail += yl[k]
        if not np.isfinite(tail):
            finite = False
        for i in range(min(nlta, n)):
            orow[i] = 0.0
    return finite


@functools.cache
def _jit_kernels() -> dict[str, Any] | None:
    """numba-compiled kernels, or None when numba is not importable (numpy fallback).

    Compiled lazily on the first kernel call (~2 s, then cached on disk by numba when
    the package directory or numba's user cache dir is writable).
    """
    try:
        import numba  # optional accelerator, imported on first use
    except ImportError:
        log.info("numba not importable: STA/LTA kernels use the numpy implementation")
        return None
    kernels: dict[str, Any] = {}
    for name, fn in (("classic", _classic_rows_loop), ("recursive", _recursive_rows_loop)):
        try:
            kernels[name] = numba.njit(cache=True, error_model="numpy", fastmath=False)(fn)
        except RuntimeError:  # no writable cache location: compile without disk cache
            kernels[name] = numba.njit(cache=False, error_model="numpy", fastmath=False)(fn)
    return kernels


def classic_sta_lta(a: Any, nsta: int, nlta: int) -> np.ndarray:
    """Classic STA/LTA of squared amplitudes (ObsPy ``classic_sta_lta`` definition).

    Args:
        a: trace(s), 1-D (samples) or 2-D (channels x samples), any unit.
        nsta: STA window length in samples.
        nlta: LTA window length in samples (> nsta).

    Returns:
        float64 array of ``a``'s shape (dimensionless ratio); the first ``nlta - 1``
        samples of each channel are 0.

    Raises:
        PickerInputError (a ValueError): non-positive or non-integer lengths, nsta >= nlta,
            data shorter than nlta, NaN/inf in data.

    Implementation: numba-fused block-local prefix sums when numba is importable,
    else :func:`_classic_sta_lta_numpy` (see the comment above ``_classic_rows_loop``).
    """
    jit = _jit_kernels()
    if jit is None:
        return _classic_sta_lta_numpy(a, nsta, nlta)
    x2 = _check_kernel_args(a, nsta, nlta, check_finite=False)
    out = np.empty_like(x2)
    blk = min(max(_BLOCK, (256 * int(nsta) - int(nlta)) // 1024 * 1024), 16384)
    if not jit["classic"](x2, int(nsta), int(nlta), blk, out):
        _raise_non_finite(x2)
    return out.reshape(np.shape(a))


def recursive_sta_lta(a: Any, nsta: int, nlta: int) -> np.ndarray:
    """Recursive STA/LTA (ObsPy ``recursive_sta_lta`` definition; Withers et al. 1998).

    Args:
        a: trace(s), 1-D (samples) or 2-D (channels x samples), any unit.
        nsta, nlta: averaging lengths in samples (``csta = 1/nsta``, ``clta = 1/nlta``).

    Returns:
        float64 array of ``a``'s shape; the first ``nlta`` samples are 0.

    Raises:
        PickerInputError (a ValueError): as :func:`classic_sta_lta`.

    Implementation: numba-fused 16-step-unrolled recursion when numba is importable,
    else :func:`_recursive_sta_lta_numpy` (``scipy.signal.lfilter``).
    """
    jit = _jit_kernels()
    if jit is None:
        return _recursive_sta_lta_numpy(a, nsta, nlta)
    x2 = _check_kernel_args(a, nsta, nlta, check_finite=False)
    out = np.empty_like(x2)
    if not jit["recursive"](x2, int(nsta), int(nlta), _JIT_BLOCK_RECURSIVE, out):
        _raise_non_finite(x2)
    return out.reshape(np.shape(a))


def _classic_sta_lta_numpy(a: Any, nsta: int, nlta: int) -> np.ndarray:
    """Pure-numpy :func:`classic_sta_lta` (fallback without numba; same contract).

    Args:
        a: trace(s), 1-D (samples) or 2-D (channels x samples), any unit.
        nsta: STA window length in samples.
        nlta: LTA window length in samples (> nsta).

    Returns:
        float64 array of ``a``'s shape (dimensionless ratio); the first ``nlta - 1``
        samples of each channel are 0.

    Raises:
        PickerInputError (a ValueError): non-positive or non-integer lengths, nsta >= nlta,
            data shorter than nlta, NaN/inf in data.

    Implementation: per channel, time blocks of ``_BLOCK`` samples; each block's
    cumulative sum of squares carries the previous block's last ``nlta`` values,
    re-based to 0 each block so that rounding does not grow over long traces.
    """
    x2 = _check_kernel_args(a, nsta, nlta)
    out = np.empty_like(x2)
    frac = float(nlta) / float(nsta)
    n = x2.shape[1]
    blk = _BLOCK
    buf = np.empty(nlta + blk)
    sta = np.empty(blk)
    lta = np.empty(blk)
    with np.errstate(divide="ignore", invalid="ignore"):
        for row, orow in zip(x2, out, strict=True):
            buf[:nlta] = 0.0
            for b0 in range(0, n, blk):
                m = min(blk, n - b0)
                cur = buf[nlta : nlta + m]
                np.square(row[b0 : b0 + m], out=cur)
                cur[0] += buf[nlta - 1]
                np.cumsum(cur, out=cur)
                np.subtract(cur, buf[nlta - nsta : nlta - nsta + m], out=sta[:m])
                np.subtract(cur, buf[:m], out=lta[:m])
                o = orow[b0 : b0 + m]
                np.divide(sta[:m], lta[:m], out=o)
                o *= frac
                if not lta[:m].min() > 0.0:  # all-zero stretches: 0, not NaN
                    o[lta[:m] <= 0.0] = 0.0
                buf[:nlta] = buf[m : m + nlta]
                buf[:nlta] -= buf[0]
    out[:, : nlta - 1] = 0.0
    return out.reshape(np.shape(a))


def _recursive_sta_lta_numpy(a: Any, nsta: int, nlta: int) -> np.ndarray:
    """Pure-numpy :func:`recursive_sta_lta` (fallback without numba; same contract).

    Args:
        a: trace(s), 1-D (samples) or 2-D (channels x samples), any unit.
        nsta, nlta: averaging lengths in samples (``csta = 1/nsta``, ``clta = 1/nlta``).

    Returns:
        float64 array of ``a``'s shape; the first ``nlta`` samples are 0.

    Raises:
        PickerInputError (a ValueError): as :func:`classic_sta_lta`.

    Both averages are first-order IIR filters of the squared data
    (``scipy.signal.lfilter([c], [1, c - 1])``), run over all channels at once in
    time blocks with carried filter state.
    """
    x2 = _check_kernel_args(a, nsta, nlta)
    nch, n = x2.shape
    out = np.empty_like(x2)
    csta = 1.0 / nsta
    clta = 1.0 / nlta
    bs, as_ = np.array([csta]), np.array([1.0, -(1.0 - csta)])
    bl, al = np.array([clta]), np.array([1.0, -(1.0 - clta)])
    zs = np.zeros((nch, 1))
    zl = np.zeros((nch, 1))
    blk = max(256, _BLOCK // max(nch, 1) * 4)
    sq = np.empty((nch, blk))
    with np.errstate(divide="ignore", invalid="ignore"):
        for b0 in range(0, n, blk):
            m = min(blk, n - b0)
            s = sq[:, :m]
            np.square(x2[:, b0 : b0 + m], out=s)
            if b0 == 0:
                s[:, 0] = 0.0  # ObsPy's recursion starts at sample 1
            ysta, zs = scipy.signal.lfilter(bs, as_, s, axis=-1, zi=zs)
            ylta, zl = scipy.signal.lfilter(bl, al, s, axis=-1, zi=zl)
            o = out[:, b0 : b0 + m]
            np.divide(ysta, ylta, out=o)
            if not ylta.min() > 0.0:
                o[ylta <= 0.0] = 0.0
    out[:, :nlta] = 0.0
    return out.reshape(np.shape(a))


def recursive_bias(n: int, nsta: int, nlta: int) -> np.ndarray:
    """Start-up bias of :func:`recursive_sta_lta` at sample ``i`` (dimensionless).

    For stationary data, ``E[cft_i] = bias_i`` with
    ``bias_i = (1 - (1 - 1/nsta)^i) / (1 - (1 - 1/nlta)^i)`` (sum of the missing
    exponential weights; the recursion starts at sample 1). Dividing by it removes
    the false high ratio just after a (re)start.
    """
    i = np.arange(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = -np.expm1(i * math.log1p(-1.0 / nsta)) / -np.expm1(i * math.log1p(-1.0 / nlta))
    b[0] = 1.0
    return b


# --------------------------------------------------------------------------- triggering
def trigger_onsets(
    cft: Any,
    on: float,
    off: float,
    *,
    min_len: int,
    max_len: int,
    dead_time: int,
) -> list[tuple[int, int]]:
    """Trigger intervals ``(i_on, i_off)`` (sample indices) of a characteristic function.

    A trigger starts at the first sample with ``cft > on`` and ends at the first
    later sample with ``cft <= off`` (hysteresis: the picker re-arms only after
    ``cft`` fell to ``off``). Rules:

    * shorter than ``min_len`` samples: dropped (spikes, glitches), no dead time;
    * longer than ``max_len``: ``i_off`` is forced to ``i_on + max_len`` (kept), and
      the next trigger still needs ``cft <= off`` first;
    * after an accepted trigger-on, no new trigger starts before ``i_on + dead_time``
      (a trigger that started inside the dead time is ignored until it ends);
    * a trigger still on at the end of ``cft`` is returned with ``i_off = len - 1``
      if it already lasted ``min_len``; otherwise dropped (undecided).

    Raises:
        PickerInputError: ``off >= on``, negative lengths, ``max_len < min_len``, cft not 1-D.
    """
    c = np.asarray(cft, dtype=np.float64)
    if c.ndim != 1:
        raise PickerInputError(f"cft must be 1-D, got {c.ndim}-D")
    if not off < on:
        raise PickerInputError(f"off ({off}) must be below on ({on})")
    for name, val in (("min_len", min_len), ("max_len", max_len), ("dead_time", dead_time)):
        if val < 0:
            raise PickerInputError(f"{name} ({val}) must be >= 0")
    if max_len < max(min_len, 1):
        raise PickerInputError(f"max_len ({max_len}) must be >= min_len ({min_len}) and >= 1")
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
            # landed inside a trigger that started during the dead time: skip all of it
            if j >= offs.size:
                break
            pos = int(offs[j]) + 1
            continue
        is_open = j >= offs.size
        i_end = n - 1 if is_open else int(offs[j])
        length = i_end - i_on
        if length < min_len:
            if is_open:
                break
            pos = i_end + 1
            continue
        i_off = min(i_end, i_on + max_len)
        out.append((i_on, i_off))
        pos = max(i_end + 1, i_on + dead_time)
    return out


# --------------------------------------------------------------------------- AIC
def aic_curve(x: Any) -> np.ndarray:
    """Maeda (1985) AIC of every split ``k`` (first segment ``x[0:k]``).

    ``AIC(k) = k log var(x[0:k]) + (N - k - 1) log var(x[k:N])``; entries with fewer
    than 2 samples on a side are ``inf``.
    """
    y = np.asarray(x, dtype=np.float64)
    n = y.size
    y = y - y.mean()
    scale = float(np.abs(y).max()) or 1.0
    y = y / scale
    c1 = np.cumsum(y)
    c2 = np.cumsum(y * y)
    k = np.arange(1, n, dtype=np.float64)  # first-segment lengths 1..n-1
    s1, q1 = c1[:-1], c2[:-1]
    s2, q2 = c1[-1] - s1, c2[-1] - q1
    v1 = q1 / k - (s1 / k) ** 2
    v2 = q2 / (n - k) - (s2 / (n - k)) ** 2
    tiny = 1e-30
    aic = np.full(n, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = k * np.log(np.maximum(v1, tiny)) + (n - k - 1) * np.log(np.maximum(v2, tiny))
    aic[1:] = vals
    aic[:2] = np.inf
    aic[n - 1 :] = np.inf
    return aic


def aic_onset(x: Any) -> int:
    """Onset index of ``x`` by the Maeda (1985) AIC: the first sample of the signal part.

    Args:
        x: 1-D snippet (any unit) holding noise followed by the onset.

    Raises:
        PickerInputError: fewer than 5 samples, not 1-D, or NaN/inf.
    """
    y = np.asarray(x, dtype=np.float64)
    if y.ndim != 1 or y.size < 5:
        raise PickerInputError(f"aic_onset needs a 1-D array of >= 5 samples, got {y.shape}")
    if not np.isfinite(y).all():
        raise PickerInputError("aic_onset: data contain NaN/inf")
    return int(np.argmin(aic_curve(y)))


def onset_uncertainty(
    y: Any, k: int, aic: Any, fs: float, floor_s: float, noise_s: float = 1.0
) -> float:
    """One-sigma uncertainty (s) of the AIC onset ``k`` of the snippet ``y``.

    The largest of (Diehl, Kissling & Bormann 2012, IASPEI NMSOP-2 IS 11.4: the
    onset lies between the earliest and the latest possible onset [3P]):

    * ``floor_s`` (sampling, filter residual delay: callers pass >= 2 samples);
    * the half width of the AIC minimum, ``AIC <= min + 2`` (a likelihood-ratio
      interval [heuristic]);
    * the latency to the latest possible onset: the first sample at or after ``k``
      whose ``|y|`` exceeds the largest ``|y|`` of the ``noise_s`` before ``k`` (an
      emergent or low-SNR onset gets a large uncertainty).

    Args:
        y: filtered snippet (any unit); ``aic``: its :func:`aic_curve`; ``fs`` in Hz.
    """
    yy = np.asarray(y, dtype=np.float64)
    a = np.asarray(aic, dtype=np.float64)
    good = np.flatnonzero(a <= a[k] + 2.0)
    half = max(k - int(good.min()), int(good.max()) - k) / fs if good.size else 0.0
    pre = np.abs(yy[max(0, k - round(noise_s * fs)) : k])
    level = float(pre.max()) if pre.size else 0.0
    above = np.flatnonzero(np.abs(yy[k:]) > level)
    late = (int(above[0]) if above.size else yy.size - k) / fs
    return float(max(floor_s, half, late))


# --------------------------------------------------------------------------- picker
# Largest move of a P onset from the trigger-band AIC to the refinement-band AIC (s):
# group delay of the default causal 4-corner 2-15 Hz Butterworth at 100 Hz
# (scipy.signal.group_delay): 0.38 s at the 2 Hz corner, 0.16 s at 3 Hz, 0.07 s at 5 Hz;
# an AIC onset lags by less than that (the envelope starts before its group delay).
# The 2-corner 1-30 Hz refinement band: 0.03 s at 3 Hz, 0.015 s at 5 Hz.
_MAX_SHIFT_S = 0.3


@dataclass
class _Cand:
    pick: Pick
    clipped: bool
    vertical: bool


def _filter_snippet(raw: np.ndarray, fs: float, band: Any, zerophase: bool) -> np.ndarray:
    from seismo.processing import bandpass

    y = raw - raw[: max(1, raw.size // 4)].mean()
    return bandpass(y, fs, band, zerophase=zerophase, taper_n=max(1, raw.size // 10))


def _is_vertical(tr: Trace) -> bool:
    dip = tr.stats.seismo.get("dip")
    if dip is not None and abs(float(dip)) > 60.0:
        return True
    return bool(dip is None and tr.stats.channel.endswith("Z"))


def _pick_segment(tr: Trace, cfg: PickerConfig) -> list[_Cand]:
    """P candidates on one gap-free, conditioned segment (raw counts in tr.data)."""
    from seismo.processing import bandpass

    meta = tr.stats.seismo
    if meta.get("dead") or meta.get("kind") not in cfg.channel_kinds:
        return []
    fs = float(tr.stats.sampling_rate)
    nsta = max(1, round(cfg.sta_s * fs))
    nlta = max(nsta + 1, round(cfg.lta_s * fs))
    raw = np.asarray(tr.data, dtype=np.float64)
    n = raw.size
    if n <= nlta + nsta:
        return []
    band = cfg.bands[meta["kind"]]
    filt = bandpass(
        raw - raw.mean(), fs, band, zerophase=not cfg.causal, taper_n=round(cfg.taper_s * fs)
    )
    if cfg.method == "classic":
        cft = classic_sta_lta(filt, nsta, nlta)
    else:
        cft = recursive_sta_lta(filt, nsta, nlta) / recursive_bias(n, nsta, nlta)
    trig = trigger_onsets(
        cft,
        cfg.trig_on,
        cfg.trig_off,
        min_len=round(cfg.min_trigger_s * fs),
        max_len=max(1, round(cfg.max_trigger_s * fs)),
        dead_time=round(cfg.dead_time_s * fs),
    )
    clip_idx = np.asarray(meta.get("clipped_idx", ()), dtype=np.int64)
    w_before = round(cfg.aic_window_s * fs)
    w_after = round(cfg.aic_window_s * fs / 2)
    pad = round(1.0 * fs)
    t0 = tr.stats.starttime
    out: list[_Cand] = []
    for i_on, i_off in trig:
        i0, i1 = max(0, i_on - w_before), min(n, i_on + w_after)
        if i1 - i0 < 10:
            continue
        p0 = max(0, i0 - pad)
        # two stages: AIC on the trigger band (robust), then on the wide, less delayed
        # refinement band, only up to _MAX_SHIFT_S earlier (it removes the filter delay)
        snip = _filter_snippet(raw[p0:i1], fs, band, zerophase=False)[i0 - p0 :]
        k0 = int(np.argmin(aic_curve(snip)))
        ref = _filter_snippet(raw[p0:i1], fs, cfg.refine_band, zerophase=False)[i0 - p0 :]
        aic = aic_curve(ref)
        a0 = max(0, k0 - round(_MAX_SHIFT_S * fs))
        k = a0 + int(np.argmin(aic[a0 : k0 + 3]))
        onset = i0 + k
        if k < 5 or ref.size - k < 5:
            continue
        noise = float(np.sqrt(np.mean(snip[:k] ** 2))) or 1e-30
        sig = float(np.sqrt(np.mean(snip[k:] ** 2)))
        snr = sig / noise
        if snr < cfg.min_snr:
            continue
        pre_clip = np.count_nonzero((clip_idx >= i0) & (clip_idx < onset))
        if pre_clip:
            log.debug("%s: trigger at %s rejected, clipped before onset", tr.id, t0 + i_on / fs)
            continue
        a1 = min(n, onset + max(1, round(cfg.amplitude_window_s * fs)))
        amp = float(np.abs(filt[onset:a1]).max())
        clipped = bool(np.count_nonzero((clip_idx >= onset) & (clip_idx < a1)))
        unc = onset_uncertainty(ref, k, aic, fs, cfg.min_uncertainty_samples / fs)
        vertical = _is_vertical(tr)
        polarity = _polarity(raw, onset, fs, band, cfg, unc) if vertical else None
        if polarity is not None and float(meta.get("dip") or -90.0) > 0:
            polarity = "negative" if polarity == "positive" else "positive"  # dip +90: down
        time = t0 + onset / fs
        pick = Pick(
            id=Pick.make_id(tr.id, "P", time),
            network=tr.stats.network,
            station=tr.stats.station,
            location=tr.stats.location,
            channel=tr.stats.channel,
            phase="P",
            time=time,
            uncertainty_s=round(unc, 4),
            snr=round(snr, 2),
            amplitude=amp,
            polarity=polarity,
            kind=meta["kind"],
            trigger_on=t0 + i_on / fs,
            trigger_off=t0 + i_off / fs,
        )
        out.append(_Cand(pick, clipped, vertical))
    return out


def _polarity(
    raw: np.ndarray, onset: int, fs: float, band: Any, cfg: PickerConfig, unc: float
) -> Polarity | None:
    """First-motion sign on a causally filtered snippet, only when clear.

    Clear: the first sample after the onset exceeding ``polarity_min_ratio`` x the
    pre-onset rms comes within ``max(3 * uncertainty, 0.05 s)`` of the onset, and
    the pick uncertainty is at most 0.05 s [heuristic].
    """
    if unc > 0.05:
        return None
    pre = round(2.0 * fs)
    post = round(0.5 * fs)
    p0 = max(0, onset - pre)
    seg = raw[p0 : onset + post]
    if onset - p0 < round(0.5 * fs) or seg.size <= onset - p0 + 2:
        return None
    # Causal filter: no energy leaks before the onset, first-motion sign is kept.
    y = _filter_snippet(seg, fs, band, zerophase=False)
    k = onset - p0
    noise = float(np.sqrt(np.mean(y[k - round(0.5 * fs) : k] ** 2))) or 1e-30
    thr = cfg.polarity_min_ratio * noise
    idx = np.flatnonzero(np.abs(y[k:]) > thr)
    if idx.size == 0 or idx[0] > max(3.0 * unc, 0.05) * fs:
        return None
    return "positive" if y[k + idx[0]] > 0 else "negative"


def _merge_station(
    cands: list[_Cand], cfg: PickerConfig
) -> tuple[list[_Cand], list[tuple[Pick, UTCDateTime]]]:
    """One P per station per onset, and (S pick, its P time) (rules: module docstring)."""
    by_sta: dict[str, list[_Cand]] = {}
    for c in cands:
        by_sta.setdefault(c.pick.station_id, []).append(c)
    kept: list[_Cand] = []
    s_picks: list[tuple[Pick, UTCDateTime]] = []
    for group in by_sta.values():
        group.sort(key=lambda c: float(c.pick.time))
        clusters: list[list[_Cand]] = []
        for c in group:
            if clusters and float(c.pick.time) - float(clusters[-1][0].pick.time) <= (
                cfg.station_merge_s
            ):
                clusters[-1].append(c)
            else:
                clusters.append([c])
        last_p: UTCDateTime | None = None
        for cl in clusters:
            cl.sort(
                key=lambda c: (
                    c.clipped,
                    c.pick.kind != "velocity",
                    not c.vertical,
                    -c.pick.snr,
                    c.pick.seed_id,
                )
            )
            best = cl[0]
            z_snr = max((c.pick.snr for c in cl if c.vertical), default=0.0)
            h_snr = max((c.pick.snr for c in cl if not c.vertical), default=0.0)
            if (
                last_p is not None
                and cfg.s_min_delay_s <= best.pick.time - last_p <= cfg.s_max_delay_s
                and h_snr > z_snr
            ):
                # horizontal-dominant onset after a P: the S arrival, not a new P
                hor = min(
                    (c for c in cl if not c.vertical),
                    key=lambda c: (
                        c.clipped,
                        c.pick.kind != "velocity",
                        -c.pick.snr,
                        c.pick.seed_id,
                    ),
                )
                p = hor.pick
                s_picks.append(
                    (
                        replace(
                            p, phase="S", polarity=None, id=Pick.make_id(p.seed_id, "S", p.time)
                        ),
                        last_p,
                    )
                )
                continue
            kept.append(best)
            last_p = best.pick.time
    return kept, s_picks


def _slice(tr: Trace, t0: UTCDateTime, n: int) -> np.ndarray | None:
    """``n`` raw samples of ``tr`` from the sample at/after ``t0``, None if not covered."""
    fs = float(tr.stats.sampling_rate)
    i0 = math.ceil(round(float(t0 - tr.stats.starttime) * fs, 6))
    if i0 < 0 or i0 + n > tr.stats.npts:
        return None
    return np.asarray(tr.data[i0 : i0 + n], dtype=np.float64)


def _refine_s(s: Pick, p_time: UTCDateTime, horiz: list[Trace], cfg: PickerConfig) -> Pick:
    """S onset by AIC on the transverse component (module docstring), else unchanged.

    ``horiz``: conditioned horizontal segments of the S pick's instrument.
    """
    own = [tr for tr in horiz if tr.stats.channel == s.channel]
    if not own or s.trigger_on is None:
        return s
    fs = float(own[0].stats.sampling_rate)
    others = [tr for tr in horiz if tr.stats.channel != s.channel and tr.stats.sampling_rate == fs]
    pair = own[:1] + others[:1]
    lo = max(p_time + cfg.s_min_delay_s, s.trigger_on - cfg.aic_window_s)
    hi = s.trigger_on + cfg.aic_window_s / 2
    pad = 1.0
    n = round(float(hi - lo) * fs)
    npad = round(pad * fs)
    if n < 20:
        return s
    t_start = lo - pad
    ys: list[np.ndarray] = []
    for tr in pair:
        raw = _slice(tr, t_start, n + npad)
        if raw is None:
            if tr is pair[0]:
                return s
            continue
        ys.append(_filter_snippet(raw, fs, cfg.refine_band, zerophase=False)[npad:])
    y = ys[0]
    if len(ys) == 2:
        # horizontal P direction = principal axis of the P particle motion (needs no
        # channel orientation); S is picked on the perpendicular (transverse) axis
        m = round(min(cfg.s_polarization_s, float(lo - p_time)) * fs)
        pw = [_slice(tr, p_time - pad, npad + m) for tr in pair]
        if m >= 10 and all(w is not None for w in pw):
            pf = np.vstack(
                [_filter_snippet(w, fs, cfg.refine_band, zerophase=False)[npad:] for w in pw]  # type: ignore[arg-type]
            )
            lam, vec = np.linalg.eigh(np.cov(pf))
            if lam[1] > 0 and 1.0 - lam[0] / lam[1] >= 0.5:  # rectilinear enough
                y = -vec[1, 1] * ys[0] + vec[0, 1] * ys[1]
    aic = aic_curve(y)
    k = int(np.argmin(aic))
    if k < 5 or y.size - k < 5:
        return s
    floor = max(cfg.min_uncertainty_samples / fs, cfg.s_min_uncertainty_s)
    unc = onset_uncertainty(y, k, aic, fs, floor)
    time = t_start + (npad + k) / fs
    # same sample grid as the channel: snap to its samples
    tr0 = pair[0]
    time = tr0.stats.starttime + round(float(time - tr0.stats.starttime) * fs) / fs
    return replace(s, time=time, uncertainty_s=round(unc, 4), id=Pick.make_id(s.seed_id, "S", time))


def pick_stream(
    stream: Stream,
    inventory: Inventory,
    cfg: PickerConfig,
    *,
    start: UTCDateTime | None = None,
    end: UTCDateTime | None = None,
) -> list[Pick]:
    """P (and optionally S) picks on a stream of raw counts.

    Args:
        stream: raw waveforms (counts), possibly gappy, overlapping, masked, at mixed
            sampling rates. Fetch it with a pre-roll of at least ``cfg.lta_s`` (better
            3 x) before ``start`` and a post-roll of ``aic_window_s`` after ``end``.
        inventory: StationXML inventory (channel kind, orientation).
        cfg: picker configuration.
        start, end: only picks with ``start <= time < end`` are returned.

    Returns:
        picks sorted by time then id. One failing channel is logged and skipped.
    """
    from seismo.processing import condition_stream

    segs = condition_stream(stream, inventory, cfg)
    cands: list[_Cand] = []
    for tr in segs:
        try:
            cands.extend(_pick_segment(tr, cfg))
        except SeismoError as exc:
            log.warning("picker skipped %s: %s", tr.id, exc)
    p_cands, s_found = _merge_station(cands, cfg)
    picks = [c.pick for c in p_cands]
    if cfg.s_picks:
        horiz: dict[str, list[Trace]] = {}  # instrument (seed id without component) -> segments
        for tr in segs:
            if not _is_vertical(tr) and not tr.stats.seismo.get("dead"):
                horiz.setdefault(tr.id[:-1], []).append(tr)
        for s, p_time in s_found:
            trs = [
                tr
                for tr in horiz.get(s.seed_id[:-1], [])
                if tr.stats.starttime <= s.time <= tr.stats.endtime
            ]
            try:
                picks.append(_refine_s(s, p_time, trs, cfg))
            except SeismoError as exc:
                log.warning("S refinement skipped %s: %s", s.seed_id, exc)
                picks.append(s)
    if start is not None:
        picks = [p for p in picks if p.time >= start]
    if end is not None:
        picks = [p for p in picks if p.time < end]
    picks.sort(key=lambda p: (float(p.time), p.id))
    return picks
