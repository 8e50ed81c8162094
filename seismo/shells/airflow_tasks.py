"""Task bodies for the Airflow DAGs, free of Airflow imports.

The DAG files in ``dags/`` only wire these functions into tasks. Every input
and output is plain JSON-able data (XCom-safe), except ``store_connection``: the
store connection the DAG task resolved from an Airflow Connection
(:func:`seismo.shells.airflow_connection.store_connection`) and passes in
process, never through XCom; waveforms never leave
:func:`pick_station`. Nothing is kept between tasks except what they return,
so tasks run on any worker (LocalExecutor, Celery, Kubernetes).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from obspy import UTCDateTime

from seismo.config import Settings, current_settings
from seismo.errors import StoreError
from seismo.model import Event, station_result_from_dict
from seismo.shells.window import Context, Window, process_events, process_station, window_for_run

if TYPE_CHECKING:
    from seismo.io.store.connection import InfluxConnection

log = logging.getLogger(__name__)


settings = current_settings  # the DAG files read it from seismo.config directly


_contexts: dict[int, tuple[Settings, Context]] = {}


def context() -> Context:
    """Inventory, velocity model and sites of the current configuration (once per version)."""
    s = current_settings()  # the same object until the file changes
    hit = _contexts.get(id(s))
    if hit is None or hit[0] is not s:
        _contexts.clear()
        hit = _contexts[id(s)] = (s, Context.from_settings(s))
    return hit[1]


def run_time(logical_date: Any, run_after: Any) -> UTCDateTime:
    """The time a run stands for: its logical date, else ``run_after`` (manual runs, Airflow 3)."""
    t = logical_date if logical_date is not None else run_after
    if t is None:
        raise ValueError("neither logical_date nor run_after is set for this run")
    if isinstance(t, datetime) and t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: run times must be timezone-aware")
    return UTCDateTime(t)


# --------------------------------------------------------------------------- detection DAG
def plan_detect(logical_date: Any, run_after: Any) -> dict[str, Any]:
    """The window of this run and the stations to map over (from the inventory)."""
    ctx = context()
    w = window_for_run(ctx.settings, run_time(logical_date, run_after))
    log.info("detection window %s, %d stations", w, len(ctx.stations))
    return {"window": w.to_dict(), "stations": sorted(ctx.stations)}


def station_ids() -> list[str]:
    """The stations of the inventory (one mapped task each): adding one to stations/ adds a task."""
    return sorted(context().stations)


def pick_station(station_id: str, window: dict[str, Any]) -> dict[str, Any]:
    """Fetch, pick and measure one station; errors are returned, never raised."""
    res = process_station(context(), station_id, Window.from_dict(window))
    if res.error:
        log.warning("station %s: %s", station_id, res.error)
    return res.to_dict()


def build_events(results: list[dict[str, Any]], window: dict[str, Any]) -> list[dict[str, Any]]:
    """Associate, locate and characterise the window's events."""
    sres = [station_result_from_dict(r) for r in results]
    events = process_events(context(), sres, Window.from_dict(window))
    for e in events:
        log.info(
            "event %s %s lat %.3f lon %.3f depth %.1f ML %s I %s",
            e.id,
            e.time,
            e.latitude,
            e.longitude,
            e.depth_km,
            e.magnitude,
            e.max_intensity,
        )
    return [e.to_dict() for e in events]


def store_and_alert(
    results: list[dict[str, Any]],
    events: list[dict[str, Any]],
    window: dict[str, Any],
    store_connection: InfluxConnection | None = None,
) -> dict[str, Any]:
    """Queue and deliver alerts; write picks, station status and events.

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

    s = settings()
    end = run_time(logical_date, run_after)
    store = alerts = None
    if s.store.enabled:
        from seismo.io.store import InfluxStore

        store = InfluxStore.from_settings(s, store_connection)
    if s.alerts.enabled:
        from seismo.alerts.service import AlertService

        alerts = AlertService.from_settings(s)
    try:
        res = run_health(s, end=end, store=store, alerts=alerts)
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
