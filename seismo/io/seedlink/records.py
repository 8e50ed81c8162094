"""miniSEED records and SeedLink times for the SeedLink server.

Records are fixed 512-byte miniSEED 2 records (SeedLink 3 carries nothing
else), Steim2-encoded with an INT32 fallback; INFO answers are ASCII records.
Sequence numbers: record ``j`` of block ``b`` of a station has number
``(b * _SEQ_SLOTS + j) mod _SEQ_MOD`` (see the package docstring).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from seismo.errors import SeismoError

RECLEN = 512  # SeedLink 3 carries fixed 512-byte miniSEED 2 records
_SEQ_SLOTS = 64  # sequence numbers reserved per station and block
_SEQ_MOD = 0x1000000  # six hex digits
_INFO_CHUNK = 400  # XML bytes per ASCII INFO record (fits the 456-byte payload of 512)
_INT32 = np.iinfo(np.int32)


class SeedLinkServerError(SeismoError):
    """The SeedLink server cannot start or was configured wrongly."""


def _to_int32(tr: Trace) -> np.ndarray:
    data = np.asarray(tr.data)
    if data.dtype == np.int32:
        return data
    if np.issubdtype(data.dtype, np.floating):
        data = np.nan_to_num(np.rint(data))
    return np.clip(data, _INT32.min, _INT32.max).astype(np.int32)


def _encode(traces: Sequence[Trace]) -> list[bytes]:
    """512-byte miniSEED records for ``traces`` (each trace starts a new record)."""
    from obspy.io.mseed import InternalMSEEDError

    def write(trs: Sequence[Trace], encoding: str) -> bytes:
        buf = io.BytesIO()
        Stream(list(trs)).write(
            buf, format="MSEED", reclen=RECLEN, encoding=encoding, byteorder=">"
        )
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
    if len(raw) % RECLEN:
        raise SeedLinkServerError(
            f"miniSEED encoder produced {len(raw)} bytes, not 512-byte records"
        )
    return [raw[i : i + RECLEN] for i in range(0, len(raw), RECLEN)]


def _info_records(xml: str) -> list[bytes]:
    """The INFO XML as ASCII-encoded 512-byte miniSEED records."""
    data = xml.encode("ascii", "xmlcharrefreplace")
    traces = []
    for i in range(0, len(data), _INFO_CHUNK):
        chunk = np.frombuffer(data[i : i + _INFO_CHUNK], dtype="|S1").copy()
        traces.append(Trace(chunk, header={"station": "INFO", "channel": "INF"}))
    buf = io.BytesIO()
    Stream(traces).write(buf, format="MSEED", reclen=RECLEN, encoding="ASCII", byteorder=">")
    raw = buf.getvalue()
    return [raw[i : i + RECLEN] for i in range(0, len(raw), RECLEN)]


def _record_stream_id(rec: bytes) -> tuple[str, str, str]:
    """(location, channel, SeedLink type) of a record (blank location = '  ').

    Every record served is a data record: SeedLink type "D" whatever its
    miniSEED quality byte (D/R/Q/M).
    """
    return (
        rec[13:15].decode("ascii", "replace"),
        rec[15:18].decode("ascii", "replace").strip(),
        "D",
    )


def _sl_time(t: UTCDateTime) -> str:
    return t.strftime("%Y/%m/%d %H:%M:%S.") + f"{t.microsecond // 100:04d}"


def _parse_sl_time(text: str) -> UTCDateTime:
    """SeedLink time "YYYY,MM,DD,hh,mm,ss" (seconds may be fractional)."""
    parts = text.split(",")
    if len(parts) != 6:
        raise ValueError(f"SeedLink time {text!r} is not YYYY,MM,DD,hh,mm,ss")
    y, mo, d, h, mi = (int(p) for p in parts[:5])
    return UTCDateTime(y, mo, d, h, mi) + float(parts[5])
