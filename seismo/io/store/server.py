"""Local database servers as subprocesses: InfluxDB 1.x (``influxd``) and VictoriaMetrics.

For development, the demo and tests: no systemd, no root. Each server gets its
own data directory and binds loopback ports only.

    with InfluxServer(tmp_path / "influx", http_port=free_port()) as srv:
        srv.url  # "http://127.0.0.1:PORT"
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from seismo.errors import StoreError
from seismo.io.store.connection import connection_from_settings
from seismo.io.store.settings import StoreConfig

log = logging.getLogger(__name__)

INFLUXD = "/usr/bin/influxd"
VICTORIA_METRICS = "/usr/bin/victoria-metrics"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


class _Subprocess:
    """Start/stop/wait-ready logic shared by both servers."""

    name = "server"
    ready_path = "/ping"
    ready_status = 204

    def __init__(self, data_dir: Path, http_port: int, bind_host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir)
        self.http_port = int(http_port)
        self.bind_host = bind_host
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.bind_host}:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _log_tail(self, n: int = 15) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-n:])

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server and wait until it answers; raise StoreError on failure."""
        if self.is_running():
            return
        if _http_status(self.url + self.ready_path, 0.5) is not None:
            raise StoreError(f"{self.name}: something already answers on {self.url}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = self._command()
        if not Path(cmd[0]).exists() and shutil.which(cmd[0]) is None:
            raise StoreError(f"{self.name}: executable {cmd[0]} not found")
        logf = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                cwd=self.data_dir,
            )
        finally:
            logf.close()
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StoreError(f"{self.name} exited with code {self.proc.returncode} at start "
                                 f"(log {self.log_path}: {self._log_tail()})")
            if _http_status(self.url + self.ready_path, 0.5) == self.ready_status:
                log.info("%s started on %s (pid %d, data %s)", self.name, self.url,
                         self.proc.pid, self.data_dir)
                return
            time.sleep(0.05)
        self.stop()
        raise StoreError(f"{self.name} did not answer {self.ready_path} on {self.url} within "
                         f"{timeout_s} s (log {self.log_path}: {self._log_tail()})")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL."""
        proc, self.proc = self.proc, None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.info("%s on %s stopped", self.name, self.url)

    def kill(self) -> None:
        """SIGKILL without a clean shutdown (outage simulation)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class InfluxServer(_Subprocess):
    """Debian's ``influxd`` 1.x with a generated config (meta/data/wal under ``data_dir``).

    The RPC (backup/restore) ``bind-address`` is ``rpc_port`` (default: a free loopback
    port); the HTTP API listens on ``bind_host:http_port``. Reporting, query/HTTP logs and the
    ``_internal`` monitor database are off.
    """

    name = "influxd"
    ready_path = "/ping"
    ready_status = 204

    def __init__(
        self, data_dir: Path, http_port: int, bind_host: str = "127.0.0.1",
        executable: str = INFLUXD, rpc_port: int | None = None,
    ) -> None:
        super().__init__(data_dir, http_port, bind_host)
        self.executable = executable
        self.fixed_rpc_port = rpc_port
        self.rpc_port: int | None = rpc_port

    @property
    def config_path(self) -> Path:
        return self.data_dir / "influxdb.conf"

    def write_config(self) -> Path:
        """Write the influxd config file; return its path."""
        self.rpc_port = self.fixed_rpc_port or free_port(self.bind_host)
        d = self.data_dir.resolve()
        text = f"""# generated by seismo.io.store.server.InfluxServer
reporting-disabled = true
bind-address = "{self.bind_host}:{self.rpc_port}"

[meta]
  dir = "{d / 'meta'}"
  logging-enabled = false

[data]
  dir = "{d / 'data'}"
  wal-dir = "{d / 'wal'}"
  query-log-enabled = false
  wal-fsync-delay = "0s"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{self.bind_host}:{self.http_port}"
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  log-enabled = false
"""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(text)
        return self.config_path

    def _command(self) -> list[str]:
        return [self.executable, "-config", str(self.write_config())]


class VictoriaMetricsServer(_Subprocess):
    """Debian's ``victoria-metrics`` (accepts ``/api/v2/write``; numeric fields only)."""

    name = "victoria-metrics"
    ready_path = "/health"
    ready_status = 200

    def __init__(
        self, data_dir: Path, http_port: int, bind_host: str = "127.0.0.1",
        executable: str = VICTORIA_METRICS,
    ) -> None:
        super().__init__(data_dir, http_port, bind_host)
        self.executable = executable

    def _command(self) -> list[str]:
        return [
            self.executable,
            f"-storageDataPath={self.data_dir.resolve() / 'storage'}",
            f"-httpListenAddr={self.bind_host}:{self.http_port}",
            "-loggerLevel=ERROR",
            "-retentionPeriod=100y",  # accept old timestamps (backfills, fixed test times)
        ]

    def force_flush(self) -> None:
        """Make recently written samples searchable (``/internal/force_flush``)."""
        _http_status(self.url + "/internal/force_flush", 5.0)


def ensure_local_influx(st: StoreConfig) -> InfluxServer | None:
    """Start ``influxd`` for the configured URL when it is loopback and nothing answers.

    Data lives in ``st.server_data_dir`` (``[store]``). Returns the started server
    (the caller stops it) or None when the URL is remote or a server already
    answers /ping.
    """

    conn = connection_from_settings(st)
    if not conn.is_loopback:
        return None
    if _http_status(conn.base_url + "/ping", 1.0) is not None:
        return None
    host = urlsplit(conn.url).hostname or "127.0.0.1"
    host = "127.0.0.1" if host == "localhost" else host
    server = InfluxServer(st.server_data_dir, conn.port, bind_host=host)
    server.start()
    return server
