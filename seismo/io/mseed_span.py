"""Read a time span of a miniSEED file without parsing every record.

``obspy.read(path, starttime=..., endtime=...)`` hands the whole file to
libmseed, which walks every record: reading one hour (or one minute) of an SDS
day file costs about as much as parsing the whole day's headers. For a
miniSEED 2 file of fixed-length records, the start time, sample count and rate
of every record sit at fixed offsets of its 48-byte fixed header, so the
records that can hold samples of ``[start, end]`` are found with a few array
operations over all record headers at once, and only those records are given
to ObsPy (the same reader, the same trimming, through :mod:`seismo.io.mseed`).

Fixed header fields (SEED Reference Manual v2.4, ch. 8, "Fixed Section of Data
Header"): quality indicator at byte 6 (``D``, ``R``, ``Q`` or ``M``), BTIME at
20 (year u16, day of year u16, hour, minute, second u8, unused u8, 0.0001 s
u16), number of samples at 30 (u16), sample rate factor and multiplier at 32
and 34 (i16; rate from their signs as in the manual), activity flags at 36 (bit
1: time correction applied), time correction at 40 (i32, 0.0001 s), first
blockette offset at 46 (u16). Blockette 1000 (type u16 = 1000, next u16,
encoding u8, word order u8, record length exponent u8) gives the record length.
The byte order is that of a plausible BTIME (year 1900-2100, day 1-366), as
libmseed decides it.

Anything unusual (records of different lengths or byte orders, a first
blockette that is not 1000, a header that is not plausible, a file whose size is
not a multiple of the record length) sends the file to the plain
``obspy.read``: the result is always what ObsPy reads, only faster when the
file allows it.

The record times of a file are kept (per process, for the last
:data:`INDEX_FILES` files, keyed by path, size and modification time): ``seismo
detect`` reads the same day file once per chunk, and then only touches the
records of that chunk. A file that grew or changed is indexed again.
"""

from __future__ import annotations

import io
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from obspy import Stream, UTCDateTime

from seismo.io.mseed import read_mseed

log = logging.getLogger(__name__)

#: Records kept beyond the requested span on each side, seconds (any record that may
#: hold a sample of the span is kept; ObsPy trims exactly).
MARGIN_S = 1.0
#: Files whose record index is kept (about 0.3 MB each for a day at 100 Hz).
INDEX_FILES = 128


@dataclass(frozen=True)
class _Index:
    reclen: int
    start: NDArray  # record start times, s since 1970
    end: NDArray  # start + samples / rate


_INDEX: OrderedDict[tuple[str, int, int], _Index | None] = OrderedDict()


def _u16(h: NDArray, off: int, big: bool) -> NDArray:
    a = h[:, off].astype(np.int64)
    b = h[:, off + 1].astype(np.int64)
    return a * 256 + b if big else b * 256 + a


def _i16(h: NDArray, off: int, big: bool) -> NDArray:
    v = _u16(h, off, big)
    return np.where(v >= 32768, v - 65536, v)


def _i32(h: NDArray, off: int, big: bool) -> NDArray:
    hi, lo = (_u16(h, off, big), _u16(h, off + 2, big)) if big else (
        _u16(h, off + 2, big), _u16(h, off, big))
    v = hi * 65536 + lo
    return np.where(v >= 2**31, v - 2**32, v)


def _sample_rate(factor: NDArray, mult: NDArray) -> NDArray:
    """Samples per second from the SEED rate factor and multiplier (0 where undefined)."""
    f, m = factor.astype(float), mult.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.select(
            [(f > 0) & (m > 0), (f > 0) & (m < 0), (f < 0) & (m > 0), (f < 0) & (m < 0)],
            [f * m, -f / m, -m / f, 1.0 / (f * m)],
            default=0.0,
        )
    return np.nan_to_num(rate)


