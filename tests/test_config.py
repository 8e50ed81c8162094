"""Configuration: strict validation, messages naming file and key, secrets never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.cli.main import main
from seismo.config import (
    DEFAULT_CONFIG,
    config_path,
    effective_config,
    load_settings,
    settings_to_toml,
)
from seismo.errors import ConfigError
from seismo.shells.report import default_bulletin_dir, reports_root

BASE = DEFAULT_CONFIG.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    # Keep relative paths working: rewrite them to absolute ones of the shipped config dir.
    cfg_dir = DEFAULT_CONFIG.parent
    text = (
        text.replace('"../', f'"{cfg_dir.parent}/')
        .replace('velocity_model = "', f'velocity_model = "{cfg_dir}/')
        .replace('sites = "', f'sites = "{cfg_dir}/')
        .replace('scenarios = "', f'scenarios = "{cfg_dir}/')
    )
    p = tmp_path / "seismo.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_config_loads_and_resolves_paths() -> None:
    s = load_settings(DEFAULT_CONFIG)
    assert s.source == DEFAULT_CONFIG
    assert s.network.inventory.is_absolute() and s.network.inventory.exists()
    assert s.network.velocity_model.exists() and s.network.sites.exists()
    assert s.feeds.default == "sim://"


def test_unknown_key_is_named_with_file(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE.replace("[feeds]\n", "[feeds]\nbogus_key = 1\n"))
    with pytest.raises(ConfigError) as e:
        load_settings(p)
    msg = str(e.value)
    assert str(p) in msg and "feeds.bogus_key: unknown key" in msg


def test_wrong_type_is_named(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE.replace("timeout_s = 10.0", 'timeout_s = "soon"'))
    with pytest.raises(ConfigError, match=r"feeds\.timeout_s: .*\(got 'soon'\)"):
        load_settings(p)


def test_out_of_range_is_named(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE.replace("window_s = 60.0", "window_s = -5"))
    with pytest.raises(
        ConfigError,
        match=r"pipeline\.window_s: Input should be greater than or equal to 10 \(got -5\)",
    ):
        load_settings(p)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("oncall_min_magnitude = 2.5", "oncall_min_magnitude = nan",
         "alerts.rules.oncall_min_magnitude"),
        ("window_s = 60.0", "window_s = inf", "pipeline.window_s"),
        ("retry_delay_s = 1.0", "retry_delay_s = -inf", "feeds.retry_delay_s"),
        ("psd_bands_s = [[0.1, 1.0]", "psd_bands_s = [[nan, 1.0]", "health.psd_bands_s.0.0"),
    ],
)
def test_nan_and_inf_are_rejected_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    """``oncall_min_magnitude = nan`` would compare False with every ML: alerts off."""
    assert old in BASE
    p = _write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError, match=rf"{key}: .*not a finite number"):
        load_settings(p)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("window_s = 60.0", "window_s = 1e-6", "pipeline.window_s"),
        ("timeout_s = 10.0", "timeout_s = 1e9", "feeds.timeout_s"),
        ("oncall_min_magnitude = 2.5", "oncall_min_magnitude = 25.0",
         "alerts.rules.oncall_min_magnitude"),
        ("oncall_min_intensity = 3.0", "oncall_min_intensity = 30.0",
         "alerts.rules.oncall_min_intensity"),
    ],
)
def test_absurd_values_are_rejected(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in BASE
    p = _write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError, match=rf"{key}: Input should be"):
        load_settings(p)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("[store]\nenabled = true", '[store]\nenabled = "yes"', "store.enabled"),
        ("oncall_min_magnitude = 2.5", 'oncall_min_magnitude = "2.5"',
         "alerts.rules.oncall_min_magnitude"),
        ("seedlink_port = 18000", 'seedlink_port = "18000"', "simulator.seedlink_port"),
        ("retries = 2\n", "retries = 2.0\n", "feeds.retries"),
    ],
)
def test_quoted_numbers_and_booleans_are_not_coerced(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    assert old in BASE
    p = _write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError, match=rf"{key}: Input should be a valid"):
        load_settings(p)


def test_credentials_in_urls_are_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``seismo config check`` never shows a password or API key written into a URL."""
    text = BASE.replace('default = "sim://"',
                        'default = "seedlink://ops:Hunter2pw@10.1.2.3:18000"', 1)
    text = text.replace("[alerts.channels.audit]", '[alerts.channels.hook]\nkind = "webhook"\n'
                        'url = "https://bot:S3cretTok@hooks.example/x?apikey=K3yV4lue&room=1"\n\n'
                        "[alerts.channels.audit]")
    assert text != BASE
    p = _write(tmp_path, text)
    assert main(["--config", str(p), "config", "check"]) == 0
    out = capsys.readouterr().out
    for secret_text in ("Hunter2pw", "S3cretTok", "K3yV4lue", "ops:", "bot:"):
        assert secret_text not in out
    assert "seedlink://***@10.1.2.3:18000" in out
    # a webhook URL is shown by scheme and host only (its path or query may be the token)
    assert "https://hooks.example" in out and "room=1" not in out


