"""The fixed header of a miniSEED 2 record, read without decoding its samples.

What a SeedLink client must know of a record before (and without) decoding it: its
length (a SeedLink 3 packet does not say it), its stream, start time, sample count and
sampling rate. Decoding the samples is ObsPy's (:mod:`seismo.io.mseed`); a record whose
frames cannot be decoded still has a readable header, so the stream can step past it.

Layout: SEED Reference Manual 2.4 (FDSN, 2012), chapter 8 "Fixed Section of Data
Header" (48 bytes: station, location, channel, network, BTIME start, number of
samples, sample-rate factor and multiplier, activity flags, number of blockettes, time
correction, beginning of data, first blockette) and blockettes 100 (actual sample rate)
and 1000 (encoding, word order, record length as a power of two).
"""

from __future__ import annotations

import calendar
import datetime
import struct
from dataclasses import dataclass

from obspy import UTCDateTime

__all__ = ["MAX_RECLEN", "MIN_RECLEN", "RecordHeader", "parse_header", "record_length"]

#: Record lengths a miniSEED 2 record may have (blockette 1000: 2**7 .. 2**16 bytes).
MIN_RECLEN, MAX_RECLEN = 128, 65536
#: Bytes needed to find the record length: the fixed header and a blockette 1000 that
#: follows it directly (where every writer puts it).
HEADER_PROBE = 64
_FIXED = 48
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class RecordHeader:
    """What the fixed header of one miniSEED 2 record says (times UTC, rate in Hz)."""

    network: str
    station: str
    location: str
    channel: str
    start: UTCDateTime
    npts: int
    sampling_rate: float  # 0 when the header gives none (or an invalid one)
    reclen: int | None  # from blockette 1000; None without one
    encoding: int | None  # blockette 1000 encoding code (10, 11: Steim1/2; 3: INT32 ...)

    @property
    def end(self) -> UTCDateTime:
        """Time just after the last sample (``start`` when the rate is not positive)."""
        if self.sampling_rate <= 0:
            return self.start
        return self.start + self.npts / self.sampling_rate

    @property
    def seed_id(self) -> str:
        return f"{self.network}.{self.station}.{self.location}.{self.channel}"


def _order(rec: bytes) -> str:
    """'>' or '<': the byte order whose BTIME is a valid time (big-endian preferred)."""
    for order in (">", "<"):
        year, day, hour, minute, sec = struct.unpack_from(order + "HHBBB", rec, 20)
        if 1 <= year <= 9999 and 1 <= day <= 366 and hour < 24 and minute < 60 and sec <= 60:
            return order
    raise ValueError("no valid start time in either byte order")


def _rate(factor: int, mult: int) -> float:
    """Sampling rate from the SEED factor and multiplier (SEED 2.4, fixed header
    fields 10 and 11); 0 when either is 0."""
    if factor == 0 or mult == 0:
        return 0.0
    if factor > 0 and mult > 0:
        return float(factor * mult)
    if factor > 0 > mult:
        return -float(factor) / mult
    if factor < 0 < mult:
        return -float(mult) / factor
    return 1.0 / (factor * mult)


def _blockettes(rec: bytes, order: str, first: int, limit: int) -> dict[int, int]:
    """Blockette type -> offset, following the chain within ``rec[:limit]``."""
    out: dict[int, int] = {}
    offset, seen = first, 0
    while offset >= _FIXED and offset + 4 <= limit and seen < 16:
        btype, nxt = struct.unpack_from(order + "HH", rec, offset)
        out.setdefault(btype, offset)
        if nxt <= offset:
            break
        offset, seen = nxt, seen + 1
    return out


def record_length(rec: bytes) -> int | None:
    """The record length of a miniSEED 2 record from its first bytes (blockette 1000);
    None when too few bytes are there to tell.

    Raises:
        ValueError: not a miniSEED 2 header, or no valid record length in it.
    """
    if len(rec) < HEADER_PROBE:
        return None
    order = _order(rec)
    first = struct.unpack_from(order + "H", rec, 46)[0]
    b1000 = _blockettes(rec, order, first, len(rec)).get(1000)
    if b1000 is None:
        if first and first + 4 > len(rec) and len(rec) < MAX_RECLEN:
            return None  # the chain goes on beyond what arrived
        raise ValueError("no blockette 1000 (record length) in the header")
    if b1000 + 7 > len(rec):
        return None
    exp = rec[b1000 + 6]
    length = 1 << exp if exp < 31 else 0
    if not MIN_RECLEN <= length <= MAX_RECLEN:
        raise ValueError(f"blockette 1000 gives a record length of 2**{exp} bytes")
    return length


def parse_header(rec: bytes) -> RecordHeader:
    """The fixed header (and blockettes 100 and 1000) of one miniSEED 2 record.

    Raises:
        ValueError: too short, or no valid start time.
    """
    if len(rec) < _FIXED:
        raise ValueError(f"{len(rec)} bytes are no miniSEED record")
    order = _order(rec)
    year, day, hour, minute, sec, _, frac = struct.unpack_from(order + "HHBBBBH", rec, 20)
    npts, factor, mult = struct.unpack_from(order + "Hhh", rec, 30)
    activity = rec[36]
    correction = struct.unpack_from(order + "i", rec, 40)[0]
    first = struct.unpack_from(order + "H", rec, 46)[0]
    if day > 365 + calendar.isleap(year):
        raise ValueError(f"invalid start time: day {day} of {year}")
    days = datetime.date(year, 1, 1).toordinal() - _EPOCH_ORDINAL + day - 1
    ticks = ((days * 24 + hour) * 60 + minute) * 60 + sec  # s
    ticks = ticks * 10000 + frac  # 0.1 ms
    if correction and not activity & 0x02:  # "time correction applied" not set: apply it
        ticks += correction
    start = UTCDateTime(ns=ticks * 100_000)
    rate = _rate(factor, mult)
    found = _blockettes(rec, order, first, len(rec))
    reclen = encoding = None
    if 100 in found and found[100] + 8 <= len(rec):
        actual = struct.unpack_from(order + "f", rec, found[100] + 4)[0]
        rate = float(actual) if actual == actual and actual > 0 else 0.0  # NaN: none
    if 1000 in found and found[1000] + 7 <= len(rec):
        encoding = rec[found[1000] + 4]
        exp = rec[found[1000] + 6]
        reclen = (1 << exp) if MIN_RECLEN <= (1 << min(exp, 31)) <= MAX_RECLEN else None

    def text(a: int, b: int) -> str:
        return rec[a:b].decode("ascii", "replace").strip()

    return RecordHeader(text(18, 20), text(8, 13), text(13, 15), text(15, 18), start,
                        int(npts), rate, reclen, encoding)
