"""The state file of ``seismo stream``: round trip, and a bad file never stops the stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.io.seedlink.client import Position
from seismo.model import Pick
from seismo.shells.stream_state import EventMemo, StreamState, load_state, save_state

T0 = UTCDateTime(2026, 1, 15, 3, 1, 0)


def _state() -> StreamState:
    return StreamState(
        positions={"SZ.A": Position(17, T0)},
        picks=[Pick("p1", "SZ", "A", "", "HHZ", "P", T0 + 1, 0.05, 12.5, 900.0)],
        events=[EventMemo("sz2026abc", 2, T0, 22.5, 114.0, 8.0, 3.1, alerted=True)],
        saved=T0 + 5,
    )


def test_state_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run" / "state.json"
    save_state(path, _state())
    got = load_state(path)
    assert got == _state()
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
