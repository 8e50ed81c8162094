"""The supervisor with real processes: order, restarts with backoff, holds, stop."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from seismo.deploy.layout import Layout
from seismo.deploy.supervisor import Supervisor
from seismo.deploy.units import load_service
from seismo.io.store.server import free_port

PY = sys.executable


def _unit(units: Path, name: str, body: str) -> None:
    (units / f"{name}.service").write_text(body)


def _wait(cond, timeout_s: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_order_restart_backoff_hold_and_stop(tmp_path: Path) -> None:
    units = tmp_path / "deploy"
    units.mkdir()
    port = free_port()
    server = (f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); "
              "s.listen(); time.sleep(600)")
    _unit(units, "seismo-db", f"[Service]\nExecStart={PY} -c \"{server}\"\nRestart=always\n"
          f"RestartSec=0.2\nX-Seismo-Health=tcp:127.0.0.1:{port}\n")
    marker = tmp_path / "started.txt"
    crash = f"open('{marker}','a').write('x'); import time; time.sleep(0.3); raise SystemExit(3)"
    _unit(units, "seismo-app", f"[Unit]\nAfter=seismo-db.service\n[Service]\n"
          f"ExecStart={PY} -c \"{crash}\"\nRestart=on-failure\nRestartSec=0.2\n")
    layout = Layout(root=tmp_path, state=tmp_path / "state")
    services = [load_service(n, layout, {"PATH": os.environ["PATH"]})
                for n in ("seismo-db", "seismo-app")]
    sup = Supervisor(layout, services)
    stop = threading.Event()
    t = threading.Thread(target=sup.run, args=(stop,))
    t.start()
    try:
        db, app = sup.runs["seismo-db"], sup.runs["seismo-app"]
        assert _wait(lambda: db.ready), "the server never became ready"
        # the app started only after the db answered, crashed, and is restarted with backoff
        assert _wait(lambda: app.restarts >= 3, 30)
        starts = marker.read_text()
        assert len(starts) >= 3
        assert app.failures >= 3 and app.last_exit == 3
        # a hold stops the db and keeps it down; releasing it starts it again
        pid = db.pid
        (layout.holds).mkdir(parents=True, exist_ok=True)
        (layout.holds / "seismo-db").write_text(f"{time.time() + 2}\n")
        assert _wait(lambda: db.state == "held" and db.pid is None)
        assert _wait(lambda: db.ready and db.pid not in (None, pid))
        # kill -9: restarted
        pid = db.pid
        assert pid is not None
        os.kill(pid, 9)
        assert _wait(lambda: db.pid not in (None, pid) and db.restarts >= 1)
        # the status file is rewritten on the supervisor's next tick, not with the restart itself
        assert _wait(lambda: str(db.pid) in layout.status_file.read_text()), (
            layout.status_file.read_text())
        assert '"seismo-db"' in layout.status_file.read_text()
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()
    assert sup.runs["seismo-db"].pid is None and sup.runs["seismo-db"].state == "stopped"
