"""Benchmark: the minute-by-minute detection DAG under Airflow on this machine.

Usage::

    python benchmarks/bench_airflow.py [--runs 3] [--stations 20 200] [--group-size 0 1]
                                       [--continuous] [--workdir /tmp/seismo-af-bench]

Against the simulator's SeedLink server and a real influxd, both on loopback, with
the felt M3 scenario in the first run's window.

1. ``dag.test()``: one run in-process (tasks one after another), and the same work
   by calling the task bodies directly in one fresh process: the pipeline work.
2. The LocalExecutor as in production: ``airflow scheduler`` (LocalExecutor,
   ``[core] parallelism`` = cores), ``airflow dag-processor`` and ``airflow
   api-server``, SQLite metadata. Runs are triggered through the REST API for
   consecutive minutes. Per run: wall time (run start to end) and, from the task
   instances and the timing the task bodies return: scheduling (queued, gaps
   between tasks), start-up (task process start to the body: Python, Airflow's
   task runner, the DAG file, imports, context), the body (pipeline work) and the
   end (XCom push, state). With ``--stations 200`` a 200-station inventory is
   generated (the shipped stations copied onto a grid around the city).
3. ``--continuous``: the per-minute schedule with the scenario ~90 s ahead; the
   latency from the origin time to the CAP file written by the directory channel.

Everything started here (influxd, Airflow's processes and their workers) is
stopped on success, on failure and on Ctrl-C or SIGTERM: each Airflow process
runs in its own process group, which is terminated, then killed.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "felt_m3_city"
DAG = "seismo_detect"
#: The scheduler without its worker log server: Airflow 3.3's ``serve_logs`` binds every
#: interface (``host=""`` in airflow/utils/serve_logs/core.py; no setting chooses the
#: host, ``[logging] worker_log_server_port`` only the port, 8793 by default). On one
#: machine the API server reads the task logs from their files under the same
#: AIRFLOW_HOME, so the benchmark opens no port beyond loopback.
SCHEDULER = ["scheduler", "--skip-serve-logs"]


# --------------------------------------------------------------------------- stopping
class Started:
    """What this benchmark started; :meth:`stop` ends all of it (idempotent)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.closers: list[Callable[[], None]] = []

    def popen(self, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        fh = log.open("ab")
        p = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                             start_new_session=True)  # own process group: killed as a whole
        fh.close()
        self.procs.append(p)
        return p

    def stop(self) -> None:
        procs, self.procs = self.procs, []
        for p in procs:
            _signal_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.1, deadline - time.monotonic()))
        for p in procs:  # the group may outlive its leader (executor workers, task runners)
            _signal_group(p.pid, signal.SIGKILL)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                print(f"warning: process {p.pid} did not stop", file=sys.stderr)
        closers, self.closers = self.closers, []
        for c in reversed(closers):
            try:
                c()
            except Exception as exc:  # keep stopping the rest
                print(f"warning: stopping: {exc}", file=sys.stderr)

    def stop_some(self, procs: list[subprocess.Popen[bytes]]) -> list[int]:
        """Stop these processes' groups (the rest keeps running); groups left alive."""
        for p in procs:
            _signal_group(p.pid, signal.SIGTERM)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(30)
            _signal_group(p.pid, signal.SIGKILL)  # e.g. executor workers left in the group
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
            if p in self.procs:
                self.procs.remove(p)
        return self.leftovers([p.pid for p in procs])

    def leftovers(self, pgids: list[int]) -> list[int]:
        out = []
        for g in pgids:
            try:
                os.killpg(g, 0)
                out.append(g)
            except ProcessLookupError:
                pass
        return out


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


STARTED = Started()
atexit.register(STARTED.stop)


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: everything stops


# --------------------------------------------------------------------------- set-up
def _config(work: Path, seedlink: str, influx: str, inventory: Path | None,
            schedule: str, group_size: int) -> Path:
    from seismo.alerts.channels.directory import DirectoryConfig
    from seismo.alerts.settings import AlertsConfig
    from seismo.config import load_settings, settings_to_toml
    from seismo.io.feeds.settings import FeedsConfig
    from seismo.io.store.settings import StoreConfig
    from seismo.shells.settings import AirflowConfig

    s = load_settings()
    store = StoreConfig.model_validate(
        {**s.store.model_dump(), "url": influx, "spool_dir": str(work / "spool")}
    )
    alerts = AlertsConfig.model_validate(
        {
            **s.alerts.model_dump(),
            "outbox_dir": str(work / "outbox"),
            "channels": {"audit": DirectoryConfig(path=work / "cap").model_dump()},
            "groups": {"oncall": ["audit"], "tsunami": ["audit"], "engineers": ["audit"]},
        }
    )
    airflow = AirflowConfig.model_validate({
        **s.airflow.model_dump(), "detect_schedule": schedule, "ledger_dir": str(work / "ledger"),
        "station_group_size": group_size,
    })
    network = s.network.model_copy(update={"inventory": inventory}) if inventory else s.network
    new = s.model_copy(update={"store": store, "alerts": alerts, "airflow": airflow,
                               "network": network, "feeds": FeedsConfig(default=seedlink)})
    p = work / "seismo.toml"
    p.write_text(settings_to_toml(new), encoding="utf-8")
    return p


