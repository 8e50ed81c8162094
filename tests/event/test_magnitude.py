"""Local magnitude: IASPEI formula, network median, event ML from amplitude series."""

from __future__ import annotations

import math

import numpy as np
import pytest
from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.event.arrivals import EventRecords
from seismo.event.magnitude import (
    event_magnitude,
    ml_iaspei,
    network_magnitude,
    wa_amplitude_for_ml,
)
from seismo.event.settings import MagnitudeConfig
from seismo.geo import distance_km, hypocentral_km
from seismo.inventory import station_map
from seismo.model import AmplitudeSeries

ORIGIN = UTCDateTime(2026, 3, 1, 12, 0, 10)
START = UTCDateTime(2026, 3, 1, 12, 0, 0)
VP, VS = 6.0, 3.5  # km/s, homogeneous half-space for the travel-time callables
DEPTH = 10.0


def p_time(epi_km: float, depth_km: float) -> float:
    return math.hypot(epi_km, depth_km) / VP


def s_time(epi_km: float, depth_km: float) -> float:
    return math.hypot(epi_km, depth_km) / VS


def _records(amps, smap, lat: float, lon: float) -> EventRecords:  # type: ignore[no-untyped-def]
    return EventRecords(ORIGIN, lat, lon, DEPTH, amps, smap, p_time, s_time)


# ---------------------------------------------------------------- formula
def test_iaspei_check_values() -> None:
    # ML 3.0 at R = 50 km: 1.29 µm ground, 2.68 mm on a gain-2080 Wood-Anderson.
    a50 = wa_amplitude_for_ml(3.0, 50.0)
    assert a50 / 1000 == pytest.approx(1.29, abs=0.005)
    assert a50 * 2080 / 1e6 == pytest.approx(2.68, abs=0.005)
    assert wa_amplitude_for_ml(3.0, 20.0) * 2080 / 1e6 == pytest.approx(8.44, abs=0.005)
    assert float(ml_iaspei(a50, 50.0)) == pytest.approx(3.0, abs=1e-9)
    # Gain 2800 instead of 2080 raises ML by log10(2800/2080) = 0.13 (docs/references.md §3).
    assert float(ml_iaspei(a50 * 2800 / 2080, 50.0)) - 3.0 == pytest.approx(0.13, abs=0.005)


def test_ml_vectorised_and_bad_input() -> None:
    ml = ml_iaspei([1000.0, 100.0], [50.0, 50.0])
    assert ml.shape == (2,) and ml[0] - ml[1] == pytest.approx(1.0)
    with pytest.raises(DataError, match="amplitude"):
        ml_iaspei(0.0, 10.0)
    with pytest.raises(DataError, match="distance"):
        ml_iaspei(1.0, -1.0)


# ---------------------------------------------------------------- network magnitude
def test_network_magnitude_rejects_outlier() -> None:
    vals = [3.0, 3.1, 2.9, 3.05, 2.95, 4.5]
    mag, unc, used = network_magnitude(vals, k=3.0)
    assert used.tolist() == [True, True, True, True, True, False]
    assert mag == pytest.approx(3.0)
    assert unc == pytest.approx(float(np.std(vals[:5], ddof=1)))


def test_network_magnitude_edge_cases() -> None:
    mag, unc, used = network_magnitude([2.5])
    assert (mag, unc, used.tolist()) == (2.5, None, [True])
    # Identical values: the sigma floor keeps a datum 0.2 away.
    _, _, used = network_magnitude([3.0, 3.0, 3.0, 3.2])
    assert used.all()
    with pytest.raises(DataError, match="at least one"):
        network_magnitude([])
    with pytest.raises(DataError, match="finite"):
        network_magnitude([1.0, float("nan")])


# ---------------------------------------------------------------- event magnitude
def _series_for(
    info, ml: float, lat: float, lon: float, *, clipped_at_s: bool = False, n: int = 120
) -> AmplitudeSeries:
    """Per-second WA series of a station for an event of magnitude ``ml``: noise + S peak."""
    epi = float(distance_km(lat, lon, info.latitude, info.longitude))
    hypo = float(hypocentral_km(epi, DEPTH))
    amp = wa_amplitude_for_ml(ml, hypo)
    t_s = (ORIGIN - START) + s_time(epi, DEPTH)
    wa = np.full(n, amp * 1e-3)
    i_s = int(t_s)
    wa[i_s + 2] = amp  # the peak, shortly after S
    wa[i_s + 1] = 0.5 * amp
    # A large spike long after the amplitude window must be ignored.
    wa[min(n - 1, i_s + 50)] = 100 * amp
    return AmplitudeSeries(
        network=info.network,
        station=info.station,
        start=START,
        step_s=1.0,
        wa_n_nm=tuple(wa),
        wa_e_nm=tuple(wa * 10**-0.05),
        pga_ms2=tuple(np.full(n, 1e-3)),
        pgv_ms=tuple(np.full(n, 1e-4)),
        clipped=(i_s + 2,) if clipped_at_s else (),
        wa_channels=("00.HHN", "00.HHE"),
    )


