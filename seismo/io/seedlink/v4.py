"""SeedLink 4: packet framing, station ids, selectors and times (client and server).

Reference: FDSN, "SeedLink protocol" version 4 (docs.fdsn.org/projects/seedlink,
"Protocol"), as implemented by libslink 4 (``network.c`` negotiate_v4, ``slutils.c``
receive_header) and ringserver 4:

* a server offers it in its ``HELLO`` answer (capability ``SLPROTO:4.0``); the client
  switches with ``SLPROTO 4.0`` (answered ``OK``), and may say who it is with
  ``USERAGENT``;
* ``STATION NET_STA`` (one argument, ``*``/``?`` wildcards), ``SELECT LL_B_S_SS[.T]``
  (the FDSN source-id parts location, band, source, subsource; converted from the
  SeedLink 3 ``[LL]CCC[.T]`` form by :func:`selector`), ``DATA [seq|ALL [start
  [end]]]`` with a decimal 64-bit sequence number and ISO times; ``END`` starts the
  transfer; errors are ``ERROR CODE text``;
* a packet is ``SE``, format (``2``: miniSEED 2, ``3``: miniSEED 3, ``J``: JSON),
  subformat (``D`` data, ``I`` INFO, ``E`` error), payload length (UINT32,
  little-endian), sequence number (UINT64, little-endian), station-id length (UINT8),
  the station id (``NET_STA``), then the payload. ``END`` ends a time window.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from obspy import UTCDateTime

from seismo.io.seedlink.selectors import Selector

SIGNATURE = b"SE"
HEADER_LEN = 17
#: Payloads larger than this are refused as garbage (a miniSEED record is at most 64 KiB).
MAX_PAYLOAD = 1 << 20
CAPABILITY = "SLPROTO:4.0"

__all__ = ["CAPABILITY", "HEADER_LEN", "SIGNATURE", "PacketHeader", "command_time",
           "frame", "from_selector", "parse_command_time", "parse_header", "selector", "station_id"]


@dataclass(frozen=True)
class PacketHeader:
    """The fixed part of one SeedLink 4 packet."""

    format: str
    subformat: str
    length: int
    sequence: int
    station_len: int


def parse_header(head: bytes) -> PacketHeader | None:
    """The packet header at the start of ``head`` (None: fewer than 17 bytes yet).

    Raises:
        ValueError: not an ``SE`` header, or a payload larger than :data:`MAX_PAYLOAD`.
    """
    if len(head) < HEADER_LEN:
        return None
    if head[:2] != SIGNATURE:
        raise ValueError(f"{head[:8]!r} is not a SeedLink 4 packet header")
    length, seq, idlen = struct.unpack_from("<IQB", head, 4)
    if length > MAX_PAYLOAD:
        raise ValueError(f"SeedLink 4 packet of {length} bytes (limit {MAX_PAYLOAD})")
    return PacketHeader(chr(head[2]), chr(head[3]), length, seq, idlen)


def frame(fmt: str, subformat: str, sequence: int, station: str, payload: bytes) -> bytes:
    """One SeedLink 4 packet."""
    sid = station.encode("ascii")
    return (SIGNATURE + fmt.encode("ascii") + subformat.encode("ascii")
            + struct.pack("<IQB", len(payload), sequence, len(sid)) + sid + payload)


def station_id(network: str, station: str) -> str:
    """``NET_STA``, the SeedLink 4 station id."""
    return f"{network}_{station}"


def selector(v3: str) -> str:
    """A SeedLink 3 selector ``[!][LL]CCC[.T]`` as SeedLink 4 ``[!]LL_B_S_SS[.T]``
    (any location: ``*``)."""
    sel = Selector.parse(v3)
    neg = "!" if sel.negate else ""
    loc = "*" if sel.location is None or sel.location == "??" else sel.location.strip()
    b, s, ss = sel.channel[0], sel.channel[1], sel.channel[2]
    tail = f".{sel.rtype}" if sel.rtype else ""
    return f"{neg}{loc}_{b}_{s}_{ss}{tail}"


def from_selector(text: str) -> str:
    """A SeedLink 4 selector ``[!]LL_B_S_SS[.T]`` as SeedLink 3 ``[!][LL]CCC[.T]``
    (``*`` location: any; empty: blank). A SeedLink 3 selector is returned as it is.

    Raises:
        ValueError: neither form.
    """
    neg = "!" if text.startswith("!") else ""
    body, dot, rtype = text.lstrip("!").partition(".")
    parts = body.split("_")
    if len(parts) != 4 or any(len(p) != 1 for p in parts[1:]):
        Selector.parse(text)
        return text
    loc = {"*": "", "": "--"}.get(parts[0], parts[0])
    out = f"{neg}{loc}{''.join(parts[1:])}{dot}{rtype}"
    Selector.parse(out)
    return out


def command_time(t: UTCDateTime) -> str:
    """A time as SeedLink 4 commands write it: ``YYYY-MM-DDThh:mm:ss.ffffffZ``."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_command_time(text: str) -> UTCDateTime:
    """An ISO time of a SeedLink 4 command (raises ValueError)."""
    try:
        return UTCDateTime(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad SeedLink 4 time {text!r}: {exc}") from None
