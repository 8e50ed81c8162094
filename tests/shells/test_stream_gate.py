"""The gate of ``seismo stream`` and the station pickers behind it, record by record: one
bad record of each kind a real network sends, among the scenario quake's records at its
nearest stations, costs that record only; the station still picks the quake. The host
clock is passed in (just after each record's end), so runs are reproducible."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from obspy import UTCDateTime

from seismo.io.seedlink.client import Record
from seismo.io.seedlink.records import encode_records, to_int32
from seismo.shells.stream_events import StreamAssociator
from seismo.shells.stream_pickers import StationPickers
from seismo.shells.window_context import Context


@pytest.fixture(scope="module")
def ctx(settings):  # type: ignore[no-untyped-def]
    c = Context.from_settings(settings, check_responses=False)
    c.prepare_tables()
    return c


def _pickers(settings, ctx, q, stations) -> StationPickers:  # type: ignore[no-untyped-def]
    sub = {k: v for k, v in ctx.stations.items() if k in stations}
    return StationPickers(sub, ctx.inventory, settings.picker, settings.intensity,
                          settings.instrument, settings.stream, at=q.t0)


BAD_SEQ = 0xABCDE


def _at(rec: Record) -> float:
    return float(rec.header.end) + 0.5


def _p_pick(q, pk: StationPickers, records: list[Record], sid: str) -> list:  # type: ignore[no-untyped-def]
    """The P picks of ``sid`` from ``records`` delivered in this order; the host clock is
    just after the newest good record's end (a bad record does not set it)."""
    got = []
    now = 0.0
    for rec in records:
        if rec.sequence != BAD_SEQ:
            now = max(now, _at(rec))
        msg = pk.process(rec, now)
        got += [] if msg is None else list(msg.final)
        for m in pk.flush(now):
            got += m.final
    return [p for p in got if p.station_id == sid and p.phase == "P"]


def _bad(rec: Record, offset: int, value: bytes, seq: int = BAD_SEQ) -> Record:
    payload = rec.payload[:offset] + value + rec.payload[offset + len(value):]
    return Record(rec.network, rec.station, seq, payload)


def _z_before_p(q, sid: str) -> tuple[int, Record]:  # type: ignore[no-untyped-def]
    recs = [r for r in q.records if r.station_id == sid]
    p_time = q.truth.arrivals[sid][0]
    k = next(i for i, r in enumerate(recs)
             if r.channel.endswith("Z") and r.header.end > p_time - 8)
    return k, recs[k]


KINDS = ["zero rate", "year 9999", "one day ahead", "3 h ahead", "corrupt frames",
         "50 Hz record", "2 h old"]


@pytest.mark.parametrize("kind", KINDS)
def test_one_bad_record_costs_that_record_only(settings, ctx, quake_records, kind: str,
                                               caplog) -> None:  # type: ignore[no-untyped-def]
    """Before: rate 0 raised ZeroDivisionError out of the stream; year 9999 asked the gap
    padding for 183 TiB (one day ahead: 1.1 GB); a record 3 h ahead or a 50 Hz record
    left the station deaf while counted live; corrupt frames froze every station."""
    q = quake_records
    sid = q.stations[0]
    k, z = _z_before_p(q, sid)
    recs = [r for r in q.records if r.station_id == sid]
    h = z.header
    if kind == "zero rate":
        bad = _bad(z, 32, b"\0\0\0\0")
    elif kind == "year 9999":
        bad = _bad(z, 20, struct.pack(">H", 9999))
    elif kind in ("one day ahead", "3 h ahead", "2 h old"):
        shift = {"one day ahead": 86400, "3 h ahead": 3 * 3600, "2 h old": -2 * 3600}[kind]
        tr = z.stream()[0]
        tr.stats.starttime += shift
        tr.data = to_int32(tr)
        bad = Record(z.network, z.station, BAD_SEQ, encode_records([tr])[0])
    elif kind == "corrupt frames":
        payload = bytearray(z.payload)
        for i in range(80, 200):
            payload[i] = (payload[i] * 7 + 13) % 256
        bad = Record(z.network, z.station, BAD_SEQ, bytes(payload))
    else:  # a 50 Hz record over the same time
        tr = z.stream()[0]
        tr.data = to_int32(tr)[::2]
        tr.stats.sampling_rate = 50.0
        bad = Record(z.network, z.station, BAD_SEQ, encode_records([tr])[0])
    stream = [*recs[: k + 1], bad, *recs[k + 1:]]
    pk = _pickers(settings, ctx, q, (sid,))
    picks = _p_pick(q, pk, stream, sid)
    assert picks and abs(float(picks[0].time - q.truth.arrivals[sid][0])) < 0.5
    assert pk.gate.n_rejected == 1
    assert pk.positions[sid].sequence == recs[-1].sequence
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and f"station {sid}: record skipped" in errors[0].getMessage()
    assert pk.states[sid].newest == recs[-1].header.end  # never dated by the bad record
    assert h.sampling_rate == 100.0


