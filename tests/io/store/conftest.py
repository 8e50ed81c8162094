"""Fixtures for the store tests: isolated databases on the session's influxd
(``influx_server``, tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store.server import InfluxServer


@pytest.fixture
def store(influx_server: InfluxServer, tmp_path: Path) -> Iterator[InfluxStore]:
    """A store on a fresh database of the session server, with its own spool."""
    conn = InfluxConnection(url=influx_server.url, database=f"t_{uuid.uuid4().hex[:12]}")
    st = InfluxStore(conn, tmp_path / "spool", batch_size=50, retry_interval_s=0.0)
    yield st
    st.close()
