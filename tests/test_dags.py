"""Real Airflow DAG runs (``dag.test()``) against the simulator's SeedLink server and InfluxDB."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.alerts.channels.directory import DirectoryConfig
from seismo.alerts.settings import AlertsConfig
from seismo.config import DEFAULT_CONFIG, Settings, load_settings, settings_to_toml
from seismo.config.tree import relocated
from seismo.io.feeds.settings import FeedsConfig
from seismo.io.store.settings import StoreConfig
from seismo.shells.settings import AirflowConfig, ReportConfig
from seismo.shells.window_context import window_for_run

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.airflow, pytest.mark.influx, pytest.mark.network]

SCENARIO = "felt_m3_city"  # reference + 120 s = origin
NOW = UTCDateTime()
REF = UTCDateTime(int(NOW.timestamp) // 60 * 60) - 600  # origin on a minute, 8 min ago
ORIGIN = REF + 120


@pytest.fixture(scope="module")
def airflow_db() -> None:
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from seismo.io.seedlink import serve_simulation
    from seismo.io.store.server import InfluxServer, free_port

    base = load_settings(DEFAULT_CONFIG)
    influx = InfluxServer(tmp_path_factory.mktemp("influx"), free_port())
    influx.start()
    sl = serve_simulation(base.simulator, base.network, scenario=SCENARIO, reference=REF,
                          host="127.0.0.1", port=0)
    try:
        yield sl.url, influx.url
    finally:
        sl.stop()
        influx.stop()


def _config(
    tmp: Path,
    seedlink: str,
    influx: str,
    overrides: dict[str, str] | None = None,
    airflow_conn_id: str | None = None,
    airflow: dict[str, object] | None = None,
    name: str = "seismo.toml",
    database: str | None = None,
) -> Path:
    # an installation of its own: the health state, the stream state and the event
    # waveforms land in ``tmp``, not in the repository's var/
    s = relocated(load_settings(DEFAULT_CONFIG), tmp / "installation")
    store = StoreConfig.model_validate(
        {
            **s.store.model_dump(),
            "url": influx,
            "spool_dir": str(tmp / "spool"),
            "airflow_conn_id": airflow_conn_id,
            **({"database": database} if database else {}),
        }
    )
    alerts = AlertsConfig.model_validate(
        {
            **s.alerts.model_dump(),
            "outbox_dir": str(tmp / "outbox"),
            "channels": {"audit": DirectoryConfig(path=tmp / "cap").model_dump()},
            "groups": {"oncall": ["audit"], "tsunami": ["audit"], "engineers": ["audit"]},
        }
    )
    feeds = FeedsConfig(
        default=seedlink, overrides=overrides or {}, timeout_s=5.0, retries=1, retry_delay_s=0.5
    )
    report = ReportConfig(dir=tmp / "reports")
    af = AirflowConfig.model_validate(
        {**s.airflow.model_dump(), "ledger_dir": str(tmp / "ledger"), **(airflow or {})}
    )
    new: Settings = s.model_copy(
        update={"store": store, "alerts": alerts, "feeds": feeds, "report": report, "airflow": af}
    )
    p = tmp / name
    p.write_text(settings_to_toml(new), encoding="utf-8")
    return p


def _run_dag(cfg: Path, logical_date: UTCDateTime, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    return _run("seismo_detect", cfg, logical_date, monkeypatch)


def _store(cfg: Path):  # type: ignore[no-untyped-def]
    from seismo.io.store import InfluxStore

    return InfluxStore.from_settings(load_settings(cfg).store)


def test_dagbag_has_no_import_errors(airflow_db: None) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert {"seismo_detect", "seismo_station_health", "seismo_daily_report"} <= set(bag.dag_ids)
    dag = bag.get_dag("seismo_detect")
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.dagrun_timeout.total_seconds() < 60  # below the schedule interval


def test_scenario_quake_to_influx_and_outbox(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seedlink, influx = servers
    cfg = _config(tmp_path, seedlink, influx)
    s = load_settings(cfg)
    run_at = ORIGIN + 60 + s.pipeline.postroll_s + s.pipeline.safety_margin_s
    w = window_for_run(s, run_at)
    assert w.start <= ORIGIN < w.end
    dr = _run_dag(cfg, run_at, monkeypatch)
    assert str(dr.state) in ("success", "DagRunState.SUCCESS")
    with _store(cfg) as st:
        events = st.query_events(w.start - 60, w.end + 60)
        assert len(events) == 1
        e = events[0]
        assert abs(float(e.time - ORIGIN)) < 0.5 and abs(e.magnitude - 3.0) < 0.3
        n = {m: st.count(m) for m in ("picks", "events", "station_status", "alerts")}
    assert (
        n["station_status"]
        == len(load_settings(cfg).network.inventory.read_text().split("<Station ")) - 1
    )
    outbox = list((tmp_path / "outbox").rglob("*.json"))
    assert outbox, "nothing queued in the outbox"
    caps = list((tmp_path / "cap").glob("*.xml"))
    assert len(caps) == 1 and ".oncall." in caps[0].name

    # a rerun of the same logical date writes no duplicates and sends nothing new
    dr2 = _run_dag(cfg, run_at, monkeypatch)
    assert str(dr2.state) in ("success", "DagRunState.SUCCESS")
    with _store(cfg) as st:
        assert {m: st.count(m) for m in n} == n
    assert len(list((tmp_path / "cap").glob("*.xml"))) == 1


def test_station_feed_down_is_marked_and_others_go_on(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seismo.inventory import stations

    seedlink, influx = servers
    base = load_settings(DEFAULT_CONFIG)
    from seismo.inventory import load_inventory

    dead = stations(load_inventory(base.network.inventory))[0].id
    cfg = _config(tmp_path, seedlink, influx, {dead: "seedlink://127.0.0.1:1"})
    s = load_settings(cfg)
    run_at = ORIGIN + 60 + s.pipeline.postroll_s + s.pipeline.safety_margin_s
    w = window_for_run(s, run_at)
    dr = _run_dag(cfg, run_at, monkeypatch)
    assert str(dr.state) in ("success", "DagRunState.SUCCESS")
    with _store(cfg) as st:
        rows = st.query(f"SELECT * FROM station_status WHERE time = {int(w.end.timestamp * 1e9)}")
        by_sta = {r["station"]: r for r in rows}
        sta = dead.split(".")[1]
        assert by_sta[sta].get("error"), by_sta[sta]
        ok = [r for k, r in by_sta.items() if k != sta and not r.get("error")]
        assert len(ok) >= 15
        events = st.query_events(w.start - 60, w.end + 60)
        assert len(events) == 1
        assert dead not in {f"{a.network}.{a.station}" for a in events[0].arrivals}


def test_backfill_matches_seismo_detect(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two consecutive DAG runs give the same events as ``seismo detect`` over that range."""
    from urllib.parse import quote

    from seismo.shells.detect import detect_range

    seedlink, influx = servers
    cfg = _config(tmp_path, seedlink, influx)
    s = load_settings(cfg)
    run_at = ORIGIN + 60 + s.pipeline.postroll_s + s.pipeline.safety_margin_s
    w1, w2 = window_for_run(s, run_at - 60), window_for_run(s, run_at)
    for t in (run_at - 60, run_at):
        _run_dag(cfg, t, monkeypatch)
    with _store(cfg) as st:
        dag_events = st.query_events(w1.start, w2.end)
    url = f"sim://?scenario={SCENARIO}&reference={quote(str(REF))}"
    summary = detect_range(s, w1.start, w2.end, feed_url=url, store=False, alerts=False)
    assert [e.id for e in dag_events] == [e.id for e in summary.events]
    for a, b in zip(dag_events, summary.events, strict=True):
        assert a.time == b.time and a.magnitude == b.magnitude
        assert (a.latitude, a.longitude, a.depth_km) == pytest.approx(
            (b.latitude, b.longitude, b.depth_km)
        )


