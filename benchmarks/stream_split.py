"""``seismo stream`` at N stations: one process against the split (picker parts and the
associator joined by Redis Streams), each fed by the drill network in real time.

    python benchmarks/stream_split.py --stations 500 --minutes 7 [--parts 2]

1. Generates the network from ``config/families/province500.toml`` with ``--stations``
   stations (as ``benchmarks/stack_scale.py``, under ``var/scale/``).
2. Starts the drill feed (``seismo stack feed``: the simulated stations over SeedLink,
   ambient noise in real time) and a ``redis-server`` on free loopback ports.
3. (a) runs ``seismo stream`` for ``--minutes``; (b) runs ``--parts`` picker parts
   (``seismo stream --role pickers --part K/N``) and the associator
   (``--role associator``, started first and given the time to build its association
   tables) for ``--minutes``. No InfluxDB (``--no-store``): the
   heartbeats are read from each process's log.
4. For every process: how far behind real time it is (its heartbeats' ``lag_s``: host
   time minus the median newest sample of its stations), records per second, stations
   live, the record queue, CPU seconds per minute and the largest RSS (from /proc).
   The feed's CPU too. JSON to ``benchmarks/stream_split_N.json``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from redis_helpers import PASSWORD, redis_server  # noqa: E402
from stack_scale import TICKS, family, stat_fields  # noqa: E402

from seismo.io.store.server import free_port  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (None: gone)."""
    f = stat_fields(pid)
    return None if f is None else (int(f[11]) + int(f[12])) / TICKS


def rss_mb(pid: int) -> float | None:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except OSError:
        return None


