"""The stream's state file: positions, pool picks and announced events survive a restart;
the file keeps its format (flat event records); a bad file never stops the stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.io.seedlink.client import Position
from seismo.model import Event, EventSummary, Pick
from seismo.shells.stream_state import (
    AnnouncedEvents,
    EventMemo,
    StreamState,
    load_state,
    save_state,
)

T = UTCDateTime("2026-03-01T08:00:00")


def _event(eid: str, t: UTCDateTime, version: int = 1) -> Event:
    nan = float("nan")
    return Event(id=eid, time=t, latitude=22.6, longitude=114.0, depth_km=8.0, rms_s=0.1,
                 azimuthal_gap_deg=80.0, n_phases=8, n_stations=5,
                 horizontal_uncertainty_km=nan, vertical_uncertainty_km=nan,
                 outside_network=False, magnitude=3.1, version=version)


def test_state_round_trip(tmp_path: Path) -> None:
    ann = AnnouncedEvents(max_n=2)
    ann.remember(_event("a", T), alerted=False)
    ann.remember(_event("b", T + 60, 2), alerted=True)
    ann.remember(_event("b", T + 60, 3), alerted=False)  # the thread stays alerted
    ann.remember(_event("c", T + 120), alerted=False)
    ann.close("c")
    pick = Pick(Pick.make_id("SZ.BAOA..HHZ", "P", T), "SZ", "BAOA", "", "HHZ", "P", T, 0.05,
                10.0, 1.0)
    path = tmp_path / "state.json"
    save_state(path, StreamState({"SZ.BAOA": Position(42, T + 1)}, [pick], ann.memos(), T))
    raw = json.loads(path.read_text())
    assert [e["id"] for e in raw["events"]] == ["b", "c"]  # the newest max_n
    assert set(raw["events"][0]) == {"id", "version", "time", "latitude", "longitude",
                                     "depth_km", "magnitude", "alerted", "closed"}
    back = load_state(path)
    assert back.positions["SZ.BAOA"].sequence == 42 and back.picks == [pick]
    again = AnnouncedEvents(back.events)
    b, c = again.get("b"), again.get("c")
    assert b is not None and b.alerted and b.event.version == 3 and not b.closed
    assert c is not None and c.closed and not c.alerted
    assert [k.id for k in again.known_events(T + 30, T + 90)] == ["b"]
    again.forget("b")
    assert again.get("b") is None


def _state() -> StreamState:
    return StreamState(
        positions={"SZ.A": Position(17, T)},
        picks=[Pick("p1", "SZ", "A", "", "HHZ", "P", T + 1, 0.05, 12.5, 900.0)],
        events=[EventMemo(EventSummary("sz2026abc", T, 22.5, 114.0, 8.0, 3.1, 2), alerted=True)],
        saved=T + 5,
    )


def test_state_file_is_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "run" / "state.json"
    save_state(path, _state())
    assert load_state(path) == _state()
    assert [f.name for f in path.parent.iterdir()] == ["state.json"]  # no temporaries


@pytest.mark.parametrize(
    "body",
    [
        '{"format": 1, "positions": [], "picks": [], "events": []}',  # JSON, wrong shape
        '{"format": 2, "positions": {}, "picks": [], "events": []}',  # a future format
        '{"format": 1, "positi',  # a truncated file
    ],
)
def test_bad_state_file_is_set_aside_and_the_stream_starts_afresh(
    tmp_path: Path, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.json"
    path.write_text(body)
    assert load_state(path) == StreamState()
    assert (tmp_path / "state.json.bad").read_text() == body and not path.exists()
    assert "stream state file" in caplog.text and "starts afresh" in caplog.text
    save_state(path, _state())  # the next save writes a good file again
    assert json.loads(path.read_text())["format"] == 1 and load_state(path) == _state()