def _env(work: Path, cfg: Path, api_port: int | None = None,
         home_name: str = "airflow") -> dict[str, str]:
    from seismo.shells.settings import available_cores

    home = work / home_name
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(available_cores()),  # sized to the cores
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # the scheduler loop's pause when it has nothing to do (default 1 s): the gap
        # between one task's end and the next one's start in a per-minute DAG
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": os.environ.get(
            "SEISMO_BENCH_IDLE_SLEEP", "0.2"),
        "SEISMO_CONFIG": str(cfg),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if api_port:
        env["AIRFLOW__API__HOST"] = "127.0.0.1"
        env["AIRFLOW__API__PORT"] = str(api_port)
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{api_port}/execution/"
    return env


def _airflow() -> str:
    return str(Path(sys.executable).parent / "airflow")


def big_inventory(path: Path, n: int) -> Path:
    """``n`` stations: the shipped ones copied onto a grid around the city (new codes)."""
    import copy

    from obspy import Inventory

    from seismo.config import load_settings
    from seismo.inventory import load_inventory

    base = load_inventory(load_settings().network.inventory)
    net0 = base.networks[0]
    stas = [s for net in base.networks for s in net.stations]
    lat0 = sum(s.latitude for s in stas) / len(stas)
    lon0 = sum(s.longitude for s in stas) / len(stas)
    out = []
    side = int(n**0.5) + 1
    for k in range(n):
        src = stas[k % len(stas)]
        sta = copy.deepcopy(src)
        sta.code = f"G{k:03d}"
        dlat = (k // side - side / 2) * 0.06
        dlon = (k % side - side / 2) * 0.06
        sta.latitude, sta.longitude = lat0 + dlat, lon0 + dlon
        for ch in sta.channels:
            ch.latitude, ch.longitude = sta.latitude, sta.longitude
        out.append(sta)
    net = copy.deepcopy(net0)
    net.stations = out
    Inventory(networks=[net], source="seismo benchmark").write(str(path), format="STATIONXML")
    return path


# --------------------------------------------------------------------------- the feed
def serve_sds(root: str, inventory: str, port_file: str, span: str) -> None:
    """(child process) A SeedLink server on loopback serving an SDS archive from its
    record cache, filled for ``span`` ("start,end") before it says it is ready, as a
    ring-buffer server (SeedLink's ringserver, SeisComP) serves stored records; writes
    its URL to ``port_file``."""
    from obspy import UTCDateTime

    from seismo.config import load_settings
    from seismo.inventory import load_inventory, stations
    from seismo.io.feeds.sds import SDSFeed
    from seismo.io.seedlink.server import SeedLinkServer

    signal.signal(signal.SIGTERM, _on_sigterm)
    s = load_settings()
    feed = SDSFeed(f"sds://{root}", root)
    infos = stations(load_inventory(inventory))
    a, b = (UTCDateTime(x) for x in span.split(","))
    rs = s.simulator.record_seconds
    n_blocks = int((b - a) / rs) + 2
    server = SeedLinkServer(
        lambda n, st, t0, t1: feed.get_waveforms(n, st, "*", "*", t0, t1),
        [(i.network, i.station) for i in infos], host="127.0.0.1", port=0,
        record_seconds=rs, history_s=4 * 3600.0, cache_blocks=n_blocks * len(infos),
    ).start()
    for i in infos:
        server.records(i.network, i.station, int(a.timestamp // rs), int(b.timestamp // rs))
    Path(port_file).write_text(server.url, encoding="utf-8")
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


def sds_feed(
    work: Path, inventory: Path | None, ref: Any, span_s: float
) -> tuple[str, subprocess.Popen[bytes]]:
    """Write the scenario around ``ref`` to an SDS archive and serve it over SeedLink from
    a separate process (the data a feed delivers cost it no simulation); its URL."""
    from seismo.config import load_settings
    from seismo.io.sds import write_sds
    from seismo.simulate import Simulator

    s = load_settings()
    if inventory is not None:
        s = s.model_copy(update={"network": s.network.model_copy(update={"inventory": inventory})})
    sim = Simulator.from_settings(s.simulator, s.network, scenario=SCENARIO, reference=ref)
    root = work / "sds"
    t = time.perf_counter()
    write_sds(sim, root, ref, ref + span_s)
    print(f"  scenario written to SDS ({span_s:.0f} s, {len(sim.station_ids)} stations) in "
          f"{time.perf_counter() - t:.0f} s")
    port_file = work / "seedlink.url"
    proc = STARTED.popen(
        [sys.executable, __file__, "--serve-sds", str(root), "--serve-inventory",
         str(inventory or s.network.inventory), "--serve-url-file", str(port_file),
         "--serve-span", f"{ref},{ref + span_s}"],
        {**os.environ, "PYTHONPATH": str(ROOT)}, work / "seedlink.log")
    t0 = time.monotonic()
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() - t0 > 600:
            raise SystemExit(f"the SDS SeedLink server did not start: {work / 'seedlink.log'}")
        time.sleep(0.2)
    return port_file.read_text(), proc


# --------------------------------------------------------------------------- REST API
class Api:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def wait_up(self, timeout_s: float = 180) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            try:
                self.call("GET", "/api/v2/monitor/health")
                tok = self.call("GET", "/auth/token")
                self.token = tok["access_token"]
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, OSError):
                time.sleep(1)
        raise SystemExit("the Airflow API server did not come up")

    def wait_dag(self, timeout_s: float = 180) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            try:
                self.call("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
                return
            except urllib.error.HTTPError:
                time.sleep(2)
        raise SystemExit(f"DAG {DAG} was not parsed in time (see the dag-processor log)")

    def trigger(self, run_id: str, logical_date: str) -> None:
        self.call("POST", f"/api/v2/dags/{DAG}/dagRuns",
                  {"dag_run_id": run_id, "logical_date": logical_date})

    def wait_run(self, run_id: str, timeout_s: float = 300) -> dict[str, Any]:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            run = self.call("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(0.5)
        raise SystemExit(f"run {run_id} did not finish in {timeout_s} s")

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        got = self.call("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances?limit=1000")
        return list(got["task_instances"])

    def xcom(self, run_id: str, task_id: str, map_index: int) -> Any:
        try:
            got = self.call(
                "GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/"
                f"return_value?map_index={map_index}&deserialize=true",
            )
        except urllib.error.HTTPError:
            return None
        value = got.get("value") if isinstance(got, dict) else None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return None
        return value


def _t(s: str | None) -> float:
    from obspy import UTCDateTime

    return float(UTCDateTime(s).timestamp) if s else float("nan")


def breakdown(api: Api, run_id: str) -> dict[str, Any]:
    """Where one run's time went (module docstring, part 2)."""
    run = api.wait_run(run_id)
    tis = api.task_instances(run_id)
    start, end = _t(run["start_date"]), _t(run["end_date"])
    startup, body, tail, queued, rows = [], [], [], [], []
    for ti in sorted(tis, key=lambda x: (_t(x.get("start_date")), x.get("map_index", -1))):
        out = api.xcom(run_id, ti["task_id"], ti.get("map_index", -1))
        tim = out.get("timing") if isinstance(out, dict) else None
        t_start, t_end = _t(ti.get("start_date")), _t(ti.get("end_date"))
        queued.append(t_start - _t(ti.get("queued_when")))
        row = (f"{ti['task_id']}[{ti.get('map_index', -1)}] "
               f"{t_start - start:+.1f}..{t_end - start:+.1f}")
        if tim:
            startup.append(tim["body_start"] - t_start)
            body.append(tim["body_end"] - tim["body_start"])
            tail.append(t_end - tim["body_end"])
            parts = "".join(f", {k[:-2]} {v:.1f}" for k, v in tim.items() if k.endswith("_s"))
            row += (f" (start-up {startup[-1]:.1f}, body {body[-1]:.1f}{parts}, "
                    f"end {tail[-1]:.1f})")
        rows.append(row)
    busy = sorted((_t(ti.get("start_date")), _t(ti.get("end_date"))) for ti in tis)
    covered, cur = 0.0, start
    for a, b in busy:  # time with at least one task instance running
        if b > cur:
            covered += b - max(a, cur)
            cur = b
    return {
        "state": run["state"], "wall_s": end - start, "n_tasks": len(tis),
        "idle_s": (end - start) - covered,  # scheduling gaps: no task running
        "queued_s": sum(q for q in queued if q == q),
        "startup_s": startup, "body_s": body, "tail_s": tail, "rows": rows,
    }


# --------------------------------------------------------------------------- parts
def dag_test(work: Path, cfg: Path, run_at: Any) -> None:
    env = _env(work, cfg, home_name="airflow-dagtest")
    subprocess.run([_airflow(), "db", "migrate"], env=env, check=True, capture_output=True)
    code = (
        "import sys, time, datetime\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "from obspy import UTCDateTime\n"
        f"t=UTCDateTime('{run_at}').datetime.replace(tzinfo=datetime.UTC)\n"
        "bag=DagBag(dag_folder=sys.argv[1]); d=bag.get_dag('seismo_detect')\n"
        "t0=time.perf_counter(); dr=d.test(logical_date=t)\n"
        "print('DAGTEST', time.perf_counter()-t0, dr.state)\n"
    )
    p = subprocess.run([sys.executable, "-c", code, str(ROOT / "dags")], env=env,
                       capture_output=True, text=True)
    line = [x for x in p.stdout.splitlines() if x.startswith("DAGTEST")]
    if not line:
        raise SystemExit(p.stdout[-2000:] + p.stderr[-3000:])
    shutil.rmtree(work / "ledger", ignore_errors=True)
    code2 = (
        "import time\n"
        "t0=time.perf_counter()\n"
        "from obspy import UTCDateTime\n"
        "from seismo.shells import airflow_tasks as o\n"
        f"t=UTCDateTime('{run_at}')\n"
        "p=o.plan_detect(t, None)\n"
        "t1=time.perf_counter()\n"
        "picked=[o.pick_group(g, p['windows'], p['deadline'] + 600) for g in p['groups']]\n"
        "t2=time.perf_counter()\n"
        "ev=o.detect_events(picked, p['windows'])\n"
        "t3=time.perf_counter()\n"
        "o.store_windows(picked, ev, p['windows'])\n"
        "t4=time.perf_counter()\n"
        "n=sum(len(x['events']) for x in ev['windows'].values())\n"
        "print('DIRECT', t4-t0, t1-t0, t2-t1, t3-t2, t4-t3, n)\n"
    )
    q = subprocess.run([sys.executable, "-c", code2], env=env, capture_output=True, text=True)
    line2 = [x for x in q.stdout.splitlines() if x.startswith("DIRECT")]
    if not line2:
        raise SystemExit(q.stderr[-3000:])
    dag_wall = float(line[0].split()[1])
    total, t_plan, t_pick, t_ev, t_store, n_ev = (float(x) for x in line2[0].split()[1:])
    print(f"  dag.test() (tasks one after another, one process): {dag_wall:.1f} s, "
          f"{line[0].split()[2]}")
    print(f"  the task bodies in one fresh process: {total:.1f} s (plan incl. imports "
          f"{t_plan:.1f}, stations {t_pick:.1f}, events {t_ev:.1f}, store+alerts {t_store:.1f}),"
          f" {n_ev:.0f} event(s)")


def local_executor(work: Path, cfg: Path, run_times: list[Any], label: str) -> list[dict]:
    from seismo.io.store.server import free_port

    api_port = free_port()
    env = _env(work, cfg, api_port)
    subprocess.run([_airflow(), "db", "migrate"], env=env, check=True, capture_output=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    procs = [
        STARTED.popen([_airflow(), "api-server", "--port", str(api_port), "--workers", "1"], env,
                      logs / "api-server.log"),
        STARTED.popen([_airflow(), *SCHEDULER], env, logs / "scheduler.log"),
        STARTED.popen([_airflow(), "dag-processor"], env, logs / "dag-processor.log"),
    ]
    api = Api(api_port)
    api.wait_up()
    api.wait_dag()
    out = []
    for k, t in enumerate(run_times):
        run_id = f"bench_{label}_{k}"
        api.trigger(run_id, t.isoformat() + "Z")
        b = breakdown(api, run_id)
        out.append(b)
        su, bo, ta = b["startup_s"], b["body_s"], b["tail_s"]
        print(
            f"  run {k}: {b['state']}, {b['wall_s']:.1f} s wall, {b['n_tasks']} task instances;"
            f" per task: start-up {statistics.median(su):.1f} s (max {max(su):.1f}), body "
            f"{statistics.median(bo):.1f} s (max {max(bo):.1f}), end {statistics.median(ta):.1f}"
            f" s; no task running for {b['idle_s']:.1f} s" if su else f"  run {k}: {b}"
        )
        print("    " + "; ".join(b["rows"]))
    left = STARTED.stop_some(procs)  # Airflow now; the feed and influxd stay for the next part
    print(f"  stopped: {'all Airflow processes' if not left else f'LEFT RUNNING: {left}'}")
    return out


def continuous(work: Path, base_cfg_args: dict[str, Any], timeout_s: float = 420.0) -> None:
    from obspy import UTCDateTime

    from seismo.config import load_settings
    from seismo.io.seedlink import serve_simulation
    from seismo.io.store.server import free_port
    from seismo.simulate import load_scenarios

    base = load_settings()
    scen = load_scenarios(base.simulator.scenarios)[SCENARIO]
    offset = scen.events[0].origin - scen.reference
    t_start = UTCDateTime()
    origin = t_start + 90.0  # leave time for Airflow to start
    sl = serve_simulation(base.simulator, base.network, scenario=SCENARIO,
                          reference=origin - offset,
                          host="127.0.0.1", port=0)
    STARTED.closers.append(sl.stop)
    cfg = _config(work, sl.url, base_cfg_args["influx"], None, "* * * * *", 0)
    api_port = free_port()
    env = _env(work, cfg, api_port)
    subprocess.run([_airflow(), "db", "migrate"], env=env, check=True, capture_output=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    for name, cmd in (("api-server", ["api-server", "--port", str(api_port), "--workers", "1"]),
                      ("scheduler", SCHEDULER), ("dag-processor", ["dag-processor"])):
        STARTED.popen([_airflow(), *cmd], env, logs / f"{name}.log")
    api = Api(api_port)
    api.wait_up()
    api.wait_dag()
    cap_dir = work / "cap"
    print(f"  per-minute schedule running; origin at {origin}")
    while UTCDateTime() - t_start < timeout_s:
        files = sorted(cap_dir.glob("*.xml")) if cap_dir.exists() else []
        if files:
            t_file = UTCDateTime(files[0].stat().st_mtime)
            print(f"  alert {files[0].name} left the outbox {float(t_file - origin):.1f} s after "
                  f"the origin time")
            return
        time.sleep(1.0)
    print("  no alert within the time limit; see", logs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="LocalExecutor runs per setting")
    ap.add_argument("--stations", type=int, nargs="+", default=[20])
    ap.add_argument("--group-size", type=int, nargs="+", default=[0],
                    help="[airflow] station_group_size values (0: one group per core)")
    ap.add_argument("--continuous", action="store_true")
    ap.add_argument("--no-dag-test", action="store_true")
    ap.add_argument("--workdir", default="/tmp/seismo-af-bench")
    ap.add_argument("--serve-sds", help=argparse.SUPPRESS)
    ap.add_argument("--serve-inventory", help=argparse.SUPPRESS)
    ap.add_argument("--serve-url-file", help=argparse.SUPPRESS)
    ap.add_argument("--serve-span", help=argparse.SUPPRESS)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.serve_sds:
        serve_sds(args.serve_sds, args.serve_inventory, args.serve_url_file, args.serve_span)
        return

    from obspy import UTCDateTime

    from seismo.config import load_settings
    from seismo.io.store.server import InfluxServer, free_port

    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        influx = InfluxServer(work / "influx", free_port())
        influx.start()
        STARTED.closers.append(influx.stop)
        base = load_settings()
        now = UTCDateTime()
        ref = UTCDateTime(int(now.timestamp) // 60 * 60) - 660  # origin 9 min ago, on a minute
        origin = ref + 120
        first = origin + 60 + base.pipeline.postroll_s + base.pipeline.safety_margin_s
        for n_sta in args.stations:
            inv = None if n_sta == 20 else big_inventory(work / f"inv{n_sta}.xml", n_sta)
            net_dir = work / f"s{n_sta}"
            net_dir.mkdir()
            print(f"{n_sta} stations:")
            url, feed = sds_feed(net_dir, inv, ref, 600.0)
            for size in args.group_size:
                sub = net_dir / f"g{size}"
                sub.mkdir()
                cfg = _config(sub, url, influx.url, inv, "0 0 1 1 *", size)
                print(f" station_group_size {size}:")
                if not args.no_dag_test:
                    dag_test(sub, cfg, first)
                shutil.rmtree(sub / "ledger", ignore_errors=True)
                local_executor(sub, cfg, [first + 60 * k for k in range(args.runs)],
                               f"s{n_sta}_g{size}")
            STARTED.stop_some([feed])  # this network's SeedLink server
        if args.continuous:
            sub = work / "continuous"
            sub.mkdir()
            print("continuous (per-minute schedule, LocalExecutor):")
            continuous(sub, {"influx": influx.url})
    finally:
        STARTED.stop()


if __name__ == "__main__":
    main()
