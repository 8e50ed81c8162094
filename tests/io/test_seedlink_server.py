"""The SeedLink server, spoken to over real loopback sockets by ObsPy's own clients."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import numpy as np
import pytest
from fdsn_server import CHANNELS, synthetic_source
from obspy import Trace, UTCDateTime
from obspy.clients.seedlink.basic_client import Client
from obspy.clients.seedlink.easyseedlink import EasySeedLinkClient
from obspy.clients.seedlink.slclient import SLClient
from obspy.clients.seedlink.slpacket import SLPacket

from seismo.io.seedlink import RECLEN, SeedLinkServer, SeedLinkServerError
from seismo.io.seedlink.records import encode_records
from seismo.io.seedlink.selectors import Selector, selected

T_NOW = UTCDateTime(2026, 3, 1, 12, 0, 0)
STATIONS = [("SZ", "AAA"), ("SZ", "BBB"), ("SZ", "A-B"), ("XY", "x1")]


class FakeClock:
    """A clock the test moves by hand (UTC epoch seconds)."""

    def __init__(self, t: UTCDateTime) -> None:
        self.now = float(t.timestamp)

    def __call__(self) -> float:
        return self.now


def _wait_until(cond, limit_s: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T_NOW)


@pytest.fixture
def server(clock: FakeClock):  # type: ignore[no-untyped-def]
    srv = SeedLinkServer(synthetic_source, STATIONS, clock=clock, history_s=600)
    srv.start()
    yield srv
    srv.stop()


def _expected(net: str, sta: str, t0: UTCDateTime, t1: UTCDateTime):  # type: ignore[no-untyped-def]
    return {tr.id: tr for tr in synthetic_source(net, sta, t0, t1)}


# --------------------------------------------------------------------------- units
def test_selector_parsing_and_matching() -> None:
    sel = Selector.parse("00HHZ.D")
    assert (sel.location, sel.channel, sel.rtype) == ("00", "HHZ", "D")
    assert sel.matches("00", "HHZ", "D") and not sel.matches("10", "HHZ", "D")
    assert not sel.matches("00", "HHZ", "E")
    any_d = Selector.parse("?????.D")
    assert any_d.matches("  ", "HNE", "D")  # '?' matches a blank location
    chan_only = Selector.parse("HH?")
    assert chan_only.location is None and chan_only.matches("10", "HHN", "D")
    assert not chan_only.matches("10", "HNN", "D")
    sels = [Selector.parse("?????"), Selector.parse("!10HN?")]
    assert selected(sels, "00", "HHZ", "D") and not selected(sels, "10", "HNZ", "D")
    for bad in ("TOOLONGX", "00HHZ.DD", "H*Z"):
        with pytest.raises(ValueError, match="selector"):
            Selector.parse(bad)


def test_records_are_512_bytes_and_fall_back_for_huge_differences() -> None:
    t0 = UTCDateTime(2026, 1, 1)
    big = np.array([2**30, -(2**30)] * 50, dtype=np.int32)  # differences need 32 bits
    st = synthetic_source("SZ", "AAA", t0, t0 + 1, sampling_rate=500.0, channels=(("00", "HHZ"),))
    traces = [st[0], Trace(big, {"station": "AAA", "channel": "HHN", "starttime": t0})]
    recs = encode_records(traces)
    assert all(len(r) == RECLEN for r in recs)
    assert len(recs) >= 3  # 500 noisy samples need several Steim2 records
    import io

    from obspy import read

    back = read(io.BytesIO(b"".join(recs)))
    np.testing.assert_array_equal(back.select(channel="HHN")[0].data, big)
    np.testing.assert_array_equal(back.select(channel="HHZ")[0].data, st[0].data)


def test_bad_construction_is_refused() -> None:
    with pytest.raises(SeedLinkServerError, match="TOOLONG"):
        SeedLinkServer(synthetic_source, [("SZ", "TOOLONG")])
    with pytest.raises(SeedLinkServerError, match="record_seconds"):
        SeedLinkServer(synthetic_source, STATIONS, record_seconds=0)
    with pytest.raises(SeedLinkServerError, match="at least one station"):
        SeedLinkServer(synthetic_source, [])


# --------------------------------------------------------------------------- sockets
@pytest.mark.network
def test_time_window_one_minute_several_stations(server: SeedLinkServer) -> None:
    host, port = server.address
    t0 = T_NOW - 120
    t1 = t0 + 60
    for net, sta in STATIONS:
        st = Client(host, port, timeout=5).get_waveforms(net, sta, "??", "???", t0, t1)
        expected = _expected(net, sta, t0, t1)
        assert sorted(tr.id for tr in st) == sorted(expected)
        for tr in st:
            # basic_client trims to [t0, t1] inclusive; the server sent whole 1 s records
            want = expected[tr.id]
            assert tr.stats.starttime == t0
            np.testing.assert_array_equal(tr.data[: want.stats.npts], want.data)


@pytest.mark.network
def test_info_levels_and_wildcards(server: SeedLinkServer) -> None:
    host, port = server.address
    client = Client(host, port, timeout=5)
    assert client.get_info(station="*") == sorted(STATIONS)
    streams = client.get_info(network="XY", station="*", level="channel", cache=False)
    assert streams == sorted(("XY", "x1", loc, cha) for loc, cha in CHANNELS)
    # a '*' channel goes through INFO STREAMS inside ObsPy's client
    t0 = T_NOW - 30
    st = client.get_waveforms("SZ", "A-B", "10", "*", t0, t0 + 5)
    assert sorted(tr.stats.channel for tr in st) == ["HNE", "HNN", "HNZ"]


@pytest.mark.network
def test_window_stops_at_now_minus_latency(clock: FakeClock) -> None:
    with SeedLinkServer(synthetic_source, STATIONS, clock=clock, latency_s=10.0) as srv:
        host, port = srv.address
        t0 = T_NOW - 30
        st = Client(host, port, timeout=5).get_waveforms("SZ", "AAA", "00", "HHZ", t0, T_NOW)
        assert len(st) == 1
        # only blocks that ended 10 s ago are served: data stop 10 s before "now"
        assert st[0].stats.endtime == T_NOW - 10 - 0.01
        srv.latency_s = 0.0
        st = Client(host, port, timeout=5).get_waveforms("SZ", "AAA", "00", "HHZ", t0, T_NOW)
        assert st[0].stats.endtime == T_NOW - 0.01


class _Enough(Exception):
    """Raised from on_data to leave EasySeedLinkClient.run() (terminate() is reset by collect)."""


class _Collector(EasySeedLinkClient):
    def __init__(self, url: str, wanted: int) -> None:
        super().__init__(url, autoconnect=False)
        # ObsPy 1.5's EasySeedLinkClient leaves the connection timeout at None, which its
        # own connect() cannot compare against: give it one.
        self.conn.timeout = 10
        self.conn.netto = 10
        self.connect()
        self.wanted = wanted
        self.traces: list[Trace] = []

    def on_data(self, trace: Trace) -> None:
        self.traces.append(trace)
        if len(self.traces) >= self.wanted:
            raise _Enough

    def run_until_enough(self) -> None:
        with contextlib.suppress(_Enough):
            self.run()


@pytest.mark.network
def test_real_time_streaming_with_easyseedlink(server: SeedLinkServer, clock: FakeClock) -> None:
    client = _Collector(server.url.replace("seedlink://", ""), wanted=6)
    client.select_stream("SZ", "BBB", "00HH?")
    runner = threading.Thread(target=client.run_until_enough, daemon=True)
    runner.start()
    # DATA without a sequence number asks for new data only: nothing comes until the
    # clock moves on.
    assert _wait_until(lambda: server.n_streaming == 1)
    time.sleep(0.3)
    assert client.traces == []
    clock.now += 2.0  # two new 1 s blocks of three channels
    runner.join(10)
    assert not runner.is_alive()
    client.close()
    assert len(client.traces) == 6
    got = {(tr.stats.channel, tr.stats.starttime.timestamp) for tr in client.traces}
    assert got == {(c, T_NOW.timestamp + dt) for c in ("HHZ", "HHN", "HHE") for dt in (0, 1)}
    exp = _expected("SZ", "BBB", T_NOW, T_NOW + 2)
    for tr in client.traces:
        want = exp[tr.id].slice(tr.stats.starttime, tr.stats.endtime)
        np.testing.assert_array_equal(tr.data, want.data)


def _slclient_run(host: str, port: int, multiselect: str, begin=None, end=None, limit=None):  # type: ignore[no-untyped-def]
    """Packets received by ObsPy's SLClient: list of (seqnum, trace)."""
    from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection

    cl = SLClient(timeout=5)
    cl.slconn = SeedLinkConnection(timeout=5)
    cl.slconn.set_sl_address(f"{host}:{port}")
    cl.slconn.netto = 5
    cl.multiselect = multiselect
    cl.begin_time = begin
    cl.end_time = end
    cl.initialize()
    got = []

    def handler(count, pkt):  # type: ignore[no-untyped-def]
        if pkt is None or pkt in (SLPacket.SLNOPACKET, SLPacket.SLERROR):
            return False
        if pkt.get_type() in (SLPacket.TYPE_SLINF, SLPacket.TYPE_SLINFT):
            return False
        got.append((pkt.get_sequence_number(), pkt.get_trace()))
        return limit is not None and len(got) >= limit

    cl.run(packet_handler=handler)
    return got


