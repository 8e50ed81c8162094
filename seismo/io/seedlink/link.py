"""The SeedLink v3 handshake and the wire, client side: one TCP connection sending
command lines and receiving reply lines and packets (:class:`Link`), ``HELLO``, and the
per-station ``STATION``/``SELECT``/action negotiation (:func:`negotiate`).

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
from seismo.io.seedlink.records import (
    DATA_SIGNATURE,
    END_SIGNATURE,
    HEADER_LEN,
    INFO_SIGNATURE,
    PACKET_LEN,
)
from seismo.io.seedlink.selectors import Selector

__all__ = ["Link", "LinkClosed", "StationRequest", "hello", "negotiate", "refused_error"]

#: The client's logger: the link's messages (lines sent and received, refused stations)
#: are the client's, configured under one name.
log = logging.getLogger("seismo.io.seedlink.client")

ERROR_REPLY = b"ERROR"
_HEX = re.compile(rb"^[0-9A-Fa-f]{6}$")
_VERSION = re.compile(r"SeedLink v(\d+)\.(\d+)", re.IGNORECASE)
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
        if len(buf) < HEADER_LEN:
            return None
        if buf[:6] == INFO_SIGNATURE:
            if len(buf) < PACKET_LEN:
                return None
            last = buf[7:8] != b"*"
            rec = bytes(buf[HEADER_LEN:PACKET_LEN])
            del buf[:PACKET_LEN]
            return ("info", int(last), rec)
        if buf[:2] != DATA_SIGNATURE or not _HEX.match(bytes(buf[2:8])):
            self._garbage()
        if len(buf) < PACKET_LEN:
            return None
        seq = int(bytes(buf[2:8]), 16)
        rec = bytes(buf[HEADER_LEN:PACKET_LEN])
        del buf[:PACKET_LEN]
        return ("data", seq, rec)

    def _garbage(self) -> None:
        raise FeedError(
            f"SeedLink server {self.url} sent {bytes(self.buf[:16])!r} where a packet "
            "('SL' + 6 hex digits, 'SLINFO', 'END') was expected"
        )


class LinkClosed(Exception):
    """The link was closed by our own side (RecordStream.close from another thread)."""


def hello(link: Link, deadline: float) -> tuple[str, str, tuple[int, int] | None]:
    link.send("HELLO", deadline - time.monotonic())
    server = link.read_line(deadline, "HELLO")
    org = link.read_line(deadline, "HELLO")
    m = _VERSION.search(server)
    if not m:
        raise FeedError(f"SeedLink server {link.url}: {server[:80]!r} is not a SeedLink HELLO")
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
        ok, reply = link.command(f"STATION {req.station} {req.network}", deadline)
        if not ok:
            refused[sid] = f"STATION refused ({reply})"
            continue
        bad = None
        for sel in req.selectors:
            ok, reply = link.command(f"SELECT {sel}", deadline)
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
