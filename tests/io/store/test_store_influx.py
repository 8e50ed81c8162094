"""The store against a real influxd 1.6 (v1 API): round trips, escaping, outage, spool."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
from store_factories import T0, make_event, make_health, make_pick, make_result

from seismo.cli.main import main as cli_main
from seismo.io.store import InfluxConnection, InfluxStore, WriteReport
from seismo.io.store import points as P
from seismo.io.store.server import InfluxServer, ensure_local_influx, free_port
from seismo.io.store.spool import REJECTED

pytestmark = pytest.mark.influx


def _rows(store: InfluxStore, measurement: str) -> list[dict]:
    return store.query(f'SELECT * FROM "{measurement}"')


# --------------------------------------------------------------------------- round trips
def test_picks_round_trip_and_v1_detected(store: InfluxStore) -> None:
    picks = [make_pick(f"ST{i:02d}", ph, dt=i * 1.5 + (3.0 if ph == "S" else 0.0))
             for i in range(6) for ph in ("P", "S")]
    # an emergent regional S: its wide-window onset 4.32 s before the pick
    picks[3] = dataclasses.replace(picks[3], early_onset=picks[3].time - 4.32)
    picks.append(make_pick("ST99", polarity=None, trigger_on=None, trigger_off=None,
                           location="", kind="acceleration", channel="HNZ"))
    rep = store.write_picks(picks)
    assert (rep.written, rep.spooled, rep.n_rejected) == (len(picks), 0, 0)
    assert store.api == "v1"
    got = store.query_picks(T0 - 10, T0 + 100)
    assert got == sorted(picks, key=lambda p: (p.time, p.seed_id, p.phase))
    assert store.query_picks(station="ST02", phase="S") == [picks[5]]
    assert store.count(P.PICKS) == len(picks)


def test_events_round_trip_and_versions(store: InfluxStore) -> None:
    a1, b1 = make_event("a", 1), make_event("b", 1, dt=100.0)
    rep = store.write_events([a1, b1])
    assert rep.written == 2 * 5 and rep.ok
    assert store.query_events(T0 - 1, T0 + 200) == [a1, b1]
    a2 = dataclasses.replace(make_event("a", 2, "confirmed"), magnitude=3.4)
    a3 = dataclasses.replace(make_event("a", 3, "rejected"), time=T0 + 0.5)  # relocated
    store.write_events([a2])
    assert store.query_events(T0 - 1, T0 + 200) == [a2, b1]
    store.write_events([a3])
    assert store.query_events(T0 - 1, T0 + 200, status="rejected") == [a3]
    assert store.query_events(T0 - 1, T0 + 200, status="automatic") == [b1]
    assert store.query_events(T0 - 1, T0 + 200, min_magnitude=3.2) == []
    assert len(store.query_events(T0 - 1, T0 + 200, all_versions=True)) == 4
    assert store.query_events(T0 + 50, T0 + 200) == [b1]
    assert store.count(P.EVENTS) == 4


def test_event_details_round_trip(store: InfluxStore) -> None:
    e = make_event("ev9")
    store.write_events([e])
    mags = _rows(store, P.STATION_MAGNITUDES)
    assert sorted((r["channel"], r["ml"], r["used"], r["event_id"]) for r in mags) == [
        ("HHE", 3.11, False, "ev9"), ("HHN", 3.05, True, "ev9")]
    (si,) = _rows(store, P.STATION_INTENSITY)
    s = e.station_intensities[0]
    assert (si["station"], si["pga_ms2"], si["pgv_ms"], si["intensity_cn"], si["mmi"],
            si["time"]) == (s.station, s.pga_ms2, s.pgv_ms, s.intensity_cn, s.mmi,
                            P.time_us(e.time))
    (site,) = _rows(store, P.SITE_INTENSITY)
    assert (site["site"], site["kind"], site["intensity_cn"], site["distance_km"]) == (
        "Futian", "district", 5.5, 10.0)


def test_health_round_trip(store: InfluxStore) -> None:
    hs = [make_health(f"ST{i:02d}", ch, st, dt=600.0 * k)
          for i, st in enumerate(("OK", "WARN", "FAIL"))
          for ch in ("HHZ", "HNZ") for k in (1, 2)]
    assert store.write_health(hs).written == len(hs)
    got = store.query_health(T0, T0 + 3600)
    assert got == sorted(hs, key=lambda h: (h.time, h.network, h.station, h.location, h.channel))
    assert {h.station for h in store.query_health(status="FAIL")} == {"ST02"}


def test_station_status_and_alerts(store: InfluxStore) -> None:
    results = [make_result("ST01"), make_result("ST02", error="timeout\nafter 10 s")]
    rep = store.write_station_results(results, T0 + 60)
    assert rep.written == 2
    rows = {r["station"]: r for r in _rows(store, P.STATION_STATUS)}
    assert rows["ST01"]["samples"] == 18000 and rows["ST01"]["error"] is False
    assert rows["ST02"]["error"] is True and rows["ST02"]["error_message"] == "timeout after 10 s"
    assert rows["ST01"]["n_picks"] == 1 and rows["ST01"]["time"] == P.time_us(T0 + 60)
    rec = {"identifier": "SZ-ev1-1", "sent": T0 + 5, "event_id": "ev1", "msg_type": "Alert",
           "status": "Actual", "group": "oncall", "channel": "audit"}
    assert store.write_alerts([rec, {**rec, "channel": "sms"}]).written == 2
    assert store.write_alert_record(**{**rec, "channel": "email"}).written == 1
    rows2 = _rows(store, P.ALERTS)
    assert sorted(r["channel"] for r in rows2) == ["audit", "email", "sms"]
    assert {(r["identifier"], r["event_id"], r["group"], r["time"]) for r in rows2} == {
        ("SZ-ev1-1", "ev1", "oncall", P.time_us(T0 + 5))}


def test_review_and_report_reads_quote_what_they_are_given(store: InfluxStore) -> None:
    odd = "ev'1\\x"  # a quote and a backslash must neither break nor widen a query
    v1 = make_event(odd, 1)
    v2 = dataclasses.replace(make_event(odd, 2, "confirmed"), magnitude=3.4)
    store.write_events([v2, v1, make_event("other", 1, dt=30.0)])
    assert store.query_event_versions(odd) == [v1, v2]
    assert store.query_event_versions(odd, T0 - 60, T0 + 60) == [v1, v2]
    assert store.query_event_versions(odd, T0 + 1, T0 + 60) == []
    assert store.query_event_versions("x' OR event_id =~ /.*/ OR '1'='1") == []
    rec = {"identifier": "SZ-1", "sent": T0 + 5, "event_id": odd, "msg_type": "Alert",
           "status": "Actual", "group": "oncall", "channel": "audit"}
    store.write_alerts([{**rec, "identifier": "SZ-2", "sent": T0 + 50, "msg_type": "Update"},
                        rec, {**rec, "event_id": "other", "sent": T0 + 7}])
    got = store.query_alert_records(odd)
    assert [(r["identifier"], r["msg_type"]) for r in got] == [
        ("SZ-1", "Alert"), ("SZ-2", "Update")]
    assert [r["identifier"] for r in store.query_alert_records(odd, T0 + 10)] == ["SZ-2"]
    for end in (T0 + 60, T0 + 120):
        store.write_station_results([make_result("ST01"), make_result("ST02", "down")], end)
    rows = store.query_station_status(T0 + 60, T0 + 120)  # (after, until]
    assert {(r["station"], r["samples"], r["error"], r["time"]) for r in rows} == {
        ("ST01", 18000, False, P.time_us(T0 + 120)), ("ST02", 0, True, P.time_us(T0 + 120))}


# --------------------------------------------------------------------------- idempotence
def test_rerun_same_window_overwrites(store: InfluxStore) -> None:
    picks = [make_pick(f"ST{i:02d}") for i in range(10)]
    hs = [make_health(f"ST{i:02d}") for i in range(10)]
    results = [make_result(f"ST{i:02d}") for i in range(10)]
    ev = make_event()
    counts = []
    for _ in range(2):
        store.write_picks(picks)
        store.write_health(hs)
        store.write_station_results(results, T0 + 60)
        store.write_events([ev])
        counts.append([store.count(m) for m in P.TAGS])
    assert counts[0] == counts[1]
    assert counts[0][:5] == [10, 1, 2, 1, 1]


# --------------------------------------------------------------------------- escaping
def test_escaping_round_trip_and_newline_isolated(store: InfluxStore) -> None:
    names = ["A B", "X,Y", "K=V", "深圳站", 'Q"uote', "back\\slash", "eq=,sp ace"]
    picks = [make_pick(n, dt=i) for i, n in enumerate(names)]
    bad = make_pick("NEW\nLINE", dt=50)
    rep = store.write_picks([*picks[:3], bad, *picks[3:]])
    assert rep.written == len(names) and rep.n_rejected == 1 and rep.spooled == 0
    assert "'NEW\\nLINE'" in rep.rejected[0][1]
    got = store.query_picks()
    assert [p.station for p in got] == names
    assert got == picks
    weird = P.make_point("alerts", {"group": "g"}, {"identifier": 'a "q" \\ b, c=d e',
                                                     "event_id": "é"}, T0)
    assert store.write_points([weird]).written == 1
    (row,) = _rows(store, P.ALERTS)
    assert row["identifier"] == 'a "q" \\ b, c=d e' and row["event_id"] == "é"


def test_first_large_batch_creates_the_missing_database(
    influx_server: InfluxServer, tmp_path: Path
) -> None:
    """The database is created before the first batch is sent: a missing database's 404
    comes back before a large body is sent, which lost the answer to a broken pipe."""
    conn = InfluxConnection(url=influx_server.url, database=f"t_{uuid.uuid4().hex[:12]}")
    picks = [make_pick(f"S{i % 500:03d}", dt=i * 0.01) for i in range(5000)]
    with InfluxStore(conn, tmp_path / "spool", batch_size=5000, retry_interval_s=0.0) as st:
        rep = st.write_picks(picks)
        assert (rep.written, rep.spooled, rep.n_rejected) == (5000, 0, 0)
        assert st.count(P.PICKS) == 5000


def test_server_rejection_is_isolated_not_spooled(store: InfluxStore, tmp_path: Path) -> None:
    """A field-type conflict (HTTP 400) rejects only that point; the rest of the batch lands."""
    store.write_picks([make_pick("ST00")])  # snr is a float field
    conflicting = P.make_point("picks", {"station": "ST50"}, {"snr": "high", "pick_id": "x"},
                               T0 + 7)
    good = [P.pick_point(make_pick(f"ST{i:02d}", dt=i)) for i in range(1, 20)]
    rep = store.write_points([*good[:9], conflicting, *good[9:]])
    assert rep.written == 19 and rep.n_rejected == 1 and rep.spooled == 0
    assert "field type conflict" in rep.rejected[0][1]
    assert store.pending() == 0
    assert 'snr="high"' in (store.spool.directory / REJECTED).read_text()
    assert store.count(P.PICKS) == 20


# --------------------------------------------------------------------------- outage
def test_outage_kill_restart_flush(tmp_path: Path) -> None:
    srv = InfluxServer(tmp_path / "db", free_port())
    srv.start()
    try:
        conn = InfluxConnection(url=srv.url, timeout_s=2.0)
        st = InfluxStore(conn, tmp_path / "spool", batch_size=7, retry_interval_s=3600)
        expected = {"picks": 0, "station_health": 0, "station_status": 0, "events": 0}
        for k in range(3):  # normal operation
            assert st.write_picks([make_pick(f"ST{i:02d}", dt=60 * k) for i in range(10)]).ok
            assert st.write_health([make_health(f"ST{i:02d}", dt=60 * k) for i in range(4)]).ok
        expected["picks"] += 30
        expected["station_health"] += 12
        srv.kill()  # SIGKILL mid-run
        for k in range(3, 8):  # the pipeline keeps running
            r1 = st.write_picks([make_pick(f"ST{i:02d}", dt=60 * k) for i in range(10)])
            r2 = st.write_health([make_health(f"ST{i:02d}", dt=60 * k) for i in range(4)])
            r3 = st.write_station_results([make_result(f"ST{i:02d}") for i in range(5)],
                                          T0 + 60 * k)
            assert (r1.spooled, r2.spooled, r3.spooled) == (10, 4, 5)
            assert r1.written == r2.written == r3.written == 0
        ev1 = make_event("e1", 1)
        assert st.write_events([ev1]).spooled == 5
        expected["picks"] += 50
        expected["station_health"] += 20
        expected["station_status"] += 25
        expected["events"] += 1
        assert st.pending() == 50 + 20 + 25 + 5
        assert st.flush_spool().replayed == 0  # still down: nothing lost, nothing sent
        srv.start()  # same data directory
        rep = st.flush_spool()
        assert rep.replayed == 100 and rep.spooled == 0 and not rep.rejected
        assert st.pending() == 0
        for m, n in expected.items():
            assert st.count(m) == n, m
        # a later write replays older spooled data first, so v1 never overwrites v2
        st.retry_interval_s = 0.0
        st._down_until = 0.0
        srv.kill()
        assert st.write_events([ev1]).spooled == 5
        srv.start()
        ev2 = dataclasses.replace(make_event("e1", 2), magnitude=3.3)  # same series and time
        rep2 = st.write_events([ev2])
        assert rep2.written == 5 and rep2.replayed == 5
        assert st.query_events() == [ev2]
        assert st.count(P.EVENTS) == 1
        st.close()
    finally:
        srv.stop()


def test_killed_between_spool_and_send(store: InfluxStore) -> None:
    """Lines spooled by a process that died before sending are replayed by a new store."""
    picks = [make_pick(f"ST{i:02d}") for i in range(12)]
    lines = [P.to_line(P.pick_point(p)) for p in picks]
    store.spool.append(lines[:5])  # the dying process got this far
    store.spool.append(lines[5:])
    fresh = InfluxStore(store.connection, store.spool.directory)
    rep = fresh.flush_spool()
    assert rep.replayed == 12 and fresh.pending() == 0
    assert fresh.query_picks() == sorted(picks, key=lambda p: (p.time, p.seed_id, p.phase))
    # sent and killed before the segment was deleted: replay duplicates nothing
    store.spool.append(lines)
    assert fresh.flush_spool().replayed == 12
    assert fresh.count(P.PICKS) == 12
    fresh.close()


def test_concurrent_writers_share_a_spool(store: InfluxStore) -> None:
    """Several store objects (as parallel Airflow tasks) on one spool: nothing lost."""
    import threading

    reports: list[object] = []

    def work(k: int) -> None:
        st = InfluxStore(store.connection, store.spool.directory, batch_size=7)
        try:
            for j in range(8):
                reports.append(st.write_picks([make_pick(f"W{k}", dt=100 * j + i)
                                               for i in range(10)]))
        except Exception as exc:  # surfaced by the assertion below
            reports.append(exc)
        st.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == 32
    for rep in reports:
        assert isinstance(rep, WriteReport), rep
        assert rep.spooled + rep.written == 10 and not rep.rejected
    store.flush_spool()
    assert store.pending() == 0
    assert store.count(P.PICKS) == 4 * 8 * 10


# --------------------------------------------------------------------------- helpers, CLI
def test_ensure_local_influx(settings, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    monkeypatch.setenv("SEISMO_INFLUX_URL", f"http://127.0.0.1:{port}")
    st = settings.store.model_copy(update={"server_data_dir": tmp_path / "influx"})
    s = settings.model_copy(update={"store": st})
    srv = ensure_local_influx(s.store)
    assert srv is not None
    try:
        assert srv.http_port == port and srv.is_running()
        assert (tmp_path / "influx" / "influxdb.conf").exists()
        assert ensure_local_influx(s.store) is None  # already answering
    finally:
        srv.stop()
    monkeypatch.setenv("SEISMO_INFLUX_URL", "http://influx.example.invalid:8086")
    assert ensure_local_influx(s.store) is None  # not loopback


def test_cli_events(influx_server: InfluxServer, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                    capsys) -> None:
    db = f"cli_{uuid.uuid4().hex[:8]}"
    st = InfluxStore(InfluxConnection(url=influx_server.url, database=db), tmp_path / "sp")
    st.write_events([make_event("evA"), make_event("evB", 2, "confirmed", dt=30)])
    monkeypatch.setenv("SEISMO_INFLUX_URL", influx_server.url)
    monkeypatch.setenv("SEISMO_INFLUX_DATABASE", db)
    since, until = P.iso_us(T0 - 60), P.iso_us(T0 + 60)
    assert cli_main(["events", "--since", since, "--until", until]) == 0
    out = capsys.readouterr().out
    assert "evA" in out and "evB" in out and "confirmed" in out and "2 events" in out
    assert cli_main(["events", "--since", since, "--until", until, "--status", "confirmed"]) == 0
    out = capsys.readouterr().out
    assert "evB" in out and "evA" not in out
    assert cli_main(["events", "--since", since, "--min-magnitude", "5"]) == 0
    assert "0 events" in capsys.readouterr().out
    assert cli_main(["events", "--since", "yesterday-ish"]) == 1
