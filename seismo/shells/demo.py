"""The README's main job: the whole chain on the embedded default.

1. Start the local InfluxDB (Debian's influxd, data under ``var/``) if the
   configured loopback URL does not answer.
2. Serve the simulated network over SeedLink on loopback, in real time, with the
   configured scenario earthquake placed ``LEAD_S`` seconds ahead.
3. Run ``seismo stream`` (a subprocess) on it: the real-time alert (CAP Alert)
   comes seconds after the origin.
4. When the detection window that holds the earthquake is complete, let Airflow
   run the detection DAG for it (``airflow dags test``: a real DAG run,
   in-process executor, SQLite metadata under ``var/airflow``) with every station
   pulled over the SeedLink socket: the authoritative solution of the same event
   (a new version; an Update when it differs materially, never a second Alert).
5. Run the station-health check over the last health window of the simulated feed
   (what the health DAG does: :func:`seismo.health.run_health`, results to
   InfluxDB; no notice) so the console's station wall has real statuses.
6. Show the result: the event's versions read back from InfluxDB (stream and
   DAG, with the latency of each), its intensities and the CAP files written by
   the directory channel.

SIGTERM stops the demo as Ctrl-C does (``seismo demo`` turns it into
KeyboardInterrupt): ``seismo stream``, the SeedLink server and the InfluxDB it
started are stopped on the way out.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from obspy import UTCDateTime

from seismo.alerts.channels.directory import DirectoryConfig
from seismo.alerts.notation import intensity_text, magnitude_text
from seismo.alerts.settings import AlertsConfig
from seismo.config import PROJECT_ROOT, Settings, mask_url, settings_to_toml
from seismo.config.tree import relocated
from seismo.errors import SeismoError
from seismo.io.feeds.settings import FeedsConfig
from seismo.io.seedlink import serve_simulation
from seismo.io.store import InfluxStore
from seismo.io.store.server import ensure_local_influx, free_port
from seismo.model import Event
from seismo.shells.drill import earthquake_scenario
from seismo.shells.window_context import Window, window_for_run
from seismo.simulate import Simulator

if TYPE_CHECKING:
    from seismo.simulate import Scenario

log = logging.getLogger(__name__)


#: Seconds from the start of the demo to the earthquake: ``seismo stream`` starts (~10 s)
#: and warms its filters and STA/LTA (~15 s) before it.
LEAD_S = 40.0


@dataclass
class DemoResult:
    window: Window
    origin: UTCDateTime
    events: list[Event] = field(default_factory=list)
    versions: list[Event] = field(default_factory=list)
    alert_files: list[Path] = field(default_factory=list)
    dag_state: str = ""
    dag_seconds: float = 0.0
    log_file: Path | None = None
    stream_alert_s: float | None = None  # origin -> the stream's CAP Alert file
    dag_done_s: float | None = None  # origin -> the end of the DAG run
    stream_log: Path | None = None
    health: str = ""  # the station-health run, in a few words
    feed: str = ""  # the same simulated data as a sim:// URL (for a replay with seismo detect)


def airflow_env(home: Path, config_file: Path) -> dict[str, str]:
    """Environment for an Airflow process running seismo's DAGs (SQLite, no examples)."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        SEISMO_CONFIG=str(config_file),
    )
    return env


def _airflow_bin() -> str:
    cand = Path(sys.executable).parent / "airflow"
    return str(cand) if cand.exists() else "airflow"


