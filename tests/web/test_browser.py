"""The console as a person uses it: Debian's headless Chromium driven by selenium.

A real influxd; the simulator's SeedLink server on loopback playing the scenario quake
~30 s ahead, with a dead, a noisy and an interrupted station (the three farthest from
the epicentre); ``seismo stream`` (a subprocess, store on) writing the event, its
waveform archive and its alerts; the health DAG's task body
(:func:`seismo.shells.airflow_tasks.station_health`) run over the streamed data for
the last four health windows; and the console served by uvicorn on a free port.
The test signs in, watches the live list receive the event while the scenario
streams, opens it, zooms the record section, rejects the event, sees the CAP Cancel
in the thread, reads the station wall (OK, WARN and FAIL with their reasons) and one
station's page (PSD, probability density, health history), visits the other pages and
signs out. Screenshots go to the test's directory (and to ``$SEISMO_SCREENSHOTS`` when
set: docs/console is made that way).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

import pytest
from obspy import UTCDateTime
from shells.test_stream import LEAD_S, SCENARIO, _reference

from seismo.config import PROJECT_ROOT, Settings, settings_to_toml
from seismo.geo import distance_km
from seismo.inventory import load_inventory, stations
from seismo.io.seedlink import serve_simulation
from seismo.io.store.server import InfluxServer, free_port
from seismo.shells.demo import stop_process
from seismo.simulate import load_scenarios
from seismo.simulate.scenario import Fault, Scenario
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


def _faulty_scenario(settings: Settings, origin: UTCDateTime) -> tuple[Scenario, dict[str, str]]:
    """:data:`SCENARIO` with its quake at ``origin`` and, on the three stations farthest
    from the epicentre, a dead recorder and 50 dB more noise (the whole hour before) and
    a 60 s gap in the last health window; returns it and the station of each fault."""
    scen = load_scenarios(settings.simulator.scenarios)[SCENARIO].rebased(
        _reference(settings, origin))
    ev = scen.events[0]
    infos = stations(load_inventory(settings.network.inventory))
    far = sorted(infos, key=lambda s: -float(distance_km(ev.latitude, ev.longitude,
                                                         s.latitude, s.longitude)))
    hour = origin - 3600
    which = {"dead": far[0].id, "noisy": far[1].id, "gap": far[2].id}
    faults = (Fault("dead", which["dead"], hour, params={"value": 0.0}),
              # 50 dB: 40 dB put this quiet site's PSD 10.0-10.1 dB above the NHNM, on the
              # health check's 10 dB line, so one run in four read OK
              Fault("noisy", which["noisy"], hour, params={"db": 50.0}),
              Fault("gap", which["gap"], origin - 240, 60.0))
    return dataclasses.replace(scen, faults=faults), which


@pytest.fixture
def stack(settings: Settings, tmp_path: Path) -> Iterator[dict]:  # type: ignore[type-arg]
    origin = UTCDateTime(round(float(UTCDateTime()) + LEAD_S + 15, 2))
    scenario, faults = _faulty_scenario(settings, origin)
    sl = serve_simulation(settings.simulator, settings.network, scenario=scenario,
                          host="127.0.0.1", port=0)
    srv = InfluxServer(tmp_path / "influxd", free_port())
    srv.start()
    s = settings.model_copy(update={
        "feeds": settings.feeds.model_copy(update={"default": sl.url}),
        "health": settings.health.model_copy(update={"state_file": tmp_path / "health.json"}),
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
        yield {"settings": s, "config": config, "url": web.url, "tmp": tmp_path,
               "origin": origin, "feed": sl.url, "faults": faults}
    finally:
        web.stop()
        srv.stop()
        sl.stop()


def _health_runs(config: Path, n: int, window_s: float) -> list[dict]:  # type: ignore[type-arg]
    """The health DAG's task body for the ``n`` health windows ending now (oldest first),
    with the configuration the DAG would read (``SEISMO_CONFIG``)."""
    from seismo.shells.airflow_tasks import station_health

    now = UTCDateTime()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEISMO_CONFIG", str(config))
        return [station_health(None, (now - k * window_s).datetime.replace(tzinfo=UTC))
                for k in reversed(range(n))]


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


def test_duty_officer_follows_and_rejects_a_streamed_event(stack) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    url, tmp, origin = stack["url"], stack["tmp"], stack["origin"]
    drv = _driver(tmp / "chrome-profile")
    try:
        drv.get(url + "/")
        assert "/login" in drv.current_url
        drv.find_element(By.ID, "username").send_keys("duty")
        drv.find_element(By.ID, "password").send_keys("duty-password-1")
        drv.find_element(By.ID, "signin").click()
        _until(lambda: drv.find_element(By.ID, "who").text.startswith("duty"), 10, "signed in")
        with _stream(stack["config"], tmp / "stream.log", stack["feed"]):
            # the live list receives the event by itself (no reload) while the scenario streams
            _until(lambda: drv.find_elements(By.CSS_SELECTOR, "#events tr.ev"),
                   float(origin - UTCDateTime()) + 60, "the event in the live list")
            eid, cls, text = drv.execute_script(
                "const r = document.querySelector('#events tr.ev');"
                "return [r.dataset.id, r.className, r.textContent];")
            assert "hl" in cls, "a new on-call event is highlighted"
            assert "streaming" in text
            time.sleep(2.5)  # the map draws the event
            _shot(drv, tmp, "events")
            time.sleep(6.0)  # a few more versions
            # the health DAG's runs over the streamed data, the stream still beating
            runs = _health_runs(stack["config"], 4, stack["settings"].health.window_s)
        assert all(not r["errors"] for r in runs), runs
        last = runs[-1]
        faults = stack["faults"]
        assert faults["dead"] in last["failing"], last
        assert last["status"].get("WARN", 0) >= 2 and last["status"].get("OK", 0) >= 10, last
        assert last["stream"]["up"] is True
        drv.get(f"{url}/events/{eid}")
        _until(lambda: drv.find_element(By.ID, "rs").get_attribute("data-view"), 20,
               "the record section")
        before = json.loads(drv.find_element(By.ID, "rs").get_attribute("data-view"))
        assert "event archive" in drv.find_element(By.ID, "rs-source").text
        assert "do not hold" not in drv.find_element(By.ID, "rs-note").text
        time.sleep(1.0)
        _shot(drv, tmp, "event")
        drv.find_element(By.ID, "zin").click()
        after = json.loads(drv.find_element(By.ID, "rs").get_attribute("data-view"))
        assert after["t1"] - after["t0"] == pytest.approx((before["t1"] - before["t0"]) / 2)
        drv.find_element(By.ID, "comment").send_keys("not an earthquake: test of the console")
        drv.find_element(By.ID, "reject").click()
        drv.switch_to.alert.accept()
        _until(lambda: "Cancel" in drv.find_element(By.ID, "thread").text, 30,
               "the CAP Cancel in the alert thread")
        assert drv.find_element(By.ID, "ev-status").text == "rejected"
        assert "duty" in drv.find_element(By.ID, "actions").text
        _until(lambda: drv.find_element(By.ID, "rs").get_attribute("data-view"), 20,
               "the record section after the reload")
        drv.execute_script("window.scrollTo(0, 0)")
        time.sleep(1.0)
        _shot(drv, tmp, "event_rejected")
        for page, marker in (("stations", "#wall .tile"), ("alerts", "#delivered tbody tr"),
                             ("drills", "#drills tbody tr")):
            drv.get(f"{url}/{page}")
            _until(lambda m=marker: drv.find_elements(By.CSS_SELECTOR, m), 15, page)
            time.sleep(1.5)
            _shot(drv, tmp, page)
        # the wall: the health runs' statuses with their reasons, no station unknown
        drv.find_element(By.CSS_SELECTOR, "header nav a[href$='/stations']").click()
        _until(lambda: drv.find_elements(By.CSS_SELECTOR, "#wall .tile"), 15, "wall")
        tiles = {t.get_attribute("data-id"): t for t in
                 drv.find_elements(By.CSS_SELECTOR, "#wall .tile")}
        assert not drv.find_elements(By.CSS_SELECTOR, "#wall .t-UNKNOWN")
        assert "t-FAIL" in tiles[faults["dead"]].get_attribute("class")
        assert "t-WARN" in tiles[faults["noisy"]].get_attribute("class")
        assert "noisy" in tiles[faults["noisy"]].text
        assert "t-WARN" in tiles[faults["gap"]].get_attribute("class")
        # a station page: PSD now, its probability density, four health runs over time
        tiles[faults["noisy"]].click()
        _until(lambda: drv.find_elements(By.CSS_SELECTOR, "#psd polyline"), 60, "the PSD")
        _until(lambda: len(drv.find_elements(By.CSS_SELECTOR, "#pdf rect")) > 50, 90,
               "the probability density")
        assert len(drv.find_elements(By.CSS_SELECTOR, "#status-strip rect.run")) == 4
        assert drv.find_element(By.ID, "st-status").text == "WARN"
        time.sleep(1.0)
        drv.set_window_size(1500, 1480)  # the whole page: PSD, density and history
        _shot(drv, tmp, "station")
        drv.set_window_size(1500, 1000)
        # the live list again: its polls come back unchanged (token only) while nothing moves
        drv.get(url + "/")
        _until(lambda: int(drv.find_element(By.ID, "updated").get_attribute(
            "data-unchanged") or 0) >= 2, 30, "polls answered 'unchanged'")
        assert drv.find_elements(By.CSS_SELECTOR, "#events tr.ev")
        drv.find_element(By.ID, "logout").click()
        _until(lambda: "/login" in drv.current_url, 10, "signed out")
        drv.get(url + "/")
        assert "/login" in drv.current_url
    finally:
        drv.quit()
