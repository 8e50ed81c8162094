"""The detection DAG's window ledger: a bad file is set aside, never trusted or fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.config import Settings
from seismo.model import StationResult
from seismo.shells.ledger import WindowLedger
from seismo.shells.window import Window

T0 = UTCDateTime(2026, 1, 15, 3, 1, 0)


def _window(settings: Settings) -> Window:
    p = settings.pipeline
    return Window(T0, T0 + p.window_s, p.preroll_s, p.postroll_s)


def test_station_results_survive_a_restart(settings: Settings, tmp_path: Path) -> None:
    w = _window(settings)
    WindowLedger(tmp_path, settings).save_station(w, StationResult("SZ", "A", n_samples=6000))
    got = WindowLedger(tmp_path, settings).stations(w)
    assert list(got) == ["SZ.A"] and got["SZ.A"].n_samples == 6000


def test_bad_station_result_is_set_aside_and_fetched_again(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = _window(settings)
    ledger = WindowLedger(tmp_path, settings)
    ledger.save_station(w, StationResult("SZ", "A", n_samples=6000))
    d = tmp_path / w.start.strftime("%Y%m%dT%H%M%S") / "stations"
    (d / "SZ.B.json").write_text(json.dumps({"network": "SZ"}))  # valid JSON, wrong shape
    (d / "SZ.C.json").write_bytes(b'{"network": "SZ", "sta')  # a truncated write
    assert list(ledger.stations(w)) == ["SZ.A"]
    assert sorted(f.name for f in d.iterdir()) == ["SZ.A.json", "SZ.B.json.bad", "SZ.C.json.bad"]
    assert caplog.text.count("fetched again") == 2


def test_bad_planned_record_does_not_stop_planning(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = _window(settings)
    planned = tmp_path / w.start.strftime("%Y%m%dT%H%M%S") / "planned.json"
    planned.parent.mkdir(parents=True)
    planned.write_text('{"runs": "run-1"}')  # JSON, but "runs" is no list
    plan = WindowLedger(tmp_path, settings).plan(w, "run-2")
    assert plan.windows == [w]
    assert [r["run"] for r in json.loads(planned.read_text())["runs"]] == ["run-2"]
    assert planned.with_name("planned.json.bad").exists() and "ledger file" in caplog.text
