"""The Airflow plugin: Airflow's own plugin manager finds it in the plugins folder and
its API-server code (``airflow.api_fastapi.app.init_plugins``) mounts the console.

Run in a fresh interpreter: Airflow's plugin manager loads plugins once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow]

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
from fastapi import FastAPI
from fastapi.testclient import TestClient
from airflow.api_fastapi.app import init_plugins
host = FastAPI()
init_plugins(host)
c = TestClient(host, base_url="http://127.0.0.1")
r = c.get("/seismo/events/x", follow_redirects=False)
print(json.dumps({"api": c.get("/seismo/api/events").status_code, "page": r.status_code,
                  "location": r.headers.get("location"),
                  "login": c.get("/seismo/login").status_code}))
"""


def test_airflow_mounts_the_console(tmp_path: Path) -> None:
    cfg = tmp_path / "seismo.toml"
    cfg.write_text(f'base = "{ROOT / "config" / "seismo.toml"}"\n[web]\n'
                   f'users_db = "{tmp_path / "users.sqlite"}"\n', encoding="utf-8")
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", SEISMO_WEB_SECRET="p" * 40,
               SEISMO_CONFIG=str(cfg), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=240, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["api"] == 401 and res["login"] == 200
    assert res["page"] == 303 and res["location"].startswith("/seismo/login")
