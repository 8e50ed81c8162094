"""The store's Airflow Connection, looked up by the DAG side (seismo.shells.airflow_connection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seismo.config import Settings
from seismo.errors import StoreError
from seismo.shells.airflow_connection import airflow_connection_fields, store_connection

pytestmark = pytest.mark.airflow


def _with_conn_id(settings: Settings, conn_id: str | None) -> Settings:
    store = settings.store.model_copy(update={"airflow_conn_id": conn_id})
    return settings.model_copy(update={"store": store})


def test_airflow_connection_overrides_config_and_env_overrides_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setenv("AIRFLOW_CONN_SEISMO_INFLUX_TEST", json.dumps({
        "conn_type": "influxdb", "host": "influx.example", "port": 8086, "schema": "http",
        "extra": {"token": "airflow-tok-123", "org": "sz", "bucket": "bk", "database": "sdb"},
    }))
    for name in ("SEISMO_INFLUX_URL", "SEISMO_INFLUX_DATABASE", "SEISMO_INFLUX_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    fields = airflow_connection_fields("seismo_influx_test")
    assert (fields["host"], fields["port"], fields["schema"]) == ("influx.example", 8086, "http")
    c = store_connection(_with_conn_id(settings, "seismo_influx_test"))
    assert c is not None
    assert (c.url, c.org, c.bucket, c.database, c.token) == (
        "http://influx.example:8086", "sz", "bk", "sdb", "airflow-tok-123")
    assert "airflow-tok-123" not in repr(c)
    monkeypatch.setenv("SEISMO_INFLUX_DATABASE", "from_env")
    c = store_connection(_with_conn_id(settings, "seismo_influx_test"))
    assert c is not None and (c.url, c.database) == ("http://influx.example:8086", "from_env")
    # no conn id: nothing to look up, the task body uses [store] and the environment
    assert store_connection(_with_conn_id(settings, None)) is None
    with pytest.raises(StoreError, match="not found") as err:
        store_connection(_with_conn_id(settings, "no_such_conn_xyz"))
    assert "airflow-tok-123" not in str(err.value)
