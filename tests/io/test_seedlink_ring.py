"""seismo's SeedLink client against a server that behaves like ringserver: records of
any length passed through (256, 512, 4096 bytes), SeedLink 4 offered, time windows that
end only after a record past their end (:class:`~seismo.io.seedlink.ring.RecordRing` on
loopback, its release clock under the test's control)."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import Trace, UTCDateTime

from seismo.io.seedlink.client import Position, SeedLinkClient, StationRequest
from seismo.io.seedlink.header import parse_header, record_length
from seismo.io.seedlink.ring import RecordRing, datalogger_records
from seismo.io.seedlink.v4 import from_selector, selector

pytestmark = pytest.mark.network

T0 = UTCDateTime(2026, 3, 1, 12, 0, 0)


def _traces(station: str, seconds: float = 120.0) -> list[Trace]:
    rng = np.random.default_rng(abs(hash(station)) % 2**32)
    n = int(seconds * 100)
    return [Trace(np.cumsum(rng.normal(0, 50, n)).astype(np.int32),
                  header={"network": "SZ", "station": station, "location": "00",
                          "channel": f"HH{c}", "sampling_rate": 100.0, "starttime": T0})
            for c in "ZNE"]


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("reclen", [256, 512, 4096])
@pytest.mark.parametrize("protocol", [3, 4])
def test_stream_reads_any_record_length_on_both_protocols(reclen: int, protocol: int) -> None:
    """Before: a record other than 512 bytes made the client raise and reconnect every
    second (95 times in 97 s against ringserver), never picking."""
    recs = datalogger_records(_traces("AAA") + _traces("BBB"), reclen)
    clock = _Clock(float(T0) + 120.0)
    with RecordRing(clock=clock, protocol4=True) as ring:
        ring.add(recs)
        host, port = ring.url.removeprefix("seedlink://").split(":")
        client = SeedLinkClient(host, int(port), timeout_s=5, protocol=protocol)
        reqs = [StationRequest("SZ", "AAA"), StationRequest("SZ", "BBB", ("00HH?",))]
        got = []
        with client.stream(reqs, start=T0, idle_timeout_s=2.0) as rs:
            assert rs.protocol == protocol
            for rec in rs:
                got.append(rec)
                if len(got) == len(recs):
                    break
    assert sorted(r.payload for r in got) == sorted(r for _, r in recs)
    assert {len(r.payload) for r in got} == {reclen}
    for r in got:
        h = r.header
        assert h.reclen == reclen and record_length(r.payload[:64]) == reclen
        assert r.position.time == h.end and r.stream()[0].stats.npts == h.npts
    # resuming after a record continues right after it, on either protocol
    aaa = [r for r in got if r.station_id == "SZ.AAA"]
    mid = aaa[len(aaa) // 2]
    with RecordRing(clock=clock) as ring:
        ring.add(recs)
        host, port = ring.url.removeprefix("seedlink://").split(":")
        client = SeedLinkClient(host, int(port), timeout_s=5, protocol=protocol)
        with client.stream([StationRequest("SZ", "AAA")],
                           resume={"SZ.AAA": Position(mid.sequence, mid.position.time)},
                           idle_timeout_s=2.0) as rs:
            first = next(iter(rs))
    assert first.payload == aaa[len(aaa) // 2 + 1].payload


@pytest.mark.parametrize("protocol", [3, 4])
def test_time_window_ends_without_waiting_for_the_next_record(protocol: int) -> None:
    """ringserver sends END only once a record that starts past the window end exists.
    With the next records not released yet (the clock stands still), the window is
    complete when every channel reached its end: the fetch returns them all instead of
    timing out (before: FeedError after timeout_s)."""
    recs = datalogger_records(_traces("AAA"), 512)
    end = T0 + 60
    # the clock: every record covering the window released, none starting after it
    covering = [r for t, r in recs if parse_header(r).start < end]
    clock = _Clock(max(t for t, r in recs if r in covering))
    assert any(parse_header(r).start >= end and t > clock.t for t, r in recs)
    with RecordRing(clock=clock) as ring:
        ring.add(recs)
        host, port = ring.url.removeprefix("seedlink://").split(":")
        client = SeedLinkClient(host, int(port), timeout_s=3, protocol=protocol)
        got = client.fetch_records([StationRequest("SZ", "AAA")], T0 + 10, end)
    assert sorted(r.payload for r in got) == sorted(
        r for r in covering if parse_header(r).end > T0 + 10)


def test_v4_selectors_convert_both_ways() -> None:
    assert selector("00HH?") == "00_H_H_?"
    assert selector("HHZ.D") == "*_H_H_Z.D"
    assert selector("??HN?") == "*_H_N_?"
    assert from_selector("00_H_H_?") == "00HH?"
    assert from_selector("*_H_H_Z.D") == "HHZ.D"
    assert from_selector("_H_H_Z") == "--HHZ"
    assert from_selector("00HHZ") == "00HHZ"
