"""The alert path against what breaks it (docs/reliability.md, issue "what on-call staff
receive", item 6): a full outbox disk, a slow channel, settings that switch alerting off,
secrets in webhook URLs. Real servers on loopback, a real full tmpfs (root only)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_alerts import T0, assert_valid, make_event
from test_alerts_delivery import Hook, free_port, service, settings_for
from trickler import Trickler

from seismo.cli.main import main
from seismo.config import DEFAULT_CONFIG, dump_toml, effective_config, read_toml
from seismo.shells.publish import Publisher
from seismo.shells.registry import EventRegistry

pytestmark = pytest.mark.network


# --------------------------------------------------------------------------- outbox disk full
@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, filled to the brim after the outbox directories exist."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip()}): needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def _fill(mnt: Path) -> Path:
    filler = mnt / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()
    with pytest.raises(OSError) as exc:  # the disk really refuses
        (mnt / "probe").write_bytes(b"x" * 8192)
    assert exc.value.errno == errno.ENOSPC
    return filler


def test_full_outbox_disk_delivers_directly_and_records_when_writable(
    full_disk: Path, tmp_path: Path, hook: Hook,
) -> None:
    """Outbox disk full while the stream publishes: the Alert goes out directly (webhook
    and directory), the event stays "unsent" in memory, and once space is freed it is
    recorded (delivered markers, nothing sent twice) and its thread goes on with v2."""
    channels = {"hook": {"kind": "webhook", "url": hook.url, "timeout_s": 3.0},
                "audit": {"kind": "directory", "path": str(tmp_path / "audit")}}
    s = settings_for(full_disk, channels, {"oncall": ["hook", "audit"],
                                           "tsunami": ["hook", "audit"]})
    svc = service(s)  # creates the outbox directories (and lock files) first
    with svc.outbox.enqueue_lock():
        pass
    pub = Publisher(EventRegistry({}, 5.0, 30.0), alerts=svc)
    filler = _fill(full_disk)
    out = pub.publish([make_event(mag=3.4)], None)  # what the stream's publisher does
    assert out.alert_error is None and [m.msg_type for m in out.queued] == ["Alert"]
    assert len(hook.accepted) == 1 and len(list((tmp_path / "audit").glob("*.xml"))) == 1
    assert svc.unsent == 1 and not list(svc.outbox.messages.glob("*.json"))
    assert svc.deliver_due(now=T0 + 10).pending == 1  # still unsent: counted as pending
    filler.unlink()  # space again
    rep = svc.deliver_due(now=T0 + 20)
    assert svc.unsent == 0 and rep.delivered == 0  # recorded; nothing sent twice
    assert len(hook.accepted) == 1
    assert len(list(svc.outbox.delivered.glob("*.json"))) == 2
    [upd] = svc.process_events([make_event(mag=3.8, version=2)], now=T0 + 30)
    assert upd.msg_type == "Update" and upd.seq == 2


# --------------------------------------------------------------------------- slow channel
GREETING = b"220 slow.example ESMTP\r\n"


def test_slow_smtp_has_a_total_deadline_and_blocks_no_other_channel(
    tmp_path: Path, hook: Hook,
) -> None:
    """An SMTP server trickling its greeting (every byte in time for a per-read timeout):
    the webhook and the directory get the Alert while the SMTP attempt is still waiting,
    and the SMTP attempt ends at its total deadline, before the greeting is complete."""
    slow = Trickler(GREETING, delay_s=0.5)  # the whole greeting: 12 s
    _watch_greeting(hook, slow)
    try:
        channels = {
            "a-mail": {"kind": "smtp", "host": "127.0.0.1", "port": slow.port,
                       "sender": "seismo@x.example", "recipients": ["duty@x.example"],
                       "timeout_s": 2.0},
            "hook": {"kind": "webhook", "url": hook.url, "timeout_s": 3.0},
            "audit": {"kind": "directory", "path": str(tmp_path / "audit")},
        }
        names = ["a-mail", "hook", "audit"]
        svc = service(settings_for(tmp_path, channels, {"oncall": names, "tsunami": names}))
        svc.process_events([make_event(mag=3.4)], now=T0)
        rep = svc.deliver_due(now=T0 + 1)
        assert rep.delivered == 2 and rep.failed == 1, rep
        assert len(hook.accepted) == 1
        assert hook.accepted[0]["received_during_greeting"] is True
        assert slow.sent < len(GREETING)  # the SMTP attempt left before the greeting ended
        [item] = svc.outbox.items("pending")
        assert item.channel == "a-mail" and "2 s deadline" in (item.last_error or "")
    finally:
        slow.close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.stop()


def _watch_greeting(h: Hook, slow: Trickler) -> None:
    """Note on every request ``h`` takes whether ``slow`` was still sending its greeting."""
    original = h.server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]

    def do_post(handler: Any) -> None:
        during = slow.sent < len(GREETING)
        original(handler)
        h.requests[-1]["received_during_greeting"] = during

    h.server.RequestHandlerClass.do_POST = do_post  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- settings
def _config(tmp_path: Path, edit: Any) -> Path:
    data = read_toml(DEFAULT_CONFIG, "configuration file")
    base = DEFAULT_CONFIG.parent
    for key in ("inventory", "velocity_model", "sites"):
        data["network"][key] = str((base / data["network"][key]).resolve())
    data["simulator"]["scenarios"] = str((base / data["simulator"]["scenarios"]).resolve())
    data["installation"] = {"dir": str(tmp_path / "var")}
    edit(data)
    path = tmp_path / "seismo.toml"
    path.write_text(dump_toml(data), encoding="utf-8")
    return path


def _sites_with_crlf(tmp_path: Path) -> str:
    text = (DEFAULT_CONFIG.parent / "sites.toml").read_text(encoding="utf-8")
    bad = tmp_path / "sites.toml"
    bad.write_text(text.replace('name = "Futian District"', 'name = "Futian\\r\\nBcc: x"'),
                   encoding="utf-8")
    return str(bad)


@pytest.mark.parametrize("what", ["expire", "empty-oncall", "crlf-site", "sender", "notify"])
def test_settings_that_switch_alerting_off_fail_config_check(
    what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    def edit(d: dict[str, Any]) -> None:
        if what == "expire":
            d["alerts"]["expire_s"] = 0.001  # every alert to dead/ with 0 attempts
        elif what == "empty-oncall":
            d["alerts"]["groups"]["oncall"] = []  # "1 queued, 0 delivered"
        elif what == "crlf-site":
            d["network"]["sites"] = _sites_with_crlf(tmp_path)  # store and e-mail refuse all
        elif what == "sender":
            d["alerts"]["sender"] = "seismo network"  # a space: every CAP message invalid
        else:
            d["health"]["notify_group"] = "nobody"  # health notices never delivered

    rc = main(["--config", str(_config(tmp_path, edit)), "config", "check"])
    err = capsys.readouterr().err
    assert rc != 0, err
    key = {"expire": "expire_s", "empty-oncall": "alerts.groups.oncall",
           "crlf-site": "sites[0].name", "sender": "sender",
           "notify": "health.notify_group"}[what]
    assert key in err, err


def test_shipped_configuration_passes_config_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 0, capsys.readouterr().err


# --------------------------------------------------------------------------- secrets in URLs
SECRETS = ("T0AAA1BBB", "B0CCC2DDD", "XyZsecretPathToken123", "funcKey42", "eyJhbGciOiJIUzI1NiJ9")


@pytest.mark.parametrize("path", [
    "/services/T0AAA1BBB/B0CCC2DDD/XyZsecretPathToken123",  # Slack incoming webhook
    "/webhookb2/XyZsecretPathToken123/IncomingWebhook/funcKey42",  # Teams
    "/api/alert?code=funcKey42",  # Azure Functions
    "/hook?jwt=eyJhbGciOiJIUzI1NiJ9",
])
def test_webhook_url_secrets_never_shown(
    path: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """Config check, delivery logs and outbox files show the webhook's scheme and host
    only: path tokens and code=/jwt= values are its credentials."""
    port = free_port()  # nothing listens: every attempt fails, with an error message
    url = f"http://127.0.0.1:{port}{path}"
    s = settings_for(tmp_path, {"hook": {"kind": "webhook", "url": url, "timeout_s": 1.0}},
                     {"oncall": ["hook"], "tsunami": ["hook"]})
    shown = json.dumps(effective_config(s), default=str)
    assert f"http://127.0.0.1:{port}" in shown
    svc = service(s)
    [msg] = svc.process_events([make_event(mag=3.4)], now=T0)
    assert_valid(msg.xml)
    assert svc.deliver_due(now=T0 + 1).failed == 1
    files = "".join(p.read_text(encoding="utf-8") for p in svc.outbox.root.rglob("*.json"))
    assert f"127.0.0.1:{port}" in files  # the error names where
    for secret in SECRETS:
        assert secret not in shown and secret not in files and secret not in caplog.text


def test_config_check_shows_webhook_host_only(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://hooks.slack.com/services/T0AAA1BBB/B0CCC2DDD/XyZsecretPathToken123"

    def edit(d: dict[str, Any]) -> None:
        d["alerts"]["channels"]["slack"] = {"kind": "webhook", "url": url}
        d["alerts"]["groups"]["oncall"].append("slack")

    assert main(["--config", str(_config(tmp_path, edit)), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert "https://hooks.slack.com" in out
    assert not any(s in out for s in SECRETS)


def test_directory_channel_never_overwrites_an_identifier(tmp_path: Path) -> None:
    """The audit trail keeps the first message of an identifier; other content under the
    same identifier is refused (and retried, so it is seen), the same content is a no-op."""
    from seismo.alerts.channels import DirectoryChannel
    from seismo.alerts.outbox import DeliveryItem
    from seismo.errors import AlertError

    ch = DirectoryChannel("audit", tmp_path)
    item = DeliveryItem("k", "m", "audit", "s.ev.oncall.v1", "s", "2026-01-01T00:00:00+00:00",
                        "Alert", "oncall", "", "", "<alert>first</alert>", 0.0)
    ch.send(item)
    ch.send(item)
    other = DeliveryItem(**{**item.to_dict(), "xml": "<alert>other</alert>"})
    with pytest.raises(AlertError, match="never reused"):
        ch.send(other)
    assert (tmp_path / "s.ev.oncall.v1.cap.xml").read_text() == "<alert>first</alert>"
    assert os.listdir(tmp_path) == ["s.ev.oncall.v1.cap.xml"]
