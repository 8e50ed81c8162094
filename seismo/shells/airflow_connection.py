"""The Airflow Connection of the store, looked up for the DAG tasks.

Only ``dags/`` imports this module: it is the one place outside ``dags/`` that
touches Airflow (lazily, inside :func:`airflow_connection_fields`). The DAG task
resolves the connection here and passes it to its body in
:mod:`seismo.shells.airflow_tasks`, which, like the rest of the library, never
imports Airflow.

An Airflow Connection of type ``influxdb`` (``AIRFLOW_CONN_<ID>`` or the
metadata database) named by ``[store] airflow_conn_id`` overrides ``[store]``;
environment variables still override both (see :mod:`seismo.io.store.connection`).
"""

from __future__ import annotations

from typing import Any

from seismo.config import Settings
from seismo.errors import StoreError
from seismo.io.store.connection import InfluxConnection, connection_from_settings


def airflow_connection_fields(conn_id: str) -> dict[str, Any]:
    """The fields of the Airflow Connection ``conn_id``: host, port, schema, login,
    password, extra (the keywords of
    :func:`~seismo.io.store.connection.connection_from_airflow_fields`).

    Raises:
        StoreError: Airflow is not installed, or the connection cannot be found.
    """
    try:
        from airflow.sdk import Connection  # Airflow 3 task SDK
    except ImportError:
        raise StoreError(
            f"store.airflow_conn_id={conn_id!r} is set but Airflow is not installed"
        ) from None
    try:
        c = Connection.get(conn_id)
    except Exception as exc:  # Airflow raises its own types (AirflowNotFoundException, ...)
        raise StoreError(
            f"Airflow connection {conn_id!r} not found or unreadable ({type(exc).__name__})"
        ) from None
    return {"host": c.host, "port": c.port, "schema": c.schema, "login": c.login,
            "password": c.password, "extra": c.extra}


def store_connection(settings: Settings) -> InfluxConnection | None:
    """The store connection with ``store.airflow_conn_id`` applied; None when it is unset
    (the task body then builds the connection from ``[store]`` and the environment)."""
    conn_id = settings.store.airflow_conn_id
    if not conn_id:
        return None
    return connection_from_settings(settings.store,
                                    airflow_fields=airflow_connection_fields(conn_id))