@pytest.mark.network
def test_sequence_numbers_allow_resume(server: SeedLinkServer) -> None:
    host, port = server.address
    t0 = T_NOW - 10
    first = _slclient_run(host, port, "SZ_AAA:00HHZ 00HHN", begin=t0, end=t0 + 4)
    assert len(first) == 8
    seqs = [s for s, _ in first]
    assert seqs == sorted(seqs) and len(set(seqs)) == 8
    # resume from the sequence number after the 3rd packet: the rest follows exactly
    sock = socket.create_connection((host, port), timeout=5)
    try:
        f = sock.makefile("rb")
        for cmd in (
            b"HELLO",
            b"STATION AAA SZ",
            b"SELECT 00HHZ 00HHN",
            b"FETCH %X" % (seqs[2] + 1),
        ):
            sock.sendall(cmd + b"\r")
            f.readline()
            if cmd == b"HELLO":
                f.readline()
        sock.sendall(b"END\r")
        data = f.read()
    finally:
        sock.close()
    assert data.endswith(b"END")
    packets = [data[i : i + 520] for i in range(0, len(data) - 3, 520)]
    resumed = [int(p[2:8], 16) for p in packets]
    assert resumed[:5] == seqs[3:]  # FETCH then carries on to the newest block


@pytest.mark.network
def test_raw_protocol_answers(server: SeedLinkServer) -> None:
    host, port = server.address
    with socket.create_connection((host, port), timeout=5) as sock:
        f = sock.makefile("rb")
        sock.sendall(b"HELLO\r\n")
        line1, line2 = f.readline(), f.readline()
        assert line1.startswith(b"SeedLink v3.1 (seismo) :: SLPROTO:3.1")
        assert line2 == b"seismo\r\n"
        sock.sendall(b"STATION NOPE SZ\r")
        assert f.readline() == b"ERROR\r\n"
        sock.sendall(b"FOO\r")
        assert f.readline() == b"ERROR\r\n"
        sock.sendall(b"STATION A?? SZ\r\nSELECT 00HHZ.D\r\n")
        assert f.readline() == b"OK\r\n" and f.readline() == b"OK\r\n"
        sock.sendall(b"TIME 2026,3,1,11,59,0 2026,3,1,11,59\r")  # malformed end time
        assert f.readline() == b"ERROR\r\n"
        sock.sendall(b"TIME 2026,3,1,11,59,0 2026,3,1,11,59,2\r")
        assert f.readline() == b"OK\r\n"
        sock.sendall(b"END\r")
        data = f.read()
    # STATION A?? matches AAA and A-B: 2 stations x 2 blocks x 1 channel, then END
    assert len(data) == 4 * 520 + 3 and data.endswith(b"END")
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"CAT\r")
        cat = b""
        while not cat.endswith(b"END"):
            cat += sock.recv(4096)
        assert b"XY x1" in cat and b"SZ A-B" in cat


