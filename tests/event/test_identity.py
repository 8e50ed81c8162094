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


def test_match_event_by_origin_time_and_place() -> None:
    import dataclasses

    from seismo.event.identity import match_event, merge_known, same_solution
    from seismo.model import Event, EventSummary

    t = UTCDateTime("2026-01-15T03:02:00")
    ev = Event(id="sz20260115T03020300", time=t, latitude=22.55, longitude=114.05, depth_km=8.0,
               rms_s=0.1, azimuthal_gap_deg=90.0, n_phases=10, n_stations=6,
               horizontal_uncertainty_km=1.0, vertical_uncertainty_km=2.0,
               outside_network=False, magnitude=3.0)
    near = EventSummary("sz20260115T03020412", t + 1.2, 22.58, 114.07, 9.0, 2.8, 1)
    far = EventSummary("sz20260115T03020500", t + 0.5, 23.2, 114.05, 9.0, 2.8, 1)  # ~72 km
    late = EventSummary("sz20260115T03021500", t + 12.0, 22.55, 114.05, 9.0, 2.8, 1)
    assert match_event(ev, [far, late, near], 5.0, 30.0) == near
    assert match_event(ev, [far, late], 5.0, 30.0) is None
    closer = dataclasses.replace(near, id="x", time=t + 0.1)
    assert match_event(ev, [near, closer], 5.0, 30.0) == closer
    assert same_solution(ev, EventSummary.of(ev))
    assert not same_solution(dataclasses.replace(ev, magnitude=3.1), EventSummary.of(ev))
    merged = merge_known([dataclasses.replace(near, version=0), near,
                          dataclasses.replace(near, version=2)])
    assert [k.version for k in merged] == [2]
