"""The readers of ``seismo stream`` alone: the simulator's SeedLink server on loopback in,
records on the queue out; reconnection after the server went away, the warm-up re-read,
and which stations a configuration streams."""

from __future__ import annotations

import logging
import queue
import threading
import time

import pytest
from obspy import UTCDateTime

from seismo.errors import ConfigError
from seismo.io.seedlink import serve_simulation
from seismo.io.seedlink.client import Position, Record
from seismo.shells.stream_readers import SeedLinkReaders, seedlink_groups

pytestmark = pytest.mark.network


def test_groups_follow_the_feeds(settings) -> None:  # type: ignore[no-untyped-def]
    ids = ["SZ.A", "SZ.B", "SZ.C"]
    one = seedlink_groups(settings, ids, "seedlink://127.0.0.1:18000")
    assert one == {"seedlink://127.0.0.1:18000": ids}
    feeds = settings.feeds.model_copy(update={
        "default": "seedlink://10.0.0.1:18000",
        "overrides": {"SZ.B": "seedlink://10.0.0.2:18000", "SZ.C": "fdsnws://example.org"}})
    s = settings.model_copy(update={"feeds": feeds, "stream": settings.stream.model_copy(
        update={"feed": None})})
    assert seedlink_groups(s, ids, None) == {"seedlink://10.0.0.1:18000": ["SZ.A"],
                                             "seedlink://10.0.0.2:18000": ["SZ.B"]}
    only_fdsn = s.model_copy(update={"feeds": feeds.model_copy(update={
        "default": "fdsnws://example.org", "overrides": {}})})
    with pytest.raises(ConfigError, match="seedlink://"):
        seedlink_groups(only_fdsn, ids, None)


def _collect(readers: SeedLinkReaders, want: set[str], timeout_s: float) -> list[Record]:
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not want <= {r.station_id for r in got}:
        try:
            got.append(readers.queue.get(timeout=0.2))
        except queue.Empty:
            continue
    return got


def test_records_in_order_and_reconnection(settings) -> None:  # type: ignore[no-untyped-def]
    server = serve_simulation(settings.simulator, settings.network, scenario=None,
                              host="127.0.0.1", port=0)
    ids = [f"{n}.{s}" for n, s in server.stations][:4]
    cfg = settings.stream.model_copy(update={"reconnect_max_s": 1.0})
    readers = SeedLinkReaders({server.url: ids}, cfg, timeout_s=5.0)
    stop = threading.Event()
    threads = readers.start(stop)
    try:
        got = _collect(readers, set(ids), 20.0)
        assert set(ids) <= {r.station_id for r in got}
        for sid in ids:  # per station, sequence numbers grow; the last one is remembered
            seqs = [r.sequence for r in got if r.station_id == sid]
            assert seqs == sorted(seqs)
        assert set(readers.received) == set(ids)
        before = dict(readers.received)
        server.down = True  # drops every client, refuses new ones
        time.sleep(2.0)
        assert all(t.is_alive() for t in threads)  # the reader keeps trying
        while not readers.queue.empty():
            readers.queue.get_nowait()
        server.down = False
        more = _collect(readers, set(ids), 20.0)
        assert set(ids) <= {r.station_id for r in more}
        for sid in ids:  # resumed right after the last record received: nothing twice
            assert min(r.sequence for r in more if r.station_id == sid) > before[sid].sequence
    finally:
        stop.set()
        readers.close()
        for t in threads:
            t.join(10)
        server.stop()
    assert not any(t.is_alive() for t in threads)


def test_warm_up_reads_before_the_resume_points(settings) -> None:  # type: ignore[no-untyped-def]
    server = serve_simulation(settings.simulator, settings.network, scenario=None,
                              host="127.0.0.1", port=0)
    try:
        ids = [f"{n}.{s}" for n, s in server.stations][:2]
        readers = SeedLinkReaders({server.url: ids}, settings.stream, timeout_s=5.0)
        now = UTCDateTime()
        at = {ids[0]: Position(1, now - 20), ids[1]: Position(1, now - 10)}
        recs = list(readers.warm_up(at))
        assert {r.station_id for r in recs} == set(ids)
        for r in recs:
            end = r.end_time
            assert end is not None and end <= at[r.station_id].time
        first = min(r.stream()[0].stats.starttime for r in recs if r.station_id == ids[0])
        assert first <= now - 20 - settings.stream.warmup_s + 1.0
        down = SeedLinkReaders({"seedlink://127.0.0.1:1": ids}, settings.stream, timeout_s=1.0)
        assert list(down.warm_up(at)) == []  # logged: the stations start cold
    finally:
        server.stop()


def _ring_records(n_seconds: int = 40) -> list[tuple[float, bytes]]:
    import numpy as np
    from obspy import Trace

    from seismo.io.seedlink.ring import datalogger_records

    t0 = UTCDateTime() - n_seconds
    rng = np.random.default_rng(3)
    trs = [Trace(np.cumsum(rng.normal(0, 50, n_seconds * 100)).astype(np.int32),
                 header={"network": "SZ", "station": "AAA", "location": "00",
                         "channel": f"HH{c}", "sampling_rate": 100.0, "starttime": t0})
           for c in "ZNE"]
    return datalogger_records(trs, 512)


@pytest.mark.parametrize("damage", ["corrupt frames", "no record length"])
def test_a_bad_record_is_read_past_once(settings, damage: str, caplog) -> None:  # type: ignore[no-untyped-def]
    """Before: a record whose frames could not be decoded made the reader fail, reconnect
    and fetch the same record forever (every station of the server froze). Now its
    position comes from its header and the readers go on; a packet that cannot even be
    framed ends the connection once, and the reader resumes after it."""
    from seismo.io.seedlink.ring import RecordRing

    caplog.set_level(logging.INFO, logger="seismo.shells.stream_readers")
    recs = _ring_records()
    k = len(recs) // 2
    bad = bytearray(recs[k][1])
    if damage == "corrupt frames":
        for i in range(80, 200):
            bad[i] = (bad[i] * 7 + 13) % 256
    else:
        b1000 = bytes(bad).index(b"\x03\xe8", 48)  # blockette 1000 (big-endian type)
        bad[b1000 + 6] = 3  # its record length: 2**3 bytes
    recs[k] = (recs[k][0], bytes(bad))
    ring = RecordRing(protocol4=False)
    ring.add(recs)
    ring.start()
    cfg = settings.stream.model_copy(update={"reconnect_max_s": 1.0})
    readers = SeedLinkReaders({ring.url: ["SZ.AAA"]}, cfg, timeout_s=5.0)
    stop = threading.Event()
    try:
        readers.received = {"SZ.AAA": Position(0, None)}  # from the ring's first record
        threads = readers.start(stop)
        got: list[Record] = []
        want = {r for i, (_, r) in enumerate(recs) if i != k}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not want <= {r.payload for r in got}:
            try:
                got.append(readers.queue.get(timeout=0.2))
            except queue.Empty:
                continue
    finally:
        stop.set()
        readers.close()
        ring.stop()
    assert want <= {r.payload for r in got}
    opened = [r for r in caplog.records if "streaming 1 stations" in r.getMessage()]
    assert len(opened) == (1 if damage == "corrupt frames" else 2)
    for t in threads:
        t.join(10)
