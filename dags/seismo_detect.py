"""Minute-by-minute detection: plan, station tasks mapped over groups, then events, store, alerts.

Wiring only; the task bodies are in :mod:`seismo.shells.airflow_tasks` (docs/airflow.md).
``[airflow] station_group_size`` = 1 maps one task per station; 0 makes as many
groups as ``[airflow] max_active_tasks`` (0: one per core) lets run at once.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from seismo.config import current_settings

_cfg = current_settings().airflow
_timeout = timedelta(seconds=_cfg.run_timeout_s)


@dag(
    dag_id="seismo_detect",
    schedule=_cfg.detect_schedule,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=_cfg.active_tasks(),
    dagrun_timeout=_timeout,
    default_args={
        "retries": _cfg.retries,
        "retry_delay": timedelta(seconds=_cfg.retry_delay_s),
        "execution_timeout": _timeout,
    },
    tags=["seismo", "detection"],
)
def seismo_detect() -> None:
    @task
    def plan() -> list:
        from seismo.shells.airflow_tasks import plan_detect, work_items

        ctx = get_current_context()
        return work_items(
            plan_detect(ctx.get("logical_date"), ctx["dag_run"].run_after, ctx["run_id"])
        )

    @task
    def pick(item: dict) -> dict:
        from seismo.shells.airflow_tasks import pick_group

        return pick_group(list(item["group"]), list(item["windows"]), item["deadline"])

    @task
    def events_store_alert(picked: list, items: list) -> dict:
        from seismo.shells.airflow_connection import store_connection
        from seismo.shells.airflow_tasks import finish_windows

        windows = list(items[0]["windows"]) if items else []
        return finish_windows(list(picked), windows, store_connection(current_settings()))

    items = plan()
    events_store_alert(pick.expand(item=items), items)


seismo_detect()
