"""Benchmark: alert latency of the real-time detector and of the minute-by-minute pass.

Usage::

    python benchmarks/bench_latency.py [--workdir /tmp/seismo-latency] [--spacing 45]
                                       [--feed own|datalogger|both] [--no-dag]

One real-time session on this machine per feed (``--feed``, default both):

* ``own``: seismo's own SeedLink server plays the simulator in 1 s records (512-byte
  records, one per channel and second, served as each second ends);
* ``datalogger``: the same network cut into full 512-byte Steim2 records, each released
  when its last sample has been taken, as a datalogger sends them (a
  :class:`~seismo.io.seedlink.ring.RecordRing`, SeedLink 4): a record of a 100 Hz channel
  then holds ~2-7 s of data, so the data arrive seconds late and the channels of one
  station seconds apart;

and in each:

* the server plays 13 scenario earthquakes (M2.5-M6; inside the network, at its edge,
  offshore) one after the other, in real time;
* ``seismo stream`` (a subprocess, as deployed) is connected to it; its alerts go
  to a directory channel and to a webhook served by this script;
* at the same time, at every minute boundary (the DAG's cron ``* * * * *``), the
  window pass runs the DAG's task functions (:mod:`seismo.shells.airflow_tasks`:
  fetch over SeedLink, pick, associate, locate, ML, intensity, alerts) in this
  process, with its own outbox, directory channel and webhook path. This is the
  DAG's work without Airflow's own overhead (task start-up, XCom, metadata DB:
  ``benchmarks/bench_airflow.py`` measures it).

Both run on the same 2 cores, as in production. For each earthquake it measures
origin time -> first pick, -> first origin, -> CAP file written by the directory
channel, -> webhook received, and whether the first Alert carried a magnitude, and writes
``benchmarks/latency.json`` plus a Markdown table (p50/p95) for benchmarks/README.md.

With the datalogger feed it also probes time-window fetches (what the DAG's SeedLink
feed does): every 15 s, one station's last minute up to 5 s ago (the DAG's safety
margin), timed; beside it, when a server that ends a window only after a record past
its end (ringserver) would have sent ``END``.

Everything it starts (server, subprocess, threads) stops on success, failure and
Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from obspy import UTCDateTime  # noqa: E402

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"

#: (latitude, longitude, depth km, magnitude) of the earthquakes, played in this order.
QUAKES: list[tuple[float, float, float, float]] = [
    (22.625, 114.075, 8.0, 3.0),
    (22.55, 113.95, 10.0, 3.5),
    (22.70, 114.25, 6.0, 2.5),
    (22.85, 114.65, 10.0, 3.2),  # edge
    (22.60, 114.15, 12.0, 4.0),
    (22.40, 114.55, 10.0, 3.8),  # offshore
    (22.68, 113.90, 7.0, 3.3),
    (22.95, 113.85, 10.0, 2.8),  # edge
    (22.58, 114.35, 9.0, 4.5),
    (22.52, 114.22, 8.0, 3.1),
    (22.45, 114.70, 10.0, 5.0),  # offshore
    (22.65, 114.05, 10.0, 5.0),
    (22.20, 114.60, 15.0, 6.0),  # offshore
]


@dataclass
class Quake:
    origin: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float
    magnitude: float
    where: str = ""
    times: dict[str, dict[str, float]] = field(default_factory=dict)  # mode -> what -> s
    magnitudes: dict[str, str] = field(default_factory=dict)  # first Alert's magnitude


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[float, str, bytes]]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        _Hook.received.append((time.time(), self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _window_probe(url: str, records: list[tuple[float, bytes]], stations: list[str],
                  stop: threading.Event, out: list[dict[str, float]]) -> None:
    """Every 15 s: fetch one station's window ``[now - 65, now - 5)`` and time it; and the
    time at which every channel's first record starting after the window end is released
    (when a ringserver-like server would end the window)."""
    from seismo.io.seedlink.client import SeedLinkClient, StationRequest
    from seismo.io.seedlink.header import parse_header

    host, port = url.removeprefix("seedlink://").split(":")
    client = SeedLinkClient(host, int(port), timeout_s=30)
    k = 0
    while not stop.wait(15.0):
        sid = stations[k % len(stations)]
        k += 1
        t = time.time()
        end = UTCDateTime(t - 5.0)
        net, sta = sid.split(".")
        try:
            recs = client.fetch_records([StationRequest(net, sta)], end - 60, end)
        except Exception as exc:  # a benchmark probe: report and go on
            print(f"window probe {sid}: {exc}", flush=True)
            continue
        took = time.time() - t
        nxt: dict[str, float] = {}
        for release, rec in records:
            h = parse_header(rec)
            if f"{h.network}.{h.station}" == sid and h.start >= end:
                nxt.setdefault(h.channel, release)
        out.append({"fetch_s": took, "records": len(recs),
                    "end_after_s": max(nxt.values()) - t if nxt else float("nan")})


def _classify(lat: float, lon: float, hull: tuple[Any, Any]) -> str:
    from global_land_mask import globe

    from seismo.geo import hull_distance_km

    if hull_distance_km(lat, lon, *hull) == 0.0:
        return "inside"
    return "offshore" if globe.is_ocean(lat, lon) else "edge"


def _cap_fields(xml: bytes | str) -> dict[str, str]:
    root = ET.fromstring(xml)
    info = root.find(f"{CAP}info")
    out = {"msg_type": root.findtext(f"{CAP}msgType") or ""}
    if info is not None:
        out["headline"] = info.findtext(f"{CAP}headline") or ""
    if info is not None:
        for p in info.findall(f"{CAP}parameter"):
            out[p.findtext(f"{CAP}valueName") or ""] = p.findtext(f"{CAP}value") or ""
    return out


def _match(quakes: list[Quake], origin: UTCDateTime, lat: float, lon: float) -> Quake | None:
    from seismo.geo import distance_km

    best = None
    for q in quakes:
        dt = abs(float(origin - q.origin))
        d = float(distance_km(lat, lon, q.latitude, q.longitude))
        if dt <= 10.0 and d <= 60.0 and (best is None or dt < best[0]):
            best = (dt, q)
    return None if best is None else best[1]


def _settings(work: Path, mode: str, hook: str) -> Any:
    from seismo.alerts.channels.directory import DirectoryConfig
    from seismo.alerts.channels.webhook import WebhookConfig
    from seismo.alerts.settings import AlertsConfig
    from seismo.config import load_settings

    s = load_settings()
    alerts = AlertsConfig.model_validate({
        **s.alerts.model_dump(),
        "outbox_dir": str(work / mode / "outbox"),
        "channels": {
            "dir": DirectoryConfig(path=work / mode / "cap").model_dump(),
            "hook": WebhookConfig(url=f"{hook}/{mode}").model_dump(),
        },
        "groups": {"oncall": ["dir", "hook"], "tsunami": ["dir", "hook"]},
    })
    store = s.store.model_copy(update={"enabled": False, "spool_dir": work / mode / "spool"})
    stream = s.stream.model_copy(update={"state_file": work / mode / "state.json"})
    return s.model_copy(update={"alerts": alerts, "store": store, "stream": stream})


def _dag_loop(settings: Any, url: str, stop: threading.Event, runs: list[dict[str, Any]]) -> None:
    """The DAG's schedule: at each minute boundary, the window of window_for_run."""
    from seismo.shells.publish import Runner
    from seismo.shells.window import process_window
    from seismo.shells.window_context import Context, window_for_run

    s = settings.model_copy(update={"feeds": settings.feeds.model_copy(update={"default": url})})
    ctx = Context.from_settings(s)
    runner = Runner.from_settings(s, store=False)
    try:
        while not stop.is_set():
            nxt = (int(time.time()) // 60 + 1) * 60
            if stop.wait(max(0.0, nxt - time.time())):
                break
            t0 = time.time()
            window = window_for_run(s, UTCDateTime(nxt))
            result = process_window(ctx, window)
            rep = runner.handle(result)
            runs.append({"run": nxt, "window": str(window), "seconds": time.time() - t0,
                         "events": rep.event_ids})
            print(f"DAG run {UTCDateTime(nxt)} window {window}: {len(rep.event_ids)} events "
                  f"in {time.time() - t0:.1f} s", flush=True)
    finally:
        runner.close()


_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _log_times(log: Path, quakes: list[Quake]) -> None:
    """First pick and first origin of each quake from the stream's log (UTC times)."""
    pick = re.compile(r"pick \S+ [PS] (\S+) \((provisional|final)\)")
    origin = re.compile(r"new origin (\S+) ([\d.]+) ([\d.]+) ")
    for line in log.read_text(errors="replace").splitlines():
        m0 = _LOG_TIME.match(line)
        if not m0:
            continue
        at = UTCDateTime(m0.group(1).replace(",", ".").replace(" ", "T"))
        m = pick.search(line)
        if m:
            t = UTCDateTime(m.group(1))
            for q in quakes:
                if 0.0 <= float(t - q.origin) <= 40.0:
                    q.times.setdefault("stream", {}).setdefault("pick", float(at - q.origin))
            continue
        m = origin.search(line)
        if m:
            q = _match(quakes, UTCDateTime(m.group(1)), float(m.group(2)), float(m.group(3)))
            if q is not None:
                q.times.setdefault("stream", {}).setdefault("origin", float(at - q.origin))


def _cap_times(work: Path, quakes: list[Quake]) -> None:
    for mode in ("stream", "dag"):
        for f in sorted((work / mode / "cap").glob("*.xml")):
            _first_alert(quakes, mode, "cap", f.read_bytes(), f.stat().st_mtime)
        for at, path, body in _Hook.received:
            if path.endswith(f"/{mode}"):
                _first_alert(quakes, mode, "webhook", body, at)


def _first_alert(quakes: list[Quake], mode: str, what: str, cap: bytes, at: float) -> None:
    """Keep ``at`` - origin as the quake's ``mode``/``what`` time when ``cap`` is the
    earliest Alert of a quake so far."""
    p = _cap_fields(cap)
    if p.get("msg_type") != "Alert" or "origin_time" not in p:
        return
    q = _match(quakes, UTCDateTime(p["origin_time"]), float(p["latitude"]),
               float(p["longitude"]))
    if q is not None:
        t = q.times.setdefault(mode, {})
        if at - float(q.origin) < t.get(what, 1e9):
            t[what] = at - float(q.origin)
            q.magnitudes[f"{mode} {what}"] = p.get("magnitude", "unknown")


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def report(quakes: list[Quake], runs: list[dict[str, Any]]) -> str:
    lines = ["| # | where | M | stream pick | stream origin | stream CAP | stream webhook "
             "| DAG CAP | DAG webhook |", "|---|---|---|---|---|---|---|---|---|"]

    def cell(q: Quake, mode: str, what: str) -> str:
        v = q.times.get(mode, {}).get(what)
        return "missed" if v is None else f"{v:.1f}"

    for i, q in enumerate(quakes, 1):
        lines.append(f"| {i} | {q.where} | {q.magnitude:.1f} | {cell(q, 'stream', 'pick')} | "
                     f"{cell(q, 'stream', 'origin')} | {cell(q, 'stream', 'cap')} | "
                     f"{cell(q, 'stream', 'webhook')} | {cell(q, 'dag', 'cap')} | "
                     f"{cell(q, 'dag', 'webhook')} |")
    lines += ["", "| group | mode | measure | n | p50 (s) | p95 (s) | missed |",
              "|---|---|---|---|---|---|---|"]
    groups = {"inside, M >= 3": [q for q in quakes if q.where == "inside" and q.magnitude >= 3],
              "all": quakes}
    for gname, qs in groups.items():
        for mode, whats in (("stream", ("pick", "origin", "cap", "webhook")),
                            ("dag", ("cap", "webhook"))):
            for what in whats:
                vals = [q.times[mode][what] for q in qs if what in q.times.get(mode, {})]
                lines.append(f"| {gname} | {mode} | origin -> {what} | {len(vals)} | "
                             f"{_pct(vals, 0.5):.1f} | {_pct(vals, 0.95):.1f} | "
                             f"{len(qs) - len(vals)} |")
    if runs:
        secs = [r["seconds"] for r in runs]
        lines.append("")
        lines.append(f"DAG runs: {len(runs)}, run time p50 {_pct(secs, 0.5):.1f} s, "
                     f"max {max(secs):.1f} s (task functions in one process, no Airflow)")
    return "\n".join(lines)


def _session(args: argparse.Namespace, feed: str, work: Path, hook: str) -> dict[str, Any]:
    """One real-time session with ``feed`` (module docstring); its quakes, DAG runs and
    window probes."""
    import numpy as np

    from seismo.config import settings_to_toml
    from seismo.inventory import load_inventory, stations
    from seismo.io.seedlink import serve_datalogger_simulation, serve_simulation
    from seismo.io.store.server import free_port
    from seismo.simulate import Scenario, ScenarioEvent

    _Hook.received.clear()
    s_stream = _settings(work, "stream", hook)
    s_dag = _settings(work, "dag", hook)
    infos = stations(load_inventory(s_stream.network.inventory))
    hull = (np.array([i.latitude for i in infos]), np.array([i.longitude for i in infos]))
    start = UTCDateTime()
    quakes: list[Quake] = []
    # the datalogger feed's records are made first (~2 s per minute of network data)
    lead = args.lead + (45.0 if feed == "datalogger" else 0.0)
    t = start + lead
    for lat, lon, dep, mag in QUAKES[: args.quakes]:
        quakes.append(Quake(UTCDateTime(round(float(t), 2)), lat, lon, dep, mag,
                            _classify(lat, lon, hull)))
        t += args.spacing * (1.5 if mag >= 5 else 1.0)
    scen = Scenario("latency", start, "latency benchmark",
                    tuple(ScenarioEvent(q.origin, q.latitude, q.longitude, q.depth_km,
                                        q.magnitude) for q in quakes))
    end = quakes[-1].origin + (60.0 if args.no_dag else 150.0)
    records: list[tuple[float, bytes]] = []
    if feed == "own":
        server: Any = serve_simulation(s_stream.simulator, s_stream.network, scenario=scen,
                                       host="127.0.0.1", port=free_port())
    else:
        t_gen = time.time()
        server = serve_datalogger_simulation(
            s_stream.simulator, s_stream.network, start - 120, end + 30, scenario=scen,
            reclen=512)
        records = server.records()
        print(f"datalogger records made in {time.time() - t_gen:.0f} s "
              f"({len(records)} records)", flush=True)
        # the quakes keep their lead after the records were made
        shift = UTCDateTime() - start
        if shift > lead - 30:
            raise RuntimeError(f"making the records took {shift:.0f} s; raise --lead")
    cfg = work / "stream" / "seismo.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(settings_to_toml(s_stream), encoding="utf-8")
    log = work / "stream" / "stream.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TZ="UTC")
    proc = None
    stop = threading.Event()
    runs: list[dict[str, Any]] = []
    probes: list[dict[str, float]] = []
    threads = []
    try:
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "seismo.cli.main", "-v", "--config", str(cfg), "stream",
                 "--feed", server.url, "--no-store"],
                stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        if not args.no_dag:
            threads.append(threading.Thread(target=_dag_loop,
                                            args=(s_dag, server.url, stop, runs), daemon=True))
        if records:
            threads.append(threading.Thread(
                target=_window_probe, args=(server.url, records, [i.id for i in infos], stop,
                                            probes), daemon=True))
        for th in threads:
            th.start()
        print(f"{feed}: {len(quakes)} earthquakes from {quakes[0].origin} to "
              f"{quakes[-1].origin}; done at {end}", flush=True)
        while UTCDateTime() < end:
            if proc.poll() is not None:
                raise RuntimeError(f"seismo stream exited with {proc.returncode}; see {log}")
            time.sleep(1.0)
    finally:
        stop.set()
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for th in threads:
            th.join(120)
        server.stop()
    _log_times(log, quakes)
    _cap_times(work, quakes)
    return {"feed": feed, "started": start, "quakes": quakes, "runs": runs, "probes": probes,
            "dag": s_dag}


