"""The epoch sample grid: sample ``i`` of a channel at rate ``fs`` is at time ``i / fs``.

Sample times are exact rational multiples of the sampling interval counted from
1970-01-01T00:00:00Z, so that every request of the same time gets the same
samples whatever window it came in. Times are handled as integer nanoseconds
(ObsPy ``UTCDateTime.ns``); rates as exact fractions.
"""

from __future__ import annotations

from fractions import Fraction

from obspy import UTCDateTime

_NS = 10**9


def rate_fraction(fs: float) -> Fraction:
    """``fs`` (Hz) as an exact fraction (denominator at most 10**6)."""
    if not fs > 0:
        raise ValueError(f"sampling rate ({fs}) must be > 0")
    return Fraction(fs).limit_denominator(10**6)


def index_ceil(t: UTCDateTime, fs: Fraction) -> int:
    """The first sample index whose time is >= ``t``."""
    num = t.ns * fs.numerator
    den = _NS * fs.denominator
    return -((-num) // den)


def time_of(i: int, fs: Fraction) -> UTCDateTime:
    """The time of sample ``i`` (rounded to the nanosecond)."""
    num = i * _NS * fs.denominator
    den = fs.numerator
    return UTCDateTime(ns=(2 * num + den) // (2 * den))
