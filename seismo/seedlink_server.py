"""A SeedLink v3 server over TCP, generic over a data source.

The server answers the SeedLink 3.1 protocol as spoken by ObsPy's clients
(``basic_client.Client``, ``SLClient``, ``EasySeedLinkClient``) and by
slarchive/slinktool-style clients: ``HELLO``, ``CAT``, ``INFO`` (ID,
CAPABILITIES, STATIONS, STREAMS, GAPS, CONNECTIONS, ALL), ``STATION``,
``SELECT``, ``DATA [seq [time]]``, ``FETCH [seq [time]]``, ``TIME begin [end]``,
``END`` and ``BYE``. Protocol reference: SeisComP SeedLink documentation,
"SeedLink protocol" (seiscomp.de/doc/apps/seedlink.html), and the client side
in ``obspy/clients/seedlink/client/seedlinkconnection.py``.

Data are made on demand: ``source(network, station, start, end) -> Stream``
(counts) is asked for whole *blocks* of ``record_seconds`` (block ``b`` covers
``[b*record_seconds, (b+1)*record_seconds)`` in UTC epoch seconds). Each
channel's chunk of a block is encoded as its own 512-byte Steim2 miniSEED
record (INT32 when Steim2 cannot hold the differences; more than one record if
needed). A block is available once ``clock() - latency_s`` has passed its end;
blocks older than ``history_s`` are gone, as from a ring buffer.

Sequence numbers are deterministic: record ``j`` of block ``b`` of a station
has number ``(b * 64 + j) mod 2**24``, so clients may resume with ``DATA seq``
across reconnections and server restarts.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import logging
import math
import re
import select
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from seismo.errors import SeismoError

log = logging.getLogger(__name__)

#: ``source(network, station, start, end) -> Stream`` of counts covering ``[start, end)``.
Source = Callable[[str, str, UTCDateTime, UTCDateTime], Stream]

SOFTWARE = "SeedLink v3.1 (seismo)"
#: Capabilities announced after HELLO (SeedLink 3.1: protocol version, station wildcards).
HELLO_CAPS = "SLPROTO:3.1 NSWILDCARD"
RECLEN = 512  # SeedLink 3 carries fixed 512-byte miniSEED 2 records
_SEQ_SLOTS = 64  # sequence numbers reserved per station and block
_SEQ_MOD = 0x1000000  # six hex digits
_INFO_CHUNK = 400  # XML bytes per ASCII INFO record (fits the 456-byte payload of 512)
_SEND_TIMEOUT_S = 30.0
_POLL_S = 0.25
_INT32 = np.iinfo(np.int32)
_SELECTOR_RE = re.compile(r"^(!?)([A-Za-z0-9?\- ]{0,5})(?:\.([A-Za-z?]))?$")


class SeedLinkServerError(SeismoError):
    """The SeedLink server cannot start or was configured wrongly."""


# --------------------------------------------------------------------------- records
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


# --------------------------------------------------------------------------- selectors
@dataclass(frozen=True)
class _Selector:
    negate: bool
    location: str | None  # None: any location
    channel: str
    rtype: str | None  # None: any type

    @classmethod
    def parse(cls, text: str) -> _Selector:
        m = _SELECTOR_RE.match(text)
        if not m:
            raise ValueError(f"bad selector {text!r}")
        neg, body, rtype = m.group(1), m.group(2), m.group(3)
        if len(body) > 3:
            loc, cha = body[:-3], body[-3:]
            loc = loc.rjust(2)
        else:
            loc, cha = None, body or "???"
        return cls(
            bool(neg),
            loc,
            cha.ljust(3, "?") if len(cha) < 3 else cha,
            rtype.upper() if rtype else None,
        )

    def matches(self, loc: str, cha: str, rtype: str) -> bool:
        if self.rtype is not None and self.rtype not in ("?", rtype):
            return False
        if self.location is not None and not _match_code(self.location, loc.ljust(2)):
            return False
        return _match_code(self.channel, cha.ljust(3))


def _match_code(pattern: str, code: str) -> bool:
    if len(pattern) != len(code):
        return False
    for p, c in zip(pattern, code, strict=True):
        if p == "?" or p == c or (p in "- " and c in "- "):
            continue
        return False
    return True


def _selected(selectors: list[_Selector], loc: str, cha: str, rtype: str) -> bool:
    pos = [s for s in selectors if not s.negate]
    if pos and not any(s.matches(loc, cha, rtype) for s in pos):
        return False
    return not any(s.matches(loc, cha, rtype) for s in selectors if s.negate)


# --------------------------------------------------------------------------- connection
@dataclass
class _Cursor:
    """Where one station of one connection stands."""

    network: str
    station: str
    selectors: list[_Selector]
    next_block: int
    skip: int = 0  # records of next_block already delivered (resume inside a block)
    end_block: int | None = None  # last block to send (None: real time)
    stop_when_caught_up: bool = False  # TIME with end, FETCH: finish at the newest block


@dataclass
class _Request:
    stations: list[tuple[str, str]]
    selectors: list[_Selector] = field(default_factory=list)
    action: tuple[str, list[str]] | None = None


class _Connection:
    def __init__(self, server: SeedLinkServer, sock: socket.socket, peer: Any) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.buf = b""
        self.requests: list[_Request] = []
        self.current: _Request | None = None
        self.uni_selectors: list[_Selector] = []
        self.cursors: list[_Cursor] = []
        self.closed = False
        self.streaming = False

    # -------------------------------------------------------------- I/O
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self, ok: bool) -> None:
        self.send(b"OK\r\n" if ok else b"ERROR\r\n")

    def _alive(self) -> bool:
        return not (self.closed or self.server._stopping.is_set() or self.server.down)

    def read_commands(self, timeout: float) -> list[str] | None:
        """Complete command lines received within ``timeout`` s; None at EOF."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if ready:
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
            self.sock.settimeout(_SEND_TIMEOUT_S)
            while self._alive():
                lines = self.read_commands(_POLL_S)
                if lines is None:
                    return
                for line in lines:
                    if not self.command(line) or not self._alive():
                        return
        except (OSError, ConnectionError) as exc:
            log.debug("SeedLink client %s: %s", self.peer, exc)
        except Exception:
            log.exception("SeedLink client %s: internal error", self.peer)
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
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
        recs = _info_records(xml)
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
            parsed = [_Selector.parse(a) for a in args]
        except ValueError:
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
            self.server._make_cursors(req.stations, req.selectors, verb, args)  # validate
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
            self.cursors.extend(srv._make_cursors(req.stations, req.selectors, verb, args))
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
                c for c in self.cursors if not self._finished(c, lasts[(c.network, c.station)])
            ]
            if not self.cursors:
                self.send(b"END")
                self.finish()
                return False
            if progressed:
                continue
            lines = self.read_commands(min(_POLL_S, srv.seconds_to_next_block()))
            if lines is None:
                return False
            for line in lines:
                verb = line.split()[0].upper()
                if verb == "BYE":
                    return False
                if verb == "INFO":
                    self.info(line.split()[1].upper() if len(line.split()) > 1 else "")
        return False

    @staticmethod
    def _finished(cur: _Cursor, last: int) -> bool:
        if cur.end_block is not None and cur.next_block > cur.end_block:
            return True
        return cur.stop_when_caught_up and cur.next_block > last

    def send_blocks(self, cur: _Cursor, b0: int, b1: int) -> None:
        blocks = self.server.records(cur.network, cur.station, b0, b1)
        out = []
        for b in range(b0, b1 + 1):
            for j, rec in enumerate(blocks.get(b, ())):
                if b == b0 and j < cur.skip:
                    continue
                if not _selected(cur.selectors, *_record_stream_id(rec)):
                    continue
                seq = (b * _SEQ_SLOTS + j) % _SEQ_MOD
                out.append(b"SL%06X" % seq + rec)
        if out:
            self.send(b"".join(out))

    def finish(self) -> None:
        """Half-close and drain so the last packets are not lost to a TCP reset."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.sock], [], [], 0.2)
                if ready and not self.sock.recv(4096):
                    break
                if self.server._stopping.is_set():
                    break
        except OSError:
            pass


# --------------------------------------------------------------------------- server
class SeedLinkServer:
    """SeedLink v3 server on ``host:port`` (port 0: any free port), one thread per client.

    Args:
        source: ``source(network, station, start, end) -> Stream`` of counts.
        stations: the ``(network, station)`` pairs served.
        host, port: where to listen (loopback by default).
        record_seconds: seconds of data per record (block length).
        history_s: how far back data can be requested (ring-buffer depth), seconds.
        latency_s: extra delay before a block is served (a late-data fault), seconds.
        clock: current time as UTC epoch seconds.
        organization: the second line of the HELLO answer.
        descriptions: optional ``{"NET.STA": "site name"}`` for INFO and CAT.
        station_latency: optional ``f(network, station, now) -> seconds``, an extra
            per-station delivery delay (e.g. the simulator's "late" faults).

    Faults for tests: ``latency_s`` and ``down`` may be changed while running;
    ``down = True`` drops every client and refuses new ones until set back.
    """

    def __init__(
        self,
        source: Source,
        stations: Iterable[tuple[str, str]],
        host: str = "127.0.0.1",
        port: int = 0,
        record_seconds: float = 1.0,
        history_s: float = 3600.0,
        latency_s: float = 0.0,
        clock: Callable[[], float] = time.time,
        organization: str = "seismo",
        descriptions: dict[str, str] | None = None,
        station_latency: Callable[[str, str, UTCDateTime], float] | None = None,
    ) -> None:
        self.source = source
        self.station_latency = station_latency
        self.stations = [(str(n), str(s)) for n, s in stations]
        if not self.stations:
            raise SeedLinkServerError("a SeedLink server needs at least one station")
        for n, s in self.stations:
            if not (1 <= len(n) <= 2 and 1 <= len(s) <= 5) or not (n + s).isascii():
                raise SeedLinkServerError(
                    f"station {n}.{s}: miniSEED 2 holds 1-2 character network and "
                    "1-5 character station codes (ASCII)"
                )
        if record_seconds <= 0:
            raise SeedLinkServerError(f"record_seconds ({record_seconds}) must be positive")
        if history_s < record_seconds:
            raise SeedLinkServerError(
                f"history_s ({history_s}) must be at least record_seconds ({record_seconds})"
            )
        if latency_s < 0:
            raise SeedLinkServerError(f"latency_s ({latency_s}) must not be negative")
        self.host, self.port = host, int(port)
        self.record_seconds = float(record_seconds)
        self.history_s = float(history_s)
        self.latency_s = float(latency_s)
        self.clock = clock
        self.organization = organization
        self._descriptions = dict(descriptions or {})
        self.down = False
        self._started_at = UTCDateTime(clock())
        self._cache: OrderedDict[tuple[str, str, int], list[bytes]] = OrderedDict()
        self._cache_max = max(600, 120 * len(self.stations))
        self._cache_lock = threading.Lock()
        self._channels: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._accept_thread: threading.Thread | None = None
        self._conns: set[_Connection] = set()
        self._threads: set[threading.Thread] = set()
        self._conn_lock = threading.Lock()

    # -------------------------------------------------------------- lifecycle
    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually listened on (the port is known after ``start()``)."""
        if self._listener is None:
            return self.host, self.port
        addr = self._listener.getsockname()
        return str(addr[0]), int(addr[1])

    @property
    def url(self) -> str:
        host, port = self.address
        return f"seedlink://{host}:{port}"

    def start(self) -> SeedLinkServer:
        if self._listener is not None:
            return self
        try:
            lst = socket.create_server((self.host, self.port), reuse_port=False)
        except OSError as exc:
            raise SeedLinkServerError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        lst.settimeout(_POLL_S)
        self._listener = lst
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"seedlink-accept-{self.address[1]}", daemon=True
        )
        self._accept_thread.start()
        log.info("SeedLink server listening on %s (%d stations)", self.url, len(self.stations))
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every client connection; wait for the threads."""
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        with self._conn_lock:
            conns, threads = list(self._conns), list(self._threads)
        for c in conns:
            with contextlib.suppress(OSError):
                c.sock.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(timeout)
        self._listener = None
        self._accept_thread = None

    def serve_forever(self) -> None:
        """Block until :meth:`stop` is called (from another thread) or Ctrl-C."""
        if self._listener is None:
            self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            log.info("SeedLink server interrupted")
        finally:
            self.stop()

    def __enter__(self) -> SeedLinkServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def n_clients(self) -> int:
        """Connected clients."""
        with self._conn_lock:
            return len(self._conns)

    @property
    def n_streaming(self) -> int:
        """Connected clients that have sent END (or a uni-station action) and get data."""
        with self._conn_lock:
            return sum(1 for c in self._conns if c.streaming)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        lst = self._listener
        while not self._stopping.is_set():
            try:
                sock, peer = lst.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            if self.down:
                sock.close()
                continue
            conn = _Connection(self, sock, peer)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"seedlink-{peer}", daemon=True
            )
            with self._conn_lock:
                self._conns.add(conn)
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: _Connection) -> None:
        log.debug("SeedLink client %s connected", conn.peer)
        try:
            conn.run()
        finally:
            with self._conn_lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())
            log.debug("SeedLink client %s gone", conn.peer)

    # -------------------------------------------------------------- time and blocks
    def last_block(self, network: str | None = None, station: str | None = None) -> int:
        """Index of the newest complete block (its end <= now - latency), per station."""
        now = self.clock()
        delay = self.latency_s
        if self.station_latency is not None and network is not None and station is not None:
            delay += max(0.0, float(self.station_latency(network, station, UTCDateTime(now))))
        return math.floor((now - delay) / self.record_seconds + 1e-9) - 1

    def first_block(self) -> int:
        """Index of the oldest block still in the (virtual) ring buffer."""
        return math.ceil((self.clock() - self.history_s) / self.record_seconds - 1e-9)

    def seconds_to_next_block(self) -> float:
        nxt = (self.last_block() + 2) * self.record_seconds + self.latency_s
        return max(0.01, nxt - self.clock())

    def block_start(self, b: int) -> UTCDateTime:
        return UTCDateTime(b * self.record_seconds)

    def _make_cursors(
        self,
        stations: list[tuple[str, str]],
        selectors: list[_Selector],
        verb: str,
        args: list[str],
    ) -> list[_Cursor]:
        """Cursors for an action command (raises ValueError on bad arguments)."""
        return [self._make_cursor(n, s, selectors, verb, args) for n, s in stations]

    def _make_cursor(
        self, network: str, station: str, selectors: list[_Selector], verb: str, args: list[str]
    ) -> _Cursor:
        rs = self.record_seconds
        last, first = self.last_block(network, station), self.first_block()
        start, skip, end, stop = last + 1, 0, None, verb == "FETCH"
        if verb == "TIME":
            if not 1 <= len(args) <= 2:
                raise ValueError("TIME needs begin [end]")
            begin = _parse_sl_time(args[0])
            start = max(first, math.floor(begin.timestamp / rs + 1e-9))
            if len(args) == 2:
                t_end = _parse_sl_time(args[1])
                if t_end <= begin:
                    raise ValueError("TIME end before begin")
                end = math.ceil(t_end.timestamp / rs - 1e-9) - 1
                stop = True
        elif args:  # DATA/FETCH seq [time]
            if len(args) > 2:
                raise ValueError("too many arguments")
            seq = int(args[0], 16) % _SEQ_MOD
            k_max = last * _SEQ_SLOTS + _SEQ_SLOTS - 1
            k = k_max - ((k_max - seq) % _SEQ_MOD)
            blk, skip = divmod(k, _SEQ_SLOTS)
            if blk < first:
                if len(args) == 2:
                    blk = max(first, math.floor(_parse_sl_time(args[1]).timestamp / rs))
                else:
                    blk = first
                skip = 0
            start = blk
        if stop and end is None:
            end = last
        return _Cursor(
            network,
            station,
            list(selectors),
            next_block=start,
            skip=skip,
            end_block=end,
            stop_when_caught_up=stop,
        )

    def records(self, network: str, station: str, b0: int, b1: int) -> dict[int, list[bytes]]:
        """Records of blocks ``b0..b1`` (inclusive) of one station, made on demand."""
        out: dict[int, list[bytes]] = {}
        missing: list[int] = []
        with self._cache_lock:
            for b in range(b0, b1 + 1):
                key = (network, station, b)
                if key in self._cache:
                    self._cache.move_to_end(key)
                    out[b] = self._cache[key]
                else:
                    missing.append(b)
        if not missing:
            return out
        made = self._generate(network, station, missing[0], missing[-1])
        with self._cache_lock:
            for b in missing:
                recs = made.get(b, [])
                out[b] = recs
                if made is not _FAILED:
                    self._cache[(network, station, b)] = recs
            while len(self._cache) > self._cache_max:
                self._cache.popitem(last=False)
        return out

    def _generate(self, network: str, station: str, b0: int, b1: int) -> dict[int, list[bytes]]:
        rs = self.record_seconds
        t0, t1 = self.block_start(b0), self.block_start(b1 + 1)
        try:
            st = self.source(network, station, t0, t1)
        except Exception as exc:
            log.warning(
                "SeedLink source failed for %s.%s [%s, %s): %s", network, station, t0, t1, exc
            )
            return _FAILED
        chunks: dict[int, list[Trace]] = {}
        for tr in sorted(st, key=lambda t: (t.stats.location, t.stats.channel)):
            sr = float(tr.stats.sampling_rate)
            if sr <= 0 or tr.stats.npts == 0:
                continue
            data = _to_int32(tr)
            ts = tr.stats.starttime
            for b in range(b0, b1 + 1):
                bs = b * rs
                i0 = max(0, math.ceil((bs - ts.timestamp) * sr - 1e-4))
                i1 = min(len(data), math.ceil((bs + rs - ts.timestamp) * sr - 1e-4))
                if i1 <= i0:
                    continue
                hdr = {k: tr.stats[k] for k in ("network", "station", "location", "channel")}
                hdr.update(sampling_rate=sr, starttime=ts + i0 / sr)
                chunks.setdefault(b, []).append(Trace(np.ascontiguousarray(data[i0:i1]), hdr))
        return {b: _encode(trs) for b, trs in chunks.items()}

    def channels(self, network: str, station: str) -> list[tuple[str, str]]:
        """(location, channel) pairs the station serves, learnt from its newest block."""
        key = (network, station)
        if key not in self._channels:
            last = self.last_block()
            recs = self.records(network, station, last, last).get(last, [])
            found = sorted(
                {(_record_stream_id(r)[0].strip(), _record_stream_id(r)[1]) for r in recs}
            )
            if not found:
                return []
            self._channels[key] = found
        return self._channels[key]

    def description(self, network: str, station: str) -> str:
        return self._descriptions.get(f"{network}.{station}", f"{network}.{station}")

    # -------------------------------------------------------------- INFO
    def info_xml(self, level: str) -> str | None:
        """The INFO answer for ``level`` (None for an unknown level)."""
        levels = ("ID", "CAPABILITIES", "STATIONS", "STREAMS", "GAPS", "CONNECTIONS", "ALL")
        if level not in levels:
            return None
        root = ET.Element(
            "seedlink",
            software=SOFTWARE,
            organization=self.organization,
            started=_sl_time(self._started_at),
        )
        if level in ("CAPABILITIES", "ALL"):
            for cap in (
                "dialup",
                "multistation",
                "window-extraction",
                "info:id",
                "info:capabilities",
                "info:stations",
                "info:streams",
                "info:gaps",
                "info:connections",
                "info:all",
            ):
                ET.SubElement(root, "capability", name=cap)
        if level in ("STATIONS", "STREAMS", "ALL"):
            first, last = self.first_block(), self.last_block()
            for n, s in self.stations:
                el = ET.SubElement(
                    root,
                    "station",
                    name=s,
                    network=n,
                    description=self.description(n, s),
                    begin_seq=f"{(first * _SEQ_SLOTS) % _SEQ_MOD:06X}",
                    end_seq=f"{(last * _SEQ_SLOTS) % _SEQ_MOD:06X}",
                    stream_check="enabled",
                )
                if level != "STATIONS":
                    for loc, cha in self.channels(n, s):
                        ET.SubElement(
                            el,
                            "stream",
                            location=loc,
                            seedname=cha,
                            type="D",
                            begin_time=_sl_time(self.block_start(first)),
                            end_time=_sl_time(self.block_start(last + 1)),
                        )
        if level in ("CONNECTIONS", "ALL"):
            with self._conn_lock:
                peers = [c.peer for c in self._conns]
            for p in peers:
                ET.SubElement(root, "connection", host=str(p[0]) if p else "", port=str(p[1]))
        return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode")


_FAILED: dict[int, list[bytes]] = {}


# --------------------------------------------------------------------------- simulation
def serve_simulation(
    settings: Any,
    scenario: str | None = None,
    reference: UTCDateTime | None = None,
    host: str | None = None,
    port: int | None = None,
    *,
    latency_s: float = 0.0,
    history_s: float = 3600.0,
) -> SeedLinkServer:
    """Start a SeedLink server playing the built-in simulator; returns it running.

    Stations come from the configured inventory; host/port default to
    ``[simulator] seedlink_host/seedlink_port``. Call ``serve_forever()`` (or
    ``stop()``) on the result.
    """
    from seismo.inventory import load_inventory, stations
    from seismo.simulate import Simulator  # type: ignore[attr-defined]

    sim = Simulator.from_settings(settings, scenario=scenario, reference=reference)
    infos = stations(load_inventory(settings.network.inventory))
    lock = threading.Lock()

    def source(network: str, station: str, start: UTCDateTime, end: UTCDateTime) -> Stream:
        with lock:  # the simulator is not assumed to be thread-safe
            st: Stream = sim.waveforms(network, station, start, end)
        return st

    def station_latency(network: str, station: str, now: UTCDateTime) -> float:
        with lock:
            return float(sim.latency_s(f"{network}.{station}", now))

    server = SeedLinkServer(
        source,
        [(s.network, s.station) for s in infos],
        host=host if host is not None else settings.simulator.seedlink_host,
        port=port if port is not None else settings.simulator.seedlink_port,
        record_seconds=settings.simulator.record_seconds,
        history_s=history_s,
        latency_s=latency_s,
        organization=settings.network.name,
        descriptions={s.id: s.site_name or s.id for s in infos},
        station_latency=station_latency,
    )
    return server.start()
