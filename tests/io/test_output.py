"""QuakeML and JSON event files (seismo.io.output)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from obspy import UTCDateTime, read_events

from seismo.errors import DataError
from seismo.io.output import events_to_catalog, read_json, write_json, write_quakeml
from seismo.model import (
    Arrival,
    Event,
    Pick,
    SiteIntensity,
    StationIntensity,
    StationMagnitude,
)

T = UTCDateTime(2026, 3, 1, 12, 0, 10.25)


def _event(eid: str = "XX.AAA.P.177000000000", status: str = "automatic") -> Event:
    picks, arrivals = [], []
    for i, (sta, phase, dt) in enumerate(
        [("AAA", "P", 2.0), ("AAA", "S", 3.5), ("BBB", "P", 3.1), ("CCC", "P", 4.0)]
    ):
        chan = "HHZ" if phase == "P" else "HHN"
        t = T + dt
        pid = Pick.make_id(f"XX.{sta}.00.{chan}", phase, t)
        picks.append(
            Pick(
                id=pid,
                network="XX",
                station=sta,
                location="00",
                channel=chan,
                phase=phase,
                time=t,
                uncertainty_s=0.05,
                snr=12.0,
                amplitude=1000.0,
                polarity="positive" if i == 0 else None,
            )
        )
        arrivals.append(
            Arrival(
                pick_id=pid,
                network="XX",
                station=sta,
                channel=chan,
                phase=phase,
                time=t,
                distance_km=10.0 + 5 * i,
                azimuth_deg=90.0 * i,
                residual_s=0.05 * (i - 1),
            )
        )
    mags = (
        StationMagnitude("XX", "AAA", "HHN", 1200.0, 14.1, 2.9),
        StationMagnitude("XX", "AAA", "HHE", 1000.0, 14.1, 2.8),
        StationMagnitude("XX", "BBB", "HHN", 9000.0, 18.0, 4.1, used=False),
    )
    return Event(
        id=eid,
        time=T,
        latitude=22.6,
        longitude=114.05,
        depth_km=9.5,
        rms_s=0.08,
        azimuthal_gap_deg=95.0,
        n_phases=4,
        n_stations=3,
        horizontal_uncertainty_km=1.2,
        vertical_uncertainty_km=2.5,
        outside_network=False,
        arrivals=tuple(arrivals),
        picks=tuple(picks),
        magnitude=2.85,
        magnitude_uncertainty=0.07,
        n_magnitude_stations=1,
        station_magnitudes=mags,
        station_intensities=(
            StationIntensity("XX", "AAA", 22.61, 114.06, 0.05, 0.002, 3.4, 3.1, 1.3),
        ),
        site_intensities=(SiteIntensity("Somewhere", "district", 22.5, 114.0, 14.0, 3.0, 2.8),),
        max_intensity=3.4,
        max_mmi=3.1,
        status=status,  # type: ignore[arg-type]
        creation_time=T + 60,
    )


def test_quakeml_round_trip(tmp_path: Path) -> None:
    ev = _event()
    path = write_quakeml([ev], tmp_path / "out" / "events.xml")
    cat = read_events(str(path))
    assert len(cat) == 1
    q = cat[0]
    assert str(q.resource_id).endswith("/event/" + ev.id)
    o = q.preferred_origin()
    assert o.time == T and o.latitude == 22.6 and o.longitude == 114.05
    assert o.depth == pytest.approx(9500.0)
    assert o.depth_errors.uncertainty == pytest.approx(2500.0)
    assert o.latitude_errors.uncertainty == pytest.approx(1.2 / 111.19, rel=1e-3)
    assert o.origin_uncertainty.horizontal_uncertainty == pytest.approx(1200.0)
    assert o.quality.standard_error == pytest.approx(0.08)
    assert o.quality.azimuthal_gap == pytest.approx(95.0)
    assert o.quality.used_phase_count == 4 and o.quality.used_station_count == 3
    assert o.evaluation_mode == "automatic" and o.evaluation_status == "preliminary"
    assert len(o.arrivals) == 4
    a = o.arrivals[1]
    assert a.phase == "S" and a.time_residual == pytest.approx(0.0)
    assert a.distance == pytest.approx(15.0 / 111.195, rel=1e-3) and a.azimuth == 90.0
    # Every arrival refers to a pick of the event.
    pick_ids = {str(p.resource_id) for p in q.picks}
    assert {str(a.pick_id) for a in o.arrivals} == pick_ids
    p0 = q.picks[0]
    assert p0.waveform_id.get_seed_string() == "XX.AAA.00.HHZ"
    assert p0.polarity == "positive" and q.picks[1].polarity == "undecidable"
    assert p0.time_errors.uncertainty == pytest.approx(0.05)
    m = q.preferred_magnitude()
    assert m.mag == pytest.approx(2.85) and m.magnitude_type == "ML"
    assert m.mag_errors.uncertainty == pytest.approx(0.07)
    assert [c.weight for c in m.station_magnitude_contributions] == [1.0, 1.0, 0.0]
    assert len(q.amplitudes) == len(q.station_magnitudes) == 3
    amp = q.amplitudes[0]
    assert amp.unit == "m" and amp.type == "IAML"
    assert amp.generic_amplitude == pytest.approx(1.2e-6)
    # The location code comes from a pick on the same sensor (00.HH?).
    assert amp.waveform_id.get_seed_string() == "XX.AAA.00.HHN"
    sm = q.station_magnitudes[2]
    assert sm.mag == pytest.approx(4.1)
    assert sm.amplitude_id == q.amplitudes[2].resource_id
    assert sm.origin_id == o.resource_id


def test_reviewed_events_are_manual() -> None:
    cat = events_to_catalog([_event("a", "confirmed"), _event("b", "rejected")])
    assert cat[0].origins[0].evaluation_mode == "manual"
    assert cat[0].origins[0].evaluation_status == "confirmed"
    assert cat[1].origins[0].evaluation_status == "rejected"
    assert cat[1].event_type == "not existing"
    # An event without magnitude has no Magnitude element.
    no_mag = events_to_catalog([dataclasses.replace(_event(), magnitude=None)])
    assert no_mag[0].magnitudes == [] and no_mag[0].preferred_magnitude() is None


def test_json_round_trip(tmp_path: Path) -> None:
    ev = _event()
    nan_ev = dataclasses.replace(_event("c"), rms_s=float("nan"), magnitude=None)
    path = write_json([ev, nan_ev], tmp_path / "events.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert list(raw) == ["events"]
    rec = read_json(path)[0]
    for key in (
        "id",
        "origin_time",
        "latitude",
        "longitude",
        "depth_km",
        "magnitude",
        "magnitude_type",
        "n_stations",
        "rms_s",
        "azimuthal_gap_deg",
        "max_intensity",
        "picks",
        "max_mmi",
        "outside_network",
        "status",
        "station_intensities",
        "site_intensities",
    ):
        assert key in rec, key
    assert rec["origin_time"] == "2026-03-01T12:00:10.250000Z"
    assert UTCDateTime(rec["origin_time"]) == T
    assert rec["picks"][0] == {
        "network": "XX",
        "station": "AAA",
        "location": "00",
        "channel": "HHZ",
        "phase": "P",
        "time": "2026-03-01T12:00:12.250000Z",
    }
    assert rec["magnitude"] == 2.85 and rec["max_intensity"] == 3.4
    assert StationIntensity.from_dict(rec["station_intensities"][0]) == ev.station_intensities[0]
    assert SiteIntensity.from_dict(rec["site_intensities"][0]) == ev.site_intensities[0]
    assert StationMagnitude.from_dict(rec["station_magnitudes"][2]) == ev.station_magnitudes[2]
    second = read_json(path)[1]
    assert second["rms_s"] is None and second["magnitude"] is None


def test_read_json_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_json(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": []}', encoding="utf-8")
    with pytest.raises(DataError, match="'events'"):
        read_json(bad)
