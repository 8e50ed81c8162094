"""The result store: InfluxDB writes (v1 or v2 API) through a write-ahead spool, and reads.

Public API::

    from seismo.io.store import InfluxStore
    store = InfluxStore.from_settings(settings.store)
    report = store.write_picks(picks)        # -> WriteReport(written, spooled, rejected)
    store.write_events(events); store.write_health(healths)
    store.write_station_results(results, window_end); store.write_alerts(records)
    store.flush_spool()
    store.query_events(since, until)         # -> list[Event], latest version per id
    store.close()

Reads: ``query_events``, ``query_picks``, ``query_health``, ``query_event_versions``,
``query_alert_records``, ``query_station_status`` and ``count``; every InfluxQL
statement is built in :mod:`seismo.io.store.queries`. Local servers for tests, the
demo and development (``InfluxServer``, ``VictoriaMetricsServer``, ``free_port``,
``ensure_local_influx``) live in :mod:`seismo.io.store.server`.

Schema: ``docs/influx_schema.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seismo.lazy import lazy_exports

if TYPE_CHECKING:
    from seismo.io.store.connection import (
        InfluxConnection,
        connection_from_airflow_fields,
        connection_from_settings,
    )
    from seismo.io.store.influx import InfluxStore, WriteReport
    from seismo.io.store.writer import StoreRejected, StoreUnavailable

__all__ = [
    "InfluxConnection",
    "InfluxStore",
    "StoreRejected",
    "StoreUnavailable",
    "WriteReport",
    "connection_from_airflow_fields",
    "connection_from_settings",
]

# Imported on first use: the package's settings module is read by the configuration
# loader without importing the pipeline code (seismo.lazy).
__getattr__ = lazy_exports(__name__, {
    "InfluxConnection": "seismo.io.store.connection",
    "InfluxStore": "seismo.io.store.influx",
    "StoreRejected": "seismo.io.store.writer",
    "StoreUnavailable": "seismo.io.store.writer",
    "WriteReport": "seismo.io.store.influx",
    "connection_from_airflow_fields": "seismo.io.store.connection",
    "connection_from_settings": "seismo.io.store.connection",
})
