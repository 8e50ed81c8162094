"""seismo's own SeedLink client, against the project's SeedLink server and the simulator
over real loopback sockets."""

from __future__ import annotations

import logging
import socket
import threading
import time

import numpy as np
import pytest
from fdsn_server import FDSNDataselectServer, synthetic_source
from obspy import Stream, UTCDateTime

from seismo.errors import FeedError
from seismo.io.seedlink import (
    Backoff,
    Position,
    Record,
    SeedLinkClient,
    SeedLinkServer,
    StationRequest,
)
from seismo.io.seedlink.client import records_to_stream, selector_for

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


def _client(srv: SeedLinkServer, timeout_s: float = 5.0) -> SeedLinkClient:
    host, port = srv.address
    return SeedLinkClient(host, port, timeout_s=timeout_s)


def _same_as_source(st: Stream) -> None:
    """Every trace equals the synthetic source over its own span."""
    assert len(st)
    for tr in st:
        s = tr.stats
        want = synthetic_source(s.network, s.station, s.starttime, s.endtime + s.delta)
        ref = want.select(location=s.location, channel=s.channel)[0]
        assert ref.stats.starttime == s.starttime
        np.testing.assert_array_equal(tr.data, ref.data)


def _take(records, n: int) -> list[Record]:  # type: ignore[no-untyped-def]
    out = []
    for rec in records:
        out.append(rec)
        if len(out) == n:
            break
    return out