@pytest.mark.network
def test_concurrent_clients_and_disconnects(server: SeedLinkServer) -> None:
    host, port = server.address
    t0 = T_NOW - 60
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def fetch(net: str, sta: str) -> None:
        try:
            st = Client(host, port, timeout=5).get_waveforms(net, sta, "??", "HH?", t0, t0 + 30)
            results[f"{net}.{sta}"] = sum(tr.stats.npts for tr in st)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # a client that asks for real-time data and vanishes without BYE
    rude = socket.create_connection((host, port), timeout=5)
    rude.sendall(b"HELLO\rSTATION BBB SZ\rDATA\rEND\r")
    threads = [threading.Thread(target=fetch, args=s) for s in STATIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert results == {f"{n}.{s}": 3 * 3000 for n, s in STATIONS}
    rude.close()
    assert _wait_until(lambda: server.n_clients == 0)


@pytest.mark.network
def test_down_toggle_drops_and_refuses_clients(server: SeedLinkServer) -> None:
    host, port = server.address
    live = socket.create_connection((host, port), timeout=5)
    live.sendall(b"HELLO\r")
    live.makefile("rb").readline()
    server.down = True
    assert _wait_until(lambda: server.n_clients == 0)
    with socket.create_connection((host, port), timeout=5) as s2:
        try:
            s2.sendall(b"HELLO\r")
            answer = s2.recv(4096)
        except ConnectionResetError:  # closed before or while our HELLO arrived
            answer = b""
        assert answer == b""  # closed without an answer
    live.close()
    server.down = False
    with socket.create_connection((host, port), timeout=5) as s3:
        s3.sendall(b"HELLO\r")
        assert s3.recv(4096).startswith(b"SeedLink v3.1")


@pytest.mark.network
def test_serve_simulation_serves_the_simulator(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    from seismo.inventory import stations
    from seismo.io.feeds import open_feed
    from seismo.io.seedlink import serve_simulation
    from seismo.simulate import Simulator

    info = stations(inventory)[-1]
    server = serve_simulation(settings.simulator, settings.network, scenario=None,
                              host="127.0.0.1", port=0)
    try:
        assert server.address[1] != 0
        t1 = UTCDateTime(int(time.time()) - 5)
        t0 = t1 - 12.5
        st = open_feed(server.url, timeout_s=10, retries=0).get_waveforms(
            info.network, info.station, "*", "*", t0, t1
        )
    finally:
        server.stop()
    want = Simulator.from_settings(settings.simulator, settings.network, scenario=None).waveforms(
        info.network, info.station, t0, t1
    )
    assert sorted(tr.id for tr in st) == sorted(tr.id for tr in want) and len(st) >= 3
    for tr in st:
        ref = want.select(id=tr.id)[0]
        assert tr.stats.starttime == ref.stats.starttime
        np.testing.assert_array_equal(tr.data, ref.data)


@pytest.mark.network
def test_seismo_fetch_one_minute_from_every_station_over_seedlink(  # type: ignore[no-untyped-def]
    settings, inventory, capsys
) -> None:
    """The foundation's acceptance check: ``seismo fetch`` gets one minute of all stations."""
    from seismo.cli.main import main
    from seismo.inventory import stations
    from seismo.io.seedlink import serve_simulation

    infos = stations(inventory)
    server = serve_simulation(settings.simulator, settings.network, scenario=None,
                              host="127.0.0.1", port=0)
    try:
        t1 = UTCDateTime(int(time.time()) // 60 * 60)
        code = main(["fetch", "--feed", server.url, "--start", str(t1 - 60), "--end", str(t1)])
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert code == 0
    for info in infos:
        n = 100 * 60 * len(info.channels)  # 100 Hz, every channel, one minute
        line = next(ln for ln in out.splitlines() if ln.startswith(info.id + " "))
        assert str(n) in line.split(), line
