"""Isolated-spike removal for samples that arrive in pieces (:class:`Despiker`).

A sample is a spike when it lies more than ``k`` x the median absolute deviation (MAD)
from the median of the previous ``SPIKE_BLOCK_S`` seconds, is 1-2 samples wide, both
neighbours on each side lie within a third of that, and it stands ten times further
from the median than its neighbours; it is replaced by linear interpolation
[heuristic; a real onset does not jump there and back within 20 ms at 100 Hz]. The
picker despikes each channel segment as its samples arrive
(:class:`seismo.station.picker.segment.ChannelSegment`); the quality flags of
:func:`seismo.station.processing.condition_stream` count the spikes of a segment.
"""

from __future__ import annotations

import math

import numpy as np


def despike_in_place(x: np.ndarray, k: float, fs: float = 100.0) -> int:
    """Replace isolated 1-2 sample spikes in place; return how many samples were replaced."""
    d = Despiker(k, fs)
    x[:] = d.process(x, final=True)
    return d.n_spikes


#: Length of the blocks whose median and MAD set the spike level of the next block (s).
SPIKE_BLOCK_S = 5.0
#: Every this many samples of a block enter its median and MAD (a level for a 50 x MAD
#: threshold needs no more; it keeps the cost at a fifth of a full median).
_SPIKE_LEVEL_STEP = 5
#: A spike also stands out from both neighbours by this factor (their deviation from
#: the median): a band-limited seismic wave does not jump that far and back within a
#: sample or two [heuristic].
_SPIKE_NEIGHBOUR_RATIO = 10.0