@pytest.fixture(scope="module")
def smap(inventory):
    return station_map(inventory)


def _epicentre(smap) -> tuple[float, float]:
    lats = [s.latitude for s in smap.values()]
    lons = [s.longitude for s in smap.values()]
    return float(np.mean(lats)), float(np.mean(lons))


def test_event_magnitude_recovers_ml(smap) -> None:
    lat, lon = _epicentre(smap)
    amps = {sid: _series_for(info, 3.2, lat, lon) for sid, info in smap.items()}
    cfg = MagnitudeConfig(amplitude_window_s=20.0)
    ml, unc, sms = event_magnitude(_records(amps, smap, lat, lon), cfg)
    assert len(sms) == 2 * len(smap)  # each horizontal component is one datum
    assert ml == pytest.approx(3.2 - 0.025, abs=0.03)
    assert unc is not None and unc < 0.05
    assert {m.channel for m in sms} == {"HHN", "HHE"}
    assert all(m.used for m in sms)


def test_event_magnitude_excludes_clipped_outliers_and_far(smap) -> None:
    lat, lon = _epicentre(smap)
    ids = sorted(smap)
    amps = {sid: _series_for(info, 3.0, lat, lon) for sid, info in smap.items()}
    amps[ids[0]] = _series_for(smap[ids[0]], 3.0, lat, lon, clipped_at_s=True)
    amps[ids[1]] = _series_for(smap[ids[1]], 5.0, lat, lon)  # a broken gain
    # A station whose series ends before the S wave contributes nothing.
    full = amps[ids[2]]
    amps[ids[2]] = AmplitudeSeries(
        network=full.network,
        station=full.station,
        start=START,
        step_s=1.0,
        wa_n_nm=full.wa_n_nm[:11],
        wa_e_nm=full.wa_e_nm[:11],
    )
    cfg = MagnitudeConfig(amplitude_window_s=20.0)
    ml, _, sms = event_magnitude(_records(amps, smap, lat, lon), cfg)
    by_sta = {}
    for m in sms:
        by_sta.setdefault(f"{m.network}.{m.station}", []).append(m)
    assert not any(m.used for m in by_sta[ids[0]])  # clipped
    assert not any(m.used for m in by_sta[ids[1]])  # outlier
    assert ids[2] not in by_sta
    assert ml == pytest.approx(3.0 - 0.025, abs=0.03)

    near = MagnitudeConfig(amplitude_window_s=20.0, max_distance_km=12.0)
    _, _, sms_near = event_magnitude(_records(amps, smap, lat, lon), near)
    assert all(m.hypo_distance_km <= 12.0 for m in sms_near)
    assert len(sms_near) < len(sms)


def test_event_magnitude_without_data(smap) -> None:
    lat, lon = _epicentre(smap)
    cfg = MagnitudeConfig()
    assert event_magnitude(_records({}, smap, lat, lon), cfg) == (
        None,
        None,
        [],
    )
    # A station missing from the inventory is skipped with a warning, not an error.
    info = next(iter(smap.values()))
    amps = {"XX.NONE": _series_for(info, 3.0, lat, lon)}
    assert event_magnitude(_records(amps, smap, lat, lon), cfg)[0] is None


def test_amplitude_window_ends_before_the_next_events_p(smap) -> None:
    """An event 12 s before a 1.5 units larger one: its window closes 1 s before the next
    event's P at each station, so it does not measure the larger event's S."""
    import dataclasses

    from seismo.event.arrivals import P_LEAD_S

    lat, lon = _epicentre(smap)
    amps = {sid: _series_for(info, 2.0, lat, lon, n=140) for sid, info in smap.items()}
    nxt: dict[str, UTCDateTime] = {}
    for sid, info in smap.items():  # the larger event: origin 12 s later, same place
        epi = float(distance_km(lat, lon, info.latitude, info.longitude))
        p2, s2 = ORIGIN + 12.0 + p_time(epi, DEPTH), ORIGIN + 12.0 + s_time(epi, DEPTH)
        wa = list(amps[sid].wa_n_nm)
        big = wa_amplitude_for_ml(3.5, float(hypocentral_km(epi, DEPTH)))
        for i in range(int(p2 - START), min(len(wa), int(s2 - START) + 5)):
            wa[i] = big
        amps[sid] = dataclasses.replace(amps[sid], wa_n_nm=tuple(wa), wa_e_nm=tuple(wa))
        nxt[sid] = p2
    cfg = MagnitudeConfig(amplitude_window_s=30.0)
    rec = _records(amps, smap, lat, lon)
    ml_open, _, _ = event_magnitude(rec, cfg)
    ml_cut, _, sms = event_magnitude(dataclasses.replace(rec, next_p=nxt), cfg)
    assert ml_open is not None and ml_open > 3.0  # the larger event's S leaked in
    assert ml_cut == pytest.approx(2.0, abs=0.1)
    assert P_LEAD_S == 1.0 and sms
