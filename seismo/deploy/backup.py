"""``seismo stack backup|restore``: Airflow's metadata database and InfluxDB.

A backup is a directory ``<state>/backups/<name>/`` with

- ``airflow.dump``: ``pg_dump --format=custom`` of the ``airflow`` database (DAG runs,
  task instances, connections, variables: what the scheduler needs to go on);
- ``influxdb/``: ``influxd backup -portable -database <db>`` over the RPC port
  (InfluxDB 1.5+ portable format: shards, retention policies and metadata of the
  database; 1.6 supports it, ``-online`` is the older legacy format);
- ``manifest.json``: when, what, and row counts taken at backup time.

Both are taken while the stack runs (``pg_dump`` reads one consistent snapshot; the
InfluxDB backup copies closed and snapshotted shards).

``restore`` holds (stops) every service that writes to either database (the Airflow
services, the Celery workers, the stream and the console; :func:`seismo.deploy.stack.hold`),
restores the database with ``pg_restore --clean --if-exists`` and InfluxDB after
``DROP DATABASE`` with ``influxd restore -portable``, re-creates the retention
policies and continuous query (:mod:`seismo.deploy.retention`), and releases the
holds. The stream's state file, the outbox and the window ledger are files under
the state directory, outside these two databases: back them up with the
filesystem (docs/production.md).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from seismo.config import load_settings
from seismo.deploy.layout import Layout
from seismo.deploy.provision import PG_BIN, ProvisionError, _run
from seismo.deploy.retention import ensure_retention
from seismo.deploy.stack import (
    Echo,
    StackError,
    hold,
    load_status,
    stack_env,
    supervisor_pid,
    wait_healthy,
)
from seismo.io.store.connection import connection_from_settings
from seismo.io.store.queries import quote_ident
from seismo.io.store.writer import query

#: Services stopped while a backup is restored (they write to PostgreSQL or InfluxDB).
WRITERS = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
           "airflow-triggerer", "celery-worker@", "stream", "web")
#: Longest restore (s): the holds expire after it even if the restore dies.
HOLD_S = 900.0


def _pg_env(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PGPASSWORD": env["SEISMO_PG_PASSWORD"]}


def _pg_args(env: dict[str, str]) -> list[str]:
    return ["-h", "127.0.0.1", "-p", env["SEISMO_PG_PORT"], "-U", "airflow", "-d", "airflow"]


def _counts(layout: Layout, env: dict[str, str]) -> dict[str, int]:
    """Rows in a few tables of both databases (the manifest; the restore test)."""
    out: dict[str, int] = {}
    for table in ("dag_run", "task_instance"):
        text = _run([str(PG_BIN / "psql"), *_pg_args(env), "-tAc",
                     f"SELECT count(*) FROM {table}"], "psql", env=_pg_env(env))
        out[f"postgres.{table}"] = int(text.strip() or 0)
    s = load_settings(layout.config)
    with_store = connection_from_settings(s.store)
    for m in ("events", "picks"):
        rows = query(with_store, f"SELECT count(*) FROM {quote_ident(m)}")
        out[f"influxdb.{m}"] = max((int(v) for r in rows for k, v in r.items()
                                    if k.startswith("count") and v is not None), default=0)
    return out


def backup(layout: Layout, echo: Echo, name: str | None = None) -> int:
    env = stack_env(layout)
    if supervisor_pid(layout) is None:
        raise StackError("the stack is not running (backup reads the running servers)")
    name = name or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    d = layout.backups / name
    if d.exists():
        raise StackError(f"backup {d} exists already")
    d.mkdir(parents=True)
    s = load_settings(layout.config)
    t0 = time.monotonic()
    _run([str(PG_BIN / "pg_dump"), *_pg_args(env), "--format=custom", "-f",
          str(d / "airflow.dump")], "pg_dump", env=_pg_env(env))
    t1 = time.monotonic()
    _run(["influxd", "backup", "-portable", "-database", s.store.database, "-host",
          f"127.0.0.1:{env['SEISMO_INFLUX_RPC_PORT']}", str(d / "influxdb")], "influxd backup")
    t2 = time.monotonic()
    counts = _counts(layout, env)
    manifest = {"name": name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "postgres": "airflow.dump", "influxdb": "influxdb", "database":
                s.store.database, "counts": counts,
                "seconds": {"pg_dump": round(t1 - t0, 1), "influxd": round(t2 - t1, 1)}}
    (d / "manifest.json").write_text(json.dumps(manifest, indent=1))
    echo(f"backup {d}: pg_dump {t1 - t0:.1f} s, influxd backup {t2 - t1:.1f} s; " +
         ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _newest(layout: Layout) -> Path:
    found = sorted(p.parent for p in layout.backups.glob("*/manifest.json"))
    if not found:
        raise StackError(f"no backup in {layout.backups}")
    return found[-1]


def _writers(layout: Layout, env: dict[str, str]) -> list[str]:
    return [n for n in env["SEISMO_STACK_SERVICES"].split()
            if n.removeprefix("seismo-").startswith(WRITERS)]


def _wait_stopped(layout: Layout, names: list[str], timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        services = load_status(layout).get("services", {})
        if all(services.get(n, {}).get("pid") is None for n in names):
            return
        time.sleep(1.0)
    raise StackError("services still running after the hold: " + ", ".join(names))


def restore(layout: Layout, echo: Echo, name: str | None = None) -> int:
    env = stack_env(layout)
    if supervisor_pid(layout) is None:
        raise StackError("the stack is not running (restore writes to the running servers)")
    d = layout.backups / name if name else _newest(layout)
    manifest = json.loads((d / "manifest.json").read_text())
    s = load_settings(layout.config)
    writers = _writers(layout, env)
    echo(f"restore {d}: stopping {', '.join(w.removeprefix('seismo-') for w in writers)}")
    for w in writers:
        hold(layout, w, HOLD_S)
    try:
        _wait_stopped(layout, writers)
        _run([str(PG_BIN / "pg_restore"), *_pg_args(env), "--clean", "--if-exists",
              "--no-owner", "--single-transaction", str(d / manifest["postgres"])],
             "pg_restore", env=_pg_env(env))
        conn = connection_from_settings(s.store)
        query(conn, f"DROP DATABASE {quote_ident(manifest['database'])}", method="POST",
              db=None)
        _run(["influxd", "restore", "-portable", "-db", manifest["database"], "-host",
              f"127.0.0.1:{env['SEISMO_INFLUX_RPC_PORT']}", str(d / manifest["influxdb"])],
             "influxd restore")
        ensure_retention(s.store)
        counts = _counts(layout, env)
    except ProvisionError:
        echo("restore: FAILED; the services stay stopped until the holds expire or "
             "`seismo stack hold SERVICE 0` releases them")
        raise
    for w in writers:
        hold(layout, w, 0)
    echo("restore: done; " + ", ".join(f"{k} {v} (backup {manifest['counts'].get(k)})"
                                         for k, v in counts.items()))
    return wait_healthy(layout, echo, 300.0)
