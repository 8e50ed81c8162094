"""Task bodies for the Airflow DAGs, free of Airflow imports.

The DAG files in ``dags/`` only wire these functions into tasks. Every input
and output is plain JSON-able data (XCom-safe), except ``store_connection``: the
store connection the DAG task resolved from an Airflow Connection
(:func:`seismo.shells.airflow_connection.store_connection`) and passes in
process, never through XCom; waveforms never leave :func:`pick_group`.

The detection run (docs/airflow.md): :func:`plan_detect` chooses the windows
(its own, then missed ones) and the station groups; one :func:`pick_group` task
per group; :func:`finish_windows` (:func:`detect_events`, then
:func:`store_windows`). What a run could not
finish is in the window ledger (:mod:`seismo.shells.ledger`, ``[airflow]
ledger_dir``, a directory every task of the deployment reaches, like the spool
and the outbox) and is taken up by the next run.

Each task imports only what it needs: planning, events and storing do not load
the station processing (SciPy's signal module, numba, the feeds).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from obspy import UTCDateTime

from seismo.config import Settings, current_settings
from seismo.errors import StoreError
from seismo.model import Event, StationResult, station_result_from_dict
from seismo.shells.ledger import WindowLedger
from seismo.shells.window_context import Context, Window, window_for_run
from seismo.shells.window_events import process_events
from seismo.shells.window_stations import fetch_stations, process_station, report_station_responses

if TYPE_CHECKING:
    from seismo.io.store.connection import InfluxConnection

log = logging.getLogger(__name__)


settings = current_settings  # the DAG files read it from seismo.config directly

#: Stations a station task reads at once (their network waits overlap); between two
#: batches it checks the run's time budget.
FETCH_BATCH = 4


_contexts: dict[int, tuple[Settings, Context]] = {}


def context() -> Context:
    """Inventory, velocity model and sites of the current configuration (once per version).

    Responses are not all evaluated here (that costs ~2 s for 80 channels in every
    task process): each station task checks its own stations
    (:func:`seismo.shells.window_stations.report_station_responses`).
    """
    s = current_settings()  # the same object until the file changes
    hit = _contexts.get(id(s))
    if hit is None or hit[0] is not s:
        _contexts.clear()
        hit = _contexts[id(s)] = (s, Context.from_settings(s, check_responses=False))
    return hit[1]


def run_time(logical_date: Any, run_after: Any) -> UTCDateTime:
    """The time a run stands for: its logical date, else ``run_after`` (manual runs, Airflow 3)."""
    t = logical_date if logical_date is not None else run_after
    if t is None:
        raise ValueError("neither logical_date nor run_after is set for this run")
    if isinstance(t, datetime) and t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: run times must be timezone-aware")
    return UTCDateTime(t)


def station_groups(s: Settings, station_ids: list[str]) -> list[list[str]]:
    """The stations split for the mapped station tasks (``[airflow] station_group_size``;
    0: as many groups as tasks may run at once)."""
    n = len(station_ids)
    size = s.airflow.station_group_size or max(1, math.ceil(n / s.airflow.active_tasks()))
    return [station_ids[i : i + size] for i in range(0, n, size)]


def _timing(t0: float) -> dict[str, float]:
    """Wall-clock start and end of a task body (epoch s), for the run's time budget."""
    return {"body_start": t0, "body_end": time.time()}


# --------------------------------------------------------------------------- detection DAG
def plan_detect(logical_date: Any, run_after: Any, run_id: str = "") -> dict[str, Any]:
    """The windows of this run (its own, then missed ones: :mod:`seismo.shells.ledger`),
    the station groups to map over, and the time after which no station is started.

    Returns ``{"windows": [window dicts], "groups": [[NET.STA, ...]], "deadline": epoch s,
    "dropped": [spans given up], "backlog": windows left for later runs}``.
    """
    t0 = time.time()
    ctx = context()
    s = ctx.settings
    current = window_for_run(s, run_time(logical_date, run_after))
    plan = WindowLedger.from_settings(s).plan(current, run_id)
    groups = station_groups(s, sorted(ctx.stations))
    log.info("run %s: windows %s, %d stations in %d group(s)", run_id,
             ", ".join(str(w) for w in plan.windows), len(ctx.stations), len(groups))
    return {
        "windows": [w.to_dict() for w in plan.windows],
        "groups": groups,
        "deadline": t0 + s.airflow.run_timeout_s - s.airflow.finish_margin_s,
        "dropped": plan.dropped,
        "backlog": plan.backlog,
    }


