"""The detection DAG's window ledger: a bad file is set aside, never trusted or fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.config import Settings
from seismo.model import StationResult
from seismo.shells.ledger import WindowLedger
from seismo.shells.window_context import Window

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


def test_a_backlog_longer_than_one_run_is_processed_by_the_next_runs(
    settings: Settings, tmp_path: Path
) -> None:
    """Runs skipped for a while (a scheduler down for minutes): the first run back takes
    its own window and max_windows_per_run - 1 missed ones; every other missed window
    stays on record and later runs take it up, none is lost."""
    ledger = WindowLedger(tmp_path, settings)
    step = settings.pipeline.window_s
    per_run = settings.airflow.max_windows_per_run

    def w(k: int) -> Window:
        p = settings.pipeline
        return Window(T0 + k * step, T0 + (k + 1) * step, p.preroll_s, p.postroll_s)

    ledger.complete(ledger.plan(w(0), "run-0").windows[0], {})
    missed = list(range(1, 2 * per_run + 1))  # no run for these windows
    done: list[int] = []
    k = missed[-1] + 1
    while True:
        plan = ledger.plan(w(k), f"run-{k}")
        for win in plan.windows:
            ledger.complete(win, {})
            done.append(round(float(win.start - T0) / step))
        assert len(plan.windows) <= per_run
        if not plan.backlog:
            break
        k += 1
    assert sorted(done) == [*missed, *range(missed[-1] + 1, k + 1)]


@pytest.mark.parametrize("station", ["../../x", "A/B", "A\\B", "A B", "A\x00B", ".."])
def test_a_station_code_never_makes_a_ledger_path(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture, station: str
) -> None:
    """A station id that is not an FDSN code is not kept (logged), and nothing is written
    outside the window's ``stations`` directory; the other stations are kept."""
    w = _window(settings)
    root = tmp_path / "ledger"
    ledger = WindowLedger(root, settings)
    ledger.save_station(w, StationResult("SZ", station, n_samples=6000))
    ledger.save_station(w, StationResult("SZ", "A", n_samples=6000))
    assert list(ledger.stations(w)) == ["SZ.A"]
    files = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.parts[-2:] for p in files if p.parent.name == "stations"] == [
        ("stations", "SZ.A.json")]
    assert all(p.parts[0] == "ledger" for p in files)
    assert f"invalid station code {station!r}" in caplog.text
