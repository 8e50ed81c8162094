"""The console's API and pages with FastAPI's TestClient, against a real influxd holding
a detected scenario (the window path, store and alerts on), and the real outbox.

One module-scoped fixture stores the "felt_m3_city" scenario; the review workflow
(comment -> confirm -> reject with its CAP Cancel) is one test so its steps keep their
order.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from obspy import UTCDateTime
from shells.test_review import Scenario, stored_scenario

from seismo.config import load_settings
from seismo.errors import ConfigError
from seismo.io.store import InfluxStore
from seismo.io.store.server import InfluxServer, free_port
from seismo.web.app import create_app
from seismo.web.users import UserStore

pytestmark = [pytest.mark.influx, pytest.mark.slow]

SECRET = "k" * 40
PASSWORDS = {"vera": ("viewer", "viewer-pass-1"), "otto": ("oncall", "oncall-pass-1"),
             "sina": ("seismologist", "seismo-pass-1")}


def web_scenario(tmp: Path, influx_url: str, database: str) -> Scenario:
    """A detected scenario stored in ``database`` (see ``stored_scenario``), the console's
    users in ``tmp`` (also the benchmark's set-up)."""
    sc = stored_scenario(tmp, influx_url, database)
    sc.settings = sc.settings.model_copy(update={"web": sc.settings.web.model_copy(
        update={"users_db": tmp / "users.sqlite"})})
    return sc


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("web")
    srv = InfluxServer(tmp / "influxd", free_port())
    srv.start()
    try:
        sc = web_scenario(tmp, srv.url, "web")
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


def test_relocate_with_a_pick_dropped_makes_a_reviewed_version(scenario: Scenario) -> None:
    c = client(scenario)
    csrf = login(c, "sina")
    eid = scenario.event.id
    before = c.get(f"/api/events/{eid}").json()
    picks = {p["id"]: p for p in before["event"]["picks"]}
    # leave out the P pick of the station farthest away (the location still holds)
    far = max((a for a in before["event"]["arrivals"] if a["phase"].startswith("P")),
              key=lambda a: a["distance_km"])
    drop = far["pick_id"]
    assert drop in picks
    r = c.post(f"/api/events/{eid}/relocate",
               json={"drop_picks": [drop], "comment": "P pick on a glitch"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["version"] == before["version"] + 1 and res["status"] == "confirmed"
    after = c.get(f"/api/events/{eid}").json()
    new = after["event"]
    assert after["version"] == before["version"] + 1
    assert drop not in {p["id"] for p in new["picks"]}
    assert len(new["picks"]) == len(picks) - 1
    assert drop not in {a["pick_id"] for a in new["arrivals"]}
    assert (new["latitude"], new["longitude"], new["time"]) != (
        before["event"]["latitude"], before["event"]["longitude"], before["event"]["time"])
    v = after["versions"][-1]
    assert v["reviewer"] == "sina" and v["status"] == "confirmed"
    assert drop in v["comment"] and "P pick on a glitch" in v["comment"]
    assert [x["version"] for x in after["versions"]][-2:] == [before["version"],
                                                               after["version"]]
    # the audit trail: who, when, what was dropped, and the outcome
    act = after["actions"][-1]
    assert (act["user"], act["action"]) == ("sina", "relocate")
    assert act["detail"] == f"drop {drop}; P pick on a glitch"
    assert f"version {after['version']}" in act["outcome"]
    assert abs(act["time"] - UTCDateTime().timestamp) < 120
    # a pick id the event does not have: refused, and the refusal is in the trail too
    r = c.post(f"/api/events/{eid}/relocate", json={"drop_picks": ["no-such-pick"]},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code in (400, 404)
    last = c.get(f"/api/events/{eid}").json()
    assert last["version"] == after["version"]
    assert last["actions"][-1]["outcome"].startswith("failed")


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
    assert [a["action"] for a in one["actions"]][-3:] == ["comment", "confirmed", "rejected"]
    assert all(a["user"] == "sina" for a in one["actions"])
    page = c.get(f"/events/{eid}").text
    assert "quarry blast" in page and "Cancel" in page
    cancels = [p for p in scenario.alert_dir.glob("*.xml") if "<msgType>Cancel" in p.read_text()]
    assert cancels, "the Cancel went out through the directory channel"
    rows = c.get("/api/events", params={"start": str(scenario.event.time - 60),
                                        "end": str(scenario.event.time + 60),
                                        "status": "rejected"}).json()["events"]
    assert [e["id"] for e in rows] == [eid]


def test_the_live_list_polls_with_a_token(scenario: Scenario) -> None:
    """An unchanged span answers with the token only; a new event version changes it."""
    c = client(scenario)
    login(c, "vera")
    ev = scenario.event
    span = {"start": str(ev.time + 86400), "end": str(ev.time + 2 * 86400)}  # this test's own
    first = c.get("/api/events", params=span).json()
    assert first["changed"] is True and first["events"] == [] and first["token"]
    same = c.get("/api/events", params={**span, "since": first["token"]})
    assert same.json() == {"changed": False, "token": first["token"]}
    assert len(same.content) < 100
    copy = dataclasses.replace(ev, id="token-test", time=ev.time + 86400 + 600, version=1)
    with InfluxStore.from_settings(scenario.settings.store) as store:
        store.write_events([copy], details=False)
    changed = c.get("/api/events", params={**span, "since": first["token"]}).json()
    assert changed["changed"] is True and [e["id"] for e in changed["events"]] == ["token-test"]
    assert changed["token"] != first["token"]
    again = c.get("/api/events", params={**span, "since": changed["token"]}).json()
    assert again["changed"] is False
    # another filter or page never matches a token of this one
    other = c.get("/api/events", params={**span, "since": changed["token"], "page": 2}).json()
    assert other["changed"] is True and other["events"] == []


def test_station_history_noise_and_wall_from_real_health_runs(scenario: Scenario) -> None:
    from seismo.health import run_health

    s = scenario.settings.model_copy(update={"health": scenario.settings.health.model_copy(
        update={"state_file": scenario.root / "health_state.json"})})
    c = client(scenario)
    login(c, "vera")
    sid = sorted(c.get("/api/network").json()["stations"], key=lambda x: x["id"])[0]["id"]
    now = UTCDateTime()
    with InfluxStore.from_settings(s.store) as store:
        for k in (1, 0):  # two health runs, as the health DAG writes them
            run_health(s, end=now - k * s.health.window_s, stations=[sid], store=store)
    hist = c.get(f"/api/stations/{sid}").json()
    runs = hist["series"]["station"]
    assert len(runs["time"]) == 2 and set(runs["status"]) <= {"OK", "WARN", "FAIL"}
    chans = [k for k in hist["series"] if k != "station"]
    assert len(chans) == 3
    for k in chans:
        ser = hist["series"][k]
        assert len(ser["availability"]) == 2 and all(v > 90 for v in ser["availability"])
        assert all(v and v > 0 for v in ser["rms_si"]), "small SI values keep their digits"
    wall = c.get("/api/stations").json()
    tile = next(x for x in wall["stations"] if x["id"] == sid)
    assert tile["status"] == runs["status"][-1] and tile["availability_pct"] > 90
    assert wall["counts"]["UNKNOWN"] == len(wall["stations"]) - 1
    # the noise: the health window's median PSD, and the density over a longer span
    now_psd = c.get(f"/api/stations/{sid}/psd").json()
    assert now_psd["span_s"] == s.health.window_s
    dens = c.get(f"/api/stations/{sid}/psd", params={"span_s": 3 * s.health.window_s}).json()
    assert dens["span_s"] == 3 * s.health.window_s
    for a, b in zip(now_psd["channels"], dens["channels"], strict=True):
        assert b["n_segments"] > a["n_segments"] > 0
        pdf = b["pdf"]
        pct = np.zeros((len(b["periods_s"]), len(pdf["db_edges"]) - 1))
        for i, j, p in pdf["cells"]:
            pct[i, j] = p
        # each period bin's shares add up to all segments
        assert np.allclose(pct.sum(axis=1)[pct.sum(axis=1) > 0], 100.0, atol=1.0)
        nlnm = np.interp(np.log10(b["periods_s"]), np.log10(dens["models"]["periods_s"]),
                         dens["models"]["nlnm"])
        assert np.all(np.array(pdf["mode_db"]) > nlnm - 5), "the noise sits above NLNM"
    page = c.get(f"/stations/{sid}").text
    assert "Noise probability density" in page and "Health over the last" in page


def test_the_map_layers_are_cut_small_and_cached_by_the_browser(scenario: Scenario) -> None:
    c = client(scenario)
    assert c.get("/api/basemap").status_code == 401
    login(c, "vera")
    r = c.get("/api/basemap", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and 50_000 < len(r.content) < 1_000_000
    doc = r.json()
    s, n, w, e = doc["detail_box"]
    for st in c.get("/api/network").json()["stations"]:
        assert s < st["latitude"] < n and w < st["longitude"] < e
    etag = r.headers["etag"]
    assert c.get("/api/basemap", headers={"If-None-Match": etag}).status_code == 304
    gz = c.get("/api/basemap", headers={"Accept-Encoding": "gzip"})
    assert gz.headers.get("content-encoding") == "gzip"
    assert int(gz.headers["content-length"]) < len(r.content) / 3


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