def _record_length(buf: NDArray) -> tuple[int, bool] | None:
    """Record length and byte order (True: big-endian) from the first record, or None."""
    if buf.size < 64 or chr(buf[6]) not in "DRQM":
        return None
    h = buf[None, :64]
    for big in (True, False):
        year, doy = int(_u16(h, 20, big)[0]), int(_u16(h, 22, big)[0])
        if 1900 <= year <= 2100 and 1 <= doy <= 366:
            break
    else:
        return None
    first = int(_u16(h, 46, big)[0])
    if first < 48 or first + 8 > buf.size:
        return None
    b = buf[None, first : first + 8]
    if int(_u16(b, 0, big)[0]) != 1000:
        return None
    exp = int(buf[first + 6])
    if not 7 <= exp <= 16:  # 128 B ... 64 KiB
        return None
    return 1 << exp, big


def _index(buf: NDArray) -> _Index | None:
    """Record length and the time span of every record; None when the file is not a
    plain sequence of fixed-length records (module docstring)."""
    found = _record_length(buf)
    if found is None:
        return None
    reclen, big = found
    if buf.size % reclen:
        return None
    recs = buf.reshape(-1, reclen)
    h = np.ascontiguousarray(recs[:, :48])  # the headers only: one compact copy
    if not np.isin(h[:, 6], np.frombuffer(b"DRQM", dtype=np.uint8)).all():
        return None
    year, doy = _u16(h, 20, big), _u16(h, 22, big)
    if not ((year >= 1900) & (year <= 2100) & (doy >= 1) & (doy <= 366)).all():
        return None
    first = _u16(h, 46, big)
    if not (first == first[0]).all():
        return None
    off = int(first[0])
    b1000 = np.ascontiguousarray(recs[:, off : off + 8])
    if not ((_u16(b1000, 0, big) == 1000).all() and (b1000[:, 6] == b1000[0, 6]).all()):
        return None
    # seconds since 1970: each year's first day from the calendar, then day and time
    years = np.unique(year)
    y0 = np.array([float(UTCDateTime(int(y), 1, 1).timestamp) for y in years])
    t = y0[np.searchsorted(years, year)] + (doy - 1) * 86400.0
    t = t + h[:, 24] * 3600.0 + h[:, 25] * 60.0 + h[:, 26] + _u16(h, 28, big) * 1e-4
    applied = (h[:, 36] & 0x02) != 0
    t = t + np.where(applied, 0, _i32(h, 40, big)) * 1e-4
    rate = _sample_rate(_i16(h, 32, big), _i16(h, 34, big))
    n = _u16(h, 30, big)
    with np.errstate(divide="ignore", invalid="ignore"):
        dur = np.where(rate > 0, n / rate, 0.0)
    return _Index(reclen, t, t + dur)


def _cached_index(p: Path, buf: NDArray) -> _Index | None:
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key in _INDEX:
        _INDEX.move_to_end(key)
        return _INDEX[key]
    idx = _index(buf)
    _INDEX[key] = idx
    while len(_INDEX) > INDEX_FILES:
        _INDEX.popitem(last=False)
    return idx


def read_span(path: str | Path, start: UTCDateTime, end: UTCDateTime) -> Stream:
    """``obspy.read(path, format="MSEED", starttime=start, endtime=end)``, parsing only
    the records that may hold samples of the span when the file allows it."""
    p = Path(path)
    if p.stat().st_size < 64:  # empty or just created: ObsPy says so
        return read_mseed(str(p), starttime=start, endtime=end)
    buf = np.memmap(p, dtype=np.uint8, mode="r")  # only the records used are read
    idx = _cached_index(p, buf)
    if idx is None or buf.size != idx.start.size * idx.reclen:
        return read_mseed(str(p), starttime=start, endtime=end)
    lo, hi = float(start.timestamp) - MARGIN_S, float(end.timestamp) + MARGIN_S
    sel = np.flatnonzero((idx.start <= hi) & (idx.end >= lo))
    if sel.size == 0:
        return Stream()
    part = buf.reshape(-1, idx.reclen)[sel].tobytes()
    return read_mseed(io.BytesIO(part), starttime=start, endtime=end)