# --------------------------------------------------------------------------- units
def test_values_and_helpers() -> None:
    assert selector_for("*", "*") == "?????"
    assert selector_for("00", "HH?") == "00HH?"
    assert selector_for("", "HHZ") == "HHZ"
    assert selector_for("10", "H*") == "10H??"
    with pytest.raises(FeedError, match="selector 'TOOLONGX'"):
        StationRequest("SZ", "AAA", ("TOOLONGX",))
    with pytest.raises(FeedError, match="needs network and station"):
        StationRequest("", "AAA")
    p = Position(0xFFFFFF, T_NOW)
    assert p.next_sequence == 0
    assert Position.from_dict(p.to_dict()) == p
    assert Position.from_dict(Position(5).to_dict()) == Position(5)
    b = Backoff(first_s=1, max_s=5, factor=2)
    assert [b.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    b.reset()
    assert b.next_delay() == 1
    with pytest.raises(FeedError, match="Backoff"):
        Backoff(first_s=0)
    assert records_to_stream([]) == (Stream(), [])


# --------------------------------------------------------------------------- windows
@pytest.mark.network
def test_fetch_window_of_several_stations_in_one_connection(server: SeedLinkServer) -> None:
    t0, t1 = T_NOW - 90.5, T_NOW - 30.25
    reqs = [StationRequest(n, s) for n, s in STATIONS]
    st = _client(server).fetch(reqs, t0, t1)
    assert {(tr.stats.network, tr.stats.station) for tr in st} == set(STATIONS)
    assert len(st) == 6 * len(STATIONS)  # one merged trace per channel
    for tr in st:  # whole 1 s records covering [floor(t0), ceil(t1))
        assert tr.stats.starttime == UTCDateTime(int(t0.timestamp))
        assert tr.stats.endtime + tr.stats.delta == UTCDateTime(int(t1.timestamp) + 1)
    _same_as_source(st)
    # selectors are applied by the server
    st = _client(server).fetch([StationRequest("XY", "x1", ("10HN?",))], t0, t1)
    assert sorted(tr.id for tr in st) == ["XY.x1.10.HNE", "XY.x1.10.HNN", "XY.x1.10.HNZ"]


@pytest.mark.network
def test_refused_station_is_named_and_does_not_stop_the_others(
    server: SeedLinkServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(server)
    t0 = T_NOW - 20
    with caplog.at_level(logging.WARNING, logger="seismo.io.seedlink.client"):
        recs = client.fetch_records(
            [StationRequest("SZ", "NOPE"), StationRequest("SZ", "AAA")], t0, t0 + 5
        )
    assert {r.station_id for r in recs} == {"SZ.AAA"}
    assert len(recs) == 6 * 5
    assert any("does not serve SZ.NOPE" in m for m in caplog.messages)
    with pytest.raises(FeedError, match=r"does not serve SZ\.NOPE.*STATION refused") as info:
        client.fetch_records([StationRequest("SZ", "NOPE")], t0, t0 + 5)
    assert info.value.station == "SZ.NOPE"
    with pytest.raises(FeedError, match=r"SZ\.NOPE"):
        client.stream([StationRequest("SZ", "NOPE")])


@pytest.mark.network
def test_fetch_has_one_total_deadline() -> None:
    """A server that answers the handshake but is stuck making the data: the fetch
    gives up with a FeedError once its total time is spent."""
    release = threading.Event()

    def stuck(net: str, sta: str, start: UTCDateTime, end: UTCDateTime) -> Stream:
        release.wait(30)
        return synthetic_source(net, sta, start, end)

    srv = SeedLinkServer(stuck, STATIONS, clock=lambda: T_NOW.timestamp).start()
    try:
        client = _client(srv, timeout_s=0.5)
        with pytest.raises(FeedError, match=r"not complete within 0\.5 s"):
            client.fetch([StationRequest("SZ", "AAA")], T_NOW - 10, T_NOW - 5)
    finally:
        release.set()
        srv.stop()


@pytest.mark.network
def test_hello_info_and_a_peer_that_is_not_seedlink(server: SeedLinkServer) -> None:
    client = _client(server)
    ident, org = client.hello()
    assert ident.startswith("SeedLink v3.1") and org == "seismo"
    xml = client.info("STATIONS")
    assert xml.startswith("<?xml") and 'name="A-B"' in xml and 'network="XY"' in xml
    with pytest.raises(FeedError, match="refused INFO"):
        client.info("NONSENSE")
    with FDSNDataselectServer(synthetic_source, STATIONS) as http:
        host_port = http.url.split("://", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        with pytest.raises(FeedError, match="not a SeedLink HELLO"):
            SeedLinkClient(host, int(port), timeout_s=5).hello()
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with pytest.raises(FeedError, match="cannot connect"):
        SeedLinkClient("127.0.0.1", dead, timeout_s=2).hello()


# --------------------------------------------------------------------------- real time
@pytest.mark.network
def test_real_time_records_arrive_as_the_clock_moves(
    server: SeedLinkServer, clock: FakeClock
) -> None:
    got: list[Record] = []
    with _client(server).stream([StationRequest("SZ", "BBB", ("00HH?",))]) as records:
        assert records.accepted == ["SZ.BBB"] and records.refused == {}
        reader = threading.Thread(target=lambda: got.extend(_take(records, 6)), daemon=True)
        reader.start()
        assert _wait_until(lambda: server.n_streaming == 1)
        clock.now += 2.0  # two new 1 s blocks of three channels
        reader.join(10)
        assert not reader.is_alive()
    # DATA without a sequence number: only blocks that complete after the request
    assert {(r.channel, r.stream()[0].stats.starttime.timestamp) for r in got} == {
        (c, T_NOW.timestamp + dt) for c in ("HHZ", "HHN", "HHE") for dt in (0, 1)
    }
    seqs = [r.sequence for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    _same_as_source(Stream([tr for r in got for tr in r.stream()]))


@pytest.mark.network
def test_resume_from_positions_loses_and_repeats_nothing(server: SeedLinkServer) -> None:
    reqs = [StationRequest("SZ", "AAA", ("00HHZ", "10HNZ")), StationRequest("XY", "x1", ("00HHZ",))]
    start = T_NOW - 30
    client = _client(server)
    with client.stream(reqs, start=start) as records:
        reference = _take(records, 90)  # 30 s of 3 channels: all there is until the clock moves
    # the same, in three connections, each resumed from the positions of the last
    positions: dict[str, Position] = {}
    pieces: list[Record] = []
    for n in (7, 50, 33):
        with client.stream(reqs, start=start, resume=positions) as records:
            for rec in _take(records, n):
                pieces.append(rec)
                positions[rec.station_id] = rec.position
    for sid in ("SZ.AAA", "XY.x1"):  # per station, exactly the reference: no loss, no repeat
        want = [(r.sequence, r.payload) for r in reference if r.station_id == sid]
        have = [(r.sequence, r.payload) for r in pieces if r.station_id == sid]
        assert have == want and len(want) == (60 if sid == "SZ.AAA" else 30)
    # a position too old for the server's buffer falls back to its time
    old = Position(0x123456, T_NOW - 15)
    with client.stream([StationRequest("SZ", "AAA", ("00HHZ",))], resume={"SZ.AAA": old}) as r:
        first = _take(r, 1)[0]
    assert first.stream()[0].stats.starttime == T_NOW - 15


@pytest.mark.network
def test_reconnect_with_backoff_after_the_server_drops_us(
    server: SeedLinkServer, clock: FakeClock
) -> None:
    reqs = [StationRequest("SZ", "A-B", ("00HHZ",))]
    client = _client(server, timeout_s=2)
    positions: dict[str, Position] = {}
    got: list[Record] = []
    errors: list[str] = []
    backoff = Backoff(first_s=0.05, max_s=0.2)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                with client.stream(reqs, start=T_NOW - 10, resume=positions) as records:
                    for rec in records:
                        got.append(rec)
                        positions[rec.station_id] = rec.position
                        backoff.reset()
                        if stop.is_set():
                            return
            except FeedError as exc:
                errors.append(str(exc))
            stop.wait(backoff.next_delay())

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        assert _wait_until(lambda: len(got) >= 10)  # the 10 s of history
        server.down = True  # drop the client, refuse reconnections
        assert _wait_until(lambda: len(errors) >= 2)
        clock.now += 5.0  # data move on while the server is down
        server.down = False
        assert _wait_until(lambda: len(got) >= 15)
    finally:
        stop.set()
        clock.now += 1.0  # one more block lets the worker see the stop flag
        worker.join(10)
    assert not worker.is_alive()
    starts = [r.stream()[0].stats.starttime for r in got]
    assert starts[:15] == [T_NOW - 10 + i for i in range(15)]  # no gap, no repeat
    assert any("closed the connection" in e or "connection lost" in e for e in errors)


@pytest.mark.network
def test_keepalive_holds_a_quiet_link_and_a_stuck_server_times_out(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def source(net: str, sta: str, start: UTCDateTime, end: UTCDateTime) -> Stream:
        if net == "XY" and start >= T_NOW + 1:
            release.wait(30)  # the server hangs making this block
        return synthetic_source(net, sta, start, end)

    srv = SeedLinkServer(source, STATIONS, clock=clock).start()
    try:
        client = _client(srv)
        # no new data for a while: keepalives (INFO ID, answered by SLINFO) keep the
        # link alive far beyond idle_timeout_s
        got: list[Record] = []
        errors: list[Exception] = []

        def read(records) -> None:  # type: ignore[no-untyped-def]
            try:
                got.extend(_take(records, 1))
            except FeedError as exc:
                errors.append(exc)

        with caplog.at_level(logging.DEBUG, logger="seismo.io.seedlink.client"):
            records = client.stream(
                [StationRequest("SZ", "AAA", ("00HHZ",))], keepalive_s=0.1, idle_timeout_s=0.5
            )
            reader = threading.Thread(target=read, args=(records,), daemon=True)
            reader.start()
            assert _wait_until(lambda: srv.n_streaming == 1)
            assert _wait_until(lambda: caplog.messages.count(f"SeedLink {srv.url} > INFO ID") >= 8)
            clock.now += 1.0
            reader.join(10)
            records.close()
        assert not errors and len(got) == 1
        assert _wait_until(lambda: srv.n_clients == 0)
        # a server stuck making data answers nothing: the stream gives up
        records = client.stream(
            [StationRequest("XY", "x1", ("00HHZ",))], keepalive_s=0.1, idle_timeout_s=0.5
        )
        assert _wait_until(lambda: srv.n_streaming == 1)
        clock.now += 1.0
        with pytest.raises(FeedError, match="nothing received"):
            _take(records, 1)
    finally:
        release.set()
        srv.stop()


@pytest.mark.network
def test_close_from_another_thread_ends_the_iteration(server: SeedLinkServer) -> None:
    records = _client(server).stream([StationRequest("SZ", "AAA")])
    done = threading.Event()

    def drain() -> None:
        for _ in records:
            pass
        done.set()

    threading.Thread(target=drain, daemon=True).start()
    assert _wait_until(lambda: server.n_streaming == 1)
    records.close()
    assert done.wait(10)


# --------------------------------------------------------------------------- simulator
@pytest.mark.network
def test_stream_from_the_simulator(settings, inventory) -> None:  # type: ignore[no-untyped-def]
    from seismo.inventory import stations
    from seismo.io.seedlink import serve_simulation
    from seismo.simulate import Simulator

    infos = stations(inventory)[:2]
    server = serve_simulation(settings.simulator, settings.network, scenario=None,
                              host="127.0.0.1", port=0)
    try:
        host, port = server.address
        reqs = [StationRequest(i.network, i.station) for i in infos]
        start = UTCDateTime(int(time.time()) - 20)
        want_n = {i.id: len(i.channels) * 5 for i in infos}  # 5 s of every channel
        got: list[Record] = []
        with SeedLinkClient(host, port, timeout_s=10).stream(reqs, start=start) as records:
            for rec in records:
                got.append(rec)
                if all(sum(r.station_id == s for r in got) >= n for s, n in want_n.items()):
                    break
    finally:
        server.stop()
    assert {r.station_id for r in got} == {i.id for i in infos}
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario=None)
    for rec in got:
        tr = rec.stream()[0]
        s = tr.stats
        want = sim.waveforms(s.network, s.station, s.starttime, s.endtime + s.delta)
        ref = want.select(location=s.location, channel=s.channel)[0]
        assert ref.stats.starttime == s.starttime
        np.testing.assert_array_equal(tr.data, ref.data)
