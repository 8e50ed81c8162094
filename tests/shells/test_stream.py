"""``seismo stream`` end to end, in real time: the simulator's SeedLink server on
loopback, ``seismo stream`` (a real subprocess) connected to it, CAP files written
by the directory channel. Content is asserted, never timing (latency:
benchmarks/bench_latency.py).

Each test places the scenario earthquake ~30 s after the server starts (the
detector needs its filters and LTA warm: 5 s of despiker level + 10 s of LTA), so a
test takes about a minute.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.config import PROJECT_ROOT, Settings, settings_to_toml
from seismo.geo import distance_km
from seismo.io.seedlink import SeedLinkServer, serve_simulation
from seismo.shells.demo import stop_process
from seismo.simulate import Simulator, load_scenarios

pytestmark = [pytest.mark.slow, pytest.mark.network]

SCENARIO = "felt_m3_city"
LEAD_S = 30.0  # server start -> origin
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def _reference(settings: Settings, origin: UTCDateTime) -> UTCDateTime:
    scen = load_scenarios(settings.simulator.scenarios)[SCENARIO]
    return origin - (scen.events[0].origin - scen.reference)


def _config(settings: Settings, tmp: Path, **feeds: str) -> Path:
    """A configuration for the run: outbox, state, spool under ``tmp``, no store."""
    s = settings.model_copy(update={
        "alerts": settings.alerts.model_copy(update={"outbox_dir": tmp / "outbox"}),
        "stream": settings.stream.model_copy(update={"state_file": tmp / "state.json"}),
        "store": settings.store.model_copy(update={"enabled": False, "spool_dir": tmp / "spool"}),
        "feeds": settings.feeds.model_copy(update=feeds),
    })
    path = tmp / "seismo.toml"
    path.write_text(settings_to_toml(s), encoding="utf-8")
    return path


@contextmanager
def _stream(config: Path, alert_dir: Path, log: Path, *extra: str) -> Iterator[subprocess.Popen]:
    """``seismo stream`` as a subprocess; stopped with SIGTERM (then SIGKILL) at the end."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "seismo.cli.main", "-v", "--config", str(config), "stream",
             "--alert-dir", str(alert_dir), "--no-store", *extra],
            stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT),
        )
    try:
        yield proc
    finally:
        stop_process(proc)


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def _wait(pred: Callable[[], bool], until: UTCDateTime, what: str, log: Path) -> None:
    while UTCDateTime() < until:
        if pred():
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise AssertionError(f"{what} did not happen by {until}\n--- stream log ---\n{tail}")


def _caps(alert_dir: Path) -> list[dict[str, object]]:
    """Parsed CAP files of the directory channel (msgType, identifier, parameters)."""
    import xml.etree.ElementTree as ET

    out = []
    for f in sorted(alert_dir.glob("*.xml")) if alert_dir.exists() else []:
        root = ET.parse(f).getroot()
        info = root.find(f"{CAP}info")
        params = {}
        if info is not None:
            for p in info.findall(f"{CAP}parameter"):
                params[p.findtext(f"{CAP}valueName")] = p.findtext(f"{CAP}value")
        out.append({
            "file": f.name,
            "msg_type": root.findtext(f"{CAP}msgType"),
            "identifier": root.findtext(f"{CAP}identifier"),
            "references": root.findtext(f"{CAP}references") or "",
            "status": root.findtext(f"{CAP}status"),
            "params": params,
            "description": " ".join(i.findtext(f"{CAP}description") or ""
                                    for i in root.findall(f"{CAP}info")),
        })
    return out


def _alerts(alert_dir: Path) -> list[dict[str, object]]:
    return [c for c in _caps(alert_dir) if c["msg_type"] == "Alert"]


@pytest.fixture
def quake(settings: Settings) -> Iterator[tuple[UTCDateTime, SeedLinkServer, Simulator]]:
    """The scenario quake LEAD_S after now, served in real time on a free loopback port."""
    origin = UTCDateTime(round(float(UTCDateTime()) + LEAD_S, 2))
    ref = _reference(settings, origin)
    server = serve_simulation(settings.simulator, settings.network, scenario=SCENARIO,
                              reference=ref, host="127.0.0.1",
                              port=0)
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario=SCENARIO,
                                  reference=ref)
    try:
        yield origin, server, sim
    finally:
        server.stop()


