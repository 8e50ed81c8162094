"""A small process supervisor for machines where systemd is not PID 1.

It runs the units' own command lines (:mod:`seismo.deploy.units`) the way systemd
would, with the behaviour a deployment relies on:

- **order**: a service starts once every service of its ``After=`` is ready (a
  one-shot one has exited 0; a long-running one answers its gating health probe,
  :data:`seismo.deploy.probes.GATING`, or just runs);
- **restarts**: ``Restart=always`` restarts a service that exited, ``on-failure``
  one that exited non-zero or was killed, after ``RestartSec`` doubled for each
  failure in a row (at most :data:`MAX_BACKOFF_S`; the count resets once it ran
  :data:`STABLE_S`);
- **stop** (SIGTERM or SIGINT to the supervisor): services stop in reverse
  dependency order, those of one level together; each gets its ``KillSignal`` on
  its main process, then, after ``TimeoutStopSec``, SIGKILL on its whole process
  group (systemd's ``KillMode=mixed``); leftovers of a crashed service's process
  group are killed before it restarts;
- **holds**: a file ``<run>/hold/<service>`` holding an epoch time stops the
  service until then (a planned outage: maintenance, the fault tests), written by
  ``seismo stack hold``;
- **status**: ``<run>/supervisor.json`` (every service's PID, state, restarts, last
  exit and log), rewritten atomically when something changes; each service's
  output is appended to ``<logs>/<service>.log``.

``User=`` is applied when the supervisor runs as root and the account exists
(PostgreSQL refuses to run as root: its unit says ``User=postgres``); otherwise
the service runs as the supervisor's user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seismo.deploy.layout import Layout
from seismo.deploy.probes import GATING, probe
from seismo.deploy.units import Service
from seismo.durable import write_json

log = logging.getLogger(__name__)

#: Longest delay between two restarts of a failing service (s).
MAX_BACKOFF_S = 60.0
#: A service that ran this long is stable again: its next restart waits RestartSec (s).
STABLE_S = 60.0
#: Loop period (s).
TICK_S = 0.5
#: A service log larger than this is rotated to ``.1`` when the service starts (bytes).
LOG_ROTATE_BYTES = 64 * 1024 * 1024


@dataclass
class Run:
    """What the supervisor knows of one service."""

    service: Service
    proc: subprocess.Popen[bytes] | None = None
    #: waiting | starting | running | done | backoff | held | failed | stopped
    state: str = "waiting"
    since: float = field(default_factory=time.time)
    restarts: int = 0
    failures: int = 0  # in a row
    last_exit: int | None = None
    next_start: float = 0.0
    ready: bool = False
    held_until: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def to_dict(self, layout: Layout) -> dict[str, Any]:
        return {
            "pid": self.pid, "state": self.state, "since": self.since,
            "restarts": self.restarts, "last_exit": self.last_exit, "ready": self.ready,
            "held_until": self.held_until or None, "description": self.service.description,
            "health": self.service.health, "log": str(log_path(layout, self.service)),
            "command": list(self.service.argv),
        }


def log_path(layout: Layout, service: Service) -> Path:
    return layout.logs / f"{service.short}.log"


def _levels(services: list[Service]) -> dict[str, int]:
    """Dependency depth of each service (0: depends on none of the others)."""
    by_name = {s.name: s for s in services}
    depth: dict[str, int] = {}

    def level(name: str, seen: tuple[str, ...] = ()) -> int:
        if name in depth:
            return depth[name]
        if name in seen:  # a circle: treat as no dependency (reported by load order)
            return 0
        deps = [d for d in by_name[name].after if d in by_name]
        depth[name] = 1 + max((level(d, (*seen, name)) for d in deps), default=-1)
        return depth[name]

    for s in services:
        level(s.name)
    return depth


class Supervisor:
    """See the module docstring. :meth:`run` blocks until ``stop`` is set."""

    def __init__(self, layout: Layout, services: list[Service]) -> None:
        self.layout = layout
        self.runs = {s.name: Run(s) for s in services}
        self.levels = _levels(services)
        self.started = time.time()
        self._last_status: dict[str, Any] | None = None

    # ------------------------------------------------------------------ process control
    def _user(self, svc: Service) -> tuple[str | None, int | None, int | None]:
        if svc.user is None or os.geteuid() != 0:
            return None, None, None
        try:
            pw = pwd.getpwnam(svc.user)
        except KeyError:
            return None, None, None
        return pw.pw_name, pw.pw_uid, pw.pw_gid

    def _start(self, run: Run) -> None:
        svc = run.service
        path = log_path(self.layout, svc)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_suffix(".log.1"))
        name, uid, gid = self._user(svc)
        with path.open("ab") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} supervisor: "
                     f"starting {svc.name}{f' as {name}' if name else ''}\n".encode())
            fh.flush()
            try:
                run.proc = subprocess.Popen(
                    list(svc.argv), env=svc.env, cwd=svc.cwd, stdin=subprocess.DEVNULL,
                    stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                    user=uid, group=gid, extra_groups=[] if uid is not None else None,
                )
            except OSError as exc:
                log.error("%s: cannot start %s: %s", svc.name, svc.argv[0], exc)
                run.proc = None
                self._failed(run, None)
                return
        run.state, run.since, run.ready = "starting", time.time(), False
        log.info("%s: started (pid %d)", svc.name, run.proc.pid)

    def _signal_group(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    def _reap(self, run: Run) -> int | None:
        """The exit code of a finished service (killing what is left of its group)."""
        proc = run.proc
        if proc is None:
            return None
        rc = proc.poll()
        if rc is None:
            return None
        self._signal_group(proc.pid, signal.SIGKILL)  # leftovers of the process group
        run.proc = None
        run.last_exit = rc
        return rc

    def _failed(self, run: Run, rc: int | None) -> None:
        svc = run.service
        if time.time() - run.since >= STABLE_S:
            run.failures = 0
        run.failures += 1
        restart = svc.restart == "always" or (svc.restart == "on-failure" and rc != 0)
        if not restart:
            run.state = "failed" if rc else "stopped"
            return
        delay = min(MAX_BACKOFF_S, max(svc.restart_s, 0.1) * 2 ** min(run.failures - 1, 6))
        run.state, run.next_start, run.since = "backoff", time.time() + delay, time.time()
        log.warning("%s: exited (%s); restart in %.0f s", svc.name, rc, delay)

    def stop_service(self, run: Run, wait: bool = True) -> None:
        proc = run.proc
        if proc is None or proc.poll() is not None:
            self._reap(run)
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(run.service.kill_signal)
        if wait:
            self._wait_stopped(run)

    def _wait_stopped(self, run: Run) -> None:
        proc = run.proc
        if proc is None:
            return
        try:
            proc.wait(run.service.stop_timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s: did not stop within %.0f s; SIGKILL", run.service.name,
                        run.service.stop_timeout_s)
            self._signal_group(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self._reap(run)
        run.ready = False

    # ------------------------------------------------------------------ the loop
    def _hold(self, run: Run) -> float:
        f = self.layout.holds / run.service.name
        try:
            until = float(f.read_text().strip())
        except (OSError, ValueError):
            return 0.0
        if until <= time.time():
            f.unlink(missing_ok=True)
            return 0.0
        return until

    def _deps_ready(self, run: Run) -> bool:
        return all(self.runs[d].ready for d in run.service.after if d in self.runs)

    def _check_ready(self, run: Run) -> None:
        svc = run.service
        if run.proc is None or run.ready or svc.oneshot:
            return
        kind = svc.health.partition(":")[0]
        if kind in GATING:
            ok, _ = probe(svc.health, svc.env)
            if not ok:
                return
        run.ready, run.state = True, "running"
        log.info("%s: ready", svc.name)

    def tick(self) -> None:
        now = time.time()
        for run in self.runs.values():
            svc = run.service
            run.held_until = self._hold(run)
            if run.held_until:
                if run.proc is not None:
                    log.warning("%s: held until %s; stopping", svc.name,
                                time.strftime("%H:%M:%S", time.gmtime(run.held_until)))
                    self.stop_service(run)
                run.state, run.ready = "held", False
                continue
            if run.state == "held":
                run.state, run.next_start = "waiting", 0.0
            if run.proc is not None:
                rc = self._reap(run)
                if rc is None:
                    self._check_ready(run)
                    continue
                run.ready = False
                if svc.oneshot and rc == 0:
                    run.state, run.ready, run.failures = "done", True, 0
                    log.info("%s: done", svc.name)
                    continue
                self._failed(run, rc)
                continue
            if run.state in ("done", "failed", "stopped"):
                continue
            if now >= run.next_start and self._deps_ready(run):
                if run.state == "backoff":
                    run.restarts += 1
                self._start(run)
        self._write_status()

    def _write_status(self) -> None:
        status = {
            "supervisor_pid": os.getpid(), "started": self.started,
            "services": {n: r.to_dict(self.layout) for n, r in self.runs.items()},
        }
        if status != self._last_status:
            self.layout.run.mkdir(parents=True, exist_ok=True)
            write_json(self.layout.status_file, status, indent=1)
            self._last_status = status

    def stop_all(self) -> None:
        """Stop every service, highest dependency level first (module docstring)."""
        for level in sorted(set(self.levels.values()), reverse=True):
            runs = [r for n, r in self.runs.items() if self.levels[n] == level]
            for r in runs:
                if r.proc is not None:
                    log.info("%s: stopping", r.service.name)
                    self.stop_service(r, wait=False)
            threads = [threading.Thread(target=self._wait_stopped, args=(r,)) for r in runs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for r in runs:
                r.state, r.ready = "stopped", False
            self._write_status()

    def run(self, stop: threading.Event) -> None:
        log.info("supervisor %d: %d services", os.getpid(), len(self.runs))
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(TICK_S)
        finally:
            self.stop_all()
            log.info("supervisor %d: every service stopped", os.getpid())
