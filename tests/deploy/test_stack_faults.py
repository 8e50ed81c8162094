"""Faults of the production stack, on a real stack (PostgreSQL, Redis, Airflow with two
Celery workers, InfluxDB, seismo stream, the console) started by ``seismo stack up``.

Marked ``deploy``: about 15 minutes on 2 cores, so not part of the default run
(``scripts/stack_faults.sh`` runs them; docs/production.md). Each test prints its
timings; the whole set is written to ``<state>/../stack_faults.json`` at the end.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack_helpers import ROOT, Stack, wait_for

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

TIMINGS: dict[str, dict[str, float | str]] = {}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.fail("the stack tests run as root (PostgreSQL runs as the postgres user)")
    s = Stack.start()
    TIMINGS["up"] = dict(s.timings)
    try:
        yield s
    finally:
        t0 = time.monotonic()
        s.stop()
        TIMINGS["down"] = {"down_s": round(time.monotonic() - t0, 1)}
        out = ROOT / "var" / "stack_faults.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(TIMINGS, indent=1))


def _one_alert(stack: Stack, origin, since: float, timeout_s: float = 60.0):  # type: ignore[no-untyped-def]
    """Wait for the streaming Alert of the drill at ``origin``; (observed, its delay s)."""
    seen = wait_for(lambda: (lambda o: o if o.alerts else None)(stack.observe(origin, since)),
                    timeout_s, f"the streaming Alert of the earthquake at {origin}")
    return seen, seen.alerts[0].written - float(origin)


def test_kill_one_celery_worker_during_a_run(stack: Stack) -> None:
    since = time.time()
    origin = stack.drill(lead_s=20)

    def running_run() -> str | None:
        # a run started once the event's window is complete: it processes that window, or
        # (runs late under load: catchup is off) takes it up from the ledger
        rows = stack.sql(
            "SELECT r.run_id FROM dag_run r JOIN task_instance t ON t.dag_id = r.dag_id AND "
            "t.run_id = r.run_id WHERE r.dag_id='seismo_detect' AND t.task_id='pick' AND "
            "t.state='running' AND r.start_date > to_timestamp(%s)", float(origin) + 30)
        return rows[0][0] if rows else None

    run_id = wait_for(running_run, 300, "a running pick task after the event", every_s=0.5)
    victim = wait_for(stack.worker_with_task, 30, "a worker running a task", every_s=0.2)
    t_kill = time.time()
    stack.kill9(victim)
    state = wait_for(lambda: stack.run_state(run_id) in ("success", "failed") and
                     stack.run_state(run_id), 300, f"the end of {run_id}")
    t_end = time.time()
    tries = stack.sql("SELECT task_id, map_index, try_number, state FROM task_instance "
                      "WHERE dag_id='seismo_detect' AND run_id=%s ORDER BY task_id, map_index",
                      run_id)
    assert state == "success", tries
    assert any(t[2] >= 2 for t in tries if t[0] == "pick"), f"no pick task retried: {tries}"
    # the killed worker is back
    wait_for(lambda: stack.pid(victim) is not None, 60, f"{victim} restarted")
    seen = wait_for(lambda: (lambda o: o if o.dag is not None else None)(
        stack.observe(origin, since)), 120, "the DAG's version of the event")
    time.sleep(5)
    seen = stack.observe(origin, since)
    assert len(seen.alerts) == 1, [c.path.name for c in seen.caps]
    # stored once: no two versions of the event carry the same solution (a task that ran
    # twice would store its solution twice)
    from seismo.io.store import InfluxStore

    with InfluxStore.from_settings(stack.settings.store) as store:
        versions = store.query_event_versions(seen.event.id)  # type: ignore[union-attr]
    solutions = [(v.solution, str(v.time), v.latitude, v.longitude, v.depth_km, v.magnitude)
                 for v in versions if v.solution != "stream"]
    assert solutions and len(set(solutions)) == len(solutions), solutions
    TIMINGS["kill_worker"] = {
        "victim": victim, "kill_after_origin_s": round(t_kill - float(origin), 1),
        "run_end_after_kill_s": round(t_end - t_kill, 1),
        "tries": ";".join(f"{t[0]}[{t[1]}]={t[2]}" for t in tries)}
    print(TIMINGS["kill_worker"])


def test_scheduler_restart_resumes_and_the_ledger_catches_up(stack: Stack) -> None:
    outage_s = 150.0
    t0 = time.time()
    stack.hold("airflow-scheduler", outage_s)
    wait_for(lambda: stack.pid("airflow-scheduler") is None, 90, "the scheduler stopped")
    wait_for(lambda: stack.pid("airflow-scheduler") is not None, outage_s + 60,
             "the scheduler started again")
    t_start = time.time()

    def resumed() -> str | None:
        rows = stack.sql("SELECT run_id FROM dag_run WHERE dag_id='seismo_detect' AND "
                         "run_type='scheduled' AND state='success' AND "
                         "start_date > to_timestamp(%s) ORDER BY start_date", t_start)
        return rows[0][0] if rows else None

    first_run = wait_for(resumed, 180, "a scheduled run after the restart", every_s=2)
    t_run = time.time()
    # every window from before the outage to the restart is done, missed ones by later runs
    from obspy import UTCDateTime

    from seismo.shells.window_context import window_for_run

    cfg = stack.settings
    first = window_for_run(cfg, UTCDateTime(t0)).start
    last = window_for_run(cfg, UTCDateTime(t_start)).start
    expected = [(first + k * 60).strftime("%Y%m%dT%H%M%S")
                for k in range(int((last - first) // 60) + 1)]

    def gaps() -> list[str]:
        led = stack.ledger()
        return [w for w in expected if not led.get(w, {}).get("done")]

    wait_for(lambda: not gaps(), 240, f"every window of the outage done ({expected})",
             every_s=5)
    t_caught = time.time()
    led = stack.ledger()

    def own(run_id: str) -> str:
        t = UTCDateTime(run_id.removeprefix("scheduled__").removesuffix("+00:00"))
        return str(window_for_run(cfg, t).start.strftime("%Y%m%dT%H%M%S"))

    caught = [w for w in expected if all(own(r) != w for r in led[w]["runs"])]
    TIMINGS["scheduler_restart"] = {
        "outage_s": outage_s, "first_run_after_restart_s": round(t_run - t_start, 1),
        "ledger_caught_up_after_restart_s": round(t_caught - t_start, 1),
        "first_run": first_run, "windows": len(expected),
        "windows_planned_by_later_runs": len(caught)}
    assert caught, "no missed window was taken up by a later run"
    print(TIMINGS["scheduler_restart"])


@pytest.mark.parametrize("service", ["postgresql", "redis"])
def test_database_outage_recovers_and_the_stream_alerts_throughout(stack: Stack,
                                                                  service: str) -> None:
    outage_s = 30.0
    since = time.time()
    origin = stack.drill(lead_s=25)
    wait_for(lambda: time.time() >= float(origin) - 15, 30, "outage start", every_s=0.2)
    t_down = time.time()
    stack.hold(service, outage_s)
    wait_for(lambda: stack.pid(service) is None, 30, f"{service} stopped", every_s=0.2)
    seen, alert_s = _one_alert(stack, origin, since, timeout_s=40)
    t_alert = seen.alerts[0].written
    assert t_down <= t_alert <= t_down + outage_s, "the Alert did not come during the outage"
    wait_for(lambda: stack.pid(service) is not None, outage_s + 30, f"{service} back")
    t_up = time.time()
    wait_for(stack.healthy, 300, "every service healthy again", every_s=5)
    t_healthy = time.time()

    def run_after() -> bool:
        return bool(stack.sql("SELECT 1 FROM dag_run WHERE dag_id='seismo_detect' AND "
                              "state='success' AND start_date > to_timestamp(%s)", t_up))

    wait_for(run_after, 240, "a successful detection run after the outage", every_s=3)
    t_run = time.time()
    restarts = {n: stack.service(n)["restarts"] for n in
                ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                 "airflow-api-server", "celery-worker@1", "celery-worker@2", "stream")}
    time.sleep(5)
    assert len(stack.observe(origin, since).alerts) == 1
    TIMINGS[f"{service}_outage"] = {
        "outage_s": outage_s, "alert_after_origin_s": round(alert_s, 1),
        "alert_after_outage_start_s": round(t_alert - t_down, 1),
        "healthy_after_back_s": round(t_healthy - t_up, 1),
        "successful_run_after_back_s": round(t_run - t_up, 1),
        "restarts": json.dumps({k: v for k, v in restarts.items() if v})}
    print(TIMINGS[f"{service}_outage"])


def test_kill_stream_during_an_event_no_second_alert(stack: Stack) -> None:
    since = time.time()
    origin = stack.drill(lead_s=20)
    seen, alert_s = _one_alert(stack, origin, since, timeout_s=60)
    t_kill = time.time()
    old = stack.kill9("stream")
    new = wait_for(lambda: (stack.pid("stream") or old) != old and stack.pid("stream"), 60,
                   "the stream restarted", every_s=0.2)
    t_restart = time.time()
    from seismo.deploy.probes import stream_heartbeat

    os.environ["SEISMO_CONFIG"] = str(stack.layout.config)
    wait_for(lambda: stream_heartbeat()[0] and stack.cli("status").returncode == 0, 120,
             "the stream's heartbeat after the restart", every_s=2)
    t_beat = time.time()
    wait_for(lambda: time.time() > float(origin) + 90, 120, "the event's end", every_s=2)
    seen = stack.observe(origin, since)
    kinds = [c.msg_type for c in seen.caps]
    assert kinds.count("Alert") == 1, [c.path.name for c in seen.caps]
    TIMINGS["kill_stream"] = {
        "alert_after_origin_s": round(alert_s, 1),
        "kill_after_origin_s": round(t_kill - float(origin), 1),
        "restarted_after_s": round(t_restart - t_kill, 1),
        "heartbeat_after_s": round(t_beat - t_kill, 1), "new_pid": new,
        "messages": ",".join(kinds)}
    print(TIMINGS["kill_stream"])


def test_backup_and_restore(stack: Stack) -> None:
    from seismo.io.store.connection import connection_from_settings
    from seismo.io.store.writer import query

    t0 = time.monotonic()
    out = stack.cli("backup", "--name", "t1", timeout_s=300)
    assert out.returncode == 0, out.stdout + out.stderr
    t_backup = time.monotonic() - t0
    manifest = json.loads((stack.layout.backups / "t1" / "manifest.json").read_text())
    conn = connection_from_settings(stack.settings.store)
    # something written after the backup is gone after the restore
    from seismo.io.store.writer import V1Transport

    V1Transport(conn).write(["restore_probe,host=t value=1i"])
    assert query(conn, 'SELECT * FROM "restore_probe"')
    t1 = time.monotonic()
    out = stack.cli("restore", "--name", "t1", timeout_s=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    t_restore = time.monotonic() - t1
    assert not query(conn, 'SELECT * FROM "restore_probe"')
    for line in out.stdout.splitlines():
        if line.startswith("restore: done"):
            for k, v in manifest["counts"].items():
                assert f"{k} {v} (backup {v})" in line, line
            break
    else:
        raise AssertionError(out.stdout)
    TIMINGS["backup_restore"] = {"backup_s": round(t_backup, 1),
                                 "restore_and_healthy_s": round(t_restore, 1),
                                 "counts": json.dumps(manifest["counts"])}
    print(TIMINGS["backup_restore"])


def test_status_lists_every_service(stack: Stack) -> None:
    wait_for(stack.healthy, 180, "every service healthy", every_s=5)
    out = stack.cli("status", timeout_s=60)
    assert out.returncode == 0, out.stdout
    for name in ("postgresql", "redis", "airflow-scheduler", "celery-worker@1",
                 "celery-worker@2", "influxdb", "stream", "web"):
        line = next(x for x in out.stdout.splitlines() if x.startswith(name + " "))
        assert " OK " in line and str(Path(stack.layout.logs)) in line, line
