"""``seismo health``: its option parsing and its errors (the run itself:
tests/health/test_health_report.py)."""

from __future__ import annotations

import pytest

from seismo.cli.cmd_health import parse_duration
from seismo.cli.common import UsageError
from seismo.cli.main import main


@pytest.mark.parametrize(
    "text,seconds", [("600", 600.0), ("10m", 600.0), ("1h", 3600.0), ("90s", 90.0),
                     ("1.5h", 5400.0), ("1d", 86400.0), ("3600", 3600.0)]
)
def test_parse_duration(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "-5m", "0", "1h30"])
def test_parse_duration_rejects_malformed(text) -> None:
    with pytest.raises(UsageError, match="--window"):
        parse_duration(text)


def test_cli_health_bad_window_is_a_clear_error(capsys) -> None:
    assert main(["health", "--window", "soon"]) == 3  # the check could not run: UNKNOWN
    assert "--window: not a duration: 'soon'" in capsys.readouterr().err