def _probe_report(probes: list[dict[str, float]]) -> str:
    if not probes:
        return ""
    took = [p["fetch_s"] for p in probes]
    # a record past the window released before the fetch began: END at once
    wait = [max(0.0, p["end_after_s"]) for p in probes
            if p["end_after_s"] == p["end_after_s"]]
    return (f"Window fetches (1 station, 60 s ending 5 s ago, {len(probes)} probes): "
            f"complete after p50 {_pct(took, 0.5):.2f} s, max {max(took):.2f} s; a server "
            f"that ends a window only after a record past it would have sent END after "
            f"p50 {_pct(wait, 0.5):.1f} s, max {max(wait, default=float('nan')):.1f} s.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/seismo-latency"))
    ap.add_argument("--spacing", type=float, default=45.0, help="s between earthquakes")
    ap.add_argument("--lead", type=float, default=45.0, help="s from start to the first one")
    ap.add_argument("--quakes", type=int, default=len(QUAKES), help="play the first N")
    ap.add_argument("--no-dag", action="store_true", help="stream only")
    ap.add_argument("--feed", choices=("own", "datalogger", "both"), default="both")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "latency.json")
    args = ap.parse_args()

    from seismo.io.store.server import free_port

    hook_srv = ThreadingHTTPServer(("127.0.0.1", free_port()), _Hook)
    hook = f"http://127.0.0.1:{hook_srv.server_address[1]}"
    threading.Thread(target=hook_srv.serve_forever, daemon=True).start()
    feeds = ("own", "datalogger") if args.feed == "both" else (args.feed,)
    sessions = []
    try:
        for feed in feeds:
            work = args.workdir / feed
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            sessions.append(_session(args, feed, work, hook))
    finally:
        hook_srv.shutdown()
    out = []
    for ses in sessions:
        table = report(ses["quakes"], ses["runs"])
        print(f"\n## feed: {ses['feed']}\n\n{table}\n{_probe_report(ses['probes'])}")
        with_mag = [q for q in ses["quakes"] if "stream cap" in q.magnitudes]
        unknown = [q for q in with_mag if q.magnitudes["stream cap"] == "unknown"]
        print(f"first stream Alerts with a magnitude: {len(with_mag) - len(unknown)} of "
              f"{len(with_mag)}")
        s_dag = ses["dag"]
        out.append({
            "feed": ses["feed"],
            "started": str(ses["started"]),
            "quakes": [{"origin": str(q.origin), "latitude": q.latitude,
                        "longitude": q.longitude, "depth_km": q.depth_km,
                        "magnitude": q.magnitude, "where": q.where, "latency_s": q.times,
                        "first_alert_magnitude": q.magnitudes} for q in ses["quakes"]],
            "dag_runs": ses["runs"],
            "window_probes": ses["probes"],
            "settings": {"window_s": s_dag.pipeline.window_s,
                         "preroll_s": s_dag.pipeline.preroll_s,
                         "postroll_s": s_dag.pipeline.postroll_s,
                         "safety_margin_s": s_dag.pipeline.safety_margin_s},
        })
    args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
