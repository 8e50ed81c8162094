"""Provisioning: what must exist before the services run. Every step is idempotent.

Before the supervisor starts (``up``, as root): the PostgreSQL cluster (``initdb``
as ``postgres``), the Redis and InfluxDB configuration files, the stack's
configuration overlay (:func:`prepare`).

Once PostgreSQL, Redis and InfluxDB answer (the one-shot ``seismo-provision``
unit, ``seismo stack provision``): the ``airflow`` role and database, ``airflow db
migrate``, the Airflow UI's admin password file, the InfluxDB database with its
retention policies and continuous queries (:mod:`seismo.deploy.retention`), and
the console's admin user (:func:`provision`). Generated passwords go to files of
mode 0600 under ``/etc/seismo`` and are never printed.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from seismo.deploy.layout import Layout, stack_config_text
from seismo.durable import write_atomic
from seismo.errors import SeismoError
from seismo.io.store.server import InfluxServer

log = logging.getLogger(__name__)

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class ProvisionError(SeismoError):
    """A provisioning step failed (the message names it)."""


def _run(argv: list[str], what: str, *, env: dict[str, str] | None = None,
         user: str | None = None, stdin: str | None = None) -> str:
    """Run a command (as ``user`` through runuser when given); its output, or
    ProvisionError with the tail of it."""
    if user is not None and os.geteuid() == 0:
        argv = ["runuser", "-u", user, "--", *argv]
    proc = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True,
                          cwd="/", check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])
        raise ProvisionError(f"{what} failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def _private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode())
    os.chmod(path, 0o600)


# --------------------------------------------------------------------------- before start
def redis_conf(layout: Layout, env: dict[str, str]) -> str:
    d = layout.state / "redis"
    return (
        "# written by `scripts/stack.sh up` (seismo.deploy.provision); the password is the\n"
        "# one of stack.env\n"
        f"bind 127.0.0.1\nport {env['SEISMO_REDIS_PORT']}\nprotected-mode yes\n"
        f"requirepass {env['SEISMO_REDIS_PASSWORD']}\n"
        f"dir {d}\nappendonly yes\nappendfsync everysec\nsave 300 10\n"
        "daemonize no\nsupervised no\nloglevel notice\nlogfile \"\"\n"
    )


def prepare(layout: Layout, env: dict[str, str]) -> list[str]:
    """Directories, configuration files and the PostgreSQL cluster; what was created."""
    done: list[str] = []
    for d in (layout.state, layout.logs, layout.run, layout.holds, layout.alerts,
              layout.drills, layout.backups):
        d.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.state, 0o755)  # PostgreSQL (another user) reaches its directories
    layout.config.write_text(stack_config_text(layout, env), encoding="utf-8")
    _private(layout.state / "redis" / "redis.conf", redis_conf(layout, env))
    influx = InfluxServer(layout.state / "influxdb", int(env["SEISMO_INFLUX_PORT"]),
                          rpc_port=int(env["SEISMO_INFLUX_RPC_PORT"]))
    influx.write_config()
    pg = layout.state / "postgresql"
    sock = layout.run / "postgresql"
    sock.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(sock, "postgres", "postgres")
    if not (pg / "PG_VERSION").exists():
        pg.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(pg, "postgres", "postgres")
        os.chmod(pg, 0o700)
        _run([str(PG_BIN / "initdb"), "-D", str(pg), "-U", "postgres", "-E", "UTF8",
              "--auth-local=peer", "--auth-host=scram-sha-256"], "initdb", user="postgres")
        done.append(f"PostgreSQL cluster in {pg}")
    if not layout.airflow_password_file.exists():
        _private(layout.airflow_password_file, json.dumps({"admin": secrets.token_urlsafe(18)}))
        done.append("Airflow admin password")
    return done


# --------------------------------------------------------------------------- once servers run
def _psql(layout: Layout, env: dict[str, str], sql: str, db: str = "postgres") -> str:
    return _run([str(PG_BIN / "psql"), "-h", str(layout.run / "postgresql"), "-p",
                 env["SEISMO_PG_PORT"], "-d", db, "-v", "ON_ERROR_STOP=1", "-tAq"],
                "psql", user="postgres", stdin=sql)


def postgres_database(layout: Layout, env: dict[str, str]) -> None:
    """The ``airflow`` role (password of stack.env) and its database."""
    pw = env["SEISMO_PG_PASSWORD"].replace("'", "''")
    _psql(layout, env, (
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'airflow') THEN "
        f"CREATE ROLE airflow LOGIN PASSWORD '{pw}'; ELSE "
        f"ALTER ROLE airflow LOGIN PASSWORD '{pw}'; END IF; END $$;\n"))
    if _psql(layout, env, "SELECT 1 FROM pg_database WHERE datname = 'airflow';").strip() != "1":
        _psql(layout, env, "CREATE DATABASE airflow OWNER airflow ENCODING 'UTF8';")
        log.info("PostgreSQL: database airflow created")


def airflow_migrate(layout: Layout, env: dict[str, str]) -> None:
    """``airflow db migrate`` (creates or upgrades the metadata schema)."""
    airflow = str(layout.root / ".venv" / "bin" / "airflow")
    _run([airflow if Path(airflow).exists() else "airflow", "db", "migrate"],
         "airflow db migrate", env=env)


def web_admin(layout: Layout) -> bool:
    """The console's ``admin`` user with a generated password (in web-admin.password) when
    the user database has no admin yet; True when created."""
    from seismo.config import load_settings
    from seismo.web.users import UserStore

    users = UserStore(load_settings(layout.config).web.users_db)
    if any(u.role == "admin" for u in users.users()):
        return False
    password = secrets.token_urlsafe(18)
    _private(layout.web_password_file, f"admin {password}\n")
    users.add("admin", "admin", password)
    return True


def provision(layout: Layout, env: dict[str, str]) -> list[str]:
    """The steps once the servers answer (module docstring); what was done."""
    from seismo.config import load_settings
    from seismo.deploy.retention import ensure_retention

    postgres_database(layout, env)
    airflow_migrate(layout, env)
    out = ["PostgreSQL role and database airflow", "airflow db migrate"]
    out += ensure_retention(load_settings(layout.config).store)
    if web_admin(layout):
        out.append(f"console user admin (password in {layout.web_password_file})")
    return out
