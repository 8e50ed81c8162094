"""The SeedLink wire format shared by the server and the client.

SeedLink 3 packets: ``SL`` + six hexadecimal digits (the sequence number, modulo
2**24) + one miniSEED 2 record. seismo's own server sends 512-byte records; other
servers pass through what their sources send (ringserver: 256 to 4096 bytes), so a
client reads the record length from the record itself (blockette 1000,
:func:`record_length`). SeedLink 4 packets (``SE``) carry their payload length
(docs.fdsn.org/projects/seedlink, "Protocol"; :mod:`seismo.io.seedlink.v4`).
INFO answers: ``SLINFO`` + a blank + ``*``
(more follow) or a blank (last) + one ASCII miniSEED record; the server ends a
windowed transfer (TIME with an end, FETCH) with the three bytes ``END``.
Commands carry times as ``YYYY,MM,DD,hh,mm,ss``. Reference: SeisComP
documentation, "SeedLink protocol" (seiscomp.de/doc/apps/seedlink.html), and
``obspy/clients/seedlink/slpacket.py``.

The server encodes records with Steim2 and an INT32 fallback. Its sequence
numbers: record ``j`` of block ``b`` of a station has number
``(b * SEQ_SLOTS + j) mod SEQ_MOD`` (see the package docstring).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from seismo.errors import SeismoError
from seismo.io.mseed import write_mseed
from seismo.io.seedlink.header import (
    MAX_RECLEN,
    MIN_RECLEN,
    RecordHeader,
    parse_header,
    record_length,
)

RECLEN = 512  # the record length seismo's server writes (SeedLink 3's classic size)
SEQ_SLOTS = 64  # sequence numbers the server reserves per station and block
SEQ_MOD = 0x1000000  # six hex digits
HEADER_LEN = 8  # "SL" + 6 hex digits, or "SLINFO" + blank + flag
PACKET_LEN = HEADER_LEN + RECLEN
DATA_SIGNATURE = b"SL"
INFO_SIGNATURE = b"SLINFO"
END_SIGNATURE = b"END"
_INFO_CHUNK = 400  # XML bytes per ASCII INFO record (fits the 456-byte payload of 512)
_INT32 = np.iinfo(np.int32)


__all__ = [
    "MAX_RECLEN", "MIN_RECLEN", "RECLEN", "RecordHeader", "SeedLinkServerError",
    "command_time", "encode_records", "info_records", "info_time", "parse_command_time",
    "parse_header", "record_length", "record_station", "record_stream_id", "to_int32",
]


class SeedLinkServerError(SeismoError):
    """The SeedLink server cannot start or was configured wrongly."""


def to_int32(tr: Trace) -> np.ndarray:
    """The samples of ``tr`` as int32 counts (rounded, clipped to the int32 range)."""
    data = np.asarray(tr.data)
    if data.dtype == np.int32:
        return data
    if np.issubdtype(data.dtype, np.floating):
        data = np.nan_to_num(np.rint(data))
    return np.clip(data, _INT32.min, _INT32.max).astype(np.int32)


def encode_records(traces: Sequence[Trace], reclen: int = RECLEN) -> list[bytes]:
    """miniSEED records of ``reclen`` bytes (default 512) for ``traces`` (each trace
    starts a new record)."""
    from obspy.io.mseed import InternalMSEEDError

    def write(trs: Sequence[Trace], encoding: str) -> bytes:
        buf = io.BytesIO()
        write_mseed(Stream(list(trs)), buf, reclen=reclen, encoding=encoding, byteorder=">")
        return buf.getvalue()

    try:
        raw = write(traces, "STEIM2")
    except InternalMSEEDError:
        parts = []
        for tr in traces:
            try:
                parts.append(write([tr], "STEIM2"))
            except InternalMSEEDError:  # differences beyond 30 bits: store plain integers
                parts.append(write([tr], "INT32"))
        raw = b"".join(parts)
    if len(raw) % reclen:
        raise SeedLinkServerError(
            f"miniSEED encoder produced {len(raw)} bytes, not {reclen}-byte records"
        )
    return [raw[i : i + reclen] for i in range(0, len(raw), reclen)]


def info_records(xml: str) -> list[bytes]:
    """The INFO XML as ASCII-encoded 512-byte miniSEED records."""
    data = xml.encode("ascii", "xmlcharrefreplace")
    traces = []
    for i in range(0, len(data), _INFO_CHUNK):
        chunk = np.frombuffer(data[i : i + _INFO_CHUNK], dtype="|S1").copy()
        traces.append(Trace(chunk, header={"station": "INFO", "channel": "INF"}))
    buf = io.BytesIO()
    write_mseed(Stream(traces), buf, reclen=RECLEN, encoding="ASCII", byteorder=">")
    raw = buf.getvalue()
    return [raw[i : i + RECLEN] for i in range(0, len(raw), RECLEN)]


def record_stream_id(rec: bytes) -> tuple[str, str, str]:
    """(location, channel, SeedLink type) of a record (blank location = '  ').

    Every record served is a data record: SeedLink type "D" whatever its
    miniSEED quality byte (D/R/Q/M).
    """
    return (
        rec[13:15].decode("ascii", "replace"),
        rec[15:18].decode("ascii", "replace").strip(),
        "D",
    )


def info_time(t: UTCDateTime) -> str:
    """A time as INFO XML writes it: ``YYYY/MM/DD hh:mm:ss.ffff``."""
    return t.strftime("%Y/%m/%d %H:%M:%S.") + f"{t.microsecond // 100:04d}"


def parse_command_time(text: str) -> UTCDateTime:
    """SeedLink time "YYYY,MM,DD,hh,mm,ss" (seconds may be fractional)."""
    parts = text.split(",")
    if len(parts) != 6:
        raise ValueError(f"SeedLink time {text!r} is not YYYY,MM,DD,hh,mm,ss")
    y, mo, d, h, mi = (int(p) for p in parts[:5])
    return UTCDateTime(y, mo, d, h, mi) + float(parts[5])


def command_time(t: UTCDateTime) -> str:
    """A time for the DATA/FETCH/TIME commands: ``YYYY,MM,DD,hh,mm,ss`` (whole seconds,
    truncated)."""
    return t.strftime("%Y,%m,%d,%H,%M,%S")


def record_station(rec: bytes) -> tuple[str, str]:
    """(network, station) from the fixed header of a miniSEED 2 record."""
    return (
        rec[18:20].decode("ascii", "replace").strip(),
        rec[8:13].decode("ascii", "replace").strip(),
    )
