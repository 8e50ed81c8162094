"""``seismo bulletin`` and ``seismo drill``: bad input gives a clear error and exit 1 (the
runs themselves: tests/shells/test_report.py and tests/shells/test_detect.py)."""

from __future__ import annotations

from pathlib import Path

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


def test_a_drill_that_alerts_nobody_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rules no felt M3 meets: the drill names, per rule, why nobody was alerted."""
    ov = tmp_path / "rules.toml"
    ov.write_text("[alerts.rules]\noncall_min_magnitude = 9.5\noncall_min_intensity = 12.0\n",
                  encoding="utf-8")
    args = ["--overlay", str(ov), "drill", "--scenario", "felt_m3_city",
            "--installation", str(tmp_path / "drill")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "alerted groups: none" in out
    why = [line.strip() for line in out.splitlines() if line.strip().startswith("why:")]
    assert any("below oncall_min_magnitude 9.5" in w and "ML" in w for w in why), out
    assert any("below oncall_min_intensity 12" in w for w in why), out
    assert any(w.startswith("why: tsunami: no moment magnitude yet, and ML") for w in why), out


def test_a_drill_without_an_event_says_why() -> None:
    from obspy import UTCDateTime

    from seismo.shells.detect import DetectSummary
    from seismo.shells.drill import no_event_reason

    t = UTCDateTime(2026, 1, 15)
    s = DetectSummary(t, t + 360, n_windows=6, n_picks=4, network_down=2,
                      notes=["3 of 5 multi-station pick groups below 4 phases"])
    why = no_event_reason(s)
    assert why.startswith("no event detected: 4 picks in 6 windows")
    assert "too few stations delivered data in 2 windows" in why
    assert "below 4 phases" in why
