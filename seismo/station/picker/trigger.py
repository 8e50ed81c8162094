"""Triggering: on/off intervals of an STA/LTA characteristic function (hysteresis,
minimum/maximum length, dead time)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seismo.errors import PickerInputError


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
    out: list[tuple[int, int]] = []
    pos = 0
    while True:
        k = int(np.searchsorted(ons, pos))
        if k >= ons.size:
            break
        i_on = int(ons[k])
        j = _first_at_or_below(c, i_on, off)  # -1: cft never falls back to ``off``
        if i_on == pos and pos > 0 and c[pos - 1] > on:
            # landed inside a trigger that started during the dead time: skip all of it
            if j < 0:
                break
            pos = j + 1
            continue
        is_open = j < 0
        i_end = n - 1 if is_open else j
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


def _first_at_or_below(c: np.ndarray, start: int, level: float) -> int:
    """The first index ``>= start`` with ``c <= level``, or -1: scanned in growing blocks
    (a trigger usually ends within seconds; no index array over the whole record)."""
    block = 512
    i = start
    while i < c.size:
        hit = np.flatnonzero(c[i : i + block] <= level)
        if hit.size:
            return i + int(hit[0])
        i += block
        block = min(block * 2, 1 << 16)
    return -1
