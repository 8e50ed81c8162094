"""Store pieces that need no server: points, validation, connection settings, spool."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import pytest
from obspy import UTCDateTime
from store_factories import T0, make_event, make_health, make_pick

from seismo.errors import StoreError
from seismo.io.store import (
    InfluxConnection,
    InfluxStore,
    connection_from_airflow_fields,
    connection_from_settings,
)
from seismo.io.store import points as P
from seismo.io.store.reader import event_from_row, latest_versions
from seismo.io.store.server import free_port
from seismo.io.store.spool import Spool
from seismo.io.store.writer import StoreUnavailable, api_for_version, query


# --------------------------------------------------------------------------- time
def test_time_us_round_trip() -> None:
    t = UTCDateTime("2026-03-01T02:03:04.123456Z")
    us = P.time_us(t)
    assert us == 1772330584123456
    assert P.utc_from_us(us) == t
    assert P.time_us(dt.datetime(2026, 3, 1, 2, 3, 4, 123456, tzinfo=dt.UTC)) == us
    assert P.iso_us(t) == "2026-03-01T02:03:04.123456Z"


def test_naive_datetime_rejected() -> None:
    with pytest.raises(StoreError, match="naive datetime"):
        P.time_us(dt.datetime(2026, 3, 1, 2, 3, 4))


# --------------------------------------------------------------------------- points
def test_pick_line_protocol() -> None:
    line = P.to_line(P.pick_point(make_pick()))
    assert line.startswith(
        "picks,channel=HHZ,kind=velocity,location=00,network=SZ,phase=P,station=ST01 "
    )
    assert 'pick_id="SZ.ST01.00.HHZ.P.177233058412"' in line
    assert "snr=7.25" in line and "trigger_on_us=1772330583923456i" in line
    assert line.endswith(" 1772330584123456")


@pytest.mark.parametrize(
    ("station", "escaped"),
    [("A B", r"A\ B"), ("X,Y", r"X\,Y"), ("K=V", r"K\=V"), ("深圳", "深圳")],
)
def test_tag_escaping(station: str, escaped: str) -> None:
    line = P.to_line(P.pick_point(make_pick(station)))
    assert f"station={escaped} " in line


@pytest.mark.parametrize("bad", ["A\nB", "A\rB", "A\tB", "AB\\"])
def test_bad_tag_value_rejected_naming_it(bad: str) -> None:
    with pytest.raises(StoreError) as err:
        P.pick_point(make_pick(bad))
    assert repr(bad) in str(err.value)
    assert "picks" in str(err.value)


def test_newline_in_string_field_rejected() -> None:
    with pytest.raises(StoreError, match="newline"):
        P.make_point("alerts", {}, {"note": "line1\nline2"}, T0)


def test_free_text_is_made_one_line() -> None:
    h = make_health(status="WARN")
    h2 = type(h)(**{**h.__dict__, "reasons": ("gap\n12 s", "late")})
    line = P.to_line(P.health_point(h2))
    assert 'reasons="gap 12 s; late"' in line


def test_string_field_quotes_and_backslashes_escaped() -> None:
    line = P.to_line(P.make_point("alerts", {}, {"note": 'say "hi" \\o/'}, T0))
    assert r'note="say \"hi\" \\o/"' in line


def test_reserved_and_empty() -> None:
    with pytest.raises(StoreError, match="reserved"):
        P.make_point("picks", {"time": "x"}, {"a": 1.0}, T0)
    with pytest.raises(StoreError, match="no fields"):
        P.make_point("picks", {"station": "A"}, {"a": None}, T0)
    with pytest.raises(StoreError, match="no finite"):
        P.to_line(P.make_point("picks", {"station": "A"}, {"a": float("nan")}, T0))
    h = make_health()
    with pytest.raises(StoreError, match="reserved"):
        P.health_point(type(h)(**{**h.__dict__, "metrics": {"status_code": 1.0}}))
    with pytest.raises(StoreError, match="reserved"):
        P.health_point(type(h)(**{**h.__dict__, "metrics": {"station": 1.0}}))
    with pytest.raises(StoreError, match="both tag and field"):
        P.make_point("picks", {"station": "A"}, {"station": 1.0}, T0)


def test_float_fields_stay_float() -> None:
    """An integral float must not become an integer field (type conflict on rerun)."""
    line = P.to_line(P.pick_point(make_pick(snr=7.0)))
    assert "snr=7," in line or "snr=7 " in line  # no "i" suffix: a float in line protocol


def test_event_point_and_json_round_trip() -> None:
    e = make_event()
    p = P.event_point(e)
    line = P.to_line(p)
    assert line.startswith("events,status=automatic ")
    assert "version=1i" in line and "outside_network=false" in line
    row = {"time": P.time_us(e.time), **p.fields}
    assert event_from_row(row) == e


def test_large_event_json_is_compressed() -> None:
    e = make_event(n_picks=400)
    key, value = P.event_json(e)
    assert key == "json_z" and len(value) <= P.MAX_JSON_BYTES
    assert event_from_row({"time": 0, key: value}) == e


def test_event_points_details() -> None:
    names = [p.measurement for p in P.event_points(make_event())]
    assert names == ["events", "station_magnitudes", "station_magnitudes",
                     "station_intensity", "site_intensity"]


def test_latest_versions() -> None:
    a1, a2, b1 = make_event("a", 1), make_event("a", 2, "confirmed"), make_event("b", 1, dt=5)
    assert latest_versions([a2, b1, a1]) == [a2, b1]


def test_alert_point() -> None:
    rec = {"identifier": "SZ-1", "sent": T0, "event_id": "ev1", "msg_type": "Alert",
           "status": "Actual", "group": "oncall", "channel": "audit", "attempts": 2,
           "delivered_at": T0 + 3}
    line = P.to_line(P.alert_point(rec))
    assert line.startswith("alerts,channel=audit,group=oncall,msg_type=Alert,status=Actual ")
    assert 'identifier="SZ-1"' in line and "attempts=2i" in line
    assert 'delivered_at="2026-03-01T02:03:07.123456Z"' in line
    with pytest.raises(StoreError, match="identifier"):
        P.alert_point({"sent": T0})
    with pytest.raises(StoreError, match="sent"):
        P.alert_point({"identifier": "x"})


# --------------------------------------------------------------------------- api detection
@pytest.mark.parametrize(
    ("version", "api"),
    [("1.6.7~rc0", "v1"), ("1.7.11", "v1"), ("1.8.10", "v2"), ("v2.7.4", "v2"),
     ("3.0.1", "v2"), ("", "v2"), (None, "v2")],
)
def test_api_for_version(version: str | None, api: str) -> None:
    assert api_for_version(version) == api


# --------------------------------------------------------------------------- connection
def test_connection_env_overrides(settings) -> None:  # type: ignore[no-untyped-def]
    env = {"SEISMO_INFLUX_URL": "http://db.example:9999", "SEISMO_INFLUX_DATABASE": "d2",
           "SEISMO_INFLUX_BUCKET": "b2", "SEISMO_INFLUX_ORG": "o2",
           "SEISMO_INFLUX_TOKEN": "tok-abcdef", "SEISMO_INFLUX_USER": "u",
           "SEISMO_INFLUX_PASSWORD": "pw-123456"}
    c = connection_from_settings(settings.store, env)
    assert (c.url, c.database, c.bucket, c.org, c.username) == (
        "http://db.example:9999", "d2", "b2", "o2", "u")
    assert c.token == "tok-abcdef" and c.password == "pw-123456"
    assert "tok-abcdef" not in repr(c) and "pw-123456" not in repr(c)
    assert c.auth_headers() == {"Authorization": "Token tok-abcdef"}
    base = connection_from_settings(settings.store, {})
    assert base.url == settings.store.url and base.token is None


def test_connection_url_credentials_are_moved(settings) -> None:  # type: ignore[no-untyped-def]
    c = connection_from_settings(settings.store, {"SEISMO_INFLUX_URL": "http://bob:s3cret-pw@h:8086"})
    assert c.url == "http://h:8086" and c.username == "bob" and c.password == "s3cret-pw"
    assert "s3cret" not in repr(c) and "s3cret" not in c.describe()
    with pytest.raises(StoreError, match="must not embed"):
        InfluxConnection(url="http://bob:pw@h:8086")
    with pytest.raises(StoreError, match="http"):
        InfluxConnection(url="ftp://h")


def test_airflow_fields_mapping() -> None:
    c = connection_from_airflow_fields("influx.example", None, "http", extra='{"token": "t0k-xyz",'
                                       ' "org_name": "sz", "bucket": "bk"}')
    assert c.url == "http://influx.example:8086"  # not the 7687 some providers default to
    assert (c.token, c.org, c.bucket) == ("t0k-xyz", "sz", "bk")
    assert connection_from_airflow_fields("db.example").url == "https://db.example:443"
    assert connection_from_airflow_fields("127.0.0.1").url == "http://127.0.0.1:8086"
    with pytest.raises(StoreError, match="schema"):
        connection_from_airflow_fields("h", 8086, "seismo")
    with pytest.raises(StoreError, match="host"):
        connection_from_airflow_fields(None)


def test_secrets_never_in_errors_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = "very-secret-token-42"
    port = free_port()  # nothing listens there
    conn = InfluxConnection(url=f"http://127.0.0.1:{port}", token=token, username="u",
                            password="pass-word-99", timeout_s=1.0)
    assert conn.scrub(f"x {token} y pass-word-99") == "x *** y ***"
    caplog.set_level(logging.DEBUG)
    st = InfluxStore(conn, tmp_path / "spool")
    rep = st.write_picks([make_pick()])
    assert rep.spooled == 1 and rep.written == 0
    with pytest.raises(StoreUnavailable) as err:
        query(conn, "SELECT * FROM picks")
    for text in (str(err.value), caplog.text, repr(st), str(rep)):
        assert token not in text and "pass-word-99" not in text


# --------------------------------------------------------------------------- unreachable server
def test_writes_never_raise_when_down(tmp_path: Path) -> None:
    conn = InfluxConnection(url=f"http://127.0.0.1:{free_port()}", timeout_s=1.0)
    st = InfluxStore(conn, tmp_path / "spool", batch_size=2, retry_interval_s=3600)
    picks = [make_pick(f"S{i}") for i in range(5)] + [make_pick("BAD\nSTA")]
    rep = st.write_picks(picks)
    assert (rep.written, rep.spooled, rep.n_rejected) == (0, 5, 1)
    assert "BAD\\nSTA" in rep.rejected[0][1]
    rep2 = st.write_health([make_health()])  # inside retry interval: spooled, no attempt
    assert rep2.spooled == 1
    assert st.pending() == 6
    assert len(st.spool.segments()) == 4  # 3 batches of <= 2 + 1


def test_disabled_store_skips(tmp_path: Path) -> None:
    st = InfluxStore(InfluxConnection(url="http://127.0.0.1:1"), tmp_path / "s", enabled=False)
    rep = st.write_picks([make_pick()])
    assert rep.skipped == 1 and rep.written == 0 and st.pending() == 0


# --------------------------------------------------------------------------- spool
def test_spool_order_and_remove(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "sp")
    a = sp.append(["m a=1 1", "m a=2 2"])
    b = sp.append(["m a=3 3"])
    assert sp.segments() == [a, b]
    assert sp.read(a) == ["m a=1 1", "m a=2 2"]
    assert sp.pending_lines() == 3
    Spool.remove(a)
    Spool.remove(a)  # idempotent
    assert sp.segments() == [b]
    assert not list((tmp_path / "sp").glob("*.tmp"))


def test_spool_stale_tmp_cleaned(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    stale = tmp_path / "00000000000000000001-00000001-00000001.tmp"
    stale.write_text("m a=1 1\nm a=")  # a killed writer's partial file
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert sp.segments() == []
    assert not stale.exists()


def test_spool_lock_excludes(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    with sp.lock(1.0) as got:
        assert got
        with Spool(tmp_path).lock(0.1) as got2:  # a second holder (flock is per open file)
            assert not got2
    with sp.lock(0.1) as got3:
        assert got3


def test_influxql_is_built_and_quoted_in_one_place() -> None:
    from seismo.io.store import queries as Q

    assert Q.quote_ident('a"b\\c') == '"a\\"b\\\\c"'
    assert Q.quote_str("it's\\") == "'it\\'s\\\\'"
    assert Q.event_versions("e'1", T0, T0 + 1) == (
        "SELECT * FROM \"events\" WHERE \"event_id\" = 'e\\'1' AND "
        f"time >= '{P.iso_us(T0)}' AND time <= '{P.iso_us(T0 + 1)}'"
    )
    assert Q.station_status(T0, T0 + 60) == (
        'SELECT "samples", "error", "network", "station" FROM "station_status" WHERE '
        f"time > '{P.iso_us(T0)}' AND time <= '{P.iso_us(T0 + 60)}'"
    )
    assert Q.picks(None, None, station="A") == 'SELECT * FROM "picks" WHERE "station" = \'A\''
    assert Q.count("nothing_keyed") == 'SELECT COUNT(*) FROM "nothing_keyed"'
    assert Q.create_database('x"y') == 'CREATE DATABASE "x\\"y"'


def test_only_store_points_are_rendered() -> None:
    """Points are seismo's own StorePoint: influxdb-client's Point is only used (publicly)
    to render line protocol, never inspected."""
    from influxdb_client import Point

    with pytest.raises(StoreError, match="not a StorePoint"):
        P.to_line(Point("picks").tag("station", "A").field("snr", 1.0))  # type: ignore[arg-type]
    p = P.make_point("picks", {"station": "A", "channel": None}, {"snr": 1.0, "x": None}, T0)
    assert (p.measurement, dict(p.tags), dict(p.fields), p.time_us) == (
        "picks", {"station": "A"}, {"snr": 1.0}, P.time_us(T0))