def run_detect_dag(
    home: Path, config_file: Path, run_time: UTCDateTime, log_file: Path
) -> tuple[int, float]:
    """``airflow db migrate`` (once) then ``airflow dags test seismo_detect RUN_TIME``."""
    home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(home, config_file)
    with log_file.open("ab") as fh:
        if not (home / "airflow.db").exists():
            subprocess.run(
                [_airflow_bin(), "db", "migrate"],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                check=True,
            )
        t0 = time.perf_counter()
        proc = subprocess.run(
            [_airflow_bin(), "dags", "test", "seismo_detect", run_time.isoformat() + "+00:00"],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    return proc.returncode, time.perf_counter() - t0


def _demo_scenario(settings: Settings, scenario: str | None) -> tuple[str, Scenario]:
    """The scenario to play (named, or the configured one); it must hold an earthquake."""

    name = scenario or settings.simulator.scenario
    if not name:
        raise SeismoError("no scenario: give --scenario or set [simulator] scenario")
    return name, earthquake_scenario(settings, name)


def demo_installation(settings: Settings, port: int, work: Path, alert_dir: Path) -> Settings:
    """``settings`` as the demo's own installation under ``work``
    (:func:`seismo.config.installation.relocated`: its alert record, ledger, state, console
    users; nothing lands in the installation it was started from), with the feed on the
    loopback SeedLink server and one alert channel, a directory (``alert_dir``): a demo's
    messages (status Actual, about a simulated earthquake) never reach the configured
    webhooks or mail."""
    own = relocated(settings, work)
    groups = sorted({"oncall", "tsunami", "engineers", *settings.alerts.groups})
    alerts = own.alerts.model_copy(update={
        "channels": {"demo": DirectoryConfig(path=alert_dir)},
        "groups": {g: ["demo"] for g in groups},
    })
    return own.model_copy(
        update={
            "feeds": FeedsConfig(
                default=f"seedlink://127.0.0.1:{port}",
                timeout_s=settings.feeds.timeout_s,
                retries=settings.feeds.retries,
                retry_delay_s=settings.feeds.retry_delay_s,
            ),
            "alerts": AlertsConfig.model_validate(alerts.model_dump()),
        }
    )


def _station_health(settings: Settings) -> str:
    """The station-health run over the last health window (results to InfluxDB, no
    notice), as the health DAG runs it; a few words on the outcome."""
    from collections import Counter

    from seismo.health import run_health

    try:
        with InfluxStore.from_settings(settings.store) as store:
            res = run_health(settings, end=UTCDateTime(), store=store)
    except SeismoError as exc:
        log.error("station health failed: %s", exc)
        return f"failed: {exc}"
    n = Counter(h.status for h in res.run.summaries())
    words = ", ".join(f"{n[k]} {k}" for k in ("OK", "WARN", "FAIL") if n[k])
    return f"{words} (window {res.run.start} - {res.run.end})" + (
        f"; {'; '.join(res.errors)}" if res.errors else "")


def _collect(result: DemoResult, settings: Settings, alert_dir: Path) -> DemoResult:
    """The window's events (and every version) read back from InfluxDB and the CAP files
    written for them."""

    w = result.window
    with InfluxStore.from_settings(settings.store) as store:
        result.events = store.query_events(w.start - 60, w.end + 60)
        for e in result.events:
            result.versions += store.query_event_versions(e.id)
    ids = {e.id for e in result.events}
    result.alert_files = sorted(
        f for f in (alert_dir.glob("*.xml") if alert_dir.exists() else [])
        if any(f".{i}." in f.name for i in ids)
    )
    return result


def _first_alert(alert_dir: Path, since: float) -> Path | None:
    """The first CAP Alert file written after ``since`` (epoch s)."""
    import xml.etree.ElementTree as ET

    for f in sorted(alert_dir.glob("*.xml"), key=lambda p: p.stat().st_mtime):
        if f.stat().st_mtime < since:
            continue
        try:
            kind = ET.parse(f).getroot().findtext("{urn:oasis:names:tc:emergency:cap:1.2}msgType")
        except (OSError, ET.ParseError):
            continue
        if kind == "Alert":
            return f
    return None


def _stream_proc(cfg_file: Path, alert_dir: Path, log_file: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SEISMO_CONFIG=str(cfg_file))
    with log_file.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "seismo.cli.main", "-v", "--config", str(cfg_file), "stream",
             "--alert-dir", str(alert_dir)],
            stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT),
        )


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM ``proc`` and wait up to 60 s for its clean exit (``seismo stream`` flushes
    its spool and outbox), then kill it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_demo(
    settings: Settings,
    *,
    scenario: str | None = None,
    work_dir: Path | None = None,
    echo=print,  # type: ignore[no-untyped-def]
    after: Callable[[DemoResult, Settings], None] | None = None,
    lead_s: float = LEAD_S,
    dag: bool = True,
    health: bool = True,
) -> DemoResult:
    """Run the whole chain once; see the module docstring.

    ``after(result, demo_settings)`` runs before InfluxDB is stopped (``seismo demo``
    renders the result there and serves the console until Ctrl-C). The demo is an
    installation of its own under ``work_dir`` (default ``<installation>/demo``,
    :func:`demo_installation`); its configuration file is ``<work_dir>/seismo.toml``, for
    the commands that follow it (``seismo --config <work_dir>/seismo.toml event review``).
    ``lead_s`` is the time from the start to the earthquake; ``dag=False`` leaves out the
    Airflow run and ``health=False`` the station-health run (a short run, for tests).
    """

    name, scen = _demo_scenario(settings, scenario)
    work = (work_dir or settings.installation.dir / "demo").resolve()
    work.mkdir(parents=True, exist_ok=True)
    alert_dir = work / "alerts"
    (work / "stream_state.json").unlink(missing_ok=True)  # a new network session

    origin = UTCDateTime(round(float(UTCDateTime()) + lead_s, 2))
    reference = origin - (scen.events[0].origin - scen.reference)
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario=name,
                                  reference=reference)
    first_pick = min(a[0] for a in sim.truth(peaks=False)[0].arrivals.values())

    own = relocated(settings, work)  # its InfluxDB data (when it starts one) under work too
    influx = ensure_local_influx(own.store)
    state = f"started, data in {own.store.server_data_dir}" if influx else "already running"
    echo(f"InfluxDB: {mask_url(settings.store.url)} ({state})")
    port = free_port()
    server = serve_simulation(
        settings.simulator, settings.network, scenario=name, reference=reference,
        host="127.0.0.1", port=port,
    )
    stream: subprocess.Popen[bytes] | None = None
    try:
        echo(
            f"SeedLink: simulated network on seedlink://127.0.0.1:{port} (real time), "
            f"scenario {name!r}: {scen.description}"
        )
        shutil.rmtree(work / "ledger", ignore_errors=True)  # this demo's run starts afresh
        demo_settings = demo_installation(settings, port, work, alert_dir)
        cfg_file = work / "seismo.toml"
        cfg_file.write_text(settings_to_toml(demo_settings), encoding="utf-8")
        # the first minute whose DAG run owns the earthquake's window
        run_time = UTCDateTime((int(float(first_pick)) // 60 + 1) * 60)
        while window_for_run(demo_settings, run_time).end <= first_pick:
            run_time += 60
        window = window_for_run(demo_settings, run_time)
        echo(f"          earthquake at {origin} (in {lead_s:.0f} s; DAG window {window})")
        echo(f"demo installation: {work} (configuration {cfg_file}; its alert record: "
             f"{demo_settings.alerts.outbox_dir})")
        stream_log = work / "stream.log"
        started = time.time()
        stream = _stream_proc(cfg_file, alert_dir, stream_log)
        echo(f"seismo stream: running (log: {stream_log})")
        result = DemoResult(window=window, origin=origin, stream_log=stream_log,
                            feed=f"sim://?scenario={quote(name)}"
                                 f"&reference={quote(reference.isoformat() + 'Z')}")
        while UTCDateTime() < origin + 60:
            found = _first_alert(alert_dir, started) if alert_dir.exists() else None
            if found is not None:
                result.stream_alert_s = found.stat().st_mtime - float(origin)
                echo(f"  streaming alert (CAP Alert) {result.stream_alert_s:.1f} s after the "
                     f"origin: {found.name}")
                break
            if stream.poll() is not None:
                echo(f"  seismo stream exited ({stream.returncode}); see {stream_log}")
                break
            time.sleep(0.5)
        else:
            echo("  no streaming alert within 60 s of the origin (see the stream log)")
        while UTCDateTime() < origin + 25 and stream.poll() is None:
            time.sleep(0.5)  # the stream's later versions (more stations, final ML)
        stop_process(stream)  # its job is done; the DAG run below gets both cores
        echo(f"seismo stream: stopped (exit {stream.returncode}, state saved)")
        if health:
            result.health = _station_health(demo_settings)
            echo(f"Station health: {result.health}")
        if dag:
            log_file = work / "airflow.log"
            log_file.write_text("", encoding="utf-8")
            while UTCDateTime() < run_time:  # the DAG's minute: the window's data are complete
                time.sleep(0.5)
            echo(f"Airflow: running DAG seismo_detect for run time {run_time} (log: {log_file})")
            rc, secs = run_detect_dag(work / "airflow", cfg_file, run_time, log_file)
            result.dag_done_s = float(UTCDateTime() - origin)
            result.dag_state = "success" if rc == 0 else f"failed (exit {rc})"
            result.dag_seconds = secs
            result.log_file = log_file
        else:
            result.dag_state = "not run"
        result = _collect(result, demo_settings, alert_dir)
        if after is not None:
            after(result, demo_settings)
        return result
    finally:
        if stream is not None:
            stop_process(stream)
        server.stop()
        if influx is not None:
            influx.stop()


def _mag(e: Event) -> str:
    return magnitude_text(e.magnitude, e.magnitude_type, lower_bound=e.magnitude_lower_bound)


def render(result: DemoResult) -> str:
    lines = []
    if result.stream_alert_s is not None:
        lines.append(f"streaming alert: CAP Alert {result.stream_alert_s:.1f} s after the origin "
                     "(seismo stream)")
    lines.append(f"DAG run: {result.dag_state} in {result.dag_seconds:.1f} s, done "
                 f"{result.dag_done_s or 0.0:.0f} s after the origin")
    if result.health:
        lines.append(f"station health: {result.health}")
    for v in sorted(result.versions, key=lambda e: (e.id, e.version)):
        made = "?" if v.creation_time is None else f"{float(v.creation_time - result.origin):.1f}"
        lines.append(
            f"  {v.id} v{v.version} ({'stream' if v.solution == 'stream' else 'DAG'}): "
            f"made {made} s after the origin, {_mag(v)}, {v.n_stations} stations, "
            f"{v.latitude:.3f} {v.longitude:.3f} {v.depth_km:.1f} km"
        )
    if not result.events:
        lines.append("no event in InfluxDB for the window (see the Airflow log)")
    for e in result.events:
        lines.append(
            f"event {e.id}: origin {e.time} lat {e.latitude:.3f} lon {e.longitude:.3f} "
            f"depth {e.depth_km:.1f} km  {_mag(e)}  ({e.n_stations} stations, "
            f"rms {e.rms_s:.2f} s, gap {e.azimuthal_gap_deg:.0f}°, "
            f"±{e.horizontal_uncertainty_km:.1f} km)"
        )
        lines.append(
            f"  true origin {result.origin} — origin-time error "
            f"{float(e.time - result.origin):+.2f} s"
        )
        top = sorted(e.station_intensities, key=lambda s: (-s.intensity_cn, -s.pga_ms2))[:5]
        if top:
            lines.append(
                f"  max observed intensity {intensity_text(e.max_intensity)} (GB/T 17742-2020), "
                f"{intensity_text(e.max_mmi, 'mmi')} (Worden et al. 2012); strongest stations:"
            )
            lines.extend(
                f"    {s.network}.{s.station:<6} {s.epi_distance_km:5.1f} km  "
                f"PGA {s.pga_ms2:8.4f} m/s²  PGV {s.pgv_ms:8.5f} m/s  "
                f"{intensity_text(s.intensity_cn)}  {intensity_text(s.mmi, 'mmi')}"
                for s in top
            )
        sites = sorted(e.site_intensities, key=lambda s: -s.intensity_cn)[:5]
        if sites:
            lines.append(
                "  predicted at sites: "
                + ", ".join(f"{s.name} {intensity_text(s.intensity_cn)}" for s in sites)
            )
    for f in result.alert_files:
        lines.append(f"alert file: {f}")
        lines.extend(f"    {x}" for x in _cap_summary(f))
    return "\n".join(lines)


def _cap_summary(path: Path) -> list[str]:
    """msgType/status and the headlines of a CAP file, for the console."""
    import xml.etree.ElementTree as ET

    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        return [f"(unreadable: {exc})"]
    out = [f"CAP 1.2 {root.findtext('cap:msgType', '', ns)} / "
           f"{root.findtext('cap:status', '', ns)} / {root.findtext('cap:scope', '', ns)}"]
    for info in root.findall("cap:info", ns):
        out.append(f"[{info.findtext('cap:language', '', ns)}] "
                   f"{info.findtext('cap:headline', '', ns)}")
    return out
