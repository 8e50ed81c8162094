"""``seismo config check`` and ``seismo config default`` (the validation rules themselves:
tests/test_config.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from seismo.cli.main import main
from seismo.config import DEFAULT_CONFIG, load_settings


def test_default_prints_the_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "default"]) == 0
    out = capsys.readouterr().out
    assert out == DEFAULT_CONFIG.read_text(encoding="utf-8") and tomllib.loads(out)["network"]


def test_check_prints_the_effective_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(DEFAULT_CONFIG), "config", "check"]) == 0
    out = capsys.readouterr().out
    first, body = out.split("\n", 1)
    assert first == f"# {DEFAULT_CONFIG}: OK"
    parsed = tomllib.loads(body)
    assert parsed["network"]["name"] == load_settings(DEFAULT_CONFIG).network.name
    assert {"feeds", "picker", "store", "alerts", "airflow"} <= set(parsed)


def test_check_names_file_and_unknown_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ov = tmp_path / "typo.toml"
    ov.write_text("[picker]\nsta_lenght_s = 1.0\n", encoding="utf-8")
    assert main(["--overlay", str(ov), "config", "check"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "picker.sta_lenght_s" in captured.err and str(ov) in captured.err
    assert main(["--config", str(tmp_path / "missing.toml"), "config", "check"]) == 1
    assert "missing.toml" in capsys.readouterr().err
