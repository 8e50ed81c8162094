"""Fixtures for the store tests: a real influxd for the session, isolated databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store.server import InfluxServer, free_port


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """One influxd 1.x for the whole session (stopped at the end)."""
    srv = InfluxServer(tmp_path_factory.mktemp("influxd"), free_port())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def store(influx_server: InfluxServer, tmp_path: Path) -> Iterator[InfluxStore]:
    """A store on a fresh database of the session server, with its own spool."""
    conn = InfluxConnection(url=influx_server.url, database=f"t_{uuid.uuid4().hex[:12]}")
    st = InfluxStore(conn, tmp_path / "spool", batch_size=50, retry_interval_s=0.0)
    yield st
    st.close()
