"""The daily bulletin against a real influxd holding a detected simulated scenario."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from obspy import UTCDateTime, read_events
from test_review import REF, TRUTH, Scenario, is_png, run_cli, stored_scenario

from seismo.errors import DataError
from seismo.shells.report import BULLETIN_FILES, day_start


def test_day_start_accepts_dates() -> None:
    want = UTCDateTime("2026-01-15T00:00:00")
    assert day_start(dt.date(2026, 1, 15)) == want
    assert day_start(UTCDateTime("2026-01-15T17:03:02")) == want
    assert day_start("2026-01-15") == want
    assert day_start(dt.datetime(2026, 1, 15, 23, 59, tzinfo=dt.UTC)) == want
    with pytest.raises(DataError, match="naive"):
        day_start(dt.datetime(2026, 1, 15, 12))
    with pytest.raises(DataError, match="not-a-day"):
        day_start("not-a-day")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from seismo.io.store.server import InfluxServer, free_port

    tmp = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("SEISMO_INFLUX_URL", "SEISMO_INFLUX_DATABASE", "SEISMO_CONFIG"):
            mp.delenv(var, raising=False)
        with InfluxServer(tmp / "influxdb", free_port()) as srv:
            sc = stored_scenario(tmp, srv.url, "report")
            mp.setenv("SEISMO_CONFIG", str(sc.config))
            yield sc


@pytest.mark.influx
def test_bulletin_command(scenario: Scenario, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "bulletin"
    rc, out, err = run_cli(capsys, "bulletin", "--date", "2026-01-15", "--out", str(out_dir))
    assert rc == 0, err
    written = {Path(line).name for line in out.split()}
    assert written == set(BULLETIN_FILES)
    page = (out_dir / "bulletin.html").read_text(encoding="utf-8")
    ev = scenario.event
    assert ev.id in page and "2026-01-15" in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(images) == ["availability.png", "magnitude_time.png", "map.png"]
    for name in images:
        is_png(out_dir / name)
    assert "http://" not in page and "https://" not in page  # offline
    cat = read_events(str(out_dir / "events.xml"))
    assert len(cat) == 1
    origin = cat[0].preferred_origin() or cat[0].origins[0]
    assert abs(origin.latitude - TRUTH[0]) < 0.05 and abs(origin.longitude - TRUTH[1]) < 0.05
    assert abs(cat[0].magnitudes[0].mag - TRUTH[3]) < 0.4
    # the processed windows (3 minutes: 3 or 4 on the grid), every simulated station
    # delivered data in each
    from seismo.shells.detect import count_windows

    n = count_windows(scenario.settings, REF + 60, REF + 240)
    assert f"Windows processed: {n} of 1440" in page
    rows = re.findall(r'<tr><td class="l">(SZ\.\w+)</td><td>(\d+)</td><td>(\d+)</td>'
                      r"<td>([\d.]+)</td></tr>", page)
    assert len(rows) == 20 and {r[1:] for r in rows} == {(str(n), str(n), "100.0")}
    rc, _, err = run_cli(capsys, "bulletin", "--date", "15/01/2026")
    assert rc == 1 and "15/01/2026" in err


@pytest.mark.influx
def test_bulletin_default_dir_and_empty_day(scenario: Scenario) -> None:
    from seismo.shells.report import write_bulletin

    paths = write_bulletin(scenario.settings, (REF + 3600).date)
    want = scenario.root / "var" / "reports" / "2026-01-15"  # [report] dir = "var/reports"
    assert Path(scenario.settings.report.dir) == scenario.root / "var" / "reports"
    assert paths[0] == want / "bulletin.html" and all(p.exists() for p in paths)
    # a day without events: the bulletin still renders, the QuakeML is empty but valid
    empty = write_bulletin(scenario.settings, dt.date(2026, 1, 14),
                           out_dir=scenario.root / "empty")
    page = empty[0].read_text(encoding="utf-8")
    assert "0 events listed" in page and "no events" in page
    assert "Windows processed: 0 of 1440" in page
    assert "no window was processed, so availability is unknown" in page
    assert "<td>0.0</td>" not in page  # unknown, never 0 %
    assert len(read_events(str(scenario.root / "empty" / "events.xml"))) == 0
    for p in empty:
        if p.suffix == ".png":
            is_png(p)


@pytest.mark.influx
def test_bulletin_leaves_out_rejected(scenario: Scenario) -> None:
    """A rejected event (another id, later that day) is counted but not listed."""
    import dataclasses

    from seismo.io.store import InfluxStore
    from seismo.shells.report import write_bulletin

    ev = scenario.event
    other = dataclasses.replace(ev, id="sz20260115T04000000", time=ev.time + 3600,
                                status="rejected", version=2, reviewer="t")
    with InfluxStore.from_settings(scenario.settings.store) as store:
        assert store.write_events([other]).ok
    paths = write_bulletin(scenario.settings, "2026-01-15", out_dir=scenario.root / "rej")
    page = paths[0].read_text(encoding="utf-8")
    assert "1 events listed; 1 rejected" in page
    assert ev.id in page and other.id not in page
