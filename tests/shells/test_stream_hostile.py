"""``seismo stream`` against hostile SeedLink servers, end to end, in real time.

Two :class:`~seismo.io.seedlink.ring.RecordRing` servers on loopback play the scenario
quake as dataloggers send it (Steim2 records released when their last sample is taken):

* one offers SeedLink 4 and sends 512-byte records, and among them, at the six stations
  nearest the epicentre, before the P wave: a record with sampling rate 0, one dated in
  year 9999, one with corrupt Steim frames, one dated 3 h ahead, one 50 Hz record among
  100 Hz ones, and one station's records all out of order (pairs swapped);
* the other speaks SeedLink 3 only and sends 256-byte and 4096-byte records.

The stream must keep running, alert the quake with a magnitude in the first Alert, and
every station that got a bad record must still pick it. Two more runs: the whole network
300 s behind the host clock, and a 10-minute backlog with the quake inside it (both: an
Alert with a magnitude that says it is late). Content is asserted, never timing.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from obspy import Trace, UTCDateTime
from test_stream import _alerts, _config, _reference, _stop, _stream, _wait

from seismo.config import Settings
from seismo.geo import distance_km
from seismo.io.seedlink.client import Position
from seismo.io.seedlink.header import parse_header
from seismo.io.seedlink.records import encode_records, to_int32
from seismo.io.seedlink.ring import RecordRing, datalogger_records
from seismo.shells.stream_state import StreamState, save_state
from seismo.simulate import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.network]

SCENARIO = "felt_m3_city"


def _sim(settings: Settings, origin: UTCDateTime) -> Simulator:
    return Simulator.from_settings(settings.simulator, settings.network, scenario=SCENARIO,
                                   reference=_reference(settings, origin))


def _traces(sim: Simulator, sid: str, t0: UTCDateTime, t1: UTCDateTime) -> list[Trace]:
    return list(sim.waveforms(*sid.split("."), t0, t1))


def _by_distance(sim: Simulator) -> list[str]:
    truth = sim.truth(peaks=False)[0]
    return sorted(truth.arrivals, key=lambda k: truth.arrivals[k][0])


def _patched(rec: bytes, offset: int, value: bytes) -> bytes:
    return rec[:offset] + value + rec[offset + len(value):]


def _one_record(tr: Trace, start: UTCDateTime, seconds: float, **stats: object) -> bytes:
    piece = tr.slice(start, start + seconds).copy()
    for k, v in stats.items():
        setattr(piece.stats, k, v)
    piece.data = to_int32(piece)
    return encode_records([piece])[0]


def _hostile(sim: Simulator, stations: list[str], t0: UTCDateTime, t1: UTCDateTime,
             origin: UTCDateTime) -> tuple[list[tuple[float, bytes]], dict[str, str]]:
    """512-byte records of ``stations`` with one kind of bad record each at the six
    nearest; (records with release times, {station: what was done to it})."""
    near = stations[:6]
    kinds = ["zero rate", "year 9999", "corrupt frames", "3 h ahead", "50 Hz record",
             "out of order"]
    done = dict(zip(near, kinds, strict=True))
    out: list[tuple[float, bytes]] = []
    at = origin - 12.0  # before the P wave
    for sid in stations:
        trs = _traces(sim, sid, t0, t1)
        recs = datalogger_records(trs, 512)
        kind = done.get(sid)
        z = next(tr for tr in trs if tr.stats.channel.endswith("Z"))
        extra: bytes | None = None
        if kind == "zero rate":
            extra = _patched(_one_record(z, at, 2.0), 32, b"\0\0\0\0")
        elif kind == "year 9999":
            extra = _patched(_one_record(z, at, 2.0), 20, struct.pack(">H", 9999))
        elif kind == "corrupt frames":
            rec = bytearray(_one_record(z, at, 2.0))
            for i in range(80, 200):
                rec[i] = (rec[i] * 7 + 13) % 256
            extra = bytes(rec)
        elif kind == "3 h ahead":
            extra = _one_record(z, at, 2.0, starttime=at + 3 * 3600)
        elif kind == "50 Hz record":
            half = z.slice(at, at + 2).copy()
            half.data = half.data[::2]
            half.stats.sampling_rate = 50.0
            half.data = to_int32(half)
            extra = encode_records([half])[0]
        elif kind == "out of order":
            swapped: list[tuple[float, bytes]] = []
            for k in range(0, len(recs) - 1, 2):
                release = max(recs[k][0], recs[k + 1][0])
                swapped += [(release, recs[k + 1][1]), (release, recs[k][1])]
            recs = swapped + recs[len(swapped):]
        if extra is not None:
            recs.append((float(at) + 3.0, extra))
            recs.sort(key=lambda x: x[0])
        out += recs
    out.sort(key=lambda x: x[0])
    return out, done


def _serve(records: list[tuple[float, bytes]], *, protocol4: bool) -> RecordRing:
    ring = RecordRing(protocol4=protocol4)
    ring.add(records)
    return ring.start()


def _first_alert_params(alert_dir: Path) -> dict[str, str]:
    alerts = _alerts(alert_dir)
    assert len(alerts) == 1, alerts
    p = alerts[0]["params"]
    assert isinstance(p, dict)
    return p


def _check_quake(p: dict[str, str], sim: Simulator) -> None:
    truth = sim.truth(peaks=False)[0]
    assert abs(UTCDateTime(p["origin_time"]) - truth.origin) <= 2.0
    epi = float(distance_km(float(p["latitude"]), float(p["longitude"]),
                            truth.latitude, truth.longitude))
    assert epi < 15.0
    assert p["magnitude"] != "unknown", p  # a magnitude in the first Alert
    assert abs(float(p["magnitude"]) - truth.magnitude) <= 0.5


def _late_alert(settings: Settings, tmp_path: Path, ring: RecordRing, sim: Simulator,
                until: UTCDateTime) -> None:
    """``seismo stream`` on ``ring`` until its first Alert (by ``until``): the quake, with
    a magnitude, announced as a late alert in its parameters and its text."""
    alert_dir, log = tmp_path / "alerts", tmp_path / "stream.log"
    config = _config(settings, tmp_path, default=ring.url)
    try:
        with _stream(config, alert_dir, log) as proc:
            _wait(lambda: bool(_alerts(alert_dir)), until, "a CAP Alert", log)
            assert _stop(proc) == 0
    finally:
        ring.stop()
    p = _first_alert_params(alert_dir)
    _check_quake(p, sim)
    assert p["late"] == "true" and np.isfinite(float(p["magnitude"]))
    assert "LATE ALERT" in str(_alerts(alert_dir)[0]["description"])


def test_hostile_servers_leave_the_stream_alerting(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    origin = UTCDateTime(round(float(UTCDateTime()) + 40.0, 2))
    sim = _sim(settings, origin)
    stations = _by_distance(sim)
    t0, t1 = UTCDateTime() - 30, origin + 45
    far = stations[-5:]  # SeedLink 3 only: 256-byte records, the farthest two 4096-byte
    v3 = [r for sid in far[:3] for r in datalogger_records(_traces(sim, sid, t0, t1), 256)]
    v3 += [r for sid in far[3:] for r in datalogger_records(_traces(sim, sid, t0, t1), 4096)]
    v4_recs, done = _hostile(sim, [s for s in stations if s not in far], t0, t1, origin)
    ring4 = _serve(v4_recs, protocol4=True)
    ring3 = _serve(sorted(v3, key=lambda x: x[0]), protocol4=False)
    alert_dir, log = tmp_path / "alerts", tmp_path / "stream.log"
    config = _config(settings, tmp_path, default=ring4.url,
                     overrides={sid: ring3.url for sid in far})
    try:
        with _stream(config, alert_dir, log) as proc:
            _wait(lambda: bool(_alerts(alert_dir)), origin + 45, "a CAP Alert", log)
            _wait(lambda: UTCDateTime() > origin + 25, origin + 40, "the S waves", log)
            assert proc.poll() is None  # still running
            assert _stop(proc) == 0
    finally:
        ring4.stop()
        ring3.stop()
    _check_quake(_first_alert_params(alert_dir), sim)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "reconnecting" not in text
    assert "protocol 4" in text and "protocol 3" in text
    for sid, kind in done.items():  # every station that got a bad record still picks
        assert f"pick {sid}." in text, (sid, kind)
        if kind != "out of order":
            assert f"station {sid}: record skipped" in text, (sid, kind)
    for sid in far[:3]:  # 256-byte records: read, picked
        assert f"pick {sid}." in text, sid


def test_network_300_s_behind_still_alerts_and_says_it_is_late(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Before: 38 picks and 0 events (liveness and the pick pool ran on the host clock)."""
    lag = 300.0
    origin = UTCDateTime(round(float(UTCDateTime()) - lag + 35.0, 2))
    sim = _sim(settings, origin)
    t0, t1 = UTCDateTime() - lag - 30, origin + 40
    recs = [(t + lag, r) for sid in _by_distance(sim)
            for t, r in datalogger_records(_traces(sim, sid, t0, t1), 512)]
    ring = _serve(sorted(recs, key=lambda x: x[0]), protocol4=True)
    _late_alert(settings, tmp_path, ring, sim, origin + lag + 45)


