"""Benchmark: ``seismo detect`` over 1 h and 24 h of the 20-station network from SDS,
against a baseline built from ObsPy's own tools on the same data.

Usage::

    python benchmarks/bench_detect.py --hours 1 24 [--processes 1 2] [--workdir /tmp/seismo-bench]

Each measurement runs in its own subprocess, so its peak RSS (``ru_maxrss``) is
its own: the main process's, the largest of its worker processes' (``seismo detect``
with N processes), and the largest sum over the process and its workers at one time
(sampled every 0.2 s from /proc). Wall time is measured around the detection call (after
the imports); CPU time is that of the subprocess and its workers, imports included (on a
shared machine the wall time follows the other jobs, the CPU time much less).

The data: the shipped inventory, simulator noise and one earthquake
per hour (ML 1.8-3.8, random epicentres within 60 km of the city centre, 5-15 km
deep; a fixed seed), written as an SDS archive.

The ObsPy baseline (per hour: ``sds.Client.get_waveforms`` for every station,
``Stream.merge``, ``filter("bandpass", 2-15 Hz)`` on the vertical channels,
``coincidence_trigger("recstalta", 4.0, 1.5, ...)`` with ObsPy's C
``recursive_sta_lta``, at least 4 stations) is what a seismologist would script
with ObsPy alone: it detects but neither locates nor measures magnitude.

A true event counts as detected by seismo if an event lies within 3 s of its
origin time and 10 km of its epicentre; by the baseline if a coincidence
trigger starts between the origin and 20 s later. Everything else is a false
detection.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from seismo.io.sds import write_sds

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
START = "2026-02-01T00:00:00"


def scenario(hours: int):  # type: ignore[no-untyped-def]
    import numpy as np
    from obspy import UTCDateTime

    from seismo.geo import destination
    from seismo.simulate import Scenario, ScenarioEvent

    rng = np.random.default_rng(2026)
    t0 = UTCDateTime(START)
    events = []
    for h in range(hours):
        lat, lon = destination(22.62, 114.1, float(rng.uniform(0, 360)), float(rng.uniform(0, 60)))
        events.append(
            ScenarioEvent(
                origin=t0 + 3600 * h + float(rng.uniform(300, 3300)),
                latitude=lat,
                longitude=lon,
                depth_km=float(rng.uniform(5, 15)),
                magnitude=round(float(rng.uniform(1.8, 3.8)), 1),
            )
        )
    return Scenario(
        name=f"bench{hours}h", reference=t0, description="benchmark", events=tuple(events)
    )


def make_sds(root: Path, hours: int) -> float:
    from seismo.config import load_settings
    from seismo.simulate import Simulator

    s = load_settings()
    sim = Simulator.from_settings(s.simulator, s.network, scenario=scenario(hours))
    t = time.perf_counter()
    write_sds(sim, root, sim.scenario.reference, sim.scenario.reference + 3600 * hours)
    return time.perf_counter() - t


def truth(hours: int) -> list[dict]:
    return [
        {"t": float(e.origin.timestamp), "lat": e.latitude, "lon": e.longitude, "m": e.magnitude}
        for e in scenario(hours).events
    ]


def run_seismo(root: Path, hours: int, processes: int = 1) -> dict:
    from obspy import UTCDateTime

    from seismo.config import load_settings
    from seismo.shells.detect import detect_range

    s = load_settings()
    t0 = UTCDateTime(START)
    t = time.perf_counter()
    summ = detect_range(
        s, t0, t0 + 3600 * hours, feed_url=f"sds://{root}", store=False, alerts=False,
        processes=processes,
    )
    wall = time.perf_counter() - t
    return {
        "wall_s": wall,
        "events": [
            {"t": float(e.time.timestamp), "lat": e.latitude, "lon": e.longitude, "m": e.magnitude}
            for e in summ.events
        ],
        "picks": summ.n_picks,
    }


def coincidence_triggers(st):  # type: ignore[no-untyped-def]
    """The ObsPy baseline on vertical traces ``st``: merge, one vertical per station (the
    velocity sensor where there are two), demean, 2-15 Hz band-pass, recursive STA/LTA
    coincidence trigger (on 4.0, off 1.5, 4 stations, STA 0.5 s, LTA 10 s); trigger times."""
    from obspy import Stream
    from obspy.signal.trigger import coincidence_trigger

    st.merge(method=1, fill_value=0)
    seen, keep = set(), Stream()
    for tr in sorted(st, key=lambda x: x.stats.channel):
        if tr.stats.station not in seen:
            seen.add(tr.stats.station)
            keep.append(tr)
    keep.detrend("demean")
    keep.filter("bandpass", freqmin=2.0, freqmax=15.0)
    return [tg["time"] for tg in coincidence_trigger("recstalta", 4.0, 1.5, keep, 4, sta=0.5,
                                                      lta=10.0)]


def run_obspy(root: Path, hours: int) -> dict:
    from obspy import Stream, UTCDateTime
    from obspy.clients.filesystem.sds import Client

    from seismo.config import load_settings
    from seismo.inventory import load_inventory, stations

    s = load_settings()
    stas = stations(load_inventory(s.network.inventory))
    client = Client(str(root))
    t0 = UTCDateTime(START)
    trig = []
    t_start = time.perf_counter()
    for h in range(hours):
        a, b = t0 + 3600 * h - 30, t0 + 3600 * (h + 1)
        st = Stream()
        for sta in stas:
            st += client.get_waveforms(sta.network, sta.station, "*", "??Z", a, b)
        for t in coincidence_triggers(st):
            if t >= t0 + 3600 * h:
                trig.append(float(t.timestamp))
    return {"wall_s": time.perf_counter() - t_start, "triggers": trig}


def score(kind: str, found: list, true: list) -> dict:
    from seismo.geo import distance_km

    hit, used = 0, set()
    for ev in true:
        for i, f in enumerate(found):
            if i in used:
                continue
            if kind == "seismo":
                ok = (
                    abs(f["t"] - ev["t"]) < 3
                    and distance_km(f["lat"], f["lon"], ev["lat"], ev["lon"]) < 10
                )
            else:
                ok = 0 <= f - ev["t"] <= 20
            if ok:
                hit += 1
                used.add(i)
                break
    return {"detected": hit, "true": len(true), "false": len(found) - len(used)}


def _tree_rss_mb() -> float:
    """Resident memory of this process and its child processes now (Linux /proc), MB."""
    pids = [os.getpid()]
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            pids += [int(x) for x in Path(f"/proc/self/task/{tid}/children").read_text().split()]
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


class TreePeak:
    """Samples :func:`_tree_rss_mb` every 0.2 s in a thread; ``peak``: the largest sum."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _tree_rss_mb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def child(args: argparse.Namespace) -> None:
    root = Path(args.workdir) / f"sds{args.hours}h"
    tree = TreePeak()
    if args.child == "seismo":
        out = run_seismo(root, args.hours, args.processes[0])
    else:
        out = run_obspy(root, args.hours)
    out["tree_peak_mb"] = tree.stop()
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["maxrss_mb"] = me.ru_maxrss / 1024
    out["worker_maxrss_mb"] = kids.ru_maxrss / 1024
    # CPU seconds of the process and its (finished) workers, imports included: on a
    # shared machine less sensitive to other jobs than the wall time
    out["cpu_s"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print("RESULT " + json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hours", type=int, nargs="+", default=[1, 24])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, os.cpu_count() or 1],
                    help="seismo detect pool sizes to measure")
    ap.add_argument("--workdir", default="/tmp/seismo-bench")
    ap.add_argument("--child", choices=["seismo", "obspy"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.hours = args.hours[0]
        child(args)
        return
    rows = []
    for hours in args.hours:
        root = Path(args.workdir) / f"sds{hours}h"
        gen = make_sds(root, hours) if not root.exists() else float("nan")
        res = {}
        runs = [("obspy", 1)] + [("seismo", n) for n in args.processes]
        for kind, n in runs:
            p = subprocess.run(
                [
                    sys.executable, __file__, "--child", kind, "--hours", str(hours),
                    "--processes", str(n), "--workdir", args.workdir,
                ],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
            if not line:
                raise SystemExit(f"{kind} {hours} h failed:\n{p.stderr[-3000:]}")
            res[kind if kind == "obspy" else f"seismo{n}"] = json.loads(line[-1][7:])
        tr = truth(hours)
        ob = score("obspy", res["obspy"]["triggers"], tr)
        span = 3600.0 * hours
        rows.append((hours, gen, res, ob, span))
        print(f"{hours} h: SDS written in {gen:.0f} s")
        base = res["obspy"]["wall_s"]
        base_cpu = res["obspy"]["cpu_s"]
        for key, r in res.items():
            scd = ob if key == "obspy" else score("seismo", r["events"], tr)
            name = "ObsPy baseline" if key == "obspy" else f"seismo detect, {key[6:]} proc"
            print(
                f"  {name:22s} wall {r['wall_s']:7.1f} s  x{r['wall_s'] / base:5.2f} baseline  "
                f"CPU {r['cpu_s']:6.1f} s  x{r['cpu_s'] / base_cpu:5.2f}  "
                f"real-time x{span / r['wall_s']:6.0f}  peak RSS {r['maxrss_mb']:5.0f} MB "
                f"(largest worker {r['worker_maxrss_mb']:5.0f} MB, all processes at once "
                f"{r['tree_peak_mb']:5.0f} MB)  "
                f"detected {scd['detected']}/{scd['true']}  false {scd['false']}"
            )
        first = res[f"seismo{args.processes[0]}"]
        for key, r in res.items():
            if key.startswith("seismo") and key != f"seismo{args.processes[0]}":
                same = [(round(a["t"], 2), round(a["m"] or 0, 2)) for a in r["events"]] == [
                    (round(a["t"], 2), round(a["m"] or 0, 2)) for a in first["events"]]
                print(f"  {key[6:]} processes give the same events as {args.processes[0]}: {same}")
        mags = [
            abs(e["m"] - t["m"])
            for e in first["events"]
            for t in tr
            if abs(e["t"] - t["t"]) < 3 and e["m"] is not None
        ]
        if mags:
            print(
                f"  seismo ML error vs truth: median {sorted(mags)[len(mags) // 2]:.2f}, "
                f"max {max(mags):.2f}"
            )


if __name__ == "__main__":
    main()