def test_cross_field_rule_is_named(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE.replace("sta_s = 0.5 ", "sta_s = 20.0 "))
    with pytest.raises(
        ConfigError, match=r"picker: .*sta_s \(20.0\) must be shorter than lta_s \(10.0\)"
    ):
        load_settings(p)


def test_instrument_is_one_setting(tmp_path: Path) -> None:
    s = load_settings(DEFAULT_CONFIG)
    assert s.instrument.full_scale_counts == 2.0**23
    assert s.instrument.clip_level_counts == pytest.approx(0.98 * 2**23)
    # the old per-stage copies are gone: strict config names them as unknown keys
    for section in ("picker", "health"):
        old = BASE.replace(f"[{section}]\n", f"[{section}]\nclip_fraction = 0.95\n", 1)
        with pytest.raises(ConfigError, match=rf"{section}\.clip_fraction: unknown key"):
            load_settings(_write(tmp_path, old))
    bad = BASE.replace("clip_fraction = 0.98 ", "clip_fraction = 1.5 ")
    with pytest.raises(ConfigError, match=r"instrument\.clip_fraction: .*\(got 1\.5\)"):
        load_settings(_write(tmp_path, bad))


def test_report_dir_is_a_setting(tmp_path: Path) -> None:
    s = load_settings(DEFAULT_CONFIG)
    assert s.report.dir == (DEFAULT_CONFIG.parent.parent / "var" / "reports").resolve()
    assert '[report]\n' in BASE
    p = _write(tmp_path, BASE.replace('[report]\n', '[report]\ndir = "out"\n'))
    s = load_settings(p)
    assert reports_root(s) == tmp_path / "out"
    assert default_bulletin_dir(s, UTCDateTime(2026, 1, 15)) == tmp_path / "out" / "2026-01-15"


def test_unknown_alert_channel_in_group(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE.replace('oncall = ["audit"]', 'oncall = ["pager"]'))
    with pytest.raises(ConfigError, match="group 'oncall' names unknown channel 'pager'"):
        load_settings(p)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"configuration file not found: .*nope\.toml"):
        load_settings(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[feeds\ndefault = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"invalid configuration file {bad}: not valid TOML"):
        load_settings(bad)


def test_missing_required_section(tmp_path: Path) -> None:
    p = tmp_path / "empty.toml"
    p.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="network: Field required"):
        load_settings(p)


def test_seismo_config_env_selects_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _write(tmp_path, BASE.replace('default = "sim://"', 'default = "sds:///data/archive"'))
    monkeypatch.setenv("SEISMO_CONFIG", str(p))
    assert config_path() == p
    assert load_settings().feeds.default == "sds:///data/archive"


