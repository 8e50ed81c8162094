"""The stream's state file: positions, pool picks and announced events survive a restart;
the file keeps its format (flat event records)."""

from __future__ import annotations

import json
from pathlib import Path

from obspy import UTCDateTime

from seismo.io.seedlink.client import Position
from seismo.model import Event, Pick
from seismo.shells.stream_state import AnnouncedEvents, StreamState, load_state, save_state

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
