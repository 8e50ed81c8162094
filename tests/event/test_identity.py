"""Event ids (seismo.event.identity): encoding, decoding, the origin search window."""

from __future__ import annotations

import pytest
from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.event.identity import (
    ORIGIN_AFTER_ID_S,
    ORIGIN_BEFORE_ID_S,
    event_id,
    event_id_time,
    first_pick_time,
    origin_time_bounds,
)
from seismo.model import Pick


def test_id_time_parses_event_ids() -> None:
    assert event_id_time("sz20260115T03020155") == UTCDateTime("2026-01-15T03:02:01.55")
    assert event_id_time("custom-id") is None
    assert event_id_time("sz20261399T03020155") is None  # month 13: not a time


@pytest.mark.parametrize(
    "t", ["2026-01-15T03:02:01.554", "2026-12-31T23:59:59.996", "2026-06-01T00:00:00"]
)
def test_event_id_round_trip_to_10_ms(t: str) -> None:
    first = UTCDateTime(t)
    eid = event_id("sz", first)
    assert eid.startswith("sz") and len(eid) == len("sz20260115T03020155")
    back = event_id_time(eid)
    assert back is not None and abs(back - first) <= 0.005 + 1e-9
    assert event_id("sz", back) == eid  # stable under re-encoding


def test_first_pick_and_origin_bounds() -> None:
    def pick(t: UTCDateTime, sta: str) -> Pick:
        return Pick(
            id=f"SZ.{sta}.P", network="SZ", station=sta, location="00", channel="HHZ",
            phase="P", time=t, uncertainty_s=0.05, snr=10.0, amplitude=100.0,
        )

    t0 = UTCDateTime("2026-01-15T03:02:01.55")
    picks = [pick(t0 + 2.0, "A"), pick(t0, "B"), pick(t0 + 0.5, "C")]
    assert first_pick_time(picks) == t0
    with pytest.raises(DataError, match="at least one pick"):
        first_pick_time([])
    lo, hi = origin_time_bounds(event_id("sz", t0))  # type: ignore[misc]
    assert lo == t0 - ORIGIN_BEFORE_ID_S and hi == t0 + ORIGIN_AFTER_ID_S
    assert origin_time_bounds("custom-id") is None
