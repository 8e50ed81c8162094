"""Health probes run in parallel threads (``stack status``/``check``); they must not report a
failure that is an artefact of the parallelism."""

from __future__ import annotations

import subprocess
import sys

from seismo.deploy.probes import celery_ping
from seismo.io.store.server import free_port

# A fresh interpreter, so that celery is not yet imported when the threads start: the import
# itself is what raced (celery builds its top-level module lazily).
_SCRIPT = """
import sys, threading
from seismo.deploy.probes import celery_ping
out = []
threads = [threading.Thread(target=lambda: out.append(celery_ping(sys.argv[1], "w@x", 0.5)))
           for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print("\\n".join(detail for _, detail in out))
"""


def test_parallel_celery_probes_report_the_broker_not_the_import() -> None:
    broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    out = subprocess.run([sys.executable, "-c", _SCRIPT, broker], capture_output=True,
                         text=True, timeout=120, check=True).stdout.splitlines()
    assert len(out) == 4, out
    assert all(line.startswith("broker: ") for line in out), out


def test_celery_probe_never_raises_on_a_bad_broker_url() -> None:
    ok, detail = celery_ping("redis://127.0.0.1:1/0", "w@x", 0.5)
    assert not ok and detail
