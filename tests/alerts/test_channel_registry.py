"""Channels are a union keyed by ``kind``: each kind's model validates its own table, and a
new kind is one module that registers itself (here: a tiny one, in this test module)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from test_alerts import T0, make_event

from seismo.alerts.channels import ChannelConfig, build_channel, channel_kinds, register_channel
from seismo.alerts.channels.directory import DirectoryConfig
from seismo.alerts.channels.smtp import SmtpConfig
from seismo.alerts.channels.webhook import WebhookConfig
from seismo.alerts.outbox import DeliveryItem
from seismo.alerts.service import AlertService
from seismo.config import (
    DEFAULT_CONFIG,
    dump_toml,
    effective_config,
    load_settings,
    settings_to_toml,
)
from seismo.errors import AlertError, ConfigError


# --------------------------------------------------------------------------- a new kind
class LogbookChannel:
    """Appends one line per message to a text file (the operators' logbook)."""

    def __init__(self, name: str, path: Path, prefix: str) -> None:
        self.name, self.path, self.prefix = name, path, prefix

    def send(self, item: DeliveryItem) -> None:
        try:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(f"{self.prefix} {item.group} {item.msg_type} {item.identifier}\n")
        except OSError as exc:
            raise AlertError(f"logbook channel '{self.name}' ({self.path}): {exc}") from None


@register_channel
class LogbookConfig(ChannelConfig):
    """``kind = "logbook"``: the file and the prefix of every line."""

    kind: Literal["logbook"] = "logbook"
    path: Path
    prefix: str = "SEISMO"

    def build(self, name: str) -> LogbookChannel:
        return LogbookChannel(name, self.path, self.prefix)


def _config(tmp_path: Path, channel: str) -> Path:
    """An overlay of the shipped file whose only channel is ``channel`` (TOML lines)."""
    cfg = tmp_path / "seismo.toml"
    cfg.write_text(
        f'base = "{DEFAULT_CONFIG}"\n'
        f'[alerts]\noutbox_dir = "{tmp_path / "outbox"}"\n'
        f"[alerts.channels.audit]\n{channel}\n"
        '[alerts.groups]\noncall = ["audit"]\ntsunami = ["audit"]\nengineers = ["audit"]\n',
        encoding="utf-8",
    )
    return cfg


def test_a_kind_registered_by_its_own_module_is_configured_and_delivers(tmp_path: Path) -> None:
    assert channel_kinds()["logbook"] is LogbookConfig
    cfg = _config(tmp_path, 'kind = "logbook"\npath = "logbook.txt"\nprefix = "DUTY"')
    s = load_settings(cfg)
    audit = s.alerts.channels["audit"]
    assert isinstance(audit, LogbookConfig)
    assert audit.path == tmp_path / "logbook.txt"  # relative to the file that set it
    svc = AlertService.from_settings(s.alerts, s.network)
    [msg] = svc.process_events([make_event()], now=T0)
    assert svc.deliver_due(now=T0).delivered == 1
    lines = (tmp_path / "logbook.txt").read_text(encoding="utf-8").splitlines()
    assert lines == [f"DUTY oncall Alert {msg.identifier}"]
    # the dump shows the kind's own keys, and loads back to the same settings
    assert effective_config(s)["alerts"]["channels"]["audit"] == {
        "kind": "logbook", "path": str(tmp_path / "logbook.txt"), "prefix": "DUTY"}
    again = tmp_path / "again.toml"
    again.write_text(settings_to_toml(s), encoding="utf-8")
    assert load_settings(again).alerts.channels == s.alerts.channels


def test_each_kind_validates_its_own_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.channels\.audit: .*a logbook channel "
                                          r"needs 'path'"):
        load_settings(_config(tmp_path, 'kind = "logbook"'))
    with pytest.raises(ConfigError, match=r"alerts\.channels\.audit\.url: unknown key"):
        load_settings(_config(tmp_path, 'kind = "logbook"\npath = "x"\nurl = "http://h"'))
    with pytest.raises(ConfigError, match=r"alerts\.channels\.audit\.format: unknown key"):
        load_settings(_config(tmp_path, 'kind = "directory"\npath = "x"\nformat = "json"'))
    with pytest.raises(ConfigError, match=r"needs 'recipients'"):
        load_settings(_config(tmp_path, 'kind = "smtp"\nhost = "h"\nsender = "s"\n'
                                        "recipients = []"))
    with pytest.raises(ConfigError, match=r"alerts\.channels\.audit\.port: Input should be"):
        load_settings(_config(tmp_path, 'kind = "smtp"\nhost = "h"\nsender = "s"\n'
                                        'recipients = ["r"]\nport = "25"'))
    with pytest.raises(ConfigError, match=r"unknown channel kind 'pager' \(known: .*logbook"):
        load_settings(_config(tmp_path, 'kind = "pager"'))


def test_built_in_kinds_and_their_channels(tmp_path: Path) -> None:
    kinds = channel_kinds()
    assert {k: kinds[k] for k in ("webhook", "smtp", "directory")} == {
        "webhook": WebhookConfig, "smtp": SmtpConfig, "directory": DirectoryConfig}
    hook = ChannelConfig.model_validate({"kind": "webhook", "url": "https://h/cap"})
    mail = ChannelConfig.model_validate(
        {"kind": "smtp", "host": "mx", "sender": "s@x", "recipients": ["r@x"], "starttls": True})
    audit = DirectoryConfig(path=tmp_path)
    assert type(build_channel("h", hook)).__name__ == "WebhookChannel"
    assert build_channel("m", mail).port == 587  # type: ignore[attr-defined]
    assert build_channel("a", audit).path == tmp_path  # type: ignore[attr-defined]
    text = dump_toml(effective_config(load_settings(DEFAULT_CONFIG)))
    assert '[alerts.channels.audit]\nkind = "directory"\npath = ' in text
