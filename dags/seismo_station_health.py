"""Station health every few minutes: metrics, status, InfluxDB, notices on change.

Wiring only; the task body is in :mod:`seismo.shells.airflow_tasks`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from seismo.config import current_settings

_cfg = current_settings().airflow


@dag(
    dag_id="seismo_station_health",
    schedule=_cfg.health_schedule,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": _cfg.retries, "retry_delay": timedelta(seconds=_cfg.retry_delay_s)},
    tags=["seismo", "health"],
)
def seismo_station_health() -> None:
    @task
    def check() -> dict:
        from seismo.shells.airflow_connection import store_connection
        from seismo.shells.airflow_tasks import station_health

        ctx = get_current_context()
        conn = store_connection(current_settings())
        return station_health(ctx.get("logical_date"), ctx["dag_run"].run_after, conn)

    check()


seismo_station_health()