def test_backlog_quake_is_processed_as_history_and_alerted_late(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A stream that resumes 10 minutes back (a backlog: an outage, a restart) reads it
    at full speed; the quake inside it is associated on data time and alerted as late
    (before: never associated). The server has the ten stations nearest the quake."""
    now = UTCDateTime()
    origin = UTCDateTime(round(float(now) - 300.0, 2))
    sim = _sim(settings, origin)
    t0, t1 = now - 660, now + 60
    served = _by_distance(sim)[:10]  # half the network: the backlog takes half as long
    recs = sorted(((t, r) for sid in served
                   for t, r in datalogger_records(_traces(sim, sid, t0, t1), 512)),
                  key=lambda x: x[0])
    ring = _serve(recs, protocol4=True)
    # the state of a stream that stopped 10 minutes ago: each station's position there
    stop_at = float(now) - 600
    positions = {}
    for seq, (release, rec) in enumerate(recs, start=1):
        h = parse_header(rec)
        if release <= stop_at:
            positions[f"{h.network}.{h.station}"] = Position(seq, h.end)
    save_state(tmp_path / "state.json", StreamState(positions=positions,
                                                    saved=UTCDateTime(stop_at)))
    _late_alert(settings, tmp_path, ring, sim, UTCDateTime() + 90)
