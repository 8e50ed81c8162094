"""The production stack end to end, as the README runs it: ``seismo stack up`` (PostgreSQL,
Redis, Airflow's scheduler, DAG processor, API server and triggerer with two Celery workers,
InfluxDB, ``seismo stream``, the console), ``status``, ``check`` (a scenario earthquake over
SeedLink: the streaming Alert, the *scheduled* ``seismo_detect`` run's later version of the
same event in InfluxDB, the CAP files), a second ``up`` that changes nothing, ``down``.

One stack start (about 1.5 min on 2 cores) and one check (at most its 420 s deadline):
the bounded production-stack test of the default run. The faults are
``tests/deploy/test_stack_faults.py`` (marker ``deploy``, about 15 minutes).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from stack_helpers import Stack, wait_for

pytestmark = [pytest.mark.slow]

SERVICES = ("postgresql", "redis", "airflow-scheduler", "celery-worker@1", "celery-worker@2",
            "influxdb", "stream", "web")


def _pid_lines(status: str) -> dict[str, str]:
    return {name: next((x for x in status.splitlines() if x.startswith(name + " ")), "")
            for name in SERVICES}


def test_up_status_check_down() -> None:
    if os.geteuid() != 0:
        pytest.fail("the stack runs as root (PostgreSQL runs as the postgres user), as the "
                    "README says")
    stack = Stack.start()
    try:
        wait_for(stack.healthy, 180, "every service healthy", every_s=5)
        before = stack.cli("status", timeout_s=60)
        assert before.returncode == 0, before.stdout
        lines = _pid_lines(before.stdout)
        for name, line in lines.items():
            assert " OK " in line and str(Path(stack.layout.logs)) in line, (name, line)
        # idempotent: a second up while the stack runs changes nothing (same PIDs)
        again = stack.cli("up", timeout_s=300)
        assert again.returncode == 0, again.stdout[-2000:]
        after = _pid_lines(stack.cli("status", timeout_s=60).stdout)
        pid = re.compile(r"\b\d{2,}\b")
        for name in SERVICES:
            assert pid.findall(after[name])[:1] == pid.findall(lines[name])[:1], (
                name, lines[name], after[name])
        # a scenario earthquake through the running stack: exit 0 only with every path
        out = stack.cli("check", timeout_s=600)
        print(out.stdout)
        assert out.returncode == 0, out.stdout[-4000:]
        assert "streaming Alert" in out.stdout and "check: OK" in out.stdout
        assert re.search(r"DAG solution v\d+ \(window\)", out.stdout), out.stdout[-2000:]
        assert "scheduled__" in out.stdout, "the DAG's solution comes from a scheduled run"
        assert list(stack.layout.alerts.glob("*.cap.xml")), "CAP files in the alert directory"
    finally:
        stack.stop()
