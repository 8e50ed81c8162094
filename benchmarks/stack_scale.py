"""Scale of the production stack: an N-station network on the Celery stack (two workers),
and ``seismo stream`` on the same stations.

    python benchmarks/stack_scale.py --stations 500 --minutes 6 [--group-size 50]

1. Generates the network from ``config/families/province500.toml`` with ``--stations``
   stations (StationXML, scenario, configuration overlay under ``var/scale/``): the drill
   network serves it over SeedLink.
2. Starts a whole stack on it (``seismo stack up``, free loopback ports, state in
   ``var/scale/stack-N``), with the detection DAG's station tasks mapped over groups
   of ``--group-size`` stations and at most ``--max-tasks`` at once.
3. Measures for ``--minutes``: every ``seismo_detect`` run (duration, state, task
   instances), the CPU seconds of each service's process group (scheduler, workers
   with their task processes, PostgreSQL, ..., from /proc), the stream's lag behind
   real time (its heartbeat's ``lag_s``), the window ledger (done, pending), and the
   load average of the machine (shared: other jobs run on it too).
4. Stops the stack and prints the figures (JSON to ``benchmarks/stack_scale_N.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seismo.config import load_settings  # noqa: E402
from seismo.deploy.layout import DEFAULT_PORTS, Layout, read_env  # noqa: E402
from seismo.deploy.stack import load_status  # noqa: E402
from seismo.io.store.connection import connection_from_settings  # noqa: E402
from seismo.io.store.server import free_port  # noqa: E402
from seismo.io.store.writer import query, with_retention_policies  # noqa: E402
from seismo.simulate.families import load_family, write_family  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def family(n: int) -> Path:
    """The family file with ``n`` stations, written under var/scale; its overlay path."""
    src = (ROOT / "config" / "families" / "province500.toml").read_text()
    text = re.sub(r"(?m)^count = \d+", f"count = {n}", src)
    out = ROOT / "var" / "scale" / f"province{n}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "family-source.toml"
    # relative paths of the family file resolve against config/families
    text = text.replace('"../earth/', f'"{ROOT / "config" / "earth"}/')
    path.write_text(text)
    return write_family(load_family(path), out, ROOT / "config" / "seismo.toml")


def stat_fields(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (index 0 is the state,
    2 the process group, 11-14 utime, stime, cutime, cstime); None: the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def cpu_groups(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user+system, with waited-for children) of each process group."""
    out = dict.fromkeys(pids, 0.0)
    by_pgid = {pgid: name for name, pgid in pids.items()}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        fields = stat_fields(p)
        if fields is None:
            continue
        name = by_pgid.get(int(fields[2]))  # pgrp
        if name is not None:
            out[name] += sum(int(x) for x in fields[11:15]) / TICKS  # utime stime cutime cstime
    return out


def run(args: argparse.Namespace) -> dict:
    overlay = family(args.stations)
    bench = overlay.parent / "bench.toml"
    bench.write_text(f'base = "{overlay}"\n[airflow]\nstation_group_size = {args.group_size}\n'
                     f"max_active_tasks = {args.max_tasks}\n")
    state = ROOT / "var" / "scale" / f"stack-{args.stations}"
    env = {**os.environ, "SEISMO_STACK_STATE": str(state),
           "SEISMO_STACK_BASE_CONFIG": str(bench),
           **{f"SEISMO_STACK_{k}": str(free_port()) for k in DEFAULT_PORTS}}
    layout = Layout(root=ROOT, state=state)
    cli = [sys.executable, "-m", "seismo.cli.main", "stack"]
    t0 = time.time()
    up = subprocess.run([*cli, "up"], env=env, capture_output=True, text=True, timeout=1200)
    print(up.stdout[-2500:], flush=True)
    result: dict = {"stations": args.stations, "group_size": args.group_size,
                    "max_tasks": args.max_tasks, "up_s": round(time.time() - t0, 1)}
    try:
        if up.returncode != 0:
            raise SystemExit("stack up failed")
        senv = read_env(layout.env_file)
        services = load_status(layout)["services"]
        pids = {n.removeprefix("seismo-"): s["pid"] for n, s in services.items() if s["pid"]}
        time.sleep(60)  # the first runs start the workers' imports
        start = time.time()
        load0 = os.getloadavg()
        cpu0 = cpu_groups(pids)
        time.sleep(args.minutes * 60)
        cpu1 = cpu_groups(pids)
        load1 = os.getloadavg()
        span = time.time() - start
        result["measured_s"] = round(span, 1)
        result["loadavg_start_end"] = [round(x, 2) for x in (*load0, *load1)]
        result["cpu_s_per_min"] = {k: round((cpu1[k] - cpu0[k]) * 60 / span, 1) for k in pids}
        result.update(runs(senv, start))
        s = load_settings(layout.config)
        conn = connection_from_settings(s.store)
        # the stack keeps heartbeats in the raw_30d retention policy (docs/production.md)
        rows = query(conn, with_retention_policies(
            conn, 'SELECT lag_s, queue, stations_live, records FROM "stream_heartbeat" '
            f"WHERE time >= {int(start * 1e9)}"))
        lags = [r["lag_s"] for r in rows if r.get("lag_s") is not None]
        result["stream"] = {
            "beats": len(rows), "lag_s_median": round(statistics.median(lags), 1) if lags else None,
            "lag_s_max": round(max(lags), 1) if lags else None,
            "lag_s_last": round(lags[-1], 1) if lags else None,
            "queue_max": max((r.get("queue") or 0 for r in rows), default=None),
            "stations_live_last": rows[-1].get("stations_live") if rows else None,
        }
        result["ledger"] = ledger(s.airflow.ledger_dir, start)
    finally:
        down = subprocess.run([*cli, "down"], env=env, capture_output=True, text=True,
                              timeout=600)
        print(down.stdout[-500:], flush=True)
    return result