def _run(dag_id: str, cfg: Path, logical_date: UTCDateTime, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import datetime

    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("SEISMO_CONFIG", str(cfg))
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id).test(logical_date=logical_date.datetime.replace(tzinfo=datetime.UTC))


def test_a_run_out_of_time_leaves_its_window_to_the_next_run(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run squeezed out of time (no station may start) stores nothing and says so; the
    next run processes that window too: the event is stored and alerted exactly once,
    as ``seismo detect`` finds it, and a rerun adds nothing."""
    from urllib.parse import quote

    from seismo.shells.detect import detect_range

    seedlink, influx = servers
    squeezed = _config(tmp_path, seedlink, influx, name="squeezed.toml", database="squeeze",
                       airflow={"run_timeout_s": 20.0, "finish_margin_s": 19.999})
    normal = _config(tmp_path, seedlink, influx, database="squeeze")
    s = load_settings(normal)
    run_at = ORIGIN + 60 + s.pipeline.postroll_s + s.pipeline.safety_margin_s
    w = window_for_run(s, run_at)
    assert w.start <= ORIGIN < w.end
    _run_dag(squeezed, run_at, monkeypatch)  # may end failed or successful: nothing stored
    from seismo.errors import StoreError

    with _store(normal) as st, pytest.raises(StoreError, match="database not found"):
        st.count("station_status")  # nothing was ever written
    assert not list((tmp_path / "cap").glob("*.xml"))
    pending = tmp_path / "ledger" / w.start.strftime("%Y%m%dT%H%M%S")
    assert (pending / "planned.json").exists() and not (pending / "done.json").exists()

    # the next minute's run takes the missed window up as well
    dr = _run_dag(normal, run_at + 60, monkeypatch)
    assert str(dr.state) in ("success", "DagRunState.SUCCESS")
    assert (pending / "done.json").exists()
    url = f"sim://?scenario={SCENARIO}&reference={quote(str(REF))}"
    truth = detect_range(s, w.start, w.end + 60, feed_url=url, store=False, alerts=False)
    with _store(normal) as st:
        stored = st.query_events(w.start, w.end + 60)
        n = {m: st.count(m) for m in ("picks", "events", "station_status", "alerts")}
    assert [e.id for e in stored] == [e.id for e in truth.events] and len(stored) == 1
    assert n["station_status"] == 2 * len(load_settings(normal).network.inventory.read_text()
                                          .split("<Station ")[1:])  # both windows, once each
    caps = list((tmp_path / "cap").glob("*.xml"))
    assert len(caps) == 1 and stored[0].id in caps[0].name

    # a rerun of that minute changes nothing (no duplicate point, no second alert)
    _run_dag(normal, run_at + 60, monkeypatch)
    with _store(normal) as st:
        assert {m: st.count(m) for m in n} == n
    assert len(list((tmp_path / "cap").glob("*.xml"))) == 1


def test_one_task_per_station_or_per_group_gives_the_same_events(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seedlink, influx = servers
    found = {}
    for size in (1, 0):  # one task per station; as many groups as tasks may run at once
        tmp = tmp_path / f"size{size}"
        tmp.mkdir()
        cfg = _config(tmp, seedlink, influx, airflow={"station_group_size": size},
                      database=f"groups{size}")
        s = load_settings(cfg)
        run_at = ORIGIN + 60 + s.pipeline.postroll_s + s.pipeline.safety_margin_s
        dr = _run_dag(cfg, run_at, monkeypatch)
        assert str(dr.state) in ("success", "DagRunState.SUCCESS")
        picks = [ti for ti in dr.get_task_instances() if ti.task_id == "pick"]
        n_sta = len(s.network.inventory.read_text().split("<Station ")) - 1
        assert len(picks) == (n_sta if size == 1 else s.airflow.active_tasks())
        w = window_for_run(s, run_at)
        with _store(cfg) as st:
            found[size] = [(e.id, e.magnitude) for e in st.query_events(w.start, w.end)]
    assert found[1] == found[0] and len(found[0]) == 1


def test_station_health_dag_stores_health(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seedlink, influx = servers
    cfg = _config(tmp_path, seedlink, influx)
    end = ORIGIN + 300
    dr = _run("seismo_station_health", cfg, end, monkeypatch)
    assert str(dr.state) in ("success", "DagRunState.SUCCESS")
    with _store(cfg) as st:
        rows = st.query_health(end - 3600, end + 1)
    summaries = [h for h in rows if not h.channel]
    assert len({h.station for h in summaries}) == 20
    assert {h.status for h in summaries} <= {"OK", "WARN", "FAIL"}


@pytest.mark.slow
def test_every_feed_down_raises_one_network_down_notice(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No station delivers: the on-call group gets a notice (once an hour), not silence."""
    _, influx = servers
    cfg = _config(tmp_path, "seedlink://127.0.0.1:1", influx)
    s = load_settings(cfg)
    run_at = ORIGIN + 60 + s.pipeline.postroll_s + s.pipeline.safety_margin_s
    for t in (run_at, run_at + 60):  # two runs in the same hour
        dr = _run_dag(cfg, t, monkeypatch)
        assert str(dr.state) in ("success", "DagRunState.SUCCESS")
    caps = list((tmp_path / "cap").glob("*.xml"))
    assert len(caps) == 1 and ".oncall." in caps[0].name and "network-down" in caps[0].name
    body = caps[0].read_text()
    assert "Seismic network down: 20 of 20 stations deliver no data" in body
    assert "Only 0 of the 20 stations delivered data" in body and "地震台网中断" in body


def test_station_health_names_the_stations_that_are_down(
    servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seismo.inventory import load_inventory, stations
    from seismo.shells.airflow_tasks import station_health

    seedlink, influx = servers
    base = load_settings(DEFAULT_CONFIG)
    dead = [st.id for st in stations(load_inventory(base.network.inventory))[:2]]
    cfg = _config(tmp_path, seedlink, influx, dict.fromkeys(dead, "seedlink://127.0.0.1:1"))
    s = load_settings(cfg)  # a short health window keeps the test quick
    health = s.health.model_copy(update={"window_s": 120.0, "psd_length_s": 60.0})
    cfg.write_text(settings_to_toml(s.model_copy(update={"health": health})), encoding="utf-8")
    monkeypatch.setenv("SEISMO_CONFIG", str(cfg))
    out = station_health(ORIGIN + 300, None)
    assert out["down"] == sorted(dead)
    assert set(dead) <= set(out["failing"]) and all(out["failing"][d] for d in dead)


def test_daily_report_dag_writes_bulletin(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seedlink, influx = servers
    cfg = _config(tmp_path, seedlink, influx)
    run_at = UTCDateTime(ORIGIN.date) + 86400 + 60  # the day after the scenario
    dr = _run("seismo_daily_report", cfg, run_at, monkeypatch)
    assert str(dr.state) in ("success", "DagRunState.SUCCESS")
    names = {p.name for p in (tmp_path / "reports").rglob("*")}
    assert {"bulletin.html", "events.xml"} <= names


def test_store_from_airflow_connection(
    airflow_db: None, servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[store] airflow_conn_id``: the DAG task looks the Connection up and the task body
    reads where it points (another database), although ``[store] url`` points at nothing."""
    import json
    import socket
    from urllib.parse import urlsplit

    from seismo.io.store import InfluxConnection, InfluxStore
    from seismo.model import Event

    seedlink, influx = servers
    event = Event(
        id="airflowconn1", time=ORIGIN, latitude=22.55, longitude=114.05, depth_km=8.0,
        rms_s=0.1, azimuthal_gap_deg=90.0, n_phases=8, n_stations=4,
        horizontal_uncertainty_km=1.0, vertical_uncertainty_km=2.0, outside_network=False,
        magnitude=2.7,
    )
    conn = InfluxConnection(url=influx, database="seismo_from_airflow")
    with InfluxStore(conn, tmp_path / "writer-spool") as st:
        assert st.write_events([event]).written >= 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    cfg = _config(tmp_path, seedlink, dead, airflow_conn_id="seismo_test_influx")
    real = urlsplit(influx)
    monkeypatch.setenv("AIRFLOW_CONN_SEISMO_TEST_INFLUX", json.dumps({
        "conn_type": "influxdb", "host": real.hostname, "port": real.port, "schema": "http",
        "extra": {"database": "seismo_from_airflow"},
    }))
    run_at = UTCDateTime(ORIGIN.date) + 86400 + 60  # the day after the event
    dr = _run("seismo_daily_report", cfg, run_at, monkeypatch)
    assert str(dr.state) in ("success", "DagRunState.SUCCESS")
    (listing,) = (tmp_path / "reports").rglob("events.json")
    assert [e["id"] for e in json.loads(listing.read_text())["events"]] == ["airflowconn1"]