def work_items(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One item per station task: its group, the run's windows and the deadline (what
    the DAG maps over; every item carries the windows, so the later tasks read them
    from the first)."""
    return [
        {"group": g, "windows": plan["windows"], "deadline": plan["deadline"]}
        for g in plan["groups"]
    ]


def station_ids() -> list[str]:
    """The stations of the inventory: adding one to stations/ adds it to the runs."""
    return sorted(context().stations)


def pick_station(station_id: str, window: dict[str, Any]) -> dict[str, Any]:
    """Fetch, pick and measure one station; errors are returned, never raised."""
    res = process_station(context(), station_id, Window.from_dict(window))
    if res.error:
        log.warning("station %s: %s", station_id, res.error)
    return res.to_dict()


def pick_group(group: list[str], windows: list[dict[str, Any]], deadline: float) -> dict[str, Any]:
    """Fetch, pick and measure ``group``'s stations for each window of the run.

    A station result kept from an earlier run (:mod:`seismo.shells.ledger`) is used
    as it is; each new one is kept as soon as it is known. After ``deadline``
    (epoch s) no station is started: the rest is deferred to the next run.

    Returns ``{"results": {window start: [StationResult dicts]}, "deferred": {window
    start: [NET.STA]}, "timing": ...}``.
    """
    t0 = time.time()
    ctx = context()
    report_station_responses(ctx, group)
    ledger = WindowLedger.from_settings(ctx.settings)
    results: dict[str, list[dict[str, Any]]] = {}
    deferred: dict[str, list[str]] = {}
    spent = {"setup_s": time.time() - t0, "fetch_s": 0.0, "process_s": 0.0}
    for wd in windows:
        w = Window.from_dict(wd)
        kept = ledger.stations(w)
        todo = [sid for sid in group if sid not in kept]
        for sid in group:
            if sid in kept:
                results.setdefault(wd["start"], []).append(kept[sid].to_dict())
        # read a few stations at once (network waits overlap), then process them
        for i in range(0, len(todo), FETCH_BATCH):
            batch = todo[i : i + FETCH_BATCH]
            if time.time() > deadline:
                deferred.setdefault(wd["start"], []).extend(todo[i:])
                break
            t1 = time.time()
            streams = fetch_stations(ctx, batch, w, max_workers=FETCH_BATCH)
            t2 = time.time()
            for sid in batch:
                res = process_station(ctx, sid, w, stream=streams[sid])
                ledger.save_station(w, res)
                if res.error:
                    log.warning("station %s %s: %s", sid, w, res.error)
                results.setdefault(wd["start"], []).append(res.to_dict())
            spent["fetch_s"] += t2 - t1
            spent["process_s"] += time.time() - t2
    for start, sids in deferred.items():
        log.warning("window %s: %d station(s) deferred to the next run (time budget): %s",
                    start, len(sids), ", ".join(sids))
    return {"results": results, "deferred": deferred, "timing": {**_timing(t0), **spent}}


def _window_results(
    ctx: Context, picked: list[dict[str, Any]], window: Window
) -> tuple[list[StationResult], list[str]]:
    """Every station's result for ``window`` (this run's, else kept by an earlier one)
    and the stations still without one."""
    start = window.to_dict()["start"]
    got = {
        r.station_id: r
        for out in picked
        for r in map(station_result_from_dict, out.get("results", {}).get(start, []))
    }
    for sid, r in WindowLedger.from_settings(ctx.settings).stations(window).items():
        got.setdefault(sid, r)
    missing = sorted(set(ctx.stations) - set(got))
    return [got[sid] for sid in sorted(got)], missing


def detect_events(picked: list[dict[str, Any]], windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Associate, locate and characterise the events of every window whose stations are
    all done; the others wait for a later run.

    Returns ``{"windows": {window start: {"complete": bool, "events": [Event dicts],
    "missing": [NET.STA]}}, "timing": ...}``.
    """
    t0 = time.time()
    ctx = context()
    out: dict[str, Any] = {}
    for wd in windows:
        w = Window.from_dict(wd)
        results, missing = _window_results(ctx, picked, w)
        if missing:
            log.warning("window %s: %d station(s) not done yet (%s): events wait for a later "
                        "run", w, len(missing), ", ".join(missing[:8]))
            out[wd["start"]] = {"complete": False, "events": [], "missing": missing}
            continue
        ctx.prepare_tables()
        events = process_events(ctx, results, w)
        for e in events:
            log.info("event %s %s lat %.3f lon %.3f depth %.1f ML %s I %s", e.id, e.time,
                     e.latitude, e.longitude, e.depth_km, e.magnitude, e.max_intensity)
        out[wd["start"]] = {"complete": True, "events": [e.to_dict() for e in events],
                            "missing": []}
    return {"windows": out, "timing": _timing(t0)}


