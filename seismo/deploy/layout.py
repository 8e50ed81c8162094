"""Where the stack keeps its files, its environment file and its configuration overlay.

The unit files in ``deploy/`` name three places, as a package installation would:

=====================  ==============================  ==========================
unit files             meaning                         here (``scripts/stack.sh``)
=====================  ==============================  ==========================
``/opt/seismo``        the installation (clone, venv)  the clone
``/etc/seismo``        configuration and secrets       ``var/stack/etc``
``/var/lib/seismo``    data, logs, run files           ``var/stack``
=====================  ==============================  ==========================

:meth:`Layout.map_path` turns the first column into the third, so the supervisor
runs the units' own command lines.

The **environment file** (``stack.env``, mode 0600) is the one place of every port,
URL and secret of the stack: the units read it (``EnvironmentFile=``), so do the
supervisor and every ``seismo stack`` command. It is generated at the first ``up``
(:func:`ensure_env`; ports may be given then as ``SEISMO_STACK_<NAME>`` variables)
and never rewritten afterwards; its secrets are never printed. The stack's
configuration (``seismo.toml`` there) is an overlay on ``config/seismo.toml``
(``base = ...``): only the store, the feeds, the alert files and the state
directories differ (:func:`stack_config_text`).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from seismo.config import PROJECT_ROOT
from seismo.durable import write_atomic
from seismo.errors import ConfigError

#: Unit-file prefix -> attribute of :class:`Layout` (longest first).
UNIT_PREFIXES = (("/var/lib/seismo", "state"), ("/etc/seismo", "etc"), ("/opt/seismo", "root"))

#: The services of a stack, in the order they start (their ``After=`` agrees).
DEFAULT_SERVICES = (
    "seismo-postgresql", "seismo-redis", "seismo-influxdb", "seismo-drill-feed",
    "seismo-provision", "seismo-airflow-api-server", "seismo-airflow-scheduler",
    "seismo-airflow-dag-processor", "seismo-airflow-triggerer", "seismo-celery-worker@1",
    "seismo-celery-worker@2", "seismo-stream", "seismo-web",
)

#: Default loopback ports: below Linux's ephemeral range (32768-60999), where the tests'
#: ``free_port`` never lands, and apart from the demo's 18086/18000/8089.
DEFAULT_PORTS = {
    "PG_PORT": 15432, "REDIS_PORT": 16379, "INFLUX_PORT": 18186, "INFLUX_RPC_PORT": 18188,
    "FEED_PORT": 18100, "WEB_PORT": 18089, "API_PORT": 18080, "TRIGGER_LOG_PORT": 18790,
    **{f"WORKER_LOG_PORT_{i}": 18790 + i for i in range(1, 10)},
}

#: Keys of the environment file whose values are secrets (never printed).
SECRET_KEYS = re.compile(r"PASSWORD|SECRET|FERNET|_CONN$|BROKER_URL|RESULT_BACKEND|TOKEN")


@dataclass(frozen=True)
class Layout:
    """The stack's directories (module docstring)."""

    root: Path = PROJECT_ROOT
    state: Path = PROJECT_ROOT / "var" / "stack"

    @classmethod
    def from_env(cls) -> Layout:
        """The clone's layout; ``SEISMO_STACK_STATE`` moves the state directory (tests)."""
        state = os.environ.get("SEISMO_STACK_STATE")
        return cls(state=Path(state).resolve()) if state else cls()

    @property
    def etc(self) -> Path:
        return self.state / "etc"

    @property
    def env_file(self) -> Path:
        return self.etc / "stack.env"

    @property
    def config(self) -> Path:
        return self.etc / "seismo.toml"

    @property
    def units(self) -> Path:
        return self.root / "deploy"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def status_file(self) -> Path:
        return self.run / "supervisor.json"

    @property
    def pid_file(self) -> Path:
        return self.run / "supervisor.pid"

    @property
    def holds(self) -> Path:
        return self.run / "hold"

    @property
    def alerts(self) -> Path:
        return self.state / "alerts"

    @property
    def drills(self) -> Path:
        return self.state / "drills"

    @property
    def backups(self) -> Path:
        return self.state / "backups"

    @property
    def web_password_file(self) -> Path:
        return self.etc / "web-admin.password"

    @property
    def airflow_password_file(self) -> Path:
        return self.etc / "airflow-passwords.json"

    def map_path(self, text: str) -> str:
        """``text`` with the unit files' prefixes replaced by this layout's directories."""
        for prefix, attr in UNIT_PREFIXES:
            text = re.sub(re.escape(prefix) + r"(?=/|\b|$)", str(getattr(self, attr)), text)
        return text


