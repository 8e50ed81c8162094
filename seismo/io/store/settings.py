"""Settings of the result store, ``[store]`` (InfluxDB; docs/influx_schema.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from seismo.config.base import DelayS, StrictModel, TimeoutS

__all__ = ["StoreConfig"]


class StoreConfig(StrictModel):
    enabled: bool = True
    url: str = "http://127.0.0.1:18086"
    api: Literal["auto", "v1", "v2"] = "auto"
    database: str = "seismo"
    bucket: str = "seismo"
    org: str = "seismo"
    username: str | None = None
    password_env: str = "SEISMO_INFLUX_PASSWORD"
    token_env: str = "SEISMO_INFLUX_TOKEN"
    timeout_s: TimeoutS = 10.0
    batch_size: Annotated[int, Field(gt=0, le=100_000)] = 5000
    spool_dir: Path = Path("../var/spool")
    airflow_conn_id: str | None = Field(
        None, description="Airflow Connection (influxdb type) supplying url/token under Airflow"
    )
    server_data_dir: Path = Path("../var/influxdb")
    retry_interval_s: DelayS = Field(
        30.0, description="After a failed write, seconds during which writes only spool"
    )
    retention_policies: dict[
        str, Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    ] = Field(
        default_factory=dict,
        description="measurement -> the InfluxDB 1.x retention policy its points are written "
        "to and read from (e.g. station_status = \"raw_30d\"); unnamed measurements use the "
        "database's default policy (docs/production.md, retention)",
    )