def finish_windows(
    picked: list[dict[str, Any]],
    windows: list[dict[str, Any]],
    store_connection: InfluxConnection | None = None,
) -> dict[str, Any]:
    """The run's last task: :func:`detect_events`, then :func:`store_windows` (one task
    start-up less on the way to the alert than two tasks would cost)."""
    detected = detect_events(picked, windows)
    stored = store_windows(picked, detected, windows, store_connection)
    return {
        "windows": {k: {**detected["windows"][k], **v} for k, v in stored["windows"].items()},
        "timing": {"body_start": detected["timing"]["body_start"],
                   "body_end": stored["timing"]["body_end"]},
    }


def build_events(results: list[dict[str, Any]], window: dict[str, Any]) -> list[dict[str, Any]]:
    """Associate, locate and characterise one window's events from its station results."""
    ctx = context()
    ctx.prepare_tables()
    sres = [station_result_from_dict(r) for r in results]
    return [e.to_dict() for e in process_events(ctx, sres, Window.from_dict(window))]


def store_and_alert(
    results: list[dict[str, Any]],
    events: list[dict[str, Any]],
    window: dict[str, Any],
    store_connection: InfluxConnection | None = None,
) -> dict[str, Any]:
    """Queue and deliver alerts; write picks, station status and events (one window).

    ``store_connection`` (from the Airflow Connection) replaces the one of the settings.

    Raises:
        StoreError: after the alerts were processed, when points could not be
            stored (spool unusable and server unreachable): the task fails, so
            the failure is seen, and Airflow's retry stores them (alerts are
            idempotent: the retry queues nothing twice).
    """
    from seismo.shells.publish import Runner

    sres = [station_result_from_dict(r) for r in results]
    evs = [Event.from_dict(e) for e in events]
    with Runner.from_settings(settings(), connection=store_connection) as runner:
        rep = runner.handle_parts(Window.from_dict(window), sres, evs)
    if rep.station_errors:
        log.warning("stations with errors: %s", rep.station_errors)
    if rep.store_error:
        raise StoreError(
            f"window {window['start']}: alerts processed ({rep.alerts_queued} queued, "
            f"{rep.alerts_delivered} delivered) but storing failed: {rep.store_error}"
        )
    return rep.to_dict()