def heartbeats(log: Path) -> list[dict]:
    """The heartbeat fields logged (``heartbeat: {...}``) with the log time."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        at = line.find("heartbeat: {")
        if at < 0:
            continue
        beat = ast.literal_eval(line[at + len("heartbeat: "):])
        beat["logged"] = line[:23]
        out.append(beat)
    return out


def launch(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("ab") as fh:
        return subprocess.Popen(["nice", "-n", "10", *cmd], stdout=fh,
                                stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(10)


def measure(procs: dict[str, tuple[subprocess.Popen, Path]], minutes: float,
            others: dict[str, int]) -> dict:
    """Run ``procs`` for ``minutes``; per process (and ``others``: name -> pid): CPU/min,
    RSS, heartbeats."""
    pids = {n: p.pid for n, (p, _) in procs.items()} | others
    launched = time.time()
    while time.time() - launched < 300 and not all(
            log.exists() and "heartbeat: {" in log.read_text(errors="replace")
            for _, log in procs.values()):
        time.sleep(2)  # start-up (inventory, tables, association grid) is not measured
    start = time.time()
    cpu0 = {n: cpu_s(pid) or 0.0 for n, pid in pids.items()}
    rss: dict[str, float] = dict.fromkeys(pids, 0.0)
    load = []
    while time.time() - start < minutes * 60:
        time.sleep(10)
        load.append(os.getloadavg()[0])
        for n, pid in pids.items():
            rss[n] = max(rss[n], rss_mb(pid) or 0.0)
        dead = [n for n, (p, _) in procs.items() if p.poll() is not None]
        if dead:
            raise SystemExit(f"{dead} exited early")
    span = time.time() - start
    cpu1 = {n: cpu_s(pid) or 0.0 for n, pid in pids.items()}
    out: dict = {"measured_s": round(span, 1), "startup_s": round(start - launched, 1),
                 "loadavg_1min": [round(min(load), 2), round(max(load), 2)]}
    for n in pids:
        out[n] = {"cpu_s_per_min": round((cpu1[n] - cpu0[n]) * 60 / span, 1),
                  "cpu_s_total": round(cpu1[n], 1), "rss_mb_max": round(rss[n], 1)}
    for n, (_, log) in procs.items():
        beats = heartbeats(log)
        lags = [b["lag_s"] for b in beats if b.get("lag_s") is not None]
        mid = [b for b in beats if b.get("uptime_s", 0) >= 60]
        rate = None
        if len(mid) >= 2:
            rate = round((mid[-1]["records"] - mid[0]["records"])
                         / (mid[-1]["uptime_s"] - mid[0]["uptime_s"]), 1)
        out[n].update({
            "beats": len(beats),
            "lag_s": {"first": lags[0] if lags else None,
                      "median": round(statistics.median(lags), 1) if lags else None,
                      "max": max(lags) if lags else None, "last": lags[-1] if lags else None},
            "records_per_s": rate,
            "stations": beats[-1]["stations"] if beats else None,
            "stations_live_last": beats[-1]["stations_live"] if beats else None,
            "queue_max": max((b.get("queue", 0) for b in beats), default=None),
            "records_last": beats[-1]["records"] if beats else None,
            "broker_buffer_max": max((b.get("broker_buffer", 0) for b in beats), default=None),
        })
    return out


def run(args: argparse.Namespace) -> dict:
    overlay = family(args.stations)
    work = ROOT / "var" / "scale" / f"stream-split-{args.stations}"
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("**/*"):
        if old.is_file():
            old.unlink()
    result: dict = {"stations": args.stations, "parts": args.parts, "minutes": args.minutes,
                    "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    with redis_server(work / "redis") as redis:
        cfg = work / "bench.toml"
        cfg.write_text(
            f'base = "{overlay}"\n'
            f'[stream]\nstate_file = "{work / "state.json"}"\n'
            f'event_archive_dir = "{work / "waveforms"}"\n'
            f'[stream.broker]\nurl = "{redis.url}"\nprefix = "bench"\n'
            f'[alerts]\noutbox_dir = "{work / "outbox"}"\n'
            f'[store]\nenabled = false\nspool_dir = "{work / "spool"}"\n')
        env = {**os.environ, "SEISMO_REDIS_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
        seismo = [sys.executable, "-m", "seismo.cli.main", "--config", str(cfg)]
        port = free_port()
        (work / "drills").mkdir(exist_ok=True)
        feed = launch([*seismo, "stack", "feed", "--port", str(port), "--drills",
                       str(work / "drills")], work / "feed.log", env)
        url = f"seedlink://127.0.0.1:{port}"
        assert redis.proc is not None
        others = {"feed": feed.pid, "redis": redis.proc.pid}
        try:
            deadline = time.time() + 600  # the feed builds the stations' simulator
            while "drill network on" not in (work / "feed.log").read_text(errors="replace"):
                if time.time() > deadline or feed.poll() is not None:
                    raise SystemExit("the drill feed did not start")
                time.sleep(2)
            time.sleep(10)
            stream = [*seismo, "-v", "stream", "--no-store", "--alert-dir", str(work / "alerts")]
            one = {"stream": (launch([*stream, "--feed", url], work / "single.log", env),
                              work / "single.log")}
            try:
                result["single"] = measure(one, args.minutes, others)
            finally:
                result["single"]["exit"] = stop(one["stream"][0])
            # the associator first: its association tables take a minute or two at 500
            # stations (the single process builds them while its records queue up)
            assoc = launch([*stream, "--role", "associator"], work / "associator.log", env)
            deadline = time.time() + 900
            while "caches warm" not in (work / "associator.log").read_text(errors="replace"):
                if time.time() > deadline or assoc.poll() is not None:
                    raise SystemExit("the associator did not start")
                time.sleep(2)
            split = {f"pickers-{k}": (launch(
                [*seismo, "-v", "stream", "--no-store", "--role", "pickers", "--part",
                 f"{k}/{args.parts}", "--feed", url], work / f"part{k}.log", env),
                work / f"part{k}.log") for k in range(1, args.parts + 1)}
            split["associator"] = (assoc, work / "associator.log")
            try:
                result["split"] = measure(split, args.minutes, others)
            finally:
                result["split"]["exit"] = {n: stop(p) for n, (p, _) in split.items()}
        finally:
            stop(feed)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stations", type=int, default=500)
    p.add_argument("--minutes", type=float, default=7.0)
    p.add_argument("--parts", type=int, default=2)
    args = p.parse_args()
    result = run(args)
    out = ROOT / "benchmarks" / f"stream_split_{args.stations}.json"
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
