"""The network-down notice: only when the network is down, naming the stations that
delivered nothing, in both languages, rate-limited by the wall clock and by outage, never
by data time (a backfill over a long data gap sends one notice, not one per data hour)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from obspy import UTCDateTime

from seismo.model import StationResult
from seismo.shells.publish import Runner, network_down
from seismo.shells.window_context import windows_between

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
T = UTCDateTime("2016-03-01T00:00:00")  # a backfill: data time far from the wall clock


def _silent(n: int) -> list[StationResult]:
    return [StationResult("SZ", f"ST{i:02d}", error="no data in the archive") for i in range(n)]


def _runner(settings, tmp: Path) -> Runner:  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={
        "alerts": settings.alerts.model_copy(update={"outbox_dir": tmp / "outbox"})})
    return Runner.from_settings(s, store=False, alert_dir=tmp / "cap")


def test_backfill_over_a_data_gap_sends_one_notice_not_one_per_data_hour(
    settings, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    runner = _runner(settings, tmp_path)
    hours = [windows_between(settings, T + 3600 * h, T + 3600 * h + 120) for h in range(5)]
    downs = 0
    for windows in hours:  # five data hours of an outage, seconds of wall clock
        for w in windows:
            downs += bool(runner.handle_parts(w, _silent(20), []).network_down)
    assert downs == sum(len(ws) for ws in hours)  # every window is down...
    notices = sorted((tmp_path / "cap").glob("*.cap.xml"))
    assert len(notices) == 1, [p.name for p in notices]  # ...one notice says so
    root = ET.parse(notices[0]).getroot()
    langs = [i.findtext(f"{CAP}language") for i in root.findall(f"{CAP}info")]
    assert langs == ["zh-CN", "en-US"]
    body = notices[0].read_text(encoding="utf-8")
    assert "SZ.ST00 (no data in the archive)" in body and "SZ.ST19" in body
    assert "Only 0 of the 20 stations delivered data" in body and "地震台网中断" in body
    assert " of 0 " not in body


def test_a_window_without_station_results_is_not_a_network_outage(
    settings, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """A later re-measurement of a window's events passes no station results: "0 of 0
    stations delivered data" was never true, so nothing is said."""
    w = windows_between(settings, T, T + 60)[0]
    assert network_down(w, [], settings.associate.min_stations) is None
    rep = _runner(settings, tmp_path).handle_parts(w, [], [])
    assert rep.network_down is None and not list((tmp_path / "cap").glob("*.xml"))


def test_a_network_with_enough_stations_is_not_down(settings) -> None:  # type: ignore[no-untyped-def]
    w = windows_between(settings, T, T + 60)[0]
    live = [StationResult("SZ", f"L{i}", n_samples=6000) for i in range(4)]
    assert network_down(w, live + _silent(16), 4) is None
    down = network_down(w, live[:3] + _silent(2), 4)
    assert down is not None and down.silent == (("SZ.ST00", "no data in the archive"),
                                                 ("SZ.ST01", "no data in the archive"))
    assert "3 of the 5 stations" in down.text and "SZ.ST01 (no data in the archive)" in down.text
