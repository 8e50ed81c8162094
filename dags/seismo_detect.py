"""Minute-by-minute detection: one mapped task per station, then events, store and alerts.

Wiring only; the task bodies are in :mod:`seismo.shells.airflow_tasks`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from seismo.config import current_settings

_cfg = current_settings().airflow


@dag(
    dag_id="seismo_detect",
    schedule=_cfg.detect_schedule,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(seconds=_cfg.run_timeout_s),
    default_args={"retries": _cfg.retries, "retry_delay": timedelta(seconds=_cfg.retry_delay_s)},
    tags=["seismo", "detection"],
)
def seismo_detect() -> None:
    @task
    def plan() -> dict:
        from seismo.shells.airflow_tasks import plan_detect

        ctx = get_current_context()
        return plan_detect(ctx.get("logical_date"), ctx["dag_run"].run_after)["window"]

    @task
    def stations() -> list:
        from seismo.shells.airflow_tasks import station_ids

        return station_ids()

    @task
    def pick(station_id: str, window: dict) -> dict:
        from seismo.shells.airflow_tasks import pick_station

        return pick_station(station_id, window)

    @task
    def events(results: list, window: dict) -> list:
        from seismo.shells.airflow_tasks import build_events

        return build_events(list(results), window)

    @task
    def store_and_alert(results: list, evs: list, window: dict) -> dict:
        from seismo.shells.airflow_connection import store_connection
        from seismo.shells.airflow_tasks import store_and_alert as run

        return run(list(results), evs, window, store_connection(current_settings()))

    window = plan()
    picked = pick.partial(window=window).expand(station_id=stations())
    evs = events(picked, window)
    store_and_alert(picked, evs, window)


seismo_detect()
