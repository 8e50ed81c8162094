"""The SeedLink handshake and the wire, client side: one TCP connection sending
command lines and receiving reply lines and packets (:class:`Link`), ``HELLO`` (and the
switch to protocol 4 where the server offers it), and the per-station
``STATION``/``SELECT``/action negotiation (:func:`negotiate`).

Packets of any record length are read: a SeedLink 3 packet's length comes from its
record's blockette 1000 (:func:`~seismo.io.seedlink.header.record_length`), a
SeedLink 4 packet says it (:mod:`seismo.io.seedlink.v4`). A packet that cannot be
framed raises :class:`BadPacket`, which names its sequence number so that the reader
resumes after it instead of fetching it again.

Protocol references: the module doc of :mod:`seismo.io.seedlink.client`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from seismo.errors import FeedError
from seismo.io.seedlink import v4
from seismo.io.seedlink.header import record_length
from seismo.io.seedlink.records import (
    DATA_SIGNATURE,
    END_SIGNATURE,
    HEADER_LEN,
    INFO_SIGNATURE,
    record_station,
)
from seismo.io.seedlink.selectors import Selector

__all__ = ["BadPacket", "Link", "LinkClosed", "StationRequest", "hello", "negotiate",
           "refused_error"]

#: The client's logger: the link's messages (lines sent and received, refused stations)
#: are the client's, configured under one name.
log = logging.getLogger("seismo.io.seedlink.client")

ERROR_REPLY = b"ERROR"
_HEX = re.compile(rb"^[0-9A-Fa-f]{6}$")
_VERSION = re.compile(r"SeedLink v(\d+)\.(\d+)", re.IGNORECASE)
_PROTO = re.compile(r"SLPROTO:(\d+)\.(\d+)")
_MAX_LINE = 4096


@dataclass(frozen=True)
class StationRequest:
    """One station to ask for, with optional SeedLink ``SELECT`` patterns.

    A selector is ``[LL]CCC[.T]`` with ``?`` wildcards (e.g. ``00HH?``,
    ``HN?.D``); none means every stream of the station.
    """

    network: str
    station: str
    selectors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        sid = f"{self.network}.{self.station}"
        if not self.network or not self.station or " " in sid:
            raise FeedError(f"SeedLink station {sid!r} needs network and station codes", sid)
        for sel in self.selectors:
            try:
                Selector.parse(sel)
            except ValueError:
                raise FeedError(
                    f"SeedLink selector {sel!r} for {sid} is not [!][LL]CCC[.T]", sid
                ) from None

    @property
    def station_id(self) -> str:
        """``NET.STA``."""
        return f"{self.network}.{self.station}"


class Link:
    """One TCP connection: command lines out, lines and packets in."""

    def __init__(self, host: str, port: int, url: str, timeout_s: float) -> None:
        self.url = url
        self.buf = bytearray()
        self.closed = False
        self.protocol = 3  # 4 after a successful SLPROTO 4.0
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout_s)
        except TimeoutError:
            raise FeedError(
                f"SeedLink server {url}: no connection within {timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise FeedError(
                f"SeedLink server {url}: cannot connect: {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()

    def send(self, line: str, timeout_s: float) -> None:
        log.debug("SeedLink %s > %s", self.url, line)
        try:
            self.sock.settimeout(max(timeout_s, 1e-3))
            self.sock.sendall(line.encode("ascii") + b"\r\n")
        except TimeoutError:
            raise FeedError(f"SeedLink server {self.url}: sending {line!r} timed out") from None
        except OSError as exc:
            if self.closed:
                raise LinkClosed from None
            raise FeedError(
                f"SeedLink server {self.url}: connection lost sending {line.split()[0]}: "
                f"{exc.strerror or exc}"
            ) from None

    def fill(self, timeout_s: float) -> bool:
        """Receive more bytes; False if nothing came within ``timeout_s``."""
        if timeout_s <= 0:
            return False
        try:
            self.sock.settimeout(timeout_s)
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except OSError as exc:
            if self.closed:
                raise LinkClosed from None
            raise FeedError(
                f"SeedLink server {self.url}: connection lost: {exc.strerror or exc}"
            ) from None
        if not chunk:
            if self.closed:
                raise LinkClosed
            raise FeedError(f"SeedLink server {self.url} closed the connection")
        self.buf += chunk
        return True

    def read_line(self, deadline: float, what: str) -> str:
        """One reply line (without CR/LF) before ``deadline`` (monotonic seconds)."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                text = line.decode("ascii", "replace").strip()
                log.debug("SeedLink %s < %s", self.url, text)
                return text
            if len(self.buf) > _MAX_LINE:
                raise FeedError(
                    f"SeedLink server {self.url}: no line break in its answer to {what}"
                )
            if not self.fill(deadline - time.monotonic()):
                raise FeedError(f"SeedLink server {self.url}: no answer to {what} in time")

    def command(self, line: str, deadline: float) -> tuple[bool, str]:
        """Send a handshake command; (accepted, reply line)."""
        self.send(line, deadline - time.monotonic())
        reply = self.read_line(deadline, line.split()[0])
        if reply == "OK":
            return True, reply
        if reply.startswith("ERROR"):
            return False, reply
        raise FeedError(
            f"SeedLink server {self.url}: unexpected answer {reply[:80]!r} to {line.split()[0]}"
        )

    def packet(self, wait_s: float) -> tuple[str, int, bytes] | None:
        """The next packet: ("data", seq, record), ("info", last, record), ("end", 0, b"")
        or ("error", 0, line); None if nothing complete arrived within ``wait_s``."""
        deadline = time.monotonic() + wait_s
        while True:
            got = self._parse()
            if got is not None:
                return got
            if not self.fill(deadline - time.monotonic()):
                return None

    def _parse(self) -> tuple[str, int, bytes] | None:
        buf = self.buf
        if len(buf) >= 3 and buf[:3] == END_SIGNATURE:
            del buf[:3]
            return ("end", 0, b"")
        if len(buf) >= 3 and buf[:3] == ERROR_REPLY[:3]:
            i = buf.find(b"\n")
            if i < 0:
                return None
            line = bytes(buf[: i + 1]).strip()
            del buf[: i + 1]
            return ("error", 0, line)
        if self.protocol >= 4 and buf[:2] == v4.SIGNATURE:
            return self._parse_v4()
        if len(buf) < HEADER_LEN:
            return None
        info = buf[:6] == INFO_SIGNATURE
        if not info and (buf[:2] != DATA_SIGNATURE or not _HEX.match(bytes(buf[2:8]))):
            self._garbage()
        seq = 0 if info else int(bytes(buf[2:8]), 16)
        try:
            n = record_length(bytes(buf[HEADER_LEN : HEADER_LEN + 256]))
        except ValueError as exc:
            self._unframed(seq, exc)
        if n is None or len(buf) < HEADER_LEN + n:
            return None
        last = buf[7:8] != b"*"
        rec = bytes(buf[HEADER_LEN : HEADER_LEN + n])
        del buf[: HEADER_LEN + n]
        if info:
            return ("info", int(last), rec)
        return ("data", seq, rec)

    def _parse_v4(self) -> tuple[str, int, bytes] | None:
        buf = self.buf
        try:
            head = v4.parse_header(bytes(buf[: v4.HEADER_LEN]))
        except ValueError as exc:
            raise FeedError(f"SeedLink server {self.url}: {exc}") from None
        if head is None:
            return None
        total = v4.HEADER_LEN + head.station_len + head.length
        if len(buf) < total:
            return None
        payload = bytes(buf[v4.HEADER_LEN + head.station_len : total])
        del buf[:total]
        if head.format == "2" and head.subformat == "D":
            return ("data", head.sequence, payload)
        if head.format == "J" and head.subformat == "I":
            return ("info", 1, payload)
        if head.format == "J" and head.subformat == "E":
            return ("error", 0, payload)
        return ("skip", head.sequence, head.format.encode() + head.subformat.encode())

    def _unframed(self, seq: int, exc: Exception) -> None:
        station = None
        try:
            net, sta = record_station(bytes(self.buf[HEADER_LEN : HEADER_LEN + 48]))
            station = f"{net}.{sta}" if net and sta else None
        except (ValueError, UnicodeError):
            pass
        raise BadPacket(
            f"SeedLink server {self.url} sent packet {seq:06X} that cannot be framed ({exc})",
            station, seq)

    def _garbage(self) -> None:
        raise FeedError(
            f"SeedLink server {self.url} sent {bytes(self.buf[:16])!r} where a packet "
            "('SL' + 6 hex digits, 'SLINFO', 'SE', 'END') was expected"
        )


