"""``seismo bulletin`` and ``seismo drill``: bad input gives a clear error and exit 1 (the
runs themselves: tests/shells/test_report.py and tests/shells/test_detect.py)."""

from __future__ import annotations

import pytest

from seismo.cli.main import main
from seismo.config import Settings
from seismo.simulate import load_scenarios


@pytest.mark.parametrize("date", ["2026-13-01", "15/01/2026", "yesterday"])
def test_bulletin_rejects_a_malformed_date(date: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bulletin", "--date", date]) == 1
    assert f"--date: not a date YYYY-MM-DD: {date!r}" in capsys.readouterr().err


def test_drill_of_an_unknown_scenario_names_the_known_ones(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drill", "--scenario", "no_such_quake"]) == 1
    err = capsys.readouterr().err
    assert "unknown scenario 'no_such_quake'" in err
    assert all(name in err for name in load_scenarios(settings.simulator.scenarios))