def store_windows(
    picked: list[dict[str, Any]],
    detected: dict[str, Any],
    windows: list[dict[str, Any]],
    store_connection: InfluxConnection | None = None,
) -> dict[str, Any]:
    """Store and alert every complete window of the run, oldest first, and mark it done
    (:mod:`seismo.shells.ledger`); an incomplete one stays pending for a later run.

    Raises:
        StoreError: after every window was handled and its alerts processed, when a
            window's points could not be stored; that window is not marked done, so
            Airflow's retry (or the next run) stores it again.
    """
    from seismo.shells.publish import Runner

    t0 = time.time()
    ctx = context()
    ledger = WindowLedger.from_settings(ctx.settings)
    reports: dict[str, Any] = {}
    failed: list[str] = []
    todo = sorted(windows, key=lambda wd: UTCDateTime(wd["start"]))
    with Runner.from_settings(ctx.settings, connection=store_connection) as runner:
        for wd in todo:
            found = detected["windows"].get(wd["start"], {})
            if not found.get("complete"):
                reports[wd["start"]] = {"stored": False, "missing": found.get("missing", [])}
                continue
            w = Window.from_dict(wd)
            results, _ = _window_results(ctx, picked, w)
            evs = [Event.from_dict(e) for e in found["events"]]
            rep = runner.handle_parts(w, results, evs)
            if rep.store_error:
                failed.append(f"window {w}: {rep.store_error}")
            else:
                ledger.complete(w, rep.to_dict())
            reports[wd["start"]] = {"stored": not rep.store_error, **rep.to_dict()}
    if failed:
        raise StoreError("alerts processed but storing failed: " + "; ".join(failed))
    return {"windows": reports, "timing": _timing(t0)}


# --------------------------------------------------------------------------- health DAG
def station_health(
    logical_date: Any, run_after: Any, store_connection: InfluxConnection | None = None
) -> dict[str, Any]:
    """Assess every station over the health window ending at the run time; store; notify.

    The result names the stations that are down (no data in the window) and
    every failing station with its reasons. ``store_connection`` (from the
    Airflow Connection) replaces the one of the settings.
    """
    from collections import Counter

    from seismo.health import run_health
    from seismo.health.stream import check_stream

    s = settings()
    end = run_time(logical_date, run_after)
    store = alerts = None
    if s.store.enabled:
        from seismo.io.store import InfluxStore

        store = InfluxStore.from_settings(s.store, store_connection)
    if s.alerts.enabled:
        from seismo.shells.publish import alert_service

        alerts = alert_service(s, store=store)
    try:
        res = run_health(s, end=end, store=store, alerts=alerts)
        stream = check_stream(
            store, alerts, end, monitored=s.stream.monitored,
            down_after_s=s.stream.heartbeat_down_s, notify_group=s.health.notify_group,
        )
        delivered = alerts.deliver_due().delivered if alerts is not None else 0
    finally:
        if store is not None:
            store.close()
    summaries = res.run.summaries()
    statuses = Counter(h.status for h in summaries)
    failing = {f"{h.network}.{h.station}": "; ".join(h.reasons)
               for h in summaries if h.status == "FAIL"}
    down = sorted(f"{h.network}.{h.station}" for h in summaries
                  if h.metrics.get("outage", 0.0) >= 1.0)
    if down:
        log.error("stations down (no data in the %s s health window): %s",
                  s.health.window_s, ", ".join(down))
    return {
        "end": str(end),
        "status": dict(statuses),
        "down": down,
        "failing": failing,
        "changes": [str(c) for c in res.changes],
        "notice_sent": res.notice_sent,
        "notices_delivered": delivered,
        "errors": res.errors,
        "stream": stream.to_dict(),
    }


# --------------------------------------------------------------------------- daily report DAG
def daily_report(
    logical_date: Any, run_after: Any, store_connection: InfluxConnection | None = None
) -> dict[str, Any]:
    """Write the daily bulletin of the day before the run time.

    ``store_connection`` (from the Airflow Connection) replaces the one of the settings.
    """
    from seismo.shells.report import write_bulletin

    s = settings()
    day = (run_time(logical_date, run_after) - 86400).date
    paths = write_bulletin(s, day, connection=store_connection)  # into [report] dir
    return {"date": str(day), "files": [str(p) for p in paths]}