def read_env(path: Path) -> dict[str, str]:
    """An environment file as systemd reads it: ``KEY=VALUE`` lines, ``#`` comments,
    values optionally in double or single quotes.

    Raises:
        ConfigError: a line that is not ``KEY=VALUE`` (naming the file and line).
    """
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{path}:{n}: not KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key] = value
    return out


def _port(name: str) -> int:
    raw = os.environ.get(f"SEISMO_STACK_{name}")
    if raw is None:
        return DEFAULT_PORTS[name]
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise ConfigError(f"SEISMO_STACK_{name}={raw!r}: not a port number 1024-65535")
    return int(raw)


def stream_parts() -> int:
    """``SEISMO_STACK_STREAM_PARTS`` at the first ``up``: 0 (default) runs ``seismo stream``
    as one process; N (1-16) runs N picker parts and one associator joined by the
    stack's Redis (docs/streaming.md, "Split"; docs/production.md)."""
    raw = os.environ.get("SEISMO_STACK_STREAM_PARTS", "0")
    if not raw.isdigit() or not 0 <= int(raw) <= 16:
        raise ConfigError(f"SEISMO_STACK_STREAM_PARTS={raw!r}: 0 (one process) or 1-16 "
                          "picker parts")
    return int(raw)


def _fernet_key() -> str:
    """A Fernet key (32 random bytes, URL-safe base64): Airflow encrypts connections with it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def env_text(layout: Layout) -> str:
    """A new environment file: loopback ports, URLs and freshly generated secrets."""
    p = {k: _port(k) for k in DEFAULT_PORTS}
    pg_pw, redis_pw = secrets.token_hex(24), secrets.token_hex(24)
    db = f"airflow:{pg_pw}@127.0.0.1:{p['PG_PORT']}/airflow"
    api = f"http://127.0.0.1:{p['API_PORT']}"
    workers = os.environ.get("SEISMO_STACK_WORKERS", "2")
    if not workers.isdigit() or not 1 <= int(workers) <= 9:
        raise ConfigError(f"SEISMO_STACK_WORKERS={workers!r}: 1-9 Celery workers")
    services = [s for s in DEFAULT_SERVICES if not s.startswith("seismo-celery-worker@")]
    at = services.index("seismo-stream")
    services[at:at] = [f"seismo-celery-worker@{i}" for i in range(1, int(workers) + 1)]
    parts = stream_parts()
    if parts:  # the split stream: N picker parts and the associator instead of one process
        at = services.index("seismo-stream")
        services[at:at + 1] = [*(f"seismo-stream-pickers@{i}" for i in range(1, parts + 1)),
                               "seismo-stream-associator"]
    values: dict[str, object] = {
        "SEISMO_STACK_SERVICES": " ".join(services),
        "SEISMO_CONFIG": str(layout.config),
        # the configuration the stack's overlay applies to (another network: its file)
        "SEISMO_STACK_BASE_CONFIG": os.environ.get(
            "SEISMO_STACK_BASE_CONFIG", str(layout.root / "config" / "seismo.toml")),
        "SEISMO_STACK_STATE": str(layout.state),
        "SEISMO_PG_PORT": p["PG_PORT"],
        "SEISMO_PG_PASSWORD": pg_pw,
        "SEISMO_REDIS_PORT": p["REDIS_PORT"],
        "SEISMO_REDIS_PASSWORD": redis_pw,
        "SEISMO_INFLUX_PORT": p["INFLUX_PORT"],
        "SEISMO_INFLUX_RPC_PORT": p["INFLUX_RPC_PORT"],
        "SEISMO_FEED_PORT": p["FEED_PORT"],
        "SEISMO_WEB_PORT": p["WEB_PORT"],
        "SEISMO_WEB_SECRET": secrets.token_hex(32),
        "SEISMO_WORKER_CONCURRENCY": os.environ.get("SEISMO_STACK_WORKER_CONCURRENCY", "2"),
        "SEISMO_STREAM_PARTS": parts,
        **{f"SEISMO_WORKER_LOG_PORT_{i}": p[f"WORKER_LOG_PORT_{i}"]
           for i in range(1, int(workers) + 1)},
        "PYTHONUNBUFFERED": "1",
        "AIRFLOW_HOME": str(layout.state / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(layout.root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(layout.airflow_password_file),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:{redis_pw}@127.0.0.1:{p['REDIS_PORT']}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{db}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": p["API_PORT"],
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": p["TRIGGER_LOG_PORT"],
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # a task whose worker died is failed (and retried) after this long without a
        # heartbeat, inside the one-minute cadence (Airflow's default: 300 s)
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    }
    head = (
        "# seismo production stack: every port, URL and secret (docs/production.md).\n"
        f"# Generated by `scripts/stack.sh up` on {socket.gethostname()}; mode 0600; read by\n"
        "# the systemd units (EnvironmentFile=) and by seismo's supervisor. Keep it private.\n"
    )
    return head + "".join(f"{k}={v}\n" for k, v in values.items())


def ensure_env(layout: Layout) -> tuple[dict[str, str], bool]:
    """The environment file, created (mode 0600) when missing; returns it and whether it
    was created now."""
    created = False
    if not layout.env_file.exists():
        layout.etc.mkdir(parents=True, exist_ok=True)
        os.chmod(layout.etc, 0o750)
        write_atomic(layout.env_file, env_text(layout).encode(), new=True)
        created = True
    os.chmod(layout.env_file, 0o600)
    return read_env(layout.env_file), created


def stack_config_text(layout: Layout, env: dict[str, str]) -> str:
    """The stack's configuration: an overlay on ``config/seismo.toml`` (module docstring)."""
    s = layout.state
    feed = f"seedlink://127.0.0.1:{env['SEISMO_FEED_PORT']}"
    return f"""# The stack's configuration: config/seismo.toml with the stack's store, feeds,
# alert files and state directories (written by `scripts/stack.sh up`; edit the base
# file, SEISMO_STACK_BASE_CONFIG of the environment file, for everything else).
base = "{env.get('SEISMO_STACK_BASE_CONFIG', layout.root / 'config' / 'seismo.toml')}"

[feeds]
default = "{feed}"

[stream]
feed = "{feed}"
state_file = "{s / 'stream' / 'state.json'}"
event_archive_dir = "{s / 'event_waveforms'}"

[stream.broker]  # the split stream (SEISMO_STREAM_PARTS > 0): Redis database 1, apart
# from Celery's database 0; the password is SEISMO_REDIS_PASSWORD of stack.env
url = "redis://127.0.0.1:{env['SEISMO_REDIS_PORT']}/1"

[store]
url = "http://127.0.0.1:{env['SEISMO_INFLUX_PORT']}"
spool_dir = "{s / 'spool'}"
server_data_dir = "{s / 'influxdb'}"

[store.retention_policies]  # seismo.deploy.retention
station_status = "raw_30d"
stream_heartbeat = "raw_30d"

[alerts]
outbox_dir = "{s / 'outbox'}"

[alerts.channels.audit]
kind = "directory"
path = "{layout.alerts}"

[airflow]
ledger_dir = "{s / 'ledger'}"
# Celery: a task whose worker died is retried once the scheduler misses its heartbeat
# (AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT, 20 s) plus retry_delay_s; the run
# must outlive that to complete; a run longer than the interval delays the next one,
# whose window ledger takes up what was missed (docs/production.md, faults)
run_timeout_s = 80.0

[pipeline]
cache_dir = "{s / 'cache'}"

[health]
state_file = "{s / 'health.json'}"

[report]
dir = "{s / 'reports'}"

[web]
port = {env['SEISMO_WEB_PORT']}
users_db = "{s / 'web' / 'users.sqlite'}"
"""


def secret_free(env: dict[str, str]) -> dict[str, str]:
    """``env`` without its secrets (for messages and status)."""
    return {k: v for k, v in env.items() if not SECRET_KEYS.search(k)}
