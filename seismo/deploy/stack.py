"""``seismo stack up|status|down|hold|backup|restore`` (``scripts/stack.sh``).

``up`` prepares what must exist before the servers (:func:`seismo.deploy.provision.prepare`),
starts the supervisor in the background (``seismo stack supervise``) and waits until
every service is healthy. It is idempotent: while the supervisor runs, a second ``up``
changes nothing and reports the status. ``down`` asks the supervisor to stop every
service (SIGTERM) and waits for it; the data stay under ``var/stack``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seismo.deploy.layout import Layout, ensure_env, read_env
from seismo.deploy.probes import probe
from seismo.deploy.provision import prepare
from seismo.errors import SeismoError

log = logging.getLogger(__name__)

Echo = Callable[[str], None]

#: How long ``up`` waits for every service to be healthy (s): a first start migrates
#: Airflow's schema (~1 min on this class of machine) before its services start.
UP_TIMEOUT_S = 420.0
#: How long ``down`` waits for the supervisor (s): workers finish their tasks.
DOWN_TIMEOUT_S = 240.0


class StackError(SeismoError):
    """The stack is not in the state a command needs (the message says which)."""


def supervisor_pid(layout: Layout) -> int | None:
    """The running supervisor's PID, or None (a stale PID file is ignored)."""
    try:
        pid = int(layout.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, ValueError):
        return None
    return pid if b"stack" in cmdline and b"supervise" in cmdline else None


def load_status(layout: Layout) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(layout.status_file.read_text())
    except (OSError, ValueError):
        return {}
    return data


def stack_env(layout: Layout) -> dict[str, str]:
    """The environment file (StackError before the first ``up``)."""
    if not layout.env_file.exists():
        raise StackError(f"no stack here: {layout.env_file} does not exist (run `up` first)")
    return read_env(layout.env_file)


@dataclass
class Health:
    name: str
    pid: int | None
    state: str
    ok: bool
    detail: str
    log: str
    restarts: int


def health(layout: Layout) -> list[Health]:
    """Every service of the stack: supervisor state and its health probe (in parallel)."""
    env = {**os.environ, **stack_env(layout)}
    services = load_status(layout).get("services", {}) if supervisor_pid(layout) else {}
    os.environ["SEISMO_CONFIG"] = env["SEISMO_CONFIG"]  # the heartbeat probe's settings

    def one(name: str) -> Health:
        st = services.get(name, {})
        state = st.get("state", "stopped")
        if state == "done":
            ok, detail = True, "done (one-shot)"
        elif st.get("pid") is None:
            ok, detail = False, "not running"
        else:
            ok, detail = probe(st.get("health", ""), env)
        return Health(name.removeprefix("seismo-"), st.get("pid"), state, ok, detail,
                      st.get("log", str(layout.logs / f"{name.removeprefix('seismo-')}.log")),
                      int(st.get("restarts", 0)))

    names = env["SEISMO_STACK_SERVICES"].split()
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, names))


def render_health(rows: list[Health]) -> str:
    from seismo.text import table

    return table(
        ["service", "pid", "state", "restarts", "health", "log"],
        [(h.name, h.pid or "-", h.state, h.restarts, ("OK " if h.ok else "FAIL ") + h.detail,
          h.log) for h in rows],
    )


def up(layout: Layout, echo: Echo, timeout_s: float = UP_TIMEOUT_S) -> int:
    """Start the stack (module docstring); 0 when every service is healthy."""
    env, created = ensure_env(layout)
    if created:
        echo(f"stack: environment file {layout.env_file} created (mode 0600; secrets generated, "
             "not shown)")
    pid = supervisor_pid(layout)
    if pid is not None:
        echo(f"stack: already running (supervisor pid {pid}); nothing changed")
    else:
        for what in prepare(layout, env):
            echo(f"stack: created {what}")
        logf = layout.logs / "supervisor.log"
        with logf.open("ab") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "seismo.cli.main", "stack", "supervise"],
                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=str(layout.root),
                env={**os.environ, "SEISMO_STACK_STATE": str(layout.state)},
            )
        echo(f"stack: supervisor started (pid {proc.pid}, log {logf})")
    return wait_healthy(layout, echo, timeout_s)


def wait_healthy(layout: Layout, echo: Echo, timeout_s: float) -> int:
    """Wait until every service is healthy; 0, or 1 with the ones that are not."""
    deadline = time.monotonic() + timeout_s
    t0 = time.monotonic()
    last = ""
    while True:
        if supervisor_pid(layout) is None and time.monotonic() - t0 > 10:
            echo(f"stack: the supervisor is not running (see {layout.logs / 'supervisor.log'})")
            return 1
        rows = health(layout) if layout.status_file.exists() else []
        bad = [h for h in rows if not h.ok]
        if rows and not bad:
            echo(render_health(rows))
            echo(f"stack: every service healthy ({time.monotonic() - t0:.0f} s)")
            return 0
        waiting = ", ".join(h.name for h in bad) or "the supervisor"
        if waiting != last:
            echo(f"stack: waiting for {waiting}")
            last = waiting
        if time.monotonic() > deadline:
            echo(render_health(rows))
            echo(f"stack: not healthy after {timeout_s:.0f} s: {waiting}")
            return 1
        time.sleep(3)


def status(layout: Layout, echo: Echo) -> int:
    pid = supervisor_pid(layout)
    echo(f"supervisor: {f'pid {pid}' if pid else 'not running'} (state {layout.state})")
    rows = health(layout)
    echo(render_health(rows))
    return 0 if pid and all(h.ok for h in rows) else 3


def down(layout: Layout, echo: Echo, timeout_s: float = DOWN_TIMEOUT_S) -> int:
    """Stop every service and the supervisor; the data stay."""
    pid = supervisor_pid(layout)
    if pid is None:
        echo("stack: not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    echo(f"stack: stopping (supervisor pid {pid})")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or supervisor_pid(layout) is None:
            break
        time.sleep(0.5)
    else:
        echo(f"stack: the supervisor did not stop within {timeout_s:.0f} s; SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return 1
    left = [n for n, s in load_status(layout).get("services", {}).items() if s.get("pid")]
    if left:
        echo(f"stack: still running: {', '.join(left)}")
        return 1
    echo(f"stack: stopped; data kept in {layout.state}")
    return 0


def hold(layout: Layout, service: str, seconds: float) -> Path:
    """Stop ``service`` for ``seconds`` (a planned outage); the supervisor starts it again
    afterwards. ``seconds`` <= 0 releases a hold."""
    name = service if service.startswith("seismo-") else f"seismo-{service}"
    if name not in stack_env(layout)["SEISMO_STACK_SERVICES"].split():
        raise StackError(f"no service {name} in this stack")
    layout.holds.mkdir(parents=True, exist_ok=True)
    f = layout.holds / name
    if seconds <= 0:
        f.unlink(missing_ok=True)
    else:
        f.write_text(f"{time.time() + seconds:.3f}\n")
    return f
