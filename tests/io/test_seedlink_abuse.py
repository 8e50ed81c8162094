"""The SeedLink server under abuse: many connections, caps, slowloris, repeated wildcards.

Every client is a real loopback socket; connection counts are bounded (at most
1,020 + a few) and every wait has a limit.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Iterator

import pytest
from fdsn_server import synthetic_source
from obspy import UTCDateTime

from seismo.io.seedlink import SeedLinkServer

pytestmark = pytest.mark.network

T_NOW = UTCDateTime(2026, 3, 1, 12, 0, 0)
STATIONS = [("SZ", "AAA"), ("SZ", "BBB"), ("SZ", "CCC")]


def _clock() -> float:
    return float(T_NOW.timestamp)


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def _hello(s: socket.socket) -> bytes:
    """The server's HELLO answer, or b"" when it closed the connection."""
    try:
        s.sendall(b"HELLO\r\n")
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data
    except (ConnectionResetError, BrokenPipeError):
        return b""


def _closed_by_server(s: socket.socket) -> bool:
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@contextlib.contextmanager
def _server(**kw: object) -> Iterator[SeedLinkServer]:
    srv = SeedLinkServer(synthetic_source, STATIONS, clock=_clock, history_s=600, **kw)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def many_fds() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {want}: cannot open 1,020 connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_new_client_is_served_with_1020_connections_open(many_fds: None) -> None:
    """select() fails on descriptors above 1024; the server must not."""
    clients: list[socket.socket] = []
    with _server(max_connections=1100, max_per_address=1100, idle_timeout_s=120) as srv:
        try:
            port = srv.address[1]
            for _ in range(1020):
                clients.append(_connect(port))
            deadline = time.monotonic() + 30
            while srv.n_clients < 1020 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert srv.n_clients == 1020
            late = _connect(port)
            clients.append(late)
            assert _hello(late).startswith(b"SeedLink v3.1")
            assert _hello(clients[0]).startswith(b"SeedLink v3.1")  # old ones still work too
        finally:
            for c in clients:
                c.close()


def test_connections_are_capped_per_address_and_in_total() -> None:
    clients: list[socket.socket] = []
    with _server(max_connections=6, max_per_address=4, idle_timeout_s=60) as srv:
        port = srv.address[1]
        try:
            for _ in range(4):
                clients.append(_connect(port, "127.0.0.1"))
                assert _hello(clients[-1]).startswith(b"SeedLink")
            fifth = _connect(port, "127.0.0.1")
            clients.append(fifth)
            assert _hello(fifth) == b""  # over the per-address cap: closed, no answer
            for _ in range(2):
                clients.append(_connect(port, "127.0.0.2"))
                assert _hello(clients[-1]).startswith(b"SeedLink")
            other = _connect(port, "127.0.0.3")
            clients.append(other)
            assert _hello(other) == b""  # over the total cap
            assert srv.n_clients == 6
            clients[0].close()  # a slot frees up
            deadline = time.monotonic() + 10
            while srv.n_clients > 5 and time.monotonic() < deadline:
                time.sleep(0.02)
            again = _connect(port, "127.0.0.3")
            clients.append(again)
            assert _hello(again).startswith(b"SeedLink")
        finally:
            for c in clients:
                c.close()


def test_client_without_a_complete_command_is_closed() -> None:
    """Slowloris: bytes trickle in but no command line ever completes."""
    with _server(idle_timeout_s=0.5) as srv:
        port = srv.address[1]
        slow = _connect(port)
        silent = _connect(port)
        polite = _connect(port)
        try:
            assert _hello(polite).startswith(b"SeedLink")
            for ch in b"HELL":
                slow.sendall(bytes([ch]))
                time.sleep(0.2)
            assert _closed_by_server(slow)
            assert _closed_by_server(silent)
            deadline = time.monotonic() + 10
            while srv.n_clients > 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert srv.n_clients == 0  # the polite one idled too long after HELLO as well
        finally:
            for c in (slow, silent, polite):
                c.close()


def _fetch_packets(port: int, n_station_cmds: int) -> int:
    t0 = T_NOW - 60
    with _connect(port) as s:
        f = s.makefile("rb")
        s.sendall(b"STATION * *\r\n" * n_station_cmds)
        answers = [f.readline() for _ in range(n_station_cmds)]
        assert set(answers) <= {b"OK\r\n", b"ERROR\r\n"} and answers[0] == b"OK\r\n"
        s.sendall(f"TIME {t0.strftime('%Y,%m,%d,%H,%M,%S')} "
                  f"{(t0 + 3).strftime('%Y,%m,%d,%H,%M,%S')}\r\n".encode())
        assert f.readline() == b"OK\r\n"
        s.sendall(b"END\r\n")
        data = f.read()
    assert data.endswith(b"END")
    return (len(data) - 3) // 520


def test_repeated_station_wildcard_gives_a_bounded_answer() -> None:
    with _server(idle_timeout_s=30) as srv:
        port = srv.address[1]
        once = _fetch_packets(port, 1)
        assert once > 0
        assert _fetch_packets(port, 200) == once


def test_select_flood_is_capped_per_connection() -> None:
    """A flood of SELECT lines (before: every pattern was kept, 2.6 GB for a long flood):
    the connection holds at most MAX_SELECTORS patterns, refuses the rest with ERROR, and
    its request still works."""
    from seismo.io.seedlink.connection import MAX_SELECTORS

    n = 20 * MAX_SELECTORS
    with _server(idle_timeout_s=30) as srv, _connect(srv.address[1]) as s:
        f = s.makefile("rb")
        s.sendall(b"STATION AAA SZ\r\n")
        assert f.readline() == b"OK\r\n"
        answers: dict[bytes, int] = {}
        for k in range(0, n, 1000):
            s.sendall(b"SELECT HH?\r\n" * min(1000, n - k))
            for _ in range(min(1000, n - k)):
                line = f.readline()
                answers[line] = answers.get(line, 0) + 1
        assert answers == {b"OK\r\n": MAX_SELECTORS, b"ERROR\r\n": n - MAX_SELECTORS}
        t0 = T_NOW - 60
        s.sendall(f"TIME {t0.strftime('%Y,%m,%d,%H,%M,%S')} "
                  f"{(t0 + 2).strftime('%Y,%m,%d,%H,%M,%S')}\r\n".encode())
        assert f.readline() == b"OK\r\n"
        s.sendall(b"END\r\n")
        data = f.read()
    assert data.startswith(b"SL") and data.endswith(b"END")
