"""The console's API and pages with FastAPI's TestClient, against a real influxd holding
a detected scenario (the window path, store and alerts on), and the real outbox.

One module-scoped fixture stores the "felt_m3_city" scenario; the review workflow
(comment -> confirm -> reject with its CAP Cancel) is one test so its steps keep their
order.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from shells.test_review import Scenario, stored_scenario

from seismo.config import load_settings
from seismo.errors import ConfigError
from seismo.io.store.server import InfluxServer, free_port
from seismo.web.app import create_app
from seismo.web.users import UserStore

pytestmark = [pytest.mark.influx, pytest.mark.slow]

SECRET = "k" * 40
PASSWORDS = {"vera": ("viewer", "viewer-pass-1"), "otto": ("oncall", "oncall-pass-1"),
             "sina": ("seismologist", "seismo-pass-1")}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("web")
    srv = InfluxServer(tmp / "influxd", free_port())
    srv.start()
    try:
        sc = stored_scenario(tmp, srv.url, "web")
        sc.settings = sc.settings.model_copy(update={"web": sc.settings.web.model_copy(
            update={"users_db": tmp / "users.sqlite"})})
        users = UserStore(sc.settings.web.users_db)
        for name, (role, pw) in PASSWORDS.items():
            users.add(name, role, pw)
        yield sc
    finally:
        srv.stop()


def client(sc: Scenario) -> TestClient:
    return TestClient(create_app(sc.settings, secret_key=SECRET), base_url="http://127.0.0.1")


def login(c: TestClient, name: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    r = c.post("/login", data={"username": name, "password": PASSWORDS[name][1]},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(c.get("/api/me").json()["csrf"])


def test_anonymous_is_refused_and_pages_redirect_to_the_form(scenario: Scenario) -> None:
    c = client(scenario)
    assert c.get("/api/events").status_code == 401
    assert c.get(f"/api/events/{scenario.event.id}").status_code == 401
    r = c.get(f"/events/{scenario.event.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    form = c.get("/login")
    assert form.status_code == 200 and 'name="password"' in form.text


def test_login_lists_every_stored_event_and_opens_each(scenario: Scenario) -> None:
    c = client(scenario)
    login(c, "vera")
    ev = scenario.event
    r = c.get("/api/events", params={"start": str(ev.time - 3600), "end": str(ev.time + 3600)})
    assert r.status_code == 200
    rows = r.json()["events"]
    assert [e["id"] for e in rows] == [ev.id]
    row = rows[0]
    assert row["status"] == "automatic" and row["magnitude_type"] == "ML"
    assert abs(row["magnitude"] - ev.magnitude) < 0.06 and row["place"]
    assert row["alert_state"].startswith("Alert") and row["oncall"] is True
    one = c.get(f"/api/events/{ev.id}").json()
    assert one["id"] == ev.id and one["versions"][0]["changed"] == "first solution"
    assert one["alerts"] and one["alerts"][0]["msg_type"] == "Alert"
    assert {d["channel"] for d in one["alerts"][0]["deliveries"]} == {"audit"}
    assert one["versions"][0]["messages"], "the Alert belongs to the first version"
    page = c.get(f"/events/{ev.id}")
    assert page.status_code == 200 and ev.id in page.text and "Record section" in page.text
    # the record section: archive missing -> the configured feed (sim://) holds the event
    wf = c.get(f"/api/events/{ev.id}/waveforms").json()
    assert wf["holds_event"] and wf["source"].startswith("feed")
    assert {p["station"] for p in wf["picks"]} <= {t["station"] for t in wf["traces"]} | set(
        wf["errors"])
    shake = c.get(f"/api/events/{ev.id}/shakemap").json()
    grid = np.array(shake["grid"])
    assert grid.shape == (41, 41) and shake["observed"]
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    assert abs(i - 20) <= 2 and abs(j - 20) <= 2, "the predicted intensity peaks at the epicentre"
    assert grid.max() >= max(s.intensity_cn for s in ev.site_intensities) - 0.05
    assert c.get("/api/events/nonexistent-id").status_code == 404


def test_roles_and_csrf(scenario: Scenario) -> None:
    c = client(scenario)
    csrf = login(c, "vera")
    eid = scenario.event.id
    r = c.post(f"/api/events/{eid}/review", json={"action": "confirm"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "seismologist" in r.json()["detail"]
    assert c.get("/api/outbox").status_code == 403
    assert c.get("/alerts", follow_redirects=False).status_code == 403
    c2 = client(scenario)
    login(c2, "sina")
    r = c2.post(f"/api/events/{eid}/review", json={"action": "comment", "comment": "x"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = c2.post(f"/api/events/{eid}/review", json={"action": "comment", "comment": "x"},
                headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    # a sign-in posted from another site is refused
    r = client(scenario).post("/login", data={"username": "sina", "password": "seismo-pass-1"},
                              headers={"Origin": "http://evil.example"}, follow_redirects=False)
    assert r.status_code == 403


def test_failed_logins_are_rate_limited(scenario: Scenario) -> None:
    c = client(scenario)
    limit = scenario.settings.web.login_max_failures
    for _ in range(limit):
        r = c.post("/login", data={"username": "otto", "password": "nope-nope"})
        assert r.status_code == 401
    r = c.post("/login", data={"username": "otto", "password": PASSWORDS["otto"][1]})
    assert r.status_code == 429 and "too many" in r.text
    UserStore(scenario.settings.web.users_db).clear_failures("user:otto")
    UserStore(scenario.settings.web.users_db).clear_failures("addr:testclient")


def test_review_workflow_confirm_then_reject_sends_cancel(scenario: Scenario) -> None:
    c = client(scenario)
    csrf = login(c, "sina")
    eid, h = scenario.event.id, {"X-CSRF-Token": csrf}
    r = c.post(f"/api/events/{eid}/review", json={"action": "comment", "comment": "looks real"},
               headers=h)
    assert r.status_code == 200 and r.json()["user"] == "sina"
    r = c.post(f"/api/events/{eid}/review", json={"action": "confirm", "comment": "ok"},
               headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    one = c.get(f"/api/events/{eid}").json()
    assert one["status"] == "confirmed" and one["versions"][-1]["reviewer"] == "sina"
    r = c.post(f"/api/events/{eid}/review", json={"action": "reject", "comment": "quarry blast"},
               headers=h)
    assert r.status_code == 200, r.text
    assert any(m == "Cancel" for m, _ in r.json()["alerts"])
    one = c.get(f"/api/events/{eid}").json()
    assert one["status"] == "rejected"
    assert one["alerts"][-1]["msg_type"] == "Cancel"
    assert [a["action"] for a in one["actions"]] == ["comment", "confirmed", "rejected"]
    assert all(a["user"] == "sina" for a in one["actions"])
    page = c.get(f"/events/{eid}").text
    assert "quarry blast" in page and "Cancel" in page
    cancels = [p for p in scenario.alert_dir.glob("*.xml") if "<msgType>Cancel" in p.read_text()]
    assert cancels, "the Cancel went out through the directory channel"
    rows = c.get("/api/events", params={"start": str(scenario.event.time - 60),
                                        "end": str(scenario.event.time + 60),
                                        "status": "rejected"}).json()["events"]
    assert [e["id"] for e in rows] == [eid]


def test_outbox_dead_item_can_be_requeued_by_oncall(scenario: Scenario) -> None:
    from seismo.alerts.outbox import Outbox

    box = Outbox(scenario.settings.alerts.outbox_dir)
    key = sorted(p.stem for p in box.delivered.glob("*.json"))[0]
    # make it dead the way the outbox does: a pending item past its expiry
    (box.pending / f"{key}.json").write_bytes((box.delivered / f"{key}.json").read_bytes())
    (box.delivered / f"{key}.json").unlink()
    rep = box.deliver_due(lambda item: None, now=1e12, backoff_initial_s=1, backoff_max_s=1,
                          expire_s=1)
    assert rep.expired == 1
    c = client(scenario)
    csrf = login(c, "otto")
    ob = c.get("/api/outbox").json()
    assert [i["key"] for i in ob["items"]["dead"]] == [key]
    assert c.get("/alerts").status_code == 200
    r = c.post(f"/api/outbox/{key}/requeue", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["delivered"] == 1
    ob = c.get("/api/outbox").json()
    assert ob["items"]["dead"] == [] and key in {i["key"] for i in ob["items"]["delivered"]}
    assert c.post(f"/api/outbox/{key}/requeue", headers={"X-CSRF-Token": csrf}).status_code == 400


def test_openapi_and_pages(scenario: Scenario) -> None:
    c = client(scenario)
    spec = c.get("/openapi.json").json()
    assert {"/api/events", "/api/events/{event_id}"} <= set(spec["paths"])
    login(c, "vera")
    sid = sorted(c.get("/api/network").json()["stations"], key=lambda s: s["id"])[0]["id"]
    for path in ("/", "/stations", "/drills", "/api", f"/stations/{sid}"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
    assert c.get("/stations/XX.NONE").status_code == 404
    assert "/api/events" in c.get("/api").text
    st = c.get("/api/stations").json()
    assert len(st["stations"]) == 20 and st["stream"]["up"] is not True
    r = c.get("/")
    assert "Content-Security-Policy" in r.headers and "http" not in r.headers[
        "Content-Security-Policy"]


def test_the_console_refuses_to_start_without_a_key(scenario: Scenario,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEISMO_WEB_SECRET", raising=False)
    with pytest.raises(ConfigError, match="SEISMO_WEB_SECRET"):
        create_app(scenario.settings)
    monkeypatch.setenv("SEISMO_WEB_SECRET", "short")
    with pytest.raises(ConfigError, match="shorter"):
        create_app(scenario.settings)


def test_user_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    from seismo.cli.main import main

    cfg = tmp_path / "web.toml"
    cfg.write_text(f'base = "{Path("config/seismo.toml").resolve()}"\n[web]\n'
                   f'users_db = "{tmp_path / "u.sqlite"}"\n', encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-good-password\n"))
    assert main(["--config", str(cfg), "user", "add", "ana", "--role", "oncall"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--config", str(cfg), "user", "add", "bob", "--role", "admin"]) == 1
    assert main(["--config", str(cfg), "user", "list"]) == 0
    out = capsys.readouterr().out
    assert "ana" in out and "oncall" in out and "bob" not in out.split("saved")[-1]
    users = UserStore(tmp_path / "u.sqlite")
    assert users.verify("ana", "a-good-password") is not None
    assert users.verify("ana", "wrong-password") is None
    assert main(["--config", str(cfg), "user", "remove", "ana"]) == 0
    assert main(["--config", str(cfg), "user", "remove", "ana"]) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(f'base = "{Path("config/seismo.toml").resolve()}"\n[web]\nport = 8089\n'
                   'colour = "blue"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="colour"):
        load_settings(bad)