class BadPacket(FeedError):
    """A packet whose record length cannot be read: the stream cannot go on past it on
    this connection. ``station`` and ``sequence`` name it, so that the reader resumes
    after it (its record is lost; everything else is not)."""

    def __init__(self, message: str, station: str | None, sequence: int) -> None:
        super().__init__(message, station)
        self.station = station
        self.sequence = sequence


class LinkClosed(Exception):
    """The link was closed by our own side (RecordStream.close from another thread)."""


def hello(
    link: Link, deadline: float, *, protocol: int | None = None
) -> tuple[str, str, tuple[int, int] | None]:
    """``HELLO``: (server line, organisation line, server version). With ``protocol``
    4 (or None: the highest both speak), a server that offers SeedLink 4 is switched to
    it (``SLPROTO 4.0``; :attr:`Link.protocol` becomes 4)."""
    link.send("HELLO", deadline - time.monotonic())
    server = link.read_line(deadline, "HELLO")
    org = link.read_line(deadline, "HELLO")
    m = _VERSION.search(server)
    if not m:
        raise FeedError(f"SeedLink server {link.url}: {server[:80]!r} is not a SeedLink HELLO")
    offered = {(int(a), int(b)) for a, b in _PROTO.findall(server)}
    if protocol != 3 and any(major == 4 for major, _ in offered):
        ok, reply = link.command("SLPROTO 4.0", deadline)
        if ok:
            link.protocol = 4
            link.command("USERAGENT seismo", deadline)  # informative; a refusal is harmless
        elif protocol == 4:
            raise FeedError(f"SeedLink server {link.url} refused SLPROTO 4.0 ({reply})")
    elif protocol == 4:
        raise FeedError(f"SeedLink server {link.url} does not offer SeedLink 4 ({server!r})")
    return server, org, (int(m.group(1)), int(m.group(2)))


