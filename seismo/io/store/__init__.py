"""The result store: InfluxDB writes (v1 or v2 API) through a write-ahead spool, and reads.

Public API::

    from seismo.io.store import InfluxStore
    store = InfluxStore.from_settings(settings)
    report = store.write_picks(picks)        # -> WriteReport(written, spooled, rejected)
    store.write_events(events); store.write_health(healths)
    store.write_station_results(results, window_end); store.write_alerts(records)
    store.flush_spool()
    store.query_events(since, until)         # -> list[Event], latest version per id
    store.close()

Schema: ``docs/influx_schema.md``.
"""

from seismo.io.store.connection import (
    InfluxConnection,
    connection_from_airflow_fields,
    connection_from_settings,
    settings_from_airflow_connection,
)
from seismo.io.store.influx import InfluxStore, WriteReport
from seismo.io.store.server import (
    InfluxServer,
    VictoriaMetricsServer,
    ensure_local_influx,
    free_port,
)
from seismo.io.store.writer import StoreRejected, StoreUnavailable

__all__ = [
    "InfluxConnection",
    "InfluxServer",
    "InfluxStore",
    "StoreRejected",
    "StoreUnavailable",
    "VictoriaMetricsServer",
    "WriteReport",
    "connection_from_airflow_fields",
    "connection_from_settings",
    "ensure_local_influx",
    "free_port",
    "settings_from_airflow_connection",
]
