"""The SeedLink v3 server: listener, client threads, blocks and the record cache."""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from seismo.boundary import boundary
from seismo.io.seedlink.connection import Connection
from seismo.io.seedlink.records import (
    SEQ_MOD,
    SEQ_SLOTS,
    SeedLinkServerError,
    encode_records,
    info_time,
    record_stream_id,
    to_int32,
)
from seismo.io.seedlink.session import POLL_S, SOFTWARE

log = logging.getLogger(__name__)

#: ``source(network, station, start, end) -> Stream`` of counts covering ``[start, end)``.
Source = Callable[[str, str, UTCDateTime, UTCDateTime], Stream]


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
        max_connections: clients served at once; a connection beyond it is closed
            at once (no answer).
        max_per_address: clients served at once from one IP address (same rule).
        idle_timeout_s: a client that has not completed a command line for this
            long (and is not receiving data) is disconnected (slowloris).
        cache_blocks: records kept, in blocks of all stations (default: two minutes of
            every station, at least 600 blocks).

    Abuse limits (design choices, docs/reliability.md): the defaults (512 in total,
    64 per address, 60 s idle) leave room for every acquisition client of a
    network (one per station and worker) and keep one host from taking them all.
    Each client's socket is watched with a ``selectors`` poller, so descriptors
    above 1024 (``select()``'s limit) work. A station named again by ``STATION``
    replaces its earlier request, so repeating ``STATION * *`` never multiplies
    the answer.

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
        max_connections: int = 512,
        max_per_address: int = 64,
        idle_timeout_s: float = 60.0,
        cache_blocks: int | None = None,
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
        if max_connections < 1 or max_per_address < 1:
            raise SeedLinkServerError(
                f"max_connections ({max_connections}) and max_per_address ({max_per_address}) "
                "must be at least 1"
            )
        if not idle_timeout_s > 0:
            raise SeedLinkServerError(f"idle_timeout_s ({idle_timeout_s}) must be positive")
        self.max_connections = int(max_connections)
        self.max_per_address = int(max_per_address)
        self.idle_timeout_s = float(idle_timeout_s)
        self._per_address: dict[str, int] = {}
        self._refused: dict[str, tuple[float, int]] = {}  # address -> (last log time, count)
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
        self._cache_max = cache_blocks or max(600, 120 * len(self.stations))
        self._cache_lock = threading.Lock()
        self._channels: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._accept_thread: threading.Thread | None = None
        self._conns: set[Connection] = set()
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
        lst.settimeout(POLL_S)
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

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def serving(self) -> bool:
        """True while running and not marked ``down`` (client connections check it)."""
        return not (self._stopping.is_set() or self.down)

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
            address = str(peer[0]) if peer else ""
            with self._conn_lock:
                over = (len(self._conns) >= self.max_connections
                        or self._per_address.get(address, 0) >= self.max_per_address)
                if not over:
                    conn = Connection(self, sock, peer)
                    thread = threading.Thread(
                        target=self._serve, args=(conn,), name=f"seedlink-{peer}", daemon=True
                    )
                    self._conns.add(conn)
                    self._threads.add(thread)
                    self._per_address[address] = self._per_address.get(address, 0) + 1
            if over:
                self._refuse(sock, address)
                continue
            thread.start()

    def _refuse(self, sock: socket.socket, address: str) -> None:
        """Close a connection over the caps; say so at most once a minute per address."""
        with contextlib.suppress(OSError):
            sock.close()
        now = time.monotonic()
        last, count = self._refused.get(address, (-1e9, 0))
        count += 1
        if now - last >= 60.0:
            log.warning(
                "SeedLink server %s: refused %d connection(s) from %s (limits: %d in total, "
                "%d per address)", self.url, count, address, self.max_connections,
                self.max_per_address,
            )  # fmt: skip
            self._refused[address] = (now, 0)
        else:
            self._refused[address] = (last, count)

    def _serve(self, conn: Connection) -> None:
        log.debug("SeedLink client %s connected", conn.peer)
        try:
            conn.run()
        finally:
            address = str(conn.peer[0]) if conn.peer else ""
            with self._conn_lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())
                left = self._per_address.get(address, 1) - 1
                if left > 0:
                    self._per_address[address] = left
                else:
                    self._per_address.pop(address, None)
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
        # any failure of the data source (a callable given by the caller) is that
        # station's gap, never the server's end
        with boundary("SeedLink source", logger=log, expected=(Exception,),
                      station=f"{network}.{station}", span=f"[{t0}, {t1})") as failure:
            st = self.source(network, station, t0, t1)
        if failure:
            return _FAILED
        chunks: dict[int, list[Trace]] = {}
        for tr in sorted(st, key=lambda t: (t.stats.location, t.stats.channel)):
            sr = float(tr.stats.sampling_rate)
            if sr <= 0 or tr.stats.npts == 0:
                continue
            data = to_int32(tr)
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
        return {b: encode_records(trs) for b, trs in chunks.items()}

    def channels(self, network: str, station: str) -> list[tuple[str, str]]:
        """(location, channel) pairs the station serves, learnt from its newest block."""
        key = (network, station)
        if key not in self._channels:
            last = self.last_block()
            recs = self.records(network, station, last, last).get(last, [])
            found = sorted(
                {(record_stream_id(r)[0].strip(), record_stream_id(r)[1]) for r in recs}
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
            started=info_time(self._started_at),
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
                    begin_seq=f"{(first * SEQ_SLOTS) % SEQ_MOD:06X}",
                    end_seq=f"{(last * SEQ_SLOTS) % SEQ_MOD:06X}",
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
                            begin_time=info_time(self.block_start(first)),
                            end_time=info_time(self.block_start(last + 1)),
                        )
        if level in ("CONNECTIONS", "ALL"):
            with self._conn_lock:
                peers = [c.peer for c in self._conns]
            for p in peers:
                ET.SubElement(root, "connection", host=str(p[0]) if p else "", port=str(p[1]))
        return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode")


_FAILED: dict[int, list[bytes]] = {}
