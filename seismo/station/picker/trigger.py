"""Triggering: on/off intervals of an STA/LTA characteristic function (hysteresis,
minimum/maximum length, dead time).

:class:`Trigger` is the one implementation. It keeps its state between calls, so a
characteristic function fed in pieces (packet by packet, in real time) gives the
same intervals as the whole function fed at once; :func:`trigger_onsets` is the
whole-array form (feed once, then :meth:`Trigger.finish`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seismo.errors import PickerInputError

_IDLE, _CANDIDATE, _ACTIVE, _SKIP = range(4)
#: Samples of the first step of the search for a trigger's end (:meth:`Trigger.feed`).
_OFF_STEP = 256


@dataclass
class TriggerInterval:
    """One accepted trigger: sample indices from the start of the function.

    ``off`` is None while the trigger is still on (and shorter than ``max_len``).
    """

    on: int
    off: int | None = None


class Trigger:
    """Stateful hysteresis trigger (the rules of :func:`trigger_onsets`).

    :meth:`feed` takes the next samples of the characteristic function and returns
    the triggers *accepted* in them (a trigger is accepted once it has lasted
    ``min_len`` samples, before it ends); their ``off`` is filled in when it
    becomes known (:attr:`TriggerInterval.off`). :meth:`finish` ends the data: a
    trigger still on is closed at the last sample, one shorter than ``min_len``
    is dropped.

    Raises:
        PickerInputError: ``off >= on``, negative lengths, ``max_len < min_len``.
    """

    def __init__(self, on: float, off: float, *, min_len: int, max_len: int, dead_time: int):
        if not off < on:
            raise PickerInputError(f"off ({off}) must be below on ({on})")
        for name, val in (("min_len", min_len), ("max_len", max_len), ("dead_time", dead_time)):
            if val < 0:
                raise PickerInputError(f"{name} ({val}) must be >= 0")
        if max_len < max(min_len, 1):
            raise PickerInputError(
                f"max_len ({max_len}) must be >= min_len ({min_len}) and >= 1"
            )
        self.on, self.off = float(on), float(off)
        self.min_len, self.max_len, self.dead_time = int(min_len), int(max_len), int(dead_time)
        self.n = 0  # samples consumed
        self._mode = _IDLE
        self._pos = 0  # no trigger may start before this index
        self._start = -1  # index where the current trigger (or skipped one) started
        self._current: TriggerInterval | None = None  # accepted, not yet ended
        self._last_above = False  # cft[n - 1] > on

    @property
    def pending_on(self) -> int | None:
        """Start of a trigger that may still be accepted (None: none pending)."""
        return self._start if self._mode == _CANDIDATE else None

    def feed(self, cft: Any) -> list[TriggerInterval]:
        """Consume the next samples; return the triggers accepted in them."""
        c = np.asarray(cft, dtype=np.float64)
        if c.ndim != 1:
            raise PickerInputError(f"cft must be 1-D, got {c.ndim}-D")
        base, m = self.n, c.size
        if m == 0:
            return []
        end = base + m
        ons = np.flatnonzero(c > self.on) + base
        out: list[TriggerInterval] = []

        def first_off(at: int) -> int | None:
            # searched forward in growing steps: a trigger ends within a few seconds,
            # so this reads far less than the whole function
            i, step = at - base, _OFF_STEP
            while i < m:
                hit = np.flatnonzero(c[i : i + step] <= self.off)
                if hit.size:
                    return base + i + int(hit[0])
                i, step = i + step, step * 4
            return None

        while True:
            if self._mode == _IDLE:
                k = int(np.searchsorted(ons, max(self._pos, base)))
                if k >= ons.size:
                    break
                i = int(ons[k])
                above_before = self._last_above if i == base else bool(c[i - 1 - base] > self.on)
                self._start = i
                if i == self._pos and self._pos > 0 and above_before:
                    self._mode = _SKIP  # inside a trigger that started during the dead time
                else:
                    self._mode = _CANDIDATE
                continue
            o = first_off(max(self._start, base))
            if self._mode == _SKIP:
                if o is None:
                    break
                self._pos, self._mode = o + 1, _IDLE
                continue
            if self._mode == _CANDIDATE:
                if o is not None:
                    if o - self._start < self.min_len:  # too short: dropped, no dead time
                        self._pos, self._mode = o + 1, _IDLE
                        continue
                elif end - 1 - self._start < self.min_len:
                    break  # undecided yet
                self._current = TriggerInterval(self._start)
                out.append(self._current)
                self._mode = _ACTIVE
                continue
            # _ACTIVE: accepted, waiting for its end
            cur = self._current
            assert cur is not None
            if o is None:
                if cur.off is None and end - 1 >= cur.on + self.max_len:
                    cur.off = cur.on + self.max_len
                break
            cur.off = min(o, cur.on + self.max_len)
            self._pos = max(o + 1, cur.on + self.dead_time)
            self._mode, self._current = _IDLE, None
        self.n = end
        self._last_above = bool(c[-1] > self.on)
        return out

    def finish(self) -> None:
        """End of the data: close an accepted trigger at the last sample."""
        cur = self._current
        if cur is not None and cur.off is None:
            cur.off = min(self.n - 1, cur.on + self.max_len)
        self._current = None
        self._mode = _IDLE


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

    The whole-array form of :class:`Trigger`.

    Raises:
        PickerInputError: ``off >= on``, negative lengths, ``max_len < min_len``, cft not 1-D.
    """
    trig = Trigger(on, off, min_len=min_len, max_len=max_len, dead_time=dead_time)
    found = trig.feed(cft)
    trig.finish()
    return [(t.on, int(t.off if t.off is not None else t.on)) for t in found]
