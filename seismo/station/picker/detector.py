"""STA/LTA characteristic functions that carry their state from one call to the next.

The picker runs on these, so that a segment fed in one piece (a window) and fed
packet by packet (real time) gives the same characteristic function, to rounding:

* :class:`RecursiveStaLta`: the recursive STA/LTA of :func:`~seismo.station.picker.kernels.
  recursive_sta_lta` (Withers et al. 1998; ObsPy definition: both averages start at 0
  and sample 0 of a segment is not used), divided by its start-up bias
  (:func:`~seismo.station.picker.kernels.recursive_bias`), 0 for the first ``nlta``
  samples. The state is the two averages and the sample count.
* :class:`ClassicStaLta`: the classic STA/LTA of :func:`~seismo.station.picker.kernels.
  classic_sta_lta` (0 for the first ``nlta - 1`` samples). The state is the last
  ``nlta`` squared samples; the running sums restart in every block of
  ``kernels._BLOCK`` samples (rounding does not grow over days).

Both are tested against the whole-array kernels (tests/station/test_picker_state.py).
The recursive loop is compiled with numba when importable (a plain two-chain
recursion, ~3 ns per sample), else it runs through ``scipy.signal.lfilter`` with
carried initial conditions.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import numpy as np
import scipy.signal

from seismo.errors import PickerInputError
from seismo.station.picker.kernels import _BLOCK, _raise_non_finite, recursive_bias_head

log = logging.getLogger(__name__)

def _recursive_loop(
    x: np.ndarray, cs: float, cl: float, sta: float, lta: float, out: np.ndarray
) -> tuple[float, float]:  # pragma: no cover - compiled by numba
    """``out[k] = sta_k / lta_k`` (0 where lta_k is 0) of the recursion from (sta, lta)."""
    a_s = 1.0 - cs
    a_l = 1.0 - cl
    for k in range(x.size):
        v = x[k] * x[k]
        sta = a_s * sta + cs * v
        lta = a_l * lta + cl * v
        out[k] = sta / lta if lta > 0.0 else 0.0
    return sta, lta


@functools.cache
def _jit_recursive() -> Any:
    try:
        import numba  # optional accelerator, imported on first use
    except ImportError:
        log.info("numba not importable: the stateful STA/LTA uses scipy.signal.lfilter")
        return None
    try:
        return numba.njit(cache=True, error_model="numpy", fastmath=False)(_recursive_loop)
    except RuntimeError:  # no writable cache location
        return numba.njit(cache=False, error_model="numpy", fastmath=False)(_recursive_loop)


def _check_lengths(nsta: int, nlta: int) -> None:
    for name, val in (("nsta", nsta), ("nlta", nlta)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise PickerInputError(f"{name} ({val!r}) must be a positive integer number of samples")
    if nsta >= nlta:
        raise PickerInputError(f"nsta ({nsta}) must be smaller than nlta ({nlta})")


def _one_d(x: np.ndarray) -> np.ndarray:
    y = np.ascontiguousarray(x, dtype=np.float64)
    if y.ndim != 1:
        raise PickerInputError(f"data must be 1-D, got {y.ndim}-D")
    return y


def _finite(x: np.ndarray) -> np.ndarray:
    y = _one_d(x)
    if not np.isfinite(y).all():
        _raise_non_finite(y)
    return y


class RecursiveStaLta:
    """Bias-corrected recursive STA/LTA of one segment, fed in pieces (module docstring)."""

    def __init__(self, nsta: int, nlta: int) -> None:
        _check_lengths(nsta, nlta)
        self.nsta, self.nlta = int(nsta), int(nlta)
        self.n = 0  # samples consumed
        self._sta = 0.0
        self._lta = 0.0

    def _bias(self, i0: int, m: int) -> np.ndarray | None:
        """Start-up bias of samples ``i0 .. i0 + m - 1``, or of its start where it
        differs from 1 (None: 1 everywhere)."""
        head = recursive_bias_head(self.nsta, self.nlta)
        if i0 >= head.size:
            return None
        return head[i0 : i0 + m]

    def process(self, x: Any) -> np.ndarray:
        """The characteristic function of the next samples ``x`` (filtered trace).

        Non-finite samples raise :class:`~seismo.errors.PickerInputError`: a NaN or inf
        leaves a non-finite average behind (squares are >= 0: no inf - inf), so the
        final state shows it without a pass of its own; the first sample of a
        segment, which the recursion does not use, is checked alone.
        """
        y = _one_d(x)
        m = y.size
        out = np.empty(m)
        if m == 0:
            return out
        i0 = self.n
        if i0 == 0 and not math.isfinite(y[0]):
            _raise_non_finite(y)
        cs, cl = 1.0 / self.nsta, 1.0 / self.nlta
        jit = _jit_recursive()
        if jit is not None:
            if i0 == 0:  # ObsPy's recursion starts at sample 1: sample 0 counts as 0
                out[0] = 0.0
                self._sta, self._lta = jit(y[1:], cs, cl, 0.0, 0.0, out[1:])
            else:
                self._sta, self._lta = jit(y, cs, cl, self._sta, self._lta, out)
        else:
            if i0 == 0:
                y = y.copy()
                y[0] = 0.0  # ObsPy's recursion starts at sample 1
            s = y * y
            ys, _ = scipy.signal.lfilter([cs], [1.0, cs - 1.0], s, zi=[(1 - cs) * self._sta])
            yl, _ = scipy.signal.lfilter([cl], [1.0, cl - 1.0], s, zi=[(1 - cl) * self._lta])
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(ys, yl, out=out)
            out[yl <= 0.0] = 0.0
            self._sta, self._lta = float(ys[-1]), float(yl[-1])
        if not (math.isfinite(self._sta) and math.isfinite(self._lta)):
            _raise_non_finite(y)
        bias = self._bias(i0, m)
        if bias is not None:
            out[: bias.size] /= bias
        warm = self.nlta - i0
        if warm > 0:
            out[: min(warm, m)] = 0.0
        self.n += m
        return out


class ClassicStaLta:
    """Classic STA/LTA of one segment, fed in pieces (module docstring)."""

    def __init__(self, nsta: int, nlta: int) -> None:
        _check_lengths(nsta, nlta)
        self.nsta, self.nlta = int(nsta), int(nlta)
        self.n = 0
        self._tail = np.zeros(self.nlta)  # last nlta squared samples (zeros before the start)

    def process(self, x: Any) -> np.ndarray:
        """The characteristic function of the next samples ``x`` (filtered trace)."""
        y = _finite(x)
        m = y.size
        out = np.empty(m)
        nl, ns = self.nlta, self.nsta
        frac = nl / ns
        buf = np.empty(nl + _BLOCK)
        for b0 in range(0, m, _BLOCK):
            k = min(_BLOCK, m - b0)
            cur = buf[: nl + k]
            cur[:nl] = self._tail
            np.square(y[b0 : b0 + k], out=cur[nl:])
            p = np.cumsum(cur)
            sta = p[nl:] - p[nl - ns : nl - ns + k]
            lta = p[nl:] - p[:k]
            o = out[b0 : b0 + k]
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(sta, lta, out=o)
            o *= frac
            o[lta <= 0.0] = 0.0
            self._tail = cur[k : k + nl].copy()
        warm = nl - 1 - self.n
        if warm > 0:
            out[: min(warm, m)] = 0.0
        self.n += m
        return out


def sta_lta_state(method: str, nsta: int, nlta: int) -> RecursiveStaLta | ClassicStaLta:
    """A stateful detector for ``method`` ("recursive" or "classic")."""
    if method == "classic":
        return ClassicStaLta(nsta, nlta)
    if method == "recursive":
        return RecursiveStaLta(nsta, nlta)
    raise PickerInputError(f"STA/LTA method {method!r} is not 'recursive' or 'classic'")
