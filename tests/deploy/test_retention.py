"""InfluxDB retention of the stack on a real influxd 1.6: policies, continuous query, and
the store writing and reading station status through ``[store] retention_policies``."""

from __future__ import annotations

import uuid

import pytest
from obspy import UTCDateTime

from seismo.deploy.retention import CQ_NAME, DOWNSAMPLED, RAW_POLICY, ensure_retention
from seismo.io.store import InfluxStore
from seismo.io.store.connection import connection_from_settings
from seismo.io.store.settings import StoreConfig
from seismo.io.store.writer import query

pytestmark = [pytest.mark.influx]


def test_policies_cq_and_routed_writes(influx_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = f"ret_{uuid.uuid4().hex[:8]}"
    st = StoreConfig(url=influx_server.url, database=db, spool_dir=tmp_path / "spool",
                     retention_policies={"station_status": RAW_POLICY,
                                         "stream_heartbeat": RAW_POLICY})
    ensure_retention(st)
    ensure_retention(st)  # idempotent
    conn = connection_from_settings(st)
    rps = {r["name"]: r for r in query(conn, f'SHOW RETENTION POLICIES ON "{db}"')}
    assert rps[RAW_POLICY]["duration"] == "720h0m0s" and not rps[RAW_POLICY]["default"]
    assert rps["autogen"]["default"] and rps["autogen"]["duration"] == "0s"
    cqs = [r for r in query(conn, "SHOW CONTINUOUS QUERIES") if r.get("name") == CQ_NAME]
    assert cqs and DOWNSAMPLED in cqs[0]["query"]

    now = UTCDateTime()
    with InfluxStore.from_settings(st) as store:
        assert store.write_heartbeat("h1", now, uptime_s=1.0).ok
        # read back through the same store: from the raw policy
        assert store.last_heartbeat(now - 60) is not None
    raw = query(conn, f'SELECT * FROM "{RAW_POLICY}"."stream_heartbeat"')
    default = query(conn, 'SELECT * FROM "autogen"."stream_heartbeat"')
    assert len(raw) == 1 and not default
    # a store without the mapping reads the default policy: nothing there
    plain = StoreConfig(url=influx_server.url, database=db, spool_dir=tmp_path / "spool2")
    with InfluxStore.from_settings(plain) as store:
        assert store.last_heartbeat(now - 60) is None
