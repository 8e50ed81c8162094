"""A SeedLink server of ready-made records, released as a datalogger sends them.

:class:`RecordRing` serves records that exist as bytes (any length: 256, 512, 4096 ...),
each released at its own time, in the order they were added, as ringserver does with
what its sources feed it. It speaks SeedLink 3 and, when ``protocol4``, SeedLink 4
(:mod:`seismo.io.seedlink.v4`), and behaves like ringserver where real clients meet
surprises:

* records are passed through as they are, whatever their length (SeedLink 3 included);
* sequence numbers count every record of the ring (SeedLink 3: modulo 2**24), and a
  backlog goes out in ring order, the stations interleaved;
* a time window (``TIME begin end``; ``DATA ALL begin end``) ends only when, for every
  channel it sent, a record that starts at or after the window end has been released
  (then ``END``): a client that waits for ``END`` waits up to one record length after
  its window;
* a connection holds at most :data:`MAX_SELECTORS` SELECT patterns.

:func:`datalogger_records` cuts continuous traces into records of one length and
releases each when its last sample has been taken (its end time), plus a delay: what a
datalogger that fills fixed-size Steim2 records sends. The tests serve hostile records
with it (zero rate, far future, corrupt frames, out of order, foreign rates, other record
lengths, a clock behind); ``benchmarks/bench_latency.py`` measures the alert latency
through it.
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from obspy import Trace

from seismo.io.seedlink import v4
from seismo.io.seedlink.header import parse_header
from seismo.io.seedlink.records import (
    SEQ_MOD,
    SeedLinkServerError,
    encode_records,
    info_records,
    parse_command_time,
    record_station,
    record_stream_id,
    to_int32,
)
from seismo.io.seedlink.selectors import Selector, selected
from seismo.io.seedlink.session import ends_stream

log = logging.getLogger(__name__)

#: SELECT patterns one connection may hold (as seismo's own server).
MAX_SELECTORS = 512
_POLL_S = 0.05
_SEND_TIMEOUT_S = 30.0


@dataclass
class _Entry:
    release: float
    sequence: int
    start: float  # NaN without a readable header
    end: float
    payload: bytes = field(repr=False)


@dataclass
class _Cursor:
    station: tuple[str, str]
    selectors: list[Selector]
    index: int = 0  # next entry of the station to look at
    window_end: float | None = None  # a time window: ends at the first record past it
    begin: float | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)  # channels in the window
    past: set[tuple[str, str]] = field(default_factory=set)  # channels with a record past it


def datalogger_records(traces: Iterable[Trace], reclen: int = 512,
                       delay_s: float = 0.0) -> list[tuple[float, bytes]]:
    """(release time, record) of ``traces`` cut into ``reclen``-byte Steim2 records
    (INT32 where Steim2 cannot hold the differences), each released ``delay_s`` after its
    last sample: the end time of the record (module docstring)."""
    out: list[tuple[float, bytes]] = []
    for tr in traces:
        tr = tr.copy()
        tr.data = to_int32(tr)
        for rec in encode_records([tr], reclen):
            h = parse_header(rec)
            out.append((float(h.end) + delay_s, rec))
    out.sort(key=lambda x: x[0])
    return out


class RecordRing:
    """SeedLink server of ready-made records (module docstring).

    Args:
        host, port: where to listen (loopback; port 0: a free port).
        protocol4: offer SeedLink 4 besides 3 (``SLPROTO:4.0`` in the HELLO answer).
        clock: the time records are released by (UTC epoch seconds).
        organization: the second line of the HELLO answer.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, protocol4: bool = True,
                 clock: Callable[[], float] = time.time, organization: str = "seismo") -> None:
        self.host, self.port = host, int(port)
        self.protocol4 = protocol4
        self.clock = clock
        self.organization = organization
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], list[_Entry]] = {}
        self._next_seq = 1
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()

    # ------------------------------------------------------------------ records
    def add(self, records: Iterable[tuple[float, bytes]]) -> None:
        """Records to serve, each with its release time (epoch s), in release order per
        station; sequence numbers are given in the order added."""
        with self._lock:
            for release, rec in records:
                net, sta = record_station(rec)
                try:
                    h = parse_header(rec)
                    start, end = float(h.start), float(h.end)
                except ValueError:
                    start = end = float("nan")
                self._entries.setdefault((net, sta), []).append(
                    _Entry(float(release), self._next_seq, start, end, rec))
                self._next_seq += 1

    def records(self) -> list[tuple[float, bytes]]:
        """Every record served, with its release time, in the order of sequence numbers."""
        with self._lock:
            ents = sorted((e for es in self._entries.values() for e in es),
                          key=lambda e: e.sequence)
        return [(e.release, e.payload) for e in ents]

    @property
    def stations(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._entries)

    # ------------------------------------------------------------------ life cycle
    @property
    def url(self) -> str:
        assert self._listener is not None
        host, port = self._listener.getsockname()[:2]
        return f"seedlink://{host}:{port}"

    def start(self) -> RecordRing:
        try:
            self._listener = socket.create_server((self.host, self.port))
        except OSError as exc:
            raise SeedLinkServerError(f"cannot listen on {self.host}:{self.port}: {exc}") \
                from None
        self._listener.settimeout(0.2)
        t = threading.Thread(target=self._accept, name="seedlink-ring-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        for c in list(self._conns):
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(5)

    def __enter__(self) -> RecordRing:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self._conns.add(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                 name="seedlink-ring-client")
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _serve(self, sock: socket.socket) -> None:
        try:
            _Session(self, sock).run()
        except OSError:
            pass
        finally:
            self._conns.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()

    # ------------------------------------------------------------------ for sessions
    def entries(self, station: tuple[str, str], index: int, until: float) -> list[_Entry]:
        """The station's entries from ``index`` on that are released by ``until``."""
        with self._lock:
            ents = self._entries.get(station, [])
            out = []
            for e in ents[index:]:
                if e.release > until:
                    break
                out.append(e)
            return out

    def first_index(self, station: tuple[str, str], *, sequence: int | None = None,
                    begin: float | None = None, v3: bool = False) -> int:
        """Where a request starts: at the entry with ``sequence`` (SeedLink 3: modulo
        2**24, the newest such; else after the one before it), at the first entry ending
        after ``begin``, or at the next one released."""
        with self._lock:
            ents = self._entries.get(station, [])
            if sequence is not None and v3:
                for want, skip in ((sequence, 0), ((sequence - 1) % SEQ_MOD, 1)):
                    for i in range(len(ents) - 1, -1, -1):
                        if ents[i].sequence % SEQ_MOD == want:
                            return i + skip
                return len(ents)
            if sequence is not None:
                return bisect.bisect_left([e.sequence for e in ents], sequence)
            if begin is not None:
                return next((i for i, e in enumerate(ents) if e.end > begin), len(ents))
            return bisect.bisect_right([e.release for e in ents], self.clock())

    def info_json(self) -> str:
        return json.dumps({"software": "SeedLink v4.0 (seismo ring)",
                           "organization": self.organization,
                           "station": [{"id": v4.station_id(n, s)} for n, s in self.stations]})


class _Session:
    """One client connection of a :class:`RecordRing`."""

    def __init__(self, ring: RecordRing, sock: socket.socket) -> None:
        self.ring = ring
        self.sock = sock
        self.buf = b""
        self.v4 = False
        self.current: list[tuple[str, str]] = []
        self.selectors: dict[tuple[str, str], list[Selector]] = {}
        self.actions: dict[tuple[str, str], tuple[str, list[str]]] = {}
        self.n_selectors = 0

    def send(self, data: bytes) -> None:
        self.sock.settimeout(_SEND_TIMEOUT_S)  # the reads poll with short timeouts
        self.sock.sendall(data)

    def reply(self, ok: bool, code: str = "ARGUMENTS") -> None:
        if ok:
            self.send(b"OK\r\n")
        else:
            self.send(f"ERROR {code}\r\n".encode() if self.v4 else b"ERROR\r\n")

    def lines(self, timeout: float) -> list[str] | None:
        self.sock.settimeout(timeout)
        try:
            chunk: bytes | None = self.sock.recv(4096)
        except TimeoutError:
            chunk = None
        if chunk is not None:
            if not chunk or len(self.buf) + len(chunk) > 65536:
                return None
            self.buf += chunk
        *done, self.buf = re.split(rb"\r\n|\r|\n", self.buf)
        return [x.decode("ascii", "replace").strip() for x in done if x.strip()]

    def run(self) -> None:
        while not self.ring._stop.is_set():
            got = self.lines(0.5)
            if got is None:
                return
            for line in got:
                if not self.command(line):
                    return

    def command(self, line: str) -> bool:
        words = line.split()
        verb, args = words[0].upper(), words[1:]
        if verb == "HELLO":
            caps = "SLPROTO:3.1" + (" SLPROTO:4.0" if self.ring.protocol4 else "")
            ver = "v4.0" if self.ring.protocol4 else "v3.1"
            self.send(f"SeedLink {ver} (seismo ring) :: {caps}\r\n"
                              f"{self.ring.organization}\r\n".encode())
        elif verb == "SLPROTO":
            ok = self.ring.protocol4 and args[:1] == ["4.0"]
            self.reply(ok, "UNSUPPORTED")
            self.v4 = self.v4 or ok
        elif verb in ("USERAGENT", "CAPABILITIES"):
            self.reply(True)
        elif verb == "BYE":
            return False
        elif verb == "INFO":
            self.info()
        elif verb == "STATION":
            self.station(args)
        elif verb == "SELECT":
            self.select(args)
        elif verb in ("DATA", "TIME", "FETCH"):
            ok = bool(self.current)
            for st in self.current:
                self.actions[st] = (verb, args)
            self.reply(ok, "UNEXPECTED")
        elif verb == "END":
            return self.stream()
        else:
            self.reply(False, "UNSUPPORTED")
        return True

    def info(self) -> None:
        if self.v4:
            self.send(v4.frame("J", "I", 0, "", self.ring.info_json().encode()))
            return
        recs = info_records(f'<seedlink software="SeedLink v3.1 (seismo ring)" '
                            f'organization="{self.ring.organization}"/>')
        self.send(b"".join(b"SLINFO " + (b"*" if i < len(recs) - 1 else b" ") + r
                                   for i, r in enumerate(recs)))

    def station(self, args: list[str]) -> None:
        if self.v4:
            net_pat, _, sta_pat = (args[0] if args else "").partition("_")
        else:
            sta_pat, net_pat = [*args, "*", "*"][:2]
        found = [s for s in self.ring.stations
                 if fnmatch.fnmatchcase(s[0], net_pat) and fnmatch.fnmatchcase(s[1], sta_pat)]
        self.current = found
        for st in found:
            self.selectors[st] = []
        self.reply(bool(found))

    def select(self, args: list[str]) -> None:
        try:
            parsed = [Selector.parse(v4.from_selector(a) if self.v4 else a) for a in args]
        except ValueError:
            self.reply(False)
            return
        if self.n_selectors + len(parsed) > MAX_SELECTORS:
            self.reply(False, "LIMIT")
            return
        self.n_selectors += len(parsed)
        for st in self.current:
            self.selectors[st].extend(parsed)
        self.reply(True)

    def _cursor(self, st: tuple[str, str], verb: str, args: list[str]) -> _Cursor:
        cur = _Cursor(st, self.selectors.get(st, []))
        ring = self.ring
        if self.v4:
            seq = None if not args or args[0].upper() == "ALL" else int(args[0])
            times = [float(v4.parse_command_time(a)) for a in args[1:3]]
            if seq is not None:
                cur.index = ring.first_index(st, sequence=seq)
            elif times:
                cur.index = ring.first_index(st, begin=times[0])
                cur.begin = times[0]
            else:
                cur.index = 0 if args else ring.first_index(st)
            cur.window_end = times[1] if len(times) > 1 else None
        elif verb == "TIME":
            begin = float(parse_command_time(args[0]))
            cur.index, cur.begin = ring.first_index(st, begin=begin), begin
            cur.window_end = float(parse_command_time(args[1])) if len(args) > 1 else None
        elif args:
            cur.index = ring.first_index(st, sequence=int(args[0], 16), v3=True)
        else:
            cur.index = ring.first_index(st)
        return cur

    def stream(self) -> bool:
        cursors = [self._cursor(st, *act) for st, act in self.actions.items()]
        if not cursors:
            self.reply(False, "UNEXPECTED")
            return True
        while not self.ring._stop.is_set() and cursors:
            now = self.ring.clock()
            due: list[tuple[int, bytes]] = []
            for cur in list(cursors):
                for e in self.ring.entries(cur.station, cur.index, now):
                    cur.index += 1
                    loc, cha, rtype = record_stream_id(e.payload)
                    if not selected(cur.selectors, loc, cha, rtype):
                        continue
                    if cur.window_end is not None and e.start >= cur.window_end:
                        cur.past.add((loc, cha))  # this channel's window is done
                        continue
                    if cur.begin is not None and e.end <= cur.begin:
                        continue
                    cur.seen.add((loc, cha))
                    due.append((e.sequence, self._packet(cur.station, e)))
                if cur.past and cur.seen <= cur.past:
                    cursors.remove(cur)
            due.sort(key=lambda x: x[0])  # in ring order, stations interleaved
            out = [pkt for _, pkt in due]
            if out:
                self.send(b"".join(out))
            if not cursors:
                self.send(b"END")
                return False
            got = self.lines(_POLL_S)
            if got is None or ends_stream(got, lambda _level: self.info()):
                return False
        return False

    def _packet(self, st: tuple[str, str], e: _Entry) -> bytes:
        if self.v4:
            return v4.frame("2", "D", e.sequence, v4.station_id(*st), e.payload)
        return b"SL%06X" % (e.sequence % SEQ_MOD) + e.payload


def serve_records(records: Sequence[tuple[float, bytes]], **kw: object) -> RecordRing:
    """A started :class:`RecordRing` serving ``records`` (keyword arguments: the ring's)."""
    ring = RecordRing(**kw)  # type: ignore[arg-type]
    ring.add(records)
    return ring.start()
