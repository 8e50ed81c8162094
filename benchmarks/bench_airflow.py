"""Benchmark: the minute-by-minute detection DAG under Airflow on this machine.

Usage::

    python benchmarks/bench_airflow.py [--continuous] [--workdir /tmp/seismo-af-bench]

Part 1 (always): one run of ``seismo_detect`` with ``dag.test()`` (in-process,
tasks one after another) against the simulator's SeedLink server and a real
InfluxDB, for a window holding the felt M3 scenario. The same window is then
processed by calling the task bodies (:mod:`seismo.shells.airflow_tasks`) directly in
one process: that is the pipeline work; the difference is Airflow's overhead
(task start-up, XCom, metadata database).

Part 2 (``--continuous``): ``airflow standalone`` (scheduler, DAG processor,
API server, LocalExecutor, SQLite) runs the DAG every minute while the SeedLink
server plays a scenario earthquake placed ~20 s in the future. Measured: the
latency from the simulated origin time to the CAP file written by the directory
channel, i.e. the alert leaving the outbox.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "felt_m3_city"


def _config(work: Path, seedlink: str, influx: str) -> Path:
    from seismo.config import (
        AlertsConfig,
        ChannelConfig,
        FeedsConfig,
        StoreConfig,
        load_settings,
        settings_to_toml,
    )

    s = load_settings()
    store = StoreConfig.model_validate(
        {**s.store.model_dump(), "url": influx, "spool_dir": str(work / "spool")}
    )
    alerts = AlertsConfig.model_validate(
        {
            **s.alerts.model_dump(),
            "outbox_dir": str(work / "outbox"),
            "channels": {"audit": ChannelConfig(kind="directory", path=work / "cap").model_dump()},
            "groups": {"oncall": ["audit"], "tsunami": ["audit"]},
        }
    )
    new = s.model_copy(
        update={"store": store, "alerts": alerts, "feeds": FeedsConfig(default=seedlink)}
    )
    p = work / "seismo.toml"
    p.write_text(settings_to_toml(new), encoding="utf-8")
    return p


def _env(work: Path, cfg: Path) -> dict[str, str]:
    home = work / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "SEISMO_CONFIG": str(cfg),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def one_run(work: Path) -> None:
    from obspy import UTCDateTime

    from seismo.config import load_settings
    from seismo.io.seedlink import serve_simulation
    from seismo.io.store.server import InfluxServer, free_port

    base = load_settings()
    now = UTCDateTime()
    ref = UTCDateTime(int(now.timestamp) // 60 * 60) - 600
    origin = ref + 120
    influx = InfluxServer(work / "influx", free_port())
    influx.start()
    sl = serve_simulation(base, scenario=SCENARIO, reference=ref, host="127.0.0.1", port=0)
    try:
        cfg = _config(work, sl.url, influx.url)
        env = _env(work, cfg)
        subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        s = load_settings(cfg)
        run_at = origin + 60 + s.pipeline.postroll_s + s.pipeline.safety_margin_s
        code = (
            "import sys, time, datetime\n"
            "from airflow.dag_processing.dagbag import DagBag\n"
            "from obspy import UTCDateTime\n"
            f"t=UTCDateTime('{run_at}').datetime.replace(tzinfo=datetime.UTC)\n"
            "bag=DagBag(dag_folder=sys.argv[1]); d=bag.get_dag('seismo_detect')\n"
            "t0=time.perf_counter(); dr=d.test(logical_date=t)\n"
            "print('DAGTEST', time.perf_counter()-t0, dr.state)\n"
        )
        p = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "dags")],
            env=env,
            capture_output=True,
            text=True,
        )
        line = [x for x in p.stdout.splitlines() if x.startswith("DAGTEST")]
        if not line:
            raise SystemExit(p.stdout[-2000:] + p.stderr[-3000:])
        dag_wall = float(line[0].split()[1])
        # the same work without Airflow, in a fresh process (cold caches, like a task)
        code2 = (
            "import time\n"
            "t0=time.perf_counter()\n"
            "from obspy import UTCDateTime\n"
            "from seismo.shells import airflow_tasks as o\n"
            f"t=UTCDateTime('{run_at}')\n"
            "w=o.plan_detect(t, None)['window']\n"
            "res=[o.pick_station(s, w) for s in o.station_ids()]\n"
            "t1=time.perf_counter()\n"
            "ev=o.build_events(res, w); o.store_and_alert(res, ev, w)\n"
            "print('DIRECT', time.perf_counter()-t0, t1-t0, len(ev))\n"
        )
        q = subprocess.run([sys.executable, "-c", code2], env=env, capture_output=True, text=True)
        line = [x for x in q.stdout.splitlines() if x.startswith("DIRECT")]
        if not line:
            raise SystemExit(q.stderr[-3000:])
        _, direct, picking, n_ev = line[0].split()
        print(f"one per-minute run (dag.test, tasks sequential): {dag_wall:.1f} s wall")
        print(
            f"  pipeline work (task bodies in one process): {float(direct):.1f} s "
            f"(20 station tasks {float(picking):.1f} s), {n_ev} event(s)"
        )
        print(f"  Airflow overhead: {dag_wall - float(direct):.1f} s for {20 + 4} task instances")
    finally:
        sl.stop()
        influx.stop()


def continuous(work: Path, timeout_s: float = 420.0) -> None:
    work = work / "continuous"
    work.mkdir(parents=True, exist_ok=True)
    from obspy import UTCDateTime

    from seismo.config import load_settings
    from seismo.io.seedlink import serve_simulation
    from seismo.io.store.server import InfluxServer, free_port
    from seismo.simulate import load_scenarios

    base = load_settings()
    scen = load_scenarios(base.simulator.scenarios)[SCENARIO]
    offset = scen.events[0].origin - scen.reference
    influx = InfluxServer(work / "influx-c", free_port())
    influx.start()
    proc = None
    sl = None
    try:
        env = None
        t_start = UTCDateTime()
        origin = t_start + 90.0  # leave time for Airflow to start
        sl = serve_simulation(
            base, scenario=SCENARIO, reference=origin - offset, host="127.0.0.1", port=0
        )
        cfg = _config(work, sl.url, influx.url)
        env = _env(work, cfg)
        api_port = free_port()
        env["AIRFLOW__API__HOST"] = "127.0.0.1"
        env["AIRFLOW__API__PORT"] = str(api_port)
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{api_port}/execution/"
        env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
        env["AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL"] = "5"
        log = (work / "standalone.log").open("wb")
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        cap_dir = work / "cap"
        print(f"continuous: airflow standalone started; origin at {origin}")
        while UTCDateTime() - t_start < timeout_s:
            files = sorted(cap_dir.glob("*.xml")) if cap_dir.exists() else []
            if files:
                t_file = UTCDateTime(files[0].stat().st_mtime)
                print(
                    f"  alert {files[0].name} left the outbox {float(t_file - origin):.1f} s "
                    f"after the origin time"
                )
                return
            time.sleep(1.0)
        print("  no alert within the time limit; see", work / "standalone.log")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if sl is not None:
            sl.stop()
        influx.stop()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--continuous", action="store_true")
    ap.add_argument("--workdir", default="/tmp/seismo-af-bench")
    args = ap.parse_args()
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    one_run(work)
    if args.continuous:
        continuous(work)


if __name__ == "__main__":
    main()
