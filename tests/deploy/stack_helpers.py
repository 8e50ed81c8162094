"""A whole stack for the fault tests: started on free loopback ports in its own state
directory with ``seismo stack up``, stopped with ``down``, and the helpers to look at it
(PostgreSQL rows, service PIDs, drills, CAP files)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obspy import UTCDateTime

from seismo.config import Settings, load_settings
from seismo.deploy.check import Observed, observe
from seismo.deploy.feed import write_drill
from seismo.deploy.layout import DEFAULT_PORTS, Layout, read_env
from seismo.deploy.stack import load_status
from seismo.io.store.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str, every_s: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(every_s)


@dataclass
class Stack:
    layout: Layout
    env: dict[str, str] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls) -> Stack:
        state = Path(tempfile.mkdtemp(prefix="seismo-stack-"))
        os.chmod(state, 0o755)  # PostgreSQL (user postgres) reaches its directory
        stack = cls(Layout(root=ROOT, state=state))
        t0 = time.monotonic()
        out = stack.cli("up", timeout_s=900)
        stack.timings["up_s"] = round(time.monotonic() - t0, 1)
        assert out.returncode == 0, out.stdout[-3000:]
        stack.env = read_env(stack.layout.env_file)
        return stack

    def process_env(self) -> dict[str, str]:
        ports = {f"SEISMO_STACK_{k}": str(free_port()) for k in DEFAULT_PORTS}
        return {**os.environ, **ports, "SEISMO_STACK_STATE": str(self.layout.state)}

    def cli(self, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        env = self.process_env() if not self.layout.env_file.exists() else {
            **os.environ, "SEISMO_STACK_STATE": str(self.layout.state)}
        return subprocess.run([sys.executable, "-m", "seismo.cli.main", "stack", *args],
                              env=env, capture_output=True, text=True, timeout=timeout_s,
                              cwd=ROOT)

    def stop(self) -> None:
        out = self.cli("down", timeout_s=400)
        assert out.returncode == 0, out.stdout[-2000:]
        shutil.rmtree(self.layout.state, ignore_errors=True)

    # ------------------------------------------------------------------ looking
    @property
    def settings(self) -> Settings:
        return load_settings(self.layout.config)

    def sql(self, q: str, *args: Any) -> list[tuple[Any, ...]]:
        import psycopg2

        with psycopg2.connect(host="127.0.0.1", port=int(self.env["SEISMO_PG_PORT"]),
                              user="airflow", password=self.env["SEISMO_PG_PASSWORD"],
                              dbname="airflow", connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute(q, args)
            return list(cur.fetchall())

    def service(self, name: str) -> dict[str, Any]:
        svc: dict[str, Any] = load_status(self.layout)["services"][f"seismo-{name}"]
        return svc

    def pid(self, name: str) -> int | None:
        pid: int | None = self.service(name).get("pid")
        return pid

    def healthy(self) -> bool:
        return self.cli("status", timeout_s=60).returncode == 0

    def kill9(self, name: str) -> int:
        """SIGKILL the service's whole process group (a crash); its PID."""
        pid = self.pid(name)
        assert pid is not None, f"{name} is not running"
        os.killpg(pid, signal.SIGKILL)
        return pid

    def hold(self, name: str, seconds: float) -> None:
        out = self.cli("hold", name, str(seconds), timeout_s=60)
        assert out.returncode == 0, out.stdout + out.stderr

    # ------------------------------------------------------------------ drills
    def drill(self, lead_s: float) -> UTCDateTime:
        """Schedule the configured scenario's earthquake ``lead_s`` from now; its origin."""
        origin = UTCDateTime(round(time.time() + lead_s, 2))
        write_drill(self.layout.drills, self.settings.simulator.scenario or "", origin)
        return origin

    def observe(self, origin: UTCDateTime, since: float) -> Observed:
        seen = Observed()
        observe(self.settings, self.layout, origin, since, seen)
        return seen

    def run_state(self, run_id: str) -> str | None:
        rows = self.sql("SELECT state FROM dag_run WHERE dag_id='seismo_detect' AND run_id=%s",
                        run_id)
        return rows[0][0] if rows else None

    def worker_with_task(self) -> str | None:
        """The Celery worker whose process group runs a task (more processes than its
        pool), or None."""
        conc = int(self.env["SEISMO_WORKER_CONCURRENCY"])
        for name in ("celery-worker@1", "celery-worker@2"):
            pid = self.pid(name)
            if pid is None:
                continue
            members = [p for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == pid]
            if len(members) > 1 + conc:
                return name
        return None

    def ledger(self) -> dict[str, dict[str, Any]]:
        """Window start -> {"done": bool, "runs": [run ids that planned it]}."""
        out = {}
        root = self.settings.airflow.ledger_dir
        for d in sorted(root.iterdir()) if root.is_dir() else []:
            try:
                planned = json.loads((d / "planned.json").read_text())
            except (OSError, ValueError):
                continue
            out[d.name] = {"done": (d / "done.json").exists(),
                           "runs": [r["run"] for r in planned.get("runs", [])]}
        return out


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