def test_stream_alerts_then_dag_continues_the_same_thread(settings, quake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A quake inside the network: one CAP Alert from the stream (content checked); the
    later window pass (the DAG's functions) over the same data gives an Update or
    nothing for the same event, never a second Alert."""
    origin, server, sim = quake
    truth = sim.truth(peaks=False)[0]
    alert_dir, log = tmp_path / "alerts", tmp_path / "stream.log"
    config = _config(settings, tmp_path)
    with _stream(config, alert_dir, log, "--feed", server.url) as proc:
        _wait(lambda: bool(_alerts(alert_dir)), origin + 40, "a CAP Alert", log)
        time.sleep(3.0)  # let it publish a few more versions
        assert _stop(proc) == 0
    alerts = _alerts(alert_dir)
    assert len(alerts) == 1
    a = alerts[0]
    p = a["params"]
    assert isinstance(p, dict) and a["status"] == "Actual"
    assert abs(UTCDateTime(str(p["origin_time"])) - truth.origin) <= 2.0
    epi = float(distance_km(float(p["latitude"]), float(p["longitude"]),
                            truth.latitude, truth.longitude))
    assert epi < 10.0
    assert abs(float(p["magnitude"]) - truth.magnitude) <= 0.5
    assert int(p["n_stations"]) >= settings.associate.min_stations
    assert p["solution"] == "real-time" and UTCDateTime(str(p["solution_time"])) > origin
    assert f"Located with {p['n_stations']} stations" in str(a["description"])
    event = str(p["event_id"])
    # every message of the stream is about that one event
    assert {c["params"]["event_id"] for c in _caps(alert_dir)} == {event}  # type: ignore[index]
    assert (tmp_path / "state.json").exists()

    # The window pass over the same data, with the same outbox (what the DAG runs).
    from seismo.shells.publish import Runner
    from seismo.shells.window import process_window
    from seismo.shells.window_context import Context, windows_between

    run_settings = settings.model_copy(update={
        "alerts": settings.alerts.model_copy(update={"outbox_dir": tmp_path / "outbox"})})
    ctx = Context.from_settings(run_settings)
    first = min(truth.arrivals.values(), key=lambda a: a[0])[0]
    window = windows_between(run_settings, first, first + 1)[0]

    def source(sid: str, t0: UTCDateTime, t1: UTCDateTime):  # type: ignore[no-untyped-def]
        return sim.waveforms(*sid.split("."), t0, t1)

    result = process_window(ctx, window, source=source)
    assert len(result.events) == 1
    before = {c["file"] for c in _caps(alert_dir)}
    with Runner.from_settings(run_settings, store=False, alert_dir=alert_dir) as runner:
        rep = runner.handle(result)
    assert rep.event_ids == [event]  # the window's solution is the stream's event
    new = [c for c in _caps(alert_dir) if c["file"] not in before]
    assert all(c["msg_type"] == "Update" for c in new), new
    assert len(_alerts(alert_dir)) == 1
    for c in new:
        assert c["params"]["solution"] == "minute-by-minute"  # type: ignore[index]
        assert str(a["identifier"]) in str(c["references"])


def test_station_disconnecting_mid_event(settings, quake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The station nearest the epicentre is on its own SeedLink server, which stops
    right after the P wave reached it: the event is still found (from the others)."""
    origin, server, sim = quake
    truth = sim.truth(peaks=False)[0]
    near = min(truth.arrivals, key=lambda s: truth.arrivals[s][0])
    p_near = truth.arrivals[near][0]
    ref = _reference(settings, origin)
    lone = serve_simulation(settings.simulator, settings.network, scenario=SCENARIO, reference=ref,
                            host="127.0.0.1",
                            port=0)
    alert_dir, log = tmp_path / "alerts", tmp_path / "stream.log"
    config = _config(settings, tmp_path, default=server.url, overrides={near: lone.url})
    try:
        with _stream(config, alert_dir, log) as proc:
            _wait(lambda: UTCDateTime() > p_near + 1.5, p_near + 10, "the P at " + near, log)
            lone.stop()  # mid-event: drops the connection, refuses new ones
            _wait(lambda: bool(_alerts(alert_dir)), origin + 45, "a CAP Alert", log)
            assert proc.poll() is None  # still running, reconnecting to the lost server
            assert _stop(proc) == 0
    finally:
        lone.stop()
    alerts = _alerts(alert_dir)
    assert len(alerts) == 1
    p = alerts[0]["params"]
    assert isinstance(p, dict)
    epi = float(distance_km(float(p["latitude"]), float(p["longitude"]),
                            truth.latitude, truth.longitude))
    assert epi < 15.0 and abs(UTCDateTime(str(p["origin_time"])) - truth.origin) <= 2.0
    text = log.read_text(errors="replace")
    assert re.search(rf"SeedLink {re.escape(lone.url)}: .*reconnecting", text) or (
        "reconnecting" in text)


def test_restart_mid_event_sends_no_second_alert(settings, quake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM right after the first Alert, restart at once: the stream resumes from its
    state file (sequence numbers, picks, events) and the event keeps its id and alert
    thread: Updates at most, one Alert in all."""
    origin, server, _ = quake
    alert_dir, log = tmp_path / "alerts", tmp_path / "stream.log"
    config = _config(settings, tmp_path)
    with _stream(config, alert_dir, log, "--feed", server.url) as proc:
        _wait(lambda: bool(_alerts(alert_dir)), origin + 40, "a CAP Alert", log)
        assert _stop(proc) == 0
    event = _alerts(alert_dir)[0]["params"]["event_id"]  # type: ignore[index]
    with _stream(config, alert_dir, log, "--feed", server.url) as proc:
        _wait(lambda: "resuming 20 stations" in log.read_text(errors="replace"),
              UTCDateTime() + 60, "a resume", log)
        _wait(lambda: UTCDateTime() > origin + 35, origin + 60, "the event's end", log)
        assert _stop(proc) == 0
    caps = _caps(alert_dir)
    assert len([c for c in caps if c["msg_type"] == "Alert"]) == 1
    assert {c["params"]["event_id"] for c in caps} == {event}  # type: ignore[index]
    assert all(c["msg_type"] in ("Alert", "Update") for c in caps)
    text = log.read_text(errors="replace")
    assert "warm-up:" in text  # the filters were warmed from before the resume point