class Despiker:
    """Isolated-spike removal (module docstring) for samples that arrive in pieces.

    The level (median and MAD) of the samples of block ``b`` (``SPIKE_BLOCK_S``
    seconds from the segment start) is that of the raw block ``b - 1``; the first
    block uses its own. A sample is decided once the two samples after it exist (a
    spike is 1-2 samples wide, between two quiet samples on each side), so
    :meth:`process` holds back the last three (and, at
    a segment start, the first block) until more samples come or ``final``. The
    decisions depend only on the samples, not on how they were cut into pieces: a
    segment fed at once and fed record by record gives the same output.
    """

    HOLD = 3

    def __init__(self, k: float, fs: float) -> None:
        self.k = float(k)
        self.block = max(8, round(SPIKE_BLOCK_S * fs))
        self.n_spikes = 0
        self._held = np.empty(0)
        self._n_out = 0  # samples released so far (index of _held[0])
        self._blk = np.empty(0)  # raw samples of the current (incomplete) block
        self._lev = np.empty((0, 2))  # (median, MAD) of blocks _lev0, _lev0 + 1, ...
        self._lev0 = 0
        self._last = 0.0  # last released sample
        self._last_small = (False, False)  # whether the last two released ones were small

    @property
    def held(self) -> int:
        """Samples received but not yet released."""
        return int(self._held.size)

    @staticmethod
    def _level(raw: np.ndarray) -> tuple[float, float]:
        v = raw[::_SPIKE_LEVEL_STEP]
        med = float(np.median(v))
        return med, float(np.median(np.abs(v - med))) or 1e-30

    def _add_raw(self, x: np.ndarray, final: bool) -> None:
        """Levels of the blocks completed by ``x`` (and of a partial first block at the end)."""
        first = (self._n_out + self._held.size - self._blk.size) // self.block
        n_done = 0
        blk = self._blk
        if blk.size:  # the incomplete block first (joined alone: x is not copied)
            need = self.block - blk.size
            if x.size < need:
                blk, x = np.concatenate([blk, x]), x[:0]
            else:
                self._add_levels(first, *map(np.atleast_1d, self._level(
                    np.concatenate([blk, x[:need]]))))
                n_done, blk, x = 1, blk[:0], x[need:]
        n_full = x.size // self.block
        if n_full:  # every completed block at once: :meth:`_level` row by row
            v = x[: n_full * self.block].reshape(n_full, self.block)[:, ::_SPIKE_LEVEL_STEP]
            med = np.median(v, axis=1)
            mad = np.median(np.abs(v - med[:, None]), axis=1)
            self._add_levels(first + n_done, med, np.where(mad == 0, 1e-30, mad))
        n_done += n_full
        self._blk = blk if blk.size else x[n_full * self.block :].copy()
        if final and first + n_done == 0 and self._blk.size and not self._lev.size:
            # a segment shorter than one block: its own level (none below 8 samples)
            blk = self._blk
            self._add_levels(0, *map(np.atleast_1d, self._level(blk) if blk.size >= 8
                                     else (0.0, math.inf)))

    def _add_levels(self, first: int, med: np.ndarray, mad: np.ndarray) -> None:
        """Levels of the consecutive blocks from ``first`` on."""
        if not self._lev.size:
            self._lev0 = first
        self._lev = np.concatenate([self._lev, np.column_stack([med, mad])])

    def _is_small(self, i: int, v: float) -> bool:
        lev = self._threshold_for(i) or (0.0, 1e-30)
        return bool(abs(v - lev[0]) < (self.k / 3.0) * lev[1])

    def _threshold_for(self, i: int) -> tuple[float, float] | None:
        b = i // self.block
        k = (b - 1 if b >= 1 else 0) - self._lev0
        if 0 <= k < self._lev.shape[0]:
            return float(self._lev[k, 0]), float(self._lev[k, 1])
        return None

    def process(self, x: np.ndarray, *, final: bool = False) -> np.ndarray:
        """Despiked samples released by this call (``final``: everything held, too)."""
        x = np.asarray(x, dtype=np.float64)
        self._add_raw(x, final)
        work = np.concatenate([self._held, x]) if self._held.size else x.copy()
        n0 = self._n_out
        stop = work.size if final else max(0, work.size - self.HOLD)
        if self._threshold_for(n0) is None:
            stop = 0  # the first block's level is not known yet
        tail = [self._is_small(n0 + i, float(work[i])) for i in range(max(0, stop - 2), stop)]
        if stop and self.k > 0:
            self._replace(work, n0, stop)
        out = work[:stop]  # ``work`` is this call's own array: a view is safe
        self._held = work[stop:].copy()
        if stop:
            self._last = float(out[-1])
            # "small" of the samples as received (before replacement), as in one piece
            self._last_small = tuple([*self._last_small, *tail][-2:])  # type: ignore[assignment]
            self._n_out += stop
            keep = self._n_out // self.block - 1  # the level of the next sample's block
            if keep > self._lev0:
                self._lev = self._lev[min(keep - self._lev0, self._lev.shape[0]):]
                self._lev0 = keep
        return out

    def _replace(self, work: np.ndarray, n0: int, stop: int) -> None:
        """Replace the spikes among ``work[:stop]`` (``work[0]`` is sample ``n0``)."""
        blk = self.block
        b0, b1 = n0 // blk, (n0 + work.size - 1) // blk
        starts = np.maximum(np.arange(b0, b1 + 1) * blk - n0, 0)  # block starts in work
        ends = np.append(starts[1:], work.size)
        k = np.maximum(np.arange(b0, b1 + 1) - 1, 0) - self._lev0  # each block's level
        known = (k >= 0) & (k < self._lev.shape[0])
        if known.all():
            med_b, mad_b = self._lev[k, 0], self._lev[k, 1]
        else:  # not known yet: no spike can be told (a median level, an infinite MAD)
            kk = np.clip(k, 0, max(0, self._lev.shape[0] - 1))
            lev = self._lev[kk] if self._lev.size else np.zeros((k.size, 2))
            med_b = np.where(known, lev[:, 0], float(np.median(work)))
            mad_b = np.where(known, lev[:, 1], 1e300)
        # a block whose extremes stay within k x MAD of its level has no spike (most
        # blocks: two passes); the others are tested sample by sample, each run of
        # consecutive such blocks with the 2 samples either side that the test reads
        thr = self.k * mad_b
        flagged = np.flatnonzero((np.maximum.reduceat(work, starts) - med_b > thr)
                                 | (med_b - np.minimum.reduceat(work, starts) > thr))
        if not flagged.size:
            return
        for run in np.split(flagged, np.flatnonzero(np.diff(flagged) > 1) + 1):
            a, e = int(starts[run[0]]), min(int(ends[run[-1]]), stop)
            if a >= stop:
                break
            lo, hi = max(0, a - 2), min(work.size, e + 3)
            j0 = int(np.searchsorted(starts, lo, "right")) - 1
            j1 = int(np.searchsorted(starts, hi - 1, "right"))
            counts = np.minimum(ends[j0:j1], hi) - np.maximum(starts[j0:j1], lo)
            self._replace_run(work, n0, lo, a, e, np.repeat(med_b[j0:j1], counts),
                              np.repeat(mad_b[j0:j1], counts))

    def _replace_run(self, work: np.ndarray, n0: int, lo: int, a: int, e: int,
                     med: np.ndarray, mad: np.ndarray) -> None:
        """The spikes starting in ``work[a:e]``; ``med``, ``mad``: the levels of
        ``work[lo:lo + med.size]``, which hold every sample the test reads."""
        x = work[lo : lo + med.size]
        dev = np.abs(x - med)
        big = dev > self.k * mad
        small = dev < (self.k / 3.0) * mad
        for i in (np.flatnonzero(big[a - lo : e - lo]) + a).tolist():
            if not big[i - lo] or n0 + i < 1:
                continue  # replaced with the spike before / no left neighbour (segment start)
            lefts = [bool(small[i - q - lo]) if i >= q else self._last_small[2 + i - q]
                     for q in (1, 2)]
            if n0 + i < 2:
                lefts[1] = True  # the segment starts one sample before
            left = float(work[i - 1]) if i >= 1 else self._last
            left_dev = float(dev[i - 1 - lo]) if i >= 1 else abs(self._last - float(med[i - lo]))
            for w in (1, 2):  # spike of width w starting at i
                j = i + w
                if j >= work.size:
                    continue
                right = bool(small[j - lo] and (j + 1 >= work.size or small[j + 1 - lo]))
                if not (right and all(lefts) and big[i - lo : j - lo].all()):
                    continue
                if float(dev[i - lo : j - lo].min()) < _SPIKE_NEIGHBOUR_RATIO * max(
                        left_dev, float(dev[j - lo])):
                    break  # a steep wave, not an isolated spike
                work[i:j] = np.interp(np.arange(i, j), [i - 1, j], [left, float(work[j])])
                big[i - lo : j - lo] = False
                self.n_spikes += w
                break