def runs(env: dict[str, str], since: float) -> dict:
    import psycopg2

    with psycopg2.connect(host="127.0.0.1", port=int(env["SEISMO_PG_PORT"]), user="airflow",
                          password=env["SEISMO_PG_PASSWORD"], dbname="airflow") as conn, \
            conn.cursor() as cur:
        cur.execute(
            "SELECT r.run_id, r.state, extract(epoch from r.end_date - r.start_date), "
            "extract(epoch from r.start_date - r.run_after), count(t.task_id) "
            "FROM dag_run r LEFT JOIN task_instance t ON t.dag_id=r.dag_id AND "
            "t.run_id=r.run_id WHERE r.dag_id='seismo_detect' AND r.start_date >= "
            "to_timestamp(%s) GROUP BY r.run_id, r.state, r.end_date, r.start_date, "
            "r.run_after ORDER BY r.start_date", (since,))
        rows = cur.fetchall()
        cur.execute(
            "SELECT t.task_id, avg(extract(epoch from t.end_date - t.start_date)), count(*) "
            "FROM task_instance t JOIN dag_run r ON t.dag_id=r.dag_id AND t.run_id=r.run_id "
            "WHERE r.dag_id='seismo_detect' AND r.start_date >= to_timestamp(%s) AND "
            "t.state='success' GROUP BY t.task_id", (since,))
        tasks = cur.fetchall()
    done = [r for r in rows if r[2] is not None]
    durations = [float(r[2]) for r in done if r[1] == "success"]
    return {
        "runs": [{"run": r[0], "state": r[1], "duration_s": None if r[2] is None else
                  round(float(r[2]), 1), "start_delay_s": None if r[3] is None else
                  round(float(r[3]), 1), "task_instances": int(r[4])} for r in rows],
        "run_s_median": round(statistics.median(durations), 1) if durations else None,
        "runs_ok": sum(1 for r in rows if r[1] == "success"),
        "runs_failed": sum(1 for r in rows if r[1] == "failed"),
        "task_s_mean": {t[0]: round(float(t[1]), 1) for t in tasks},
    }


def ledger(root: Path, since: float) -> dict:
    from obspy import UTCDateTime

    done = pending = dropped = 0
    for d in root.iterdir() if root.is_dir() else []:
        try:
            t = UTCDateTime.strptime(d.name, "%Y%m%dT%H%M%S")
        except ValueError:
            continue
        if float(t) < since - 120:
            continue
        if (d / "done.json").exists():
            done += 1
        elif (d / "dropped.json").exists():
            dropped += 1
        else:
            pending += 1
    return {"done": done, "pending": pending, "dropped": dropped}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stations", type=int, default=500)
    p.add_argument("--minutes", type=float, default=6.0)
    p.add_argument("--group-size", type=int, default=50)
    p.add_argument("--max-tasks", type=int, default=4)
    args = p.parse_args()
    result = run(args)
    out = ROOT / "benchmarks" / f"stack_scale_{args.stations}.json"
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
