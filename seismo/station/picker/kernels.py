"""STA/LTA kernels: classic and recursive characteristic functions.

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

The recursive start-up bias of :func:`recursive_bias` is removed by the picker
(``seismo.station.picker.pick``), not by the public kernel.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.signal

from seismo.errors import PickerInputError

log = logging.getLogger(__name__)

# Time-block length (samples) of the numpy kernels: 4096 float64 = 32 KiB per work
# array (the working set stays in L2 cache).  Block-local cumulative sums lose
# ~eps * (energy in nlta + block) / (energy in the STA window): measured on real records
# (tests/test_picker.py, a strong event next to quiet noise), 4096 keeps the difference
# to ObsPy <= 4.4e-7 down to nsta = 5, 16384 gave 1.3e-4.
_BLOCK = 4096


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


def _sos_loop(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:  # pragma: no cover
    """Second-order sections over ``x`` in place from the state ``zi`` (updated in place
    to the final state): the direct form II transposed recursion of SciPy's ``sosfilt``
    (``_sosfilt_float``), operation for operation, so the results are the same floats.
    Compiled by numba (:func:`jit_kernels`)."""
    n_sections = sos.shape[0]
    for n in range(x.size):
        x_cur = x[n]
        for s in range(n_sections):
            x_new = sos[s, 0] * x_cur + zi[s, 0]
            zi[s, 0] = sos[s, 1] * x_cur - sos[s, 4] * x_new + zi[s, 1]
            zi[s, 1] = sos[s, 2] * x_cur - sos[s, 5] * x_new
            x_cur = x_new
        x[n] = x_cur


def _sos4_loop(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:  # pragma: no cover
    """:func:`_sos_loop` for exactly 4 sections (the picker's 4-corner band-pass), with the
    coefficients and the state in registers: the same operations in the same order, so
    the same floats, ~1.5x faster (the state no longer goes through memory)."""
    b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    b20, b21, b22, a21, a22 = sos[2, 0], sos[2, 1], sos[2, 2], sos[2, 4], sos[2, 5]
    b30, b31, b32, a31, a32 = sos[3, 0], sos[3, 1], sos[3, 2], sos[3, 4], sos[3, 5]
    z00, z01, z10, z11 = zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1]
    z20, z21, z30, z31 = zi[2, 0], zi[2, 1], zi[3, 0], zi[3, 1]
    for n in range(x.size):
        x0 = x[n]
        x1 = b00 * x0 + z00
        z00 = b01 * x0 - a01 * x1 + z01
        z01 = b02 * x0 - a02 * x1
        x2 = b10 * x1 + z10
        z10 = b11 * x1 - a11 * x2 + z11
        z11 = b12 * x1 - a12 * x2
        x3 = b20 * x2 + z20
        z20 = b21 * x2 - a21 * x3 + z21
        z21 = b22 * x2 - a22 * x3
        x4 = b30 * x3 + z30
        z30 = b31 * x3 - a31 * x4 + z31
        z31 = b32 * x3 - a32 * x4
        x[n] = x4
    zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1] = z00, z01, z10, z11
    zi[2, 0], zi[2, 1], zi[3, 0], zi[3, 1] = z20, z21, z30, z31


def _sos_kernel(jit: dict[str, Any], sos: np.ndarray) -> Any:
    return jit["sos4"] if sos.shape[0] == 4 else jit["sos"]


def sosfilt_inplace(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfilt(sos, x)`` for a 1-D float64 ``x``, written into ``x``.

    With numba, the compiled :func:`_sos_loop` (the same floats as SciPy, without its
    per-call overhead, which dominates for the short snippets and windows of the
    picker); without numba, SciPy itself.
    """
    jit = jit_kernels()
    if jit is None or x.ndim != 1 or x.dtype != np.float64 or not x.flags.c_contiguous:
        x[...] = scipy.signal.sosfilt(sos, x)
        return x
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    _sos_kernel(jit, sos)(sos, x, np.zeros((sos.shape[0], 2)))
    return x


def sosfilt_state(
    sos: np.ndarray, x: np.ndarray, zi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.sosfilt(sos, x, zi=zi)`` for a 1-D ``x``: (output, final state),
    ``x`` and ``zi`` untouched. Compiled as :func:`sosfilt_inplace`: a filter fed record
    by record (``seismo stream``) makes thousands of short calls, where SciPy's per-call
    checks cost more than the filtering."""
    jit = jit_kernels()
    if jit is None or x.ndim != 1:
        y, zf = scipy.signal.sosfilt(sos, x, zi=zi)
        return np.asarray(y), np.asarray(zf)
    y = np.array(x, dtype=np.float64)
    zf = np.array(zi, dtype=np.float64)
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    _sos_kernel(jit, sos)(sos, y, zf)
    return y, zf


@functools.cache
def jit_kernels() -> dict[str, Any] | None:
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
    for name, fn in (
        ("classic", _classic_rows_loop), ("recursive", _recursive_rows_loop), ("sos", _sos_loop),
        ("sos4", _sos4_loop),
    ):
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
    else :func:`classic_sta_lta_numpy` (see the comment above ``_classic_rows_loop``).
    """
    return _sta_lta("classic", a, nsta, nlta)


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
    else :func:`recursive_sta_lta_numpy` (``scipy.signal.lfilter``).
    """
    return _sta_lta("recursive", a, nsta, nlta)


def _classic_jit_block(nsta: int, nlta: int) -> int:
    """Time-block length (samples) of the classic numba kernel (comment above
    ``_JIT_BLOCK_RECURSIVE``): ``256 * nsta - nlta`` rounded down to 1024, in
    ``[_BLOCK, 16384]``."""
    return min(max(_BLOCK, (256 * nsta - nlta) // 1024 * 1024), 16384)


def _sta_lta(method: str, a: Any, nsta: int, nlta: int) -> np.ndarray:
    """Run the ``method`` ("classic" / "recursive") kernel: numba when importable,
    else the numpy fallback. Same contract as :func:`classic_sta_lta`."""
    jit = jit_kernels()
    if jit is None:
        return _NUMPY_KERNELS[method](a, nsta, nlta)
    x2 = _check_kernel_args(a, nsta, nlta, check_finite=False)
    out = np.empty_like(x2)
    ns, nl = int(nsta), int(nlta)
    blk = _classic_jit_block(ns, nl) if method == "classic" else _JIT_BLOCK_RECURSIVE
    if not jit[method](x2, ns, nl, blk, out):
        _raise_non_finite(x2)
    return out.reshape(np.shape(a))


def classic_sta_lta_numpy(a: Any, nsta: int, nlta: int) -> np.ndarray:
    """Pure-numpy :func:`classic_sta_lta` (fallback without numba; same arguments,
    result and errors).

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


def recursive_sta_lta_numpy(a: Any, nsta: int, nlta: int) -> np.ndarray:
    """Pure-numpy :func:`recursive_sta_lta` (fallback without numba; same arguments,
    result and errors).

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

    Past ~38 x ``nlta`` samples both powers are below 2^-55 and the bias is exactly 1.0
    in float64; only the head before that is evaluated (once per ``nsta``, ``nlta``).
    """
    head = recursive_bias_head(nsta, nlta)
    b = np.ones(n, dtype=np.float64)
    k = min(n, head.size)
    b[:k] = head[:k]
    return b


@functools.lru_cache(maxsize=16)
def recursive_bias_head(nsta: int, nlta: int) -> np.ndarray:
    """:func:`recursive_bias` up to where it becomes exactly 1.0 in float64 (read-only,
    cached): past its end, dividing by the bias changes nothing."""
    la, lb = math.log1p(-1.0 / nsta), math.log1p(-1.0 / nlta)
    # (1 - 1/n)^i < 2^-55 for both terms: then 1 - power rounds to exactly 1.0
    m = 1 + math.ceil(55.0 * math.log(2.0) / min(-la, -lb))
    i = np.arange(m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = -np.expm1(i * la) / -np.expm1(i * lb)
    b[0] = 1.0
    b.setflags(write=False)
    return b


_NUMPY_KERNELS: dict[str, Callable[[Any, int, int], np.ndarray]] = {
    "classic": classic_sta_lta_numpy,
    "recursive": recursive_sta_lta_numpy,
}
