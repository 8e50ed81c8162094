"""The console as a person uses it: Debian's headless Chromium driven by selenium.

A real influxd, the simulator's SeedLink server on loopback with the scenario quake
~30 s ahead, ``seismo stream`` (a subprocess, store on) writing the event, its
waveform archive and its alerts, and the console served by uvicorn on a free port.
The test signs in, watches the live list receive the event while the scenario
streams, opens it, zooms the record section, rejects the event, sees the CAP Cancel
in the thread, visits the other pages and signs out. Screenshots go to the test's
directory (and to ``$SEISMO_SCREENSHOTS`` when set: docs/ is made that way).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from obspy import UTCDateTime
from shells.test_stream import LEAD_S, SCENARIO, _reference

from seismo.config import PROJECT_ROOT, Settings, settings_to_toml
from seismo.io.seedlink import serve_simulation
from seismo.io.store.server import InfluxServer, free_port
from seismo.shells.demo import stop_process
from seismo.web.server import BackgroundConsole
from seismo.web.users import UserStore

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.influx, pytest.mark.network]

CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1500,1000")


def _driver(profile: Path):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("Debian's chromium and chromium-driver are missing: run scripts/setup.sh")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for f in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(f)
    return webdriver.Chrome(service=Service(driver), options=opts)


@pytest.fixture
def stack(settings: Settings, tmp_path: Path) -> Iterator[dict]:  # type: ignore[type-arg]
    srv = InfluxServer(tmp_path / "influxd", free_port())
    srv.start()
    s = settings.model_copy(update={
        "alerts": settings.alerts.model_copy(update={
            "outbox_dir": tmp_path / "outbox",
            "channels": {"audit": settings.alerts.channels["audit"].model_copy(
                update={"path": tmp_path / "alerts"})}}),
        "stream": settings.stream.model_copy(update={
            "state_file": tmp_path / "state.json", "event_archive_dir": tmp_path / "archive"}),
        "store": settings.store.model_copy(update={
            "enabled": True, "url": srv.url, "database": "browser", "spool_dir": tmp_path / "spool",
            "retry_interval_s": 0.0}),
        "web": settings.web.model_copy(update={"users_db": tmp_path / "users.sqlite",
                                               "poll_s": 2.0}),
    })
    config = tmp_path / "seismo.toml"
    config.write_text(settings_to_toml(s), encoding="utf-8")
    UserStore(s.web.users_db).add("duty", "seismologist", "duty-password-1")
    web = BackgroundConsole(s, port=free_port(), secret_key="b" * 48).start()
    try:
        yield {"settings": s, "config": config, "url": web.url, "tmp": tmp_path}
    finally:
        web.stop()
        srv.stop()


@contextmanager
def _stream(config: Path, log: Path, feed: str) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    """``seismo stream`` with the store on, as a subprocess (SIGTERM, then SIGKILL, at the end)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "seismo.cli.main", "-v", "--config", str(config), "stream",
             "--feed", feed], stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT))
    try:
        yield proc
    finally:
        stop_process(proc)


def _shot(drv, tmp: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp / f"console_{name}.png"
    drv.save_screenshot(str(path))
    out = os.environ.get("SEISMO_SCREENSHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / path.name)


def _until(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        try:
            if pred():
                return
        except Exception:  # the page is between two states
            pass
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def test_duty_officer_follows_and_rejects_a_streamed_event(stack, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    url, tmp = stack["url"], stack["tmp"]
    drv = _driver(tmp / "chrome-profile")
    origin = UTCDateTime(round(float(UTCDateTime()) + LEAD_S, 2))
    server = serve_simulation(settings, scenario=SCENARIO, reference=_reference(settings, origin),
                              host="127.0.0.1", port=0)
    try:
        drv.get(url + "/")
        assert "/login" in drv.current_url
        drv.find_element(By.ID, "username").send_keys("duty")
        drv.find_element(By.ID, "password").send_keys("duty-password-1")
        drv.find_element(By.ID, "signin").click()
        _until(lambda: drv.find_element(By.ID, "who").text.startswith("duty"), 10, "signed in")
        with _stream(stack["config"], tmp / "stream.log", server.url):
            # the live list receives the event by itself (no reload) while the scenario streams
            _until(lambda: drv.find_elements(By.CSS_SELECTOR, "#events tr.ev"), LEAD_S + 60,
                   "the event in the live list")
            eid, cls, text = drv.execute_script(
                "const r = document.querySelector('#events tr.ev');"
                "return [r.dataset.id, r.className, r.textContent];")
            assert "hl" in cls, "a new on-call event is highlighted"
            assert "streaming" in text
            time.sleep(2.5)  # the map draws the event
            _shot(drv, tmp, "events")
            time.sleep(6.0)  # a few more versions
        drv.get(f"{url}/events/{eid}")
        _until(lambda: drv.find_element(By.ID, "rs").get_attribute("data-view"), 20,
               "the record section")
        before = json.loads(drv.find_element(By.ID, "rs").get_attribute("data-view"))
        assert "event archive" in drv.find_element(By.ID, "rs-source").text
        drv.find_element(By.ID, "zin").click()
        after = json.loads(drv.find_element(By.ID, "rs").get_attribute("data-view"))
        assert after["t1"] - after["t0"] == pytest.approx((before["t1"] - before["t0"]) / 2)
        assert "do not hold" not in drv.find_element(By.ID, "rs-note").text
        time.sleep(1.0)
        _shot(drv, tmp, "event")
        drv.find_element(By.ID, "comment").send_keys("not an earthquake: test of the console")
        drv.find_element(By.ID, "reject").click()
        drv.switch_to.alert.accept()
        _until(lambda: "Cancel" in drv.find_element(By.ID, "thread").text, 30,
               "the CAP Cancel in the alert thread")
        assert drv.find_element(By.ID, "ev-status").text == "rejected"
        assert "duty" in drv.find_element(By.ID, "actions").text
        drv.execute_script("window.scrollTo(0, 0)")
        _shot(drv, tmp, "event_rejected")
        for page, marker in (("stations", "#wall .tile"), ("alerts", "#delivered tbody tr"),
                             ("drills", "#drills tbody tr")):
            drv.get(f"{url}/{page}")
            _until(lambda m=marker: drv.find_elements(By.CSS_SELECTOR, m), 15, page)
            time.sleep(1.5)
            _shot(drv, tmp, page)
        drv.find_element(By.CSS_SELECTOR, "header nav a[href$='/stations']").click()
        _until(lambda: drv.find_elements(By.CSS_SELECTOR, "#wall .tile"), 15, "wall")
        drv.find_elements(By.CSS_SELECTOR, "#wall .tile")[0].click()
        _until(lambda: drv.find_elements(By.CSS_SELECTOR, "#psd polyline"), 60, "the PSD")
        _shot(drv, tmp, "station")
        drv.find_element(By.ID, "logout").click()
        _until(lambda: "/login" in drv.current_url, 10, "signed out")
        drv.get(url + "/")
        assert "/login" in drv.current_url
    finally:
        drv.quit()
        server.stop()