def test_out_of_order_records_are_put_back_in_order(settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    """Every pair of a station's records swapped (and a few records three places late):
    the same P pick as in order (before: each late record was dropped as overlap and its
    hole interpolated; the station went deaf)."""
    q = quake_records
    sid = q.stations[0]
    recs = [r for r in q.records if r.station_id == sid]
    in_order = _p_pick(q, _pickers(settings, ctx, q, (sid,)), recs, sid)
    by_channel: dict[str, list[Record]] = {}
    for r in recs:
        by_channel.setdefault(r.channel, []).append(r)
    scrambled: list[Record] = []
    for chan in by_channel.values():
        for i in range(0, len(chan) - 1, 2):
            chan[i], chan[i + 1] = chan[i + 1], chan[i]
    for i in range(max(len(c) for c in by_channel.values())):
        scrambled += [c[i] for c in by_channel.values() if i < len(c)]
    pk = _pickers(settings, ctx, q, (sid,))
    out_of_order = _p_pick(q, pk, scrambled, sid)
    assert [p.id for p in out_of_order] == [p.id for p in in_order] and in_order
    assert pk.gate.n_rejected == 0 and pk.gate.held() == 0


def test_a_record_ahead_of_its_channel_is_dropped_once_the_channel_goes_on(
        settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    """A record 40 s ahead of its channel (but not of the host clock, as when the data
    run late): held, and dropped when the channel's records go on behind it; the station
    still picks (before: the channel jumped 40 s and dropped everything after as old)."""
    q = quake_records
    sid = q.stations[0]
    k, z = _z_before_p(q, sid)
    recs = [r for r in q.records if r.station_id == sid]
    tr = z.stream()[0]
    tr.stats.starttime += 40
    tr.data = to_int32(tr)
    bad = Record(z.network, z.station, BAD_SEQ, encode_records([tr])[0])
    pk = _pickers(settings, ctx, q, (sid,))
    got = []
    host = _at(z) + 60.0  # the host clock runs 60 s ahead of the data
    for i, rec in enumerate([*recs[: k + 1], bad, *recs[k + 1:]]):
        msg = pk.process(rec, host + i * 0.1)
        got += [] if msg is None else list(msg.final)
        got += [p for m in pk.flush(host + i * 0.1) for p in m.final]
    p = [x for x in got if x.phase == "P"]
    assert p and abs(float(p[0].time - q.truth.arrivals[sid][0])) < 0.5
    assert pk.gate.n_rejected == 1


def test_liveness_and_association_run_on_data_time(settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    """The records delivered 300 s after their time: every station counts as live, and
    the quake is found (before: no station live, the picks older than the pool: 0
    events)."""
    q = quake_records
    lag = 300.0
    pk = _pickers(settings, ctx, q, q.stations)
    events = StreamAssociator(ctx, settings.stream, pk)
    versions = []
    last = 0.0
    for rec in q.records:
        now = _at(rec) + lag
        msg = pk.process(rec, now)
        if msg is not None:
            events.add(msg)
        if events.due(now, last):
            versions += [u for u in events.update(now, pk.live(now), pk.clock(now))
                         if u.kind == "version"]
            last = now
    assert pk.live(_at(q.records[-1]) + lag) == set(q.stations)
    assert abs(pk.clock(_at(q.records[-1]) + lag) - float(q.records[-1].header.end)) < 2.0
    assert versions
    ev = versions[0].event
    assert ev is not None and abs(float(ev.time - q.truth.origin)) < 2.0
    assert ev.late and ev.magnitude is not None


def test_first_magnitude_waits_for_the_horizontals_received(settings, ctx,
                                                            quake_records) -> None:  # type: ignore[no-untyped-def]
    """The horizontal channels' records arrive 8 s after the vertical's (long records
    fill at different times): the first version waits for the horizontals to be in, and
    its magnitude is the one of the complete data (before: judged by the newest channel,
    the first version came with a low magnitude or none)."""
    q = quake_records
    delay = 8.0
    arrivals = sorted(((_at(r) + (delay if not r.channel.endswith("Z") else 0.0), i, r)
                       for i, r in enumerate(q.records)), key=lambda x: (x[0], x[1]))
    pk = _pickers(settings, ctx, q, q.stations)
    events = StreamAssociator(ctx, settings.stream, pk)
    first = None
    last = 0.0
    for now, _, rec in arrivals:
        msg = pk.process(rec, now)
        if msg is not None:
            events.add(msg)
        if events.due(now, last):
            got = [u for u in events.update(now, pk.live(now), pk.clock(now))
                   if u.kind == "version"]
            got += [u for u in events.remeasure(now, pk.clock(now)) if u.kind == "version"]
            last = now
            if got and first is None:
                first = got[0].event
    assert first is not None and first.magnitude is not None
    assert abs(first.magnitude - q.truth.magnitude) < 0.3
    assert np.isfinite(first.magnitude) and not first.late


def test_reached_is_the_lagging_horizontal(settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    q = quake_records
    sid = q.stations[0]
    pk = _pickers(settings, ctx, q, (sid,))
    recs = [r for r in q.records if r.station_id == sid]
    for rec in recs:
        if rec.channel.endswith("E") and rec.header.start >= q.t0 + 55:
            continue  # the E channels stop 5 s early (less than lag_s: waited for)
        pk.process(rec, _at(rec))
    state = pk.states[sid]
    ends = {k: v for k, v in state.ends.items()}
    east = min(v for k, v in ends.items() if k.endswith("E"))
    assert pk.reached(sid, "NE12") == east and state.newest is not None
    assert state.newest - east >= 4
    assert UTCDateTime(pk.reached(sid, "Z")) == max(v for k, v in ends.items()
                                                    if k.endswith("Z"))
