"""One SeedLink client connection: command parsing and the data stream.

Each connection runs in its own thread (started by
:class:`~seismo.io.seedlink.server.SeedLinkServer`), reads command lines, and
once streaming sends ``SL<seq>`` + 512-byte record packets, as the SeedLink
3.1 protocol describes (seiscomp.de/doc/apps/seedlink.html).
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import re
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from seismo.boundary import boundary
from seismo.io.seedlink.records import SEQ_MOD, SEQ_SLOTS, info_records, record_stream_id
from seismo.io.seedlink.selectors import Selector, selected
from seismo.io.seedlink.session import (
    HELLO_CAPS,
    POLL_S,
    SOFTWARE,
    Cursor,
    ServerState,
    ends_stream,
    make_cursors,
)

log = logging.getLogger(__name__)

_SEND_TIMEOUT_S = 30.0
#: SELECT patterns one connection may hold (all its stations together): a network's
#: client names a few per station; a flood of SELECT lines beyond it is answered ERROR
#: and stored nowhere (bounded memory, docs/reliability.md).
MAX_SELECTORS = 512
_POLLER: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.DefaultSelector
)


@dataclass
class _Request:
    stations: list[tuple[str, str]]
    selectors: list[Selector] = field(default_factory=list)
    action: tuple[str, list[str]] | None = None


class Connection:
    """One client session: commands, then the data stream (run by :meth:`run`)."""

    def __init__(self, server: ServerState, sock: socket.socket, peer: Any) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.buf = b""
        self.requests: list[_Request] = []
        self.current: _Request | None = None
        self.uni_selectors: list[Selector] = []
        self.cursors: list[Cursor] = []
        self.closed = False
        self.streaming = False
        self.selector_limit_logged = False
        # poll(2), not select(2): select cannot watch descriptors above 1024
        self._poller: selectors.BaseSelector = _POLLER()
        self._poller.register(sock, selectors.EVENT_READ)

    # -------------------------------------------------------------- I/O
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self, ok: bool) -> None:
        self.send(b"OK\r\n" if ok else b"ERROR\r\n")

    def _alive(self) -> bool:
        return not self.closed and self.server.serving

    def read_commands(self, timeout: float) -> list[str] | None:
        """Complete command lines received within ``timeout`` s; None at EOF."""
        if self._poller.select(timeout):
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > 65536:
                raise ConnectionError("command line too long")
        *lines, self.buf = re.split(rb"\r\n|\r|\n", self.buf)
        return [ln.decode("ascii", "replace").strip() for ln in lines if ln.strip()]

    # -------------------------------------------------------------- main loop
    def run(self) -> None:
        try:
            # a socket error ends the client's session (debug); anything else is an
            # internal error, logged with its traceback; the server goes on
            with boundary("SeedLink session", logger=log, level=logging.DEBUG,
                          expected=(OSError,), client=self.peer):
                self.sock.settimeout(_SEND_TIMEOUT_S)
                last_command = time.monotonic()
                while self._alive():
                    lines = self.read_commands(POLL_S)
                    if lines is None:
                        return
                    if lines:
                        last_command = time.monotonic()
                    elif time.monotonic() - last_command > self.server.idle_timeout_s:
                        log.info("SeedLink client %s: no complete command for %g s, disconnected",
                                 self.peer, self.server.idle_timeout_s)
                        return
                    for line in lines:
                        if not self.command(line) or not self._alive():
                            return
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError, KeyError, ValueError):
                self._poller.close()
            with contextlib.suppress(OSError):
                self.sock.close()

    def command(self, line: str) -> bool:
        """Handle one command line; False ends the session."""
        words = line.split()
        verb, args = words[0].upper(), words[1:]
        log.debug("SeedLink client %s: %s", self.peer, line)
        srv = self.server
        if verb == "HELLO":
            self.send(f"{SOFTWARE} :: {HELLO_CAPS}\r\n{srv.organization}\r\n".encode())
        elif verb == "BYE":
            return False
        elif verb == "CAT":
            lines = [f"{n:<2} {s:<5}  {srv.description(n, s)}\r\n" for n, s in srv.stations]
            self.send(("".join(lines) + "END").encode("ascii", "replace"))
        elif verb == "INFO":
            self.info(args[0].upper() if args else "")
        elif verb == "STATION":
            self.station(args)
        elif verb == "SELECT":
            self.select(args)
        elif verb in ("DATA", "FETCH", "TIME"):
            return self.action(verb, args)
        elif verb == "END":
            if not self.requests:
                self.reply(False)
                return True
            return self.stream()
        else:
            self.reply(False)
        return True

    def info(self, level: str) -> None:
        xml = self.server.info_xml(level)
        if xml is None:
            self.reply(False)
            return
        recs = info_records(xml)
        out = []
        for i, rec in enumerate(recs):
            flag = b"*" if i < len(recs) - 1 else b" "
            out.append(b"SLINFO " + flag + rec)
        self.send(b"".join(out))

    def station(self, args: list[str]) -> None:
        if not args or len(args) > 2:
            self.reply(False)
            return
        sta_pat, net_pat = args[0], (args[1] if len(args) > 1 else "*")
        matched = [
            (n, s)
            for n, s in self.server.stations
            if fnmatch.fnmatchcase(s, sta_pat) and fnmatch.fnmatchcase(n, net_pat)
        ]
        if not matched:
            self.current = None
            self.reply(False)
            return
        # A station named again replaces its earlier request: repeating STATION * *
        # never multiplies the answer (at most one cursor per served station).
        for req in self.requests:
            req.stations = [x for x in req.stations if x not in matched]
        self.requests = [r for r in self.requests if r.stations]
        self.current = _Request(stations=matched)
        self.requests.append(self.current)
        self.reply(True)

    def select(self, args: list[str]) -> None:
        target = self.current.selectors if self.current else self.uni_selectors
        if not args:
            target.clear()
            self.reply(True)
            return
        try:
            parsed = [Selector.parse(a) for a in args]
        except ValueError:
            self.reply(False)
            return
        held = len(self.uni_selectors) + sum(len(r.selectors) for r in self.requests)
        if held + len(parsed) > MAX_SELECTORS:
            if not self.selector_limit_logged:
                self.selector_limit_logged = True
                log.warning("SeedLink client %s: more than %d SELECT patterns refused",
                            self.peer, MAX_SELECTORS)
            self.reply(False)
            return
        target.extend(parsed)
        self.reply(True)

    def action(self, verb: str, args: list[str]) -> bool:
        uni = self.current is None
        if uni:
            if len(self.server.stations) != 1 or self.requests:
                self.reply(False)
                return True
            req = _Request(stations=list(self.server.stations), selectors=self.uni_selectors)
        else:
            assert self.current is not None
            req = self.current
        try:
            make_cursors(self.server, req.stations, req.selectors, verb, args)  # validate
        except ValueError:
            self.reply(False)
            return True
        req.action = (verb, args)
        self.reply(True)
        if uni:
            self.requests.append(req)
            return self.stream()
        return True

    # -------------------------------------------------------------- streaming
    def stream(self) -> bool:
        srv = self.server
        for req in self.requests:
            verb, args = req.action or ("DATA", [])
            self.cursors.extend(make_cursors(srv, req.stations, req.selectors, verb, args))
        self.streaming = True
        while self._alive():
            progressed = False
            lasts: dict[tuple[str, str], int] = {}
            for cur in self.cursors:
                last = lasts.setdefault(
                    (cur.network, cur.station), srv.last_block(cur.network, cur.station)
                )
                hi = last if cur.end_block is None else min(last, cur.end_block)
                if cur.next_block <= hi:
                    b1 = min(hi, cur.next_block + 59)
                    self.send_blocks(cur, cur.next_block, b1)
                    cur.next_block, cur.skip = b1 + 1, 0
                    progressed = True
            self.cursors = [
                c for c in self.cursors if not c.finished(lasts[(c.network, c.station)])
            ]
            if not self.cursors:
                self.send(b"END")
                self.finish()
                return False
            if progressed:
                continue
            lines = self.read_commands(min(POLL_S, srv.seconds_to_next_block()))
            if lines is None or ends_stream(lines, self.info):
                return False
        return False

    def send_blocks(self, cur: Cursor, b0: int, b1: int) -> None:
        blocks = self.server.records(cur.network, cur.station, b0, b1)
        out = []
        for b in range(b0, b1 + 1):
            for j, rec in enumerate(blocks.get(b, ())):
                if b == b0 and j < cur.skip:
                    continue
                if not selected(cur.selectors, *record_stream_id(rec)):
                    continue
                seq = (b * SEQ_SLOTS + j) % SEQ_MOD
                out.append(b"SL%06X" % seq + rec)
        if out:
            self.send(b"".join(out))

    def finish(self) -> None:
        """Half-close and drain so the last packets are not lost to a TCP reset."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                if self._poller.select(0.2) and not self.sock.recv(4096):
                    break
                if not self.server.serving:
                    break
        except OSError:
            pass
