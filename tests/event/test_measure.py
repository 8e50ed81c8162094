"""The measurement stage: one sequence from a located event to a measured one.

Checked on a family of networks (the shipped one, a small ring elsewhere, a wide grid)
with per-second peak series built from the IASPEI formulas, so the expected values are
known: a first measurement, the late Ms_BB of a distant event, a relocation, and the
verdict on amplitudes that grow with distance.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from obspy import UTCDateTime
from obspy.geodetics import kilometers2degrees

from seismo.event.arrivals import EventRecords
from seismo.event.intensity import station_intensities
from seismo.event.magnitude import LocalMagnitude, event_ml, ml_iaspei, wa_amplitude_for_ml
from seismo.event.measure import EventMeasurer, apply_magnitudes, magnitude_types
from seismo.event.settings import IntensityConfig, MagnitudeConfig
from seismo.event.sites import Site
from seismo.event.surface import SurfaceMagnitude, vmax_for_ms_bb
from seismo.geo import distance_km, hypocentral_km
from seismo.inventory import StationInfo, station_map
from seismo.model import AmplitudeSeries, Event, Magnitude

START = UTCDateTime(2026, 3, 1, 12, 0, 0)
ORIGIN = START + 10.0
VP, VS = 6.0, 3.5  # km/s, homogeneous half-space
DEPTH = 10.0
MAG = MagnitudeConfig(amplitude_window_s=20.0)
INT = IntensityConfig()


def p_time(epi_km: float, depth_km: float) -> float:
    return math.hypot(epi_km, depth_km) / VP


def s_time(epi_km: float, depth_km: float) -> float:
    return math.hypot(epi_km, depth_km) / VS


def _grid(net: str, lat0: float, lon0: float, n: int, step_deg: float) -> dict[str, StationInfo]:
    out = {}
    for i in range(n):
        for j in range(n):
            code = f"G{i}{j}"
            out[f"{net}.{code}"] = StationInfo(net, code, lat0 + i * step_deg,
                                               lon0 + j * step_deg, 0.0, code, ())
    return out


def _ring(net: str, lat0: float, lon0: float, n: int, radius_deg: float) -> dict[str, StationInfo]:
    out = {}
    for k in range(n):
        a = 2 * math.pi * k / n
        code = f"R{k:02d}"
        out[f"{net}.{code}"] = StationInfo(net, code, lat0 + radius_deg * math.sin(a),
                                           lon0 + radius_deg * math.cos(a), 0.0, code, ())
    return out


@pytest.fixture(scope="module", params=["shipped", "ring", "grid"])
def network(request, inventory) -> dict[str, StationInfo]:  # type: ignore[no-untyped-def]
    if request.param == "shipped":
        return station_map(inventory)
    if request.param == "ring":
        return _ring("RG", 37.5, 139.9, 5, 0.15)  # 5 stations, ~33 km aperture
    return _grid("GR", 34.0, -118.5, 6, 0.2)  # 36 stations, ~110 km


def _centre(stations: dict[str, StationInfo]) -> tuple[float, float]:
    return (float(np.mean([s.latitude for s in stations.values()])),
            float(np.mean([s.longitude for s in stations.values()])))


def _series(info: StationInfo, ml_at: float, lat: float, lon: float, *, n: int = 120,
            clipped: bool = False, pga: float = 0.05, lp_peak: float | None = None,
            lp_at: float | None = None) -> AmplitudeSeries:
    """Per-second peaks of a station: WA amplitude of ``ml_at`` shortly after S, PGA and
    PGV at S, optionally a long-period vertical peak ``lp_peak`` (nm/s) at ``lp_at`` s."""
    epi = float(distance_km(lat, lon, info.latitude, info.longitude))
    hypo = float(hypocentral_km(epi, DEPTH))
    amp = wa_amplitude_for_ml(ml_at, hypo)
    i_s = int((ORIGIN - START) + s_time(epi, DEPTH))
    wa = np.full(n, amp * 1e-3)
    acc = np.full(n, 1e-4)
    if i_s + 2 < n:
        wa[i_s + 2] = amp
        acc[i_s + 1] = pga / (1.0 + epi / 10.0)
    lp = ()
    if lp_peak is not None and lp_at is not None:
        lpz = np.full(n, lp_peak * 1e-3)
        lpz[int(lp_at)] = lp_peak
        lp = tuple(lpz)
    return AmplitudeSeries(
        network=info.network, station=info.station, start=START, step_s=1.0,
        wa_n_nm=tuple(wa), wa_e_nm=tuple(wa), pga_ms2=tuple(acc), pgv_ms=tuple(acc / 10.0),
        lp_z_nms=lp, clipped=(i_s + 2,) if clipped else (), wa_channels=("00.HHN", "00.HHE"),
    )


def _event(lat: float, lon: float, eid: str = "t1") -> Event:
    nan = float("nan")
    return Event(id=eid, time=ORIGIN, latitude=lat, longitude=lon, depth_km=DEPTH, rms_s=0.1,
                 azimuthal_gap_deg=60.0, n_phases=8, n_stations=4,
                 horizontal_uncertainty_km=nan, vertical_uncertainty_km=nan,
                 outside_network=False)


def _measurer(stations: dict[str, StationInfo], sites: list[Site] | None = None,
              **kw: object) -> EventMeasurer:
    return EventMeasurer(stations, p_time, s_time, sites or [], MAG, INT,
                         **kw)  # type: ignore[arg-type]


def test_first_measurement_is_the_sequence_of_the_stages(network) -> None:  # type: ignore[no-untyped-def]
    lat, lon = _centre(network)
    first = sorted(network)[0]
    amps = {sid: _series(info, 3.2, lat, lon, clipped=sid == first)
            for sid, info in network.items()}
    sites = [Site("centre", "district", lat + 0.01, lon), Site("edge", "district", lat + 0.3, lon)]
    m = _measurer(network, sites).measure(_event(lat, lon), amps)
    ev = m.event
    records = EventRecords(ORIGIN, lat, lon, DEPTH, amps, network, p_time, s_time)
    ml, smags = event_ml(records, MAG)
    assert ml is not None and ev.magnitude == ml.value and ev.magnitude_type == "ML"
    assert ev.magnitude == pytest.approx(3.2, abs=0.03)
    assert [x.type for x in ev.magnitudes] == ["ML"]  # no station at 2 degrees: no Ms_BB
    assert ev.station_magnitudes == tuple(smags)
    assert ev.n_magnitude_stations == len(network) - 1  # the clipped one is not used
    obs = station_intensities(records, INT)
    assert ev.station_intensities == tuple(obs) and len(obs) == len(network) - 1
    assert ev.max_intensity == max(o.intensity_cn for o in obs)
    assert ev.n_clipped_stations == 1
    assert [s.name for s in ev.site_intensities] == ["centre", "edge"]
    assert ev.site_intensities[0].intensity_cn >= ev.site_intensities[1].intensity_cn
    assert m.verdict.consistent and str(m.verdict) == "consistent"


def test_verdict_flags_amplitudes_that_grow_with_distance(network) -> None:  # type: ignore[no-untyped-def]
    edge = network[sorted(network)[0]]  # distances from an edge station span a factor > 1.5
    lat, lon = edge.latitude, edge.longitude
    far = max(float(distance_km(lat, lon, s.latitude, s.longitude)) for s in network.values())
    # the recorded size grows with distance: the location contradicts the amplitudes
    amps = {sid: _series(info, 2.0 + 3.0 * float(distance_km(
        lat, lon, info.latitude, info.longitude)) / far, lat, lon)
        for sid, info in network.items()}
    m = _measurer(network).measure(_event(lat, lon), amps)
    assert not m.verdict.consistent
    assert any("grow with distance" in r for r in m.verdict.reasons)
    assert m.event.magnitude is not None  # measured all the same: the shell decides


def test_late_ms_bb_of_a_distant_event(network) -> None:  # type: ignore[no-untyped-def]
    """An event ~6 degrees away: no Ms_BB from its own window (the surface waves come
    later); once later windows hold them, Ms_BB is measured and preferred."""
    clat, clon = _centre(network)
    lat, lon = clat - 6.0, clon
    measurer = _measurer(network)
    own = {sid: _series(info, 6.0, lat, lon, n=300) for sid, info in network.items()}
    ev = measurer.measure(_event(lat, lon, "far"), own).event
    assert "Ms_BB" not in {x.type for x in ev.magnitudes}
    assert measurer.awaits(ev)
    early = measurer.remeasure(ev, {k: [v] for k, v in own.items()})
    assert early.measurement is None and early.waiting  # the surface-wave window not yet in
    later = {}
    for sid, info in network.items():
        epi = float(distance_km(lat, lon, info.latitude, info.longitude))
        v = vmax_for_ms_bb(6.8, float(kilometers2degrees(epi)))
        later[sid] = [own[sid], _series(info, 6.0, lat, lon, n=900, lp_peak=v,
                                        lp_at=(ORIGIN - START) + epi / 3.3)]
    got = measurer.remeasure(ev, later)
    assert got.measurement is not None and not got.waiting
    new = got.measurement.event
    ms = next(x for x in new.magnitudes if x.type == "Ms_BB")
    assert ms.value == pytest.approx(6.8, abs=0.01) and ms.n_stations == len(network)
    assert new.magnitude_type == "Ms_BB" and new.magnitude == ms.value  # >= prefer_ms_bb_from
    assert [x.type for x in new.magnitudes] == ["ML", "Ms_BB"]
    assert new.station_magnitudes == ev.station_magnitudes  # ML untouched
    assert not SurfaceMagnitude(MAG).awaits(new, network)  # Ms_BB is in
    # a measurer without Ms_BB awaits nothing: adding or removing a type is the list
    only_ml = _measurer(network, types=[LocalMagnitude(MAG)])
    assert not only_ml.awaits(ev) and only_ml.remeasure(ev, later).measurement is None


def test_relocation_measures_ml_again_from_the_stored_amplitudes(network) -> None:  # type: ignore[no-untyped-def]
    lat, lon = _centre(network)
    measurer = _measurer(network, [Site("centre", "district", lat, lon)])
    amps = {sid: _series(info, 3.0, lat, lon) for sid, info in network.items()}
    ev = measurer.measure(_event(lat, lon), amps).event
    ms = Magnitude("Ms_BB", 4.0, None, 3)
    ev = measurer.with_magnitudes(ev, [*ev.magnitudes, ms])
    same = measurer.relocated(ev).event
    assert same.magnitude == ev.magnitude  # the same place: the same ML
    assert [m.ml for m in same.station_magnitudes] == pytest.approx(
        [m.ml for m in ev.station_magnitudes], abs=1e-3)
    moved = measurer.relocated(dataclasses.replace(ev, latitude=lat + 0.05)).event
    sm = moved.station_magnitudes[0]
    info = network[f"{sm.network}.{sm.station}"]
    hypo = float(hypocentral_km(float(distance_km(lat + 0.05, lon, info.latitude,
                                                  info.longitude)), DEPTH))
    assert sm.hypo_distance_km == pytest.approx(hypo, abs=1e-3)
    assert sm.ml == pytest.approx(float(ml_iaspei(sm.amplitude_nm, hypo)), abs=1e-3)
    used = [m.ml for m in moved.station_magnitudes if m.used]
    assert moved.magnitude == pytest.approx(float(np.median(used)), abs=0.006)
    assert moved.n_magnitude_stations == len({m.station for m in moved.station_magnitudes
                                              if m.used})
    assert ms in moved.magnitudes and moved.magnitude_type == "ML"  # Ms_BB kept, below 5.5
    assert moved.site_intensities != ev.site_intensities  # predicted for the new place
    assert moved.station_intensities[0].epi_distance_km == pytest.approx(float(distance_km(
        lat + 0.05, lon, moved.station_intensities[0].latitude,
        moved.station_intensities[0].longitude)), abs=1e-3)


@pytest.mark.parametrize(("ml", "bound", "ms", "expect"), [
    (5.0, False, 5.2, "ML"),  # Ms_BB below prefer_ms_bb_from
    (6.5, False, 7.3, "Ms_BB"),  # ML saturates: Ms_BB above the threshold wins
    (3.0, True, 4.0, "Ms_BB"),  # ML only a lower bound
    (None, False, 4.0, "Ms_BB"),  # no ML
    (4.0, False, None, "ML"),
])
def test_each_type_decides_the_preferred_magnitude(ml, bound, ms, expect) -> None:  # type: ignore[no-untyped-def]
    mags = []
    if ms is not None:
        mags.append(Magnitude("Ms_BB", ms, None, 3))
    if ml is not None:
        mags.append(Magnitude("ML", ml, 0.2, 5, lower_bound=bound))
    ev = apply_magnitudes(_event(22.5, 114.0), mags, magnitude_types(MAG))
    assert ev.magnitude_type == expect
    assert [m.type for m in ev.magnitudes] == [t for t in ("ML", "Ms_BB")
                                               if (ml if t == "ML" else ms) is not None]
    assert ev.magnitude_lower_bound == (expect == "ML" and bound)
    # the list is the order: with Ms_BB alone, an ML is an unknown type, never preferred
    alone = apply_magnitudes(_event(22.5, 114.0), mags, [SurfaceMagnitude(MAG)])
    assert alone.magnitude_type == ("Ms_BB" if ms is not None else "ML")
    assert alone.magnitude == (ms if ms is not None else None)
