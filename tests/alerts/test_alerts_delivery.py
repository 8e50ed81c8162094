"""Alert delivery against real servers on loopback: an HTTP webhook and an SMTP server.

Time is driven through ``now=`` (the outbox's backoff clock), so "down for a
while" costs no real waiting; every server binds 127.0.0.1 and is stopped by
the test.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from obspy import UTCDateTime

from seismo.alerts.cap import CAP_NS, validate_cap
from seismo.alerts.service import AlertService
from seismo.config import DEFAULT_CONFIG, Settings, parse_settings
from seismo.model import Arrival, Event

pytestmark = pytest.mark.network

NS = {"c": CAP_NS}
T0 = UTCDateTime("2026-11-29T12:00:00")
TOKEN_ENV = "SEISMO_TEST_WEBHOOK_TOKEN"


def make_event(
    lat: float = 22.55,
    lon: float = 114.10,
    depth: float = 10.0,
    mag: float | None = 3.4,
    *,
    eid: str = "SZ.2026XYZ",
    outside: bool = False,
    station_km: float | None = None,
    hunc: float = 2.0,
) -> Event:
    arrivals: tuple[Arrival, ...] = ()
    if station_km is not None:
        arrivals = (Arrival("p1", "XX", "AAA", "HHZ", "P", T0 + 90, station_km, 300.0, 0.2),)
    return Event(
        id=eid,
        time=T0,
        latitude=lat,
        longitude=lon,
        depth_km=depth,
        rms_s=0.3,
        azimuthal_gap_deg=300.0 if outside else 90.0,
        n_phases=20,
        n_stations=12,
        horizontal_uncertainty_km=hunc,
        vertical_uncertainty_km=4.0,
        outside_network=outside,
        arrivals=arrivals,
        magnitude=mag,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- webhook server
class Hook:
    """A real HTTP server recording POSTs; answers 500 to the first ``fail_first``."""

    def __init__(self, port: int = 0, fail_first: int = 0, fail_code: int = 500) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.fail_code = fail_code
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with hook.lock:
                    n = len(hook.requests)
                    ok = n >= hook.fail_first
                    hook.requests.append({"headers": dict(self.headers), "body": body, "ok": ok})
                self.send_response(200 if ok else hook.fail_code)
                if not ok and 300 <= hook.fail_code < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cap"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["ok"]]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.stop()


# --------------------------------------------------------------------------- SMTP server
class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


def service(settings: Settings, **kw: Any) -> AlertService:
    """The alert service of ``settings`` (its ``[alerts]`` and ``[network]``)."""
    return AlertService.from_settings(settings.alerts, settings.network, **kw)


def settings_for(tmp_path: Path, channels: dict[str, Any], groups: dict[str, Any]) -> Settings:
    data = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["alerts"] = {
        "sender": "seismo@test.example",
        "outbox_dir": str(tmp_path / "outbox"),
        "backoff_initial_s": 0.5,
        "backoff_max_s": 4.0,
        "expire_s": 600.0,
        "channels": channels,
        "groups": groups,
    }
    return parse_settings(data, DEFAULT_CONFIG)


def webhook_settings(tmp_path: Path, url: str, **extra: Any) -> Settings:
    ch = {"hook": {"kind": "webhook", "url": url, "timeout_s": 3.0, **extra}}
    return settings_for(tmp_path, ch, {"oncall": ["hook"], "tsunami": ["hook"]})


def cap_of(req: dict[str, Any]) -> ET.Element:
    xml = req["body"].decode("utf-8")
    assert validate_cap(xml) == []
    return ET.fromstring(xml)


def text(el: ET.Element, tag: str) -> str:
    found = el.find(f"c:{tag}", NS)
    assert found is not None
    return found.text or ""


# --------------------------------------------------------------------------- webhook tests
def test_webhook_500_then_ok_delivers_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "s3cret-token-value")
    h = Hook(fail_first=3)
    try:
        svc = service(webhook_settings(tmp_path, h.url, token_env=TOKEN_ENV))
        [m] = svc.process_events([make_event()], now=T0)
        t = T0 + 1
        reports = []
        with caplog.at_level(logging.DEBUG):
            for _ in range(10):
                reports.append(svc.deliver_due(now=t))
                t += 10  # past any backoff (max 4 s)
        assert [r.failed for r in reports[:4]] == [1, 1, 1, 0]
        assert sum(r.delivered for r in reports) == 1
        assert len(h.requests) == 4 and len(h.accepted) == 1
        req = h.accepted[0]
        assert req["headers"]["Content-Type"] == "application/cap+xml"
        assert req["headers"]["Authorization"] == "Bearer s3cret-token-value"
        assert text(cap_of(req), "identifier") == m.identifier
        assert "s3cret-token-value" not in caplog.text
        assert "HTTP 500" in caplog.text
    finally:
        h.stop()


def test_webhook_redirect_is_not_a_delivery(tmp_path: Path) -> None:
    h = Hook(fail_first=1, fail_code=302)
    try:
        svc = service(webhook_settings(tmp_path, h.url))
        svc.process_events([make_event()], now=T0)
        assert svc.deliver_due(now=T0 + 1).failed == 1
        assert [r["ok"] for r in h.requests] == [False]  # not followed as a GET
        assert svc.deliver_due(now=T0 + 10).delivered == 1
        assert len(h.accepted) == 1
    finally:
        h.stop()


def test_webhook_down_then_up_delivers_once(tmp_path: Path) -> None:
    port = free_port()
    svc = service(webhook_settings(tmp_path, f"http://127.0.0.1:{port}/cap"))
    svc.process_events([make_event()], now=T0)
    t = T0
    for _ in range(3):  # nothing listening: refused, retried with backoff
        r = svc.deliver_due(now=t)
        assert r.failed == 1 and r.delivered == 0 and r.pending == 1
        t += 5
    h = Hook(port=port)
    try:
        r = svc.deliver_due(now=t)
        assert r.delivered == 1 and r.pending == 0
        assert svc.deliver_due(now=t + 60).delivered == 0
        assert len(h.requests) == 1
    finally:
        h.stop()


def test_webhook_json_wrapper(tmp_path: Path, hook: Hook) -> None:
    svc = service(webhook_settings(tmp_path, hook.url, format="json"))
    [m] = svc.process_events([make_event()], now=T0)
    assert svc.deliver_due(now=T0 + 1).delivered == 1
    [req] = hook.requests
    assert req["headers"]["Content-Type"] == "application/json"
    doc = json.loads(req["body"])
    assert doc["identifier"] == m.identifier and doc["msgType"] == "Alert"
    assert doc["subject"] == m.subject and validate_cap(doc["cap"]) == []


def test_missing_token_fails_without_request(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    svc = service(webhook_settings(tmp_path, hook.url, token_env=TOKEN_ENV))
    svc.process_events([make_event()], now=T0)
    assert svc.deliver_due(now=T0 + 1).failed == 1
    assert hook.requests == []
    [item] = list(svc.outbox.pending.glob("*.json"))
    assert TOKEN_ENV in json.loads(item.read_text())["last_error"]


def test_killed_after_queuing_new_process_delivers_once(tmp_path: Path, hook: Hook) -> None:
    settings = webhook_settings(tmp_path, hook.url)
    first = AlertService.from_settings(settings.alerts, settings.network)
    assert len(first.process_events([make_event()], now=T0)) == 1
    del first  # killed before delivering
    second = AlertService.from_settings(settings.alerts, settings.network)
    assert second.deliver_due(now=T0 + 5).delivered == 1
    assert second.deliver_due(now=T0 + 50).delivered == 0
    assert len(hook.requests) == 1


def test_reprocessing_same_events_no_second_delivery(tmp_path: Path, hook: Hook) -> None:
    svc = service(webhook_settings(tmp_path, hook.url))
    events = [make_event(eid="A"), make_event(eid="B", mag=3.1)]
    for k in range(3):  # three overlapping windows see the same events
        svc.process_events(events, now=T0 + 60 * k)
        svc.deliver_due(now=T0 + 60 * k + 1)
    # a fresh process reprocessing them again
    svc2 = service(webhook_settings(tmp_path, hook.url))
    assert svc2.process_events(events, now=T0 + 300) == []
    svc2.deliver_due(now=T0 + 301)
    ids = sorted(text(cap_of(r), "identifier") for r in hook.requests)
    assert ids == ["seismo@test.example.A.oncall.v1", "seismo@test.example.B.oncall.v1"]


def test_update_and_cancel_over_webhook(tmp_path: Path, hook: Hook) -> None:
    svc = service(webhook_settings(tmp_path, hook.url))
    svc.process_events([make_event(mag=3.4)], now=T0 + 10)
    svc.deliver_due(now=T0 + 11)
    svc.process_events([make_event(mag=3.9)], now=T0 + 70)  # revised ML: Update
    svc.deliver_due(now=T0 + 71)
    svc.cancel(make_event(mag=3.9), "teleseism misassociated", now=T0 + 130)
    svc.deliver_due(now=T0 + 131)
    alert, update, cancel = (cap_of(r) for r in hook.requests)
    assert [text(x, "msgType") for x in (alert, update, cancel)] == ["Alert", "Update", "Cancel"]
    ref_alert = f"seismo@test.example,{text(alert, 'identifier')},{text(alert, 'sent')}"
    ref_update = f"seismo@test.example,{text(update, 'identifier')},{text(update, 'sent')}"
    assert text(update, "references") == ref_alert
    assert text(cancel, "references") == f"{ref_alert} {ref_update}"
    assert text(update, "sent") == "2026-11-29T12:01:10+00:00"
    en = update.findall("c:info", NS)[1]
    mags = {text(p, "valueName"): text(p, "value") for p in en.findall("c:parameter", NS)}
    assert mags["magnitude"] == "3.9"


def test_manila_trench_reaches_tsunami_centre(tmp_path: Path) -> None:
    oncall, tsunami = Hook(), Hook()
    try:
        channels = {
            "duty": {"kind": "webhook", "url": oncall.url},
            "ntwc": {"kind": "webhook", "url": tsunami.url},
        }
        settings = settings_for(tmp_path, channels, {"oncall": ["duty"], "tsunami": ["ntwc"]})
        svc = AlertService.from_settings(settings.alerts, settings.network)
        ev = make_event(19.5, 119.8, 20.0, 6.1, outside=True, station_km=690.0, hunc=80.0)
        svc.process_events([ev], now=T0 + 120)
        assert svc.deliver_due(now=T0 + 121).delivered == 2
        [req] = tsunami.requests
        root = cap_of(req)
        first = root.findall("c:info", NS)[1]
        assert text(first, "event") == "Tsunami" and text(first, "certainty") == "Possible"
        assert text(first, "headline").startswith(
            "Tsunami information, magnitude being determined")
        assert text(first, "severity") == "Unknown"  # never Severe on an ML (issue 23)
        assert len(oncall.requests) == 1
    finally:
        oncall.stop()
        tsunami.stop()


# --------------------------------------------------------------------------- SMTP
def test_smtp_down_then_up_exactly_one_mail(tmp_path: Path) -> None:
    port = free_port()
    channels = {
        "mail": {
            "kind": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "sender": "seismo@test.example",
            "recipients": ["duty@test.example", "chief@test.example"],
            "timeout_s": 3.0,
        }
    }
    svc = service(settings_for(tmp_path, channels, {"oncall": ["mail"]}))
    [m] = svc.process_events([make_event()], now=T0)
    assert svc.deliver_due(now=T0 + 1).failed == 1  # no server yet
    box = Mailbox()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        assert svc.deliver_due(now=T0 + 1.2).delivered == 0  # backoff not elapsed
        assert svc.deliver_due(now=T0 + 5).delivered == 1
        assert svc.deliver_due(now=T0 + 60).delivered == 0
        svc.process_events([make_event()], now=T0 + 61)  # reprocessed window
        assert svc.deliver_due(now=T0 + 62).delivered == 0
    finally:
        ctl.stop()
    assert len(box.messages) == 1
    msg = box.messages[0]
    assert sorted(box.envelopes[0].rcpt_tos) == ["chief@test.example", "duty@test.example"]
    assert msg["Subject"] == m.subject
    assert msg["X-CAP-Identifier"] == m.identifier
    assert msg["Message-ID"].endswith(".oncall@seismo>")
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and "ML 3.4" in body.get_content()
    [att] = list(msg.iter_attachments())
    assert att.get_content_type() == "application/cap+xml"
    xml = att.get_content()
    xml = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    assert validate_cap(xml) == [] and m.identifier in xml
