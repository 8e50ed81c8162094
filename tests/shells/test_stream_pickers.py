"""The station pickers of ``seismo stream`` alone: SeedLink records of the scenario quake
in, StationPicks messages and per-second peaks out (no server, no associator)."""

from __future__ import annotations

import json

import pytest
from obspy import UTCDateTime

from seismo.io.seedlink.client import Position, Record
from seismo.shells.publish import Publisher
from seismo.shells.registry import EventRegistry
from seismo.shells.stream import Heartbeat
from seismo.shells.stream_events import StreamAssociator
from seismo.shells.stream_pickers import StationPickers, StationPicks
from seismo.shells.stream_publish import StreamPublisher
from seismo.shells.stream_state import AnnouncedEvents
from seismo.shells.window_context import Context


@pytest.fixture(scope="module")
def ctx(settings):  # type: ignore[no-untyped-def]
    return Context.from_settings(settings, check_responses=False)


def _at(rec: Record) -> float:
    """The host clock when a feed in real time delivers ``rec``: just after its end."""
    return float(rec.header.end) + 0.5


def _pickers(settings, ctx, q, stations) -> StationPickers:  # type: ignore[no-untyped-def]
    sub = {k: v for k, v in ctx.stations.items() if k in stations}
    return StationPickers(sub, ctx.inventory, settings.picker, settings.intensity,
                          settings.instrument, settings.stream, at=q.t0)


def test_records_in_picks_and_peaks_out(settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    q = quake_records
    pk = _pickers(settings, ctx, q, q.stations)
    msgs: list[StationPicks] = []
    first_prov: dict[str, UTCDateTime] = {}
    for rec in q.records:
        msg = pk.process(rec, _at(rec))
        assert msg is not None and msg.station_id == rec.station_id
        msgs.append(msg)
        for p in msg.provisional:
            first_prov.setdefault(p.station_id, rec.end_time)
    final = [p for m in msgs for p in m.final]
    assert pk.n_records == len(q.records) and pk.n_picks == len(final)
    assert {sid: pos.sequence for sid, pos in pk.positions.items()} == {
        sid: max(r.sequence for r in q.records if r.station_id == sid) for sid in q.stations}
    # a P pick at every station, near the true arrival; provisional before final
    for sid in q.stations:
        p = [x for x in final if x.station_id == sid and x.phase == "P"]
        assert p, sid
        assert abs(float(p[0].time - q.truth.arrivals[sid][0])) < 0.5, sid
        assert first_prov[sid] <= next(
            r.end_time for r, m in zip(q.records, msgs, strict=True) if p[0] in m.final)
    # the messages are small and JSON-able: what a broker between processes would carry
    for m in msgs:
        assert StationPicks.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    # the per-second peaks the measurement reads
    sid = q.stations[0]
    newest = pk.newest(sid)
    assert newest is not None and newest == max(r.end_time for r in q.records
                                                if r.station_id == sid)
    series = pk.series(sid, q.truth.origin - 5)
    assert series is not None and series.start == UTCDateTime(int(q.truth.origin.timestamp) - 5)
    assert max(v for v in series.pga_ms2 if v is not None) > 0
    assert pk.live(float(newest) + 1.0) == set(q.stations)
    assert pk.live(float(newest) + settings.stream.live_s + 1.0) == set()
    # the heartbeat counts what the pickers did
    beat = Heartbeat("node", 10.0, float(newest) - 100.0)
    events = StreamAssociator(ctx, settings.stream, pk)
    out = StreamPublisher(Publisher(EventRegistry({}, 5.0, 30.0)), AnnouncedEvents(), None,
                          lambda: None, settings.stream.cancel_after_s)
    fields = beat.fields(float(newest) + 2.0, pk, events, out, 3)
    assert fields["records"] == len(q.records) and fields["picks"] == len(final)
    assert fields["stations_live"] == len(q.stations) and fields["lag_s"] == 2.0
    assert fields["uptime_s"] == 102.0 and fields["queue"] == 3
    assert fields["events_open"] == 0 and fields["event_versions"] == 0


def test_bad_records_and_other_stations_cost_nothing_else(settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    q = quake_records
    pk = _pickers(settings, ctx, q, q.stations[:2])
    recs = [r for r in q.records if r.station_id in q.stations[:3]]
    bad = Record(recs[5].network, recs[5].station, 99999, b"\x00" * 512)
    got = []
    for k, rec in enumerate(recs):
        if k == 100:
            assert pk.process(bad, _at(recs[5])) is None  # unreadable: logged, skipped
        msg = pk.process(rec, _at(rec))
        if rec.station_id == q.stations[2]:
            assert msg is None  # not a station of ours, but its position is kept
        else:
            assert msg is not None
            got += msg.final
    assert q.stations[2] in pk.positions
    assert {p.station_id for p in got} == set(q.stations[:2])


def test_resume_drops_the_picks_made_before(settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    """After a restart the warm-up re-read feeds the states but gives no picks, and picks
    before the resume point were made before the restart."""
    q = quake_records
    sid = q.stations[0]
    recs = [r for r in q.records if r.station_id == sid]
    p_time = q.truth.arrivals[sid][0]
    cut = next(k for k, r in enumerate(recs) if r.end_time > p_time + 5)  # after its picks
    pk = _pickers(settings, ctx, q, (sid,))
    pk.resume({sid: Position(recs[cut - 1].sequence, recs[cut - 1].end_time)})
    for rec in recs[:cut]:
        pk.warm(rec, _at(rec))
    assert pk.n_records == 0 and pk.n_picks == 0
    later = [p for rec in recs[cut:]
             for p in (pk.process(rec, _at(rec)) or StationPicks(sid)).final]
    assert all(p.time >= recs[cut - 1].end_time for p in later)
    assert pk.positions[sid].sequence == recs[-1].sequence
