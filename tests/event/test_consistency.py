"""The event consistency check: each failure built from picks; real events pass."""

from __future__ import annotations

import dataclasses

import pytest
from test_locate import ring_network, synth_picks

from seismo.event.consistency import check_amplitudes, check_origin
from seismo.event.locate import locate
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.geo import destination, hull_distance_km
from seismo.model import StationMagnitude

LAT, LON = 37.8, 140.0
RULES = AssociateConfig()  # the thresholds of [associate]


@pytest.fixture(scope="module")
def net():  # type: ignore[no-untyped-def]
    return ring_network(LAT, LON, 20.0, 6)


def test_a_real_local_event_passes(net, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(net, model, LAT + 0.03, LON - 0.02, 8.0)
    o = locate(picks, net, model, LocateConfig())
    assert check_origin(o, net, model, RULES) == []


def test_a_real_distant_event_passes(net, model) -> None:  # type: ignore[no-untyped-def]
    lat, lon = destination(LAT, LON, 60.0, 250.0)
    o = locate(synth_picks(net, model, lat, lon, 10.0), net, model, LocateConfig())
    assert hull_distance_km(o.latitude, o.longitude, [s.latitude for s in net.values()],
                            [s.longitude for s in net.values()]) > 200
    assert check_origin(o, net, model, RULES) == []


def test_s_only_event_fails(net, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(net, model, LAT, LON, 8.0, phases=("S",))
    o = locate(picks, net, model, LocateConfig())
    assert any("0 P pick" in r for r in check_origin(o, net, model, RULES))


def test_far_event_from_few_p_picks_fails(net, model) -> None:  # type: ignore[no-untyped-def]
    lat, lon = destination(LAT, LON, 60.0, 250.0)
    picks = synth_picks(net, model, lat, lon, 10.0)
    ps = [p for p in picks if p.phase == "P"][:3]
    ss = [p for p in picks if p.phase == "S"]
    o = locate(ps + ss, net, model, LocateConfig())
    why = check_origin(o, net, model, RULES)
    assert any("outside the network with P at 3 station(s)" in r for r in why)


def test_far_event_whose_p_waves_come_from_elsewhere_fails(net, model) -> None:  # type: ignore[no-untyped-def]
    lat, lon = destination(LAT, LON, 60.0, 250.0)
    o = locate(synth_picks(net, model, lat, lon, 10.0), net, model, LocateConfig())
    # the same picks, but the epicentre on the other side of the network
    la2, lo2 = destination(LAT, LON, 240.0, 250.0)
    moved = dataclasses.replace(o, latitude=la2, longitude=lo2)
    assert any("P waves come from" in r for r in check_origin(moved, net, model, RULES))


def test_s_before_p_and_wrong_s_minus_p_fail(net, model) -> None:  # type: ignore[no-untyped-def]
    picks = synth_picks(net, model, LAT, LON, 8.0)
    o = locate(picks, net, model, LocateConfig())
    arr = list(o.arrivals)
    k = next(i for i, a in enumerate(arr) if a.phase == "S")
    p = next(a for a in arr if a.phase == "P" and a.station == arr[k].station)
    arr[k] = dataclasses.replace(arr[k], time=p.time - 0.5)
    bad = dataclasses.replace(o, arrivals=tuple(arr))
    assert any("S before P" in r for r in check_origin(bad, net, model, RULES))
    arr[k] = dataclasses.replace(arr[k], time=p.time + 9.0)
    bad = dataclasses.replace(o, arrivals=tuple(arr))
    assert any("predicted" in r for r in check_origin(bad, net, model, RULES))


def test_reversed_moveout_fails(net, model) -> None:  # type: ignore[no-untyped-def]
    lat, lon = destination(LAT, LON, 0.0, 15.0)  # near the northern station
    o = locate(synth_picks(net, model, lat, lon, 5.0, phases=("P",)), net, model,
               LocateConfig())
    arr = sorted(o.arrivals, key=lambda a: a.distance_km)
    times = [a.time for a in arr][::-1]  # the farthest station now hears it first
    rev = tuple(dataclasses.replace(a, time=t) for a, t in zip(arr, times, strict=True))
    bad = dataclasses.replace(o, arrivals=rev)
    assert any("do not grow with distance" in r for r in check_origin(bad, net, model, RULES))


def _mag(sta: str, r_km: float, amp: float) -> StationMagnitude:
    return StationMagnitude("XX", sta, "HHN", amp, r_km, 2.0)


def test_amplitudes_must_decay_with_distance() -> None:
    decaying = [_mag("A", 10, 900.0), _mag("B", 20, 400.0), _mag("C", 40, 150.0)]
    assert check_amplitudes(decaying) is None
    growing = [_mag("A", 10, 100.0), _mag("B", 20, 400.0), _mag("C", 40, 900.0)]
    assert "grow with distance" in (check_amplitudes(growing) or "")
    # distances too alike to tell: no verdict
    close = [_mag("A", 200, 100.0), _mag("B", 210, 400.0), _mag("C", 220, 900.0)]
    assert check_amplitudes(close) is None
    # unused (clipped) stations do not count
    assert check_amplitudes([dataclasses.replace(m, used=False) for m in growing]) is None


def test_distance_outside() -> None:
    lats, lons = [0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]
    assert hull_distance_km(0.5, 0.5, lats, lons) == 0.0
    assert hull_distance_km(0.5, 1.5, lats, lons) == pytest.approx(55.6, rel=0.01)
    assert hull_distance_km(0.5, 0.5, [0.0], [0.0]) == pytest.approx(78.6, rel=0.01)


