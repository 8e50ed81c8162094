"""Shared fixtures: the shipped configuration, inventory and a scratch config."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from seismo.config import DEFAULT_CONFIG, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent

# Airflow reads its configuration once, at first import: point it at a private,
# throw-away home (SQLite metadata, our dags/, no examples) before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="seismo-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shipped configuration (config/seismo.toml) as an installation of its own in a
    temporary directory: what tests write (alert record, audit CAP files, spool, state
    files, event waveforms, reports) never lands in the repository's ``var/``, and a
    second run starts from an empty alert record."""
    from seismo.config.tree import relocated

    return relocated(load_settings(DEFAULT_CONFIG), tmp_path_factory.mktemp("installation"))


@pytest.fixture(scope="session")
def inventory(settings: Settings):  # type: ignore[no-untyped-def]
    from seismo.inventory import load_inventory

    return load_inventory(settings.network.inventory)


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One influxd 1.x for the whole session (stopped at the end); each test uses its own
    database."""
    from seismo.io.store.server import InfluxServer, free_port

    srv = InfluxServer(tmp_path_factory.mktemp("influxd"), free_port())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
