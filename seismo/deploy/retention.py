"""InfluxDB retention of the stack (InfluxDB 1.x retention policies and continuous queries).

What is kept, and for how long (design choice, docs/production.md):

- events, picks, magnitudes, intensities, alerts and station health: indefinitely
  (the database's default policy ``autogen``, infinite duration): they are the
  catalogue and its audit trail;
- ``station_status`` (one point per station and detection window) and
  ``stream_heartbeat`` (one point every ``[stream] heartbeat_s``): raw for 30 days
  (policy :data:`RAW_POLICY`; ``[store] retention_policies`` sends them there and
  reads them from there);
- an hourly copy of ``station_status`` kept indefinitely
  (``station_status_1h`` in ``autogen``, continuous query :data:`CQ_NAME`): windows
  received, samples, picks, windows with an error, fewest channels.

Every statement is idempotent (``CREATE ... IF NOT EXISTS`` semantics of 1.x: creating
an identical policy or query again is accepted; a changed duration is altered).
"""

from __future__ import annotations

import logging

from seismo.errors import StoreError
from seismo.io.store.connection import connection_from_settings
from seismo.io.store.points import STATION_STATUS, STREAM_HEARTBEAT
from seismo.io.store.queries import create_database, quote_ident
from seismo.io.store.settings import StoreConfig
from seismo.io.store.writer import query

log = logging.getLogger(__name__)

RAW_POLICY = "raw_30d"
RAW_DURATION = "30d"
#: Measurements kept raw for RAW_DURATION only.
RAW_MEASUREMENTS = (STATION_STATUS, STREAM_HEARTBEAT)
DOWNSAMPLED = f"{STATION_STATUS}_1h"
CQ_NAME = "cq_station_status_1h"


def retention_statements(database: str) -> list[str]:
    """The InfluxQL statements of the module docstring, in order."""
    db = quote_ident(database)
    raw = quote_ident(RAW_POLICY)
    select = (
        'SELECT count("samples") AS windows, sum("samples") AS samples, '
        'sum("n_picks") AS n_picks, count("error_message") AS error_windows, '
        'min("n_channels") AS min_channels '
        f"INTO {db}.\"autogen\".{quote_ident(DOWNSAMPLED)} "
        f"FROM {db}.{raw}.{quote_ident(STATION_STATUS)} GROUP BY time(1h), *"
    )
    return [
        create_database(database),
        f"CREATE RETENTION POLICY {raw} ON {db} DURATION {RAW_DURATION} REPLICATION 1",
        f"ALTER RETENTION POLICY {raw} ON {db} DURATION {RAW_DURATION}",
        f"CREATE CONTINUOUS QUERY {quote_ident(CQ_NAME)} ON {db} BEGIN {select} END",
    ]


def ensure_retention(store: StoreConfig) -> list[str]:
    """Create the database, the policy and the continuous query (module docstring);
    what was done. ``store.retention_policies`` should send :data:`RAW_MEASUREMENTS` to
    :data:`RAW_POLICY` (the stack's configuration does); a mismatch is logged."""
    conn = connection_from_settings(store)
    for st in retention_statements(store.database):
        try:
            query(conn, st, method="POST", db=None)
        except StoreError as exc:
            if "already exists" not in str(exc):  # the same name with another definition
                raise
    wrong = [m for m in RAW_MEASUREMENTS if store.retention_policies.get(m) != RAW_POLICY]
    if wrong:
        log.warning("[store] retention_policies does not send %s to %s: they stay in the "
                    "default policy (kept indefinitely)", ", ".join(wrong), RAW_POLICY)
    return [f"InfluxDB {store.database}: {RAW_POLICY} ({RAW_DURATION}) for "
            f"{', '.join(RAW_MEASUREMENTS)}; hourly {DOWNSAMPLED} kept indefinitely"]