def negotiate(
    link: Link,
    stations: Sequence[StationRequest],
    action: Callable[[StationRequest], str],
    deadline: float,
) -> tuple[list[str], dict[str, str]]:
    """STATION/SELECT/action for each station; (accepted ids, {refused id: why})."""
    accepted: list[str] = []
    refused: dict[str, str] = {}
    for req in stations:
        sid = req.station_id
        station = (f"STATION {v4.station_id(req.network, req.station)}" if link.protocol >= 4
                   else f"STATION {req.station} {req.network}")
        ok, reply = link.command(station, deadline)
        if not ok:
            refused[sid] = f"STATION refused ({reply})"
            continue
        bad = None
        for sel in req.selectors:
            text = v4.selector(sel) if link.protocol >= 4 else sel
            ok, reply = link.command(f"SELECT {text}", deadline)
            if not ok:
                bad = f"SELECT {sel} refused ({reply})"
                break
        if bad is not None:
            refused[sid] = bad
            continue
        verb = action(req)
        ok, reply = link.command(verb, deadline)
        if not ok:
            refused[sid] = f"{verb} refused ({reply})"
            continue
        accepted.append(sid)
    for sid, why in refused.items():
        log.warning("SeedLink server %s does not serve %s: %s", link.url, sid, why)
    return accepted, refused


def refused_error(url: str, refused: Mapping[str, str]) -> FeedError:
    sids = sorted(refused)
    why = "; ".join(f"{s}: {refused[s]}" for s in sids)
    return FeedError(
        f"SeedLink server {url} does not serve {', '.join(sids)} ({why})",
        sids[0] if len(sids) == 1 else None,
    )
