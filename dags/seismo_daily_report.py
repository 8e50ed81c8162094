"""Daily bulletin of the previous UTC day (HTML, QuakeML, PNGs).

Wiring only; the task body is in :mod:`seismo.shells.airflow_tasks`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from seismo.config import current_settings

_cfg = current_settings().airflow


@dag(
    dag_id="seismo_daily_report",
    schedule=_cfg.report_schedule,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": _cfg.retries, "retry_delay": timedelta(seconds=_cfg.retry_delay_s)},
    tags=["seismo", "report"],
)
def seismo_daily_report() -> None:
    @task
    def bulletin() -> dict:
        from seismo.shells.airflow_connection import store_connection
        from seismo.shells.airflow_tasks import daily_report

        ctx = get_current_context()
        conn = store_connection(current_settings())
        return daily_report(ctx.get("logical_date"), ctx["dag_run"].run_after, conn)

    bulletin()


seismo_daily_report()