def test_secrets_masked_in_check_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cr3t-token-value-123"
    monkeypatch.setenv("SEISMO_INFLUX_TOKEN", secret)
    monkeypatch.delenv("SEISMO_INFLUX_PASSWORD", raising=False)
    assert main(["--config", str(DEFAULT_CONFIG), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert secret not in out
    assert 'token_env = "SEISMO_INFLUX_TOKEN (set)"' in out
    assert 'password_env = "SEISMO_INFLUX_PASSWORD (unset)"' in out
    eff = effective_config(load_settings(DEFAULT_CONFIG))
    assert secret not in repr(eff)


def test_config_check_reports_error_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _write(tmp_path, BASE.replace("retries = 2", "retries = 99"))
    assert main(["--config", str(p), "config", "check"]) == 1
    err = capsys.readouterr().err
    assert "feeds.retries" in err and str(p) in err
    assert err.count("\n") == 1  # one clear message


def test_config_check_parses_every_feed_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed URL is validated by its backend when the feed opens (a bad one fails its
    stations only); ``seismo config check`` parses every configured one at once."""
    p = _write(tmp_path, BASE.replace('default = "sim://"', 'default = "seedlnk://ops:pw@h"'))
    assert load_settings(p).feeds.default == "seedlnk://ops:pw@h"
    assert main(["--config", str(p), "config", "check"]) == 1
    err = capsys.readouterr().err
    assert "feeds.default: unknown feed scheme 'seedlnk'" in err and str(p) in err
    assert "pw" not in err
    p = _write(tmp_path, BASE + '\n[feeds.overrides]\n"SZ.A01" = "seedlink://"\n')
    assert main(["--config", str(p), "config", "check"]) == 1
    assert 'feeds.overrides.SZ.A01: SeedLink URL seedlink:// names no host' in (
        capsys.readouterr().err)


def test_settings_round_trip_through_toml(tmp_path: Path) -> None:
    s = load_settings(DEFAULT_CONFIG)
    p = tmp_path / "copy.toml"
    p.write_text(settings_to_toml(s), encoding="utf-8")
    assert load_settings(p).model_dump() == s.model_dump()
    assert "SEISMO_INFLUX_TOKEN" in p.read_text() and os.environ.get("X_UNUSED") is None


# --------------------------------------------------------------------------- overlays
def test_overlay_with_base_key_changes_only_what_it_names(tmp_path: Path) -> None:
    """A small overlay: velocity model, region, event-id prefix on top of the shipped file."""
    (tmp_path / "model.toml").write_text(
        'name = "other"\nvp_vs = 1.75\n[[layers]]\ntop_km = 0.0\nvp = 6.0\n', encoding="utf-8"
    )
    ov = tmp_path / "other.toml"
    ov.write_text(
        f'base = "{DEFAULT_CONFIG}"\n[network]\nvelocity_model = "model.toml"\n'
        "region = [37.0, 38.5, 139.0, 141.0]\n[pipeline]\nevent_id_prefix = \"ov\"\n",
        encoding="utf-8",
    )
    s, base = load_settings(ov), load_settings(DEFAULT_CONFIG)
    assert s.network.velocity_model == (tmp_path / "model.toml").resolve()
    assert s.network.region == (37.0, 38.5, 139.0, 141.0)
    assert s.pipeline.event_id_prefix == "ov"
    # everything else, relative paths included, is the base's
    assert s.network.inventory == base.network.inventory
    assert s.store.spool_dir == base.store.spool_dir
    assert s.alerts.channels == base.alerts.channels
    assert s.picker == base.picker and s.pipeline.window_s == base.pipeline.window_s


def test_overlay_option_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ov = tmp_path / "ov.toml"
    ov.write_text('[pipeline]\nevent_id_prefix = "zz"\n', encoding="utf-8")
    s = load_settings(DEFAULT_CONFIG, overlays=[ov])
    assert s.pipeline.event_id_prefix == "zz" and s.network.name == load_settings().network.name
    assert main(["--overlay", str(ov), "config", "check"]) == 0
    assert 'event_id_prefix = "zz"' in capsys.readouterr().out


def test_overlay_unknown_key_names_the_overlay(tmp_path: Path) -> None:
    ov = tmp_path / "ov.toml"
    ov.write_text(f'base = "{DEFAULT_CONFIG}"\n[network]\nregoin = [0, 1, 0, 1]\n',
                  encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(ov)
    assert str(ov) in str(e.value) and "network.regoin: unknown key" in str(e.value)
    ov.write_text(f'base = "{DEFAULT_CONFIG}"\n[pipeline]\nwindow_s = -1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pipeline\.window_s"):
        load_settings(ov)


def test_overlay_base_errors(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('base = "b.toml"\n', encoding="utf-8")
    b.write_text('base = "a.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="base chain loops"):
        load_settings(a)
    a.write_text('base = "missing.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not found"):
        load_settings(a)
    a.write_text("base = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="base: must be a file path"):
        load_settings(a)


def test_state_paths_live_under_the_installation_directory(tmp_path: Path) -> None:
    """One alert record per installation: every state path derives from [installation] dir
    unless set explicitly; a demo or drill installation moves all of them (and the
    directory channels under the old one) and nothing else."""
    from seismo.config.installation import INSTALLATION_PATHS
    from seismo.config.tree import relocated

    p = _write(tmp_path, BASE.replace('[installation]\ndir = "../var"',
                                      f'[installation]\ndir = "{tmp_path / "inst"}"'))
    s = load_settings(p)
    for section, key, name in INSTALLATION_PATHS:
        assert getattr(getattr(s, section), key) == tmp_path / "inst" / name, (section, key)
    p2 = _write(tmp_path, BASE.replace('[alerts]\n', f'[alerts]\noutbox_dir = "{tmp_path}/box"\n'))
    assert load_settings(p2).alerts.outbox_dir == tmp_path / "box"  # explicit wins
    base = load_settings(DEFAULT_CONFIG)
    drill = relocated(base, tmp_path / "drills")
    assert drill.installation.dir == tmp_path / "drills"
    assert drill.alerts.outbox_dir == tmp_path / "drills" / "outbox"
    assert drill.stream.state_file == tmp_path / "drills" / "stream_state.json"
    assert drill.alerts.channels["audit"].path == tmp_path / "drills" / "alerts"  # type: ignore[attr-defined]
    assert drill.pipeline.cache_dir == base.pipeline.cache_dir  # a cache, not state
    assert drill.store.url == base.store.url and drill.alerts.groups == base.alerts.groups
