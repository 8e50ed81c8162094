"""The simulator with another inventory and its SDS writer (the ``seismo simulate``
command: tests/cli/test_cmd_simulate.py)."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import Inventory, UTCDateTime
from obspy.clients.filesystem.sds import Client as SDSClient
from obspy.core.inventory import Channel, Network, Response, Site, Station
from sim_helpers import wa_ml

from seismo.event.velocity import load_velocity_model
from seismo.io.sds import write_sds
from seismo.simulate import Scenario, ScenarioEvent, Simulator

REF = UTCDateTime("2026-05-05T23:50:00")  # the SDS range crosses midnight


def _channel(code: str, loc: str, rate: float, az: float, dip: float, accel: bool) -> Channel:
    if accel:  # flat accelerometer: 2.5 V/g, 24-bit digitizer
        zeros, poles, gain, units = [], [-981 + 1009j, -981 - 1009j], 2.5 / 9.81, "M/S**2"
    else:  # 1 s geophone-like velocity sensor, 80 V/(m/s)
        zeros, poles, gain, units = [0j, 0j], [-4.44 + 4.44j, -4.44 - 4.44j], 80.0, "M/S"
    s = 2j * np.pi  # normalise |H| to 1 at 1 Hz
    a0 = abs(np.prod([s - p for p in poles]) / np.prod([s - z for z in zeros]))
    resp = Response.from_paz(zeros, poles, gain, input_units=units, output_units="V",
                             normalization_factor=float(a0))
    from obspy.core.inventory.response import CoefficientsTypeResponseStage

    resp.response_stages.append(
        CoefficientsTypeResponseStage(
            2, 419430.4, 1.0, "V", "COUNTS", "DIGITAL", numerator=[1.0], denominator=[],
            decimation_input_sample_rate=rate, decimation_factor=1, decimation_offset=0,
            decimation_delay=0.0, decimation_correction=0.0,
        )
    )
    resp.recalculate_overall_sensitivity(1.0)
    return Channel(code, loc, 45.0, 10.0, 0.0, 0.0, azimuth=az, dip=dip, sample_rate=rate,
                   response=resp)


@pytest.fixture(scope="module")
def tiny_inventory(tmp_path_factory) -> Inventory:  # type: ignore[no-untyped-def]
    """Two stations of network XX: 200 Hz velocity channels, and a 50 Hz accelerometer."""
    a = Station("ALPH", 45.0, 10.0, 100.0, site=Site("Alpha", description="quiet vault"),
                channels=[_channel(c, "", 200.0, az, dip, False)
                          for c, az, dip in (("EHZ", 0, -90), ("EH1", 30, 0), ("EH2", 120, 0))])
    b = Station("BETA", 45.3, 10.4, 50.0, site=Site("Beta", description="urban=1"),
                channels=[_channel(c, "01", 50.0, az, dip, True)
                          for c, az, dip in (("HNZ", 0, -90), ("HNN", 0, 0), ("HNE", 90, 0))])
    inv = Inventory([Network("XX", stations=[a, b])], source="test")
    path = tmp_path_factory.mktemp("inv") / "xx.xml"
    inv.write(str(path), format="STATIONXML")
    from seismo.inventory import load_inventory

    return load_inventory(path)


@pytest.fixture(scope="module")
def tiny_sim(settings, tiny_inventory) -> Simulator:  # type: ignore[no-untyped-def]
    model = load_velocity_model(settings.network.velocity_model)
    events = (
        ScenarioEvent(REF + 60, 45.05, 10.05, 5.0, 3.0),  # ~7 km from ALPH
        ScenarioEvent(REF + 360, 45.9, 10.0, 10.0, 4.5),  # ~100 km from ALPH
    )
    return Simulator(tiny_inventory, model, Scenario("tiny", REF, events=events), seed=11)


def test_any_inventory(tiny_sim, tiny_inventory) -> None:  # type: ignore[no-untyped-def]
    assert tiny_sim.station_ids == ["XX.ALPH", "XX.BETA"]
    assert tiny_sim.is_urban("XX.BETA") and not tiny_sim.is_urban("XX.ALPH")
    st = tiny_sim.waveforms("XX", "ALPH", REF, REF + 30)
    assert sorted(tr.stats.channel for tr in st) == ["EH1", "EH2", "EHZ"]
    assert all(tr.stats.sampling_rate == 200.0 and tr.stats.npts == 6000 for tr in st)
    st = tiny_sim.waveforms("XX", "BETA", REF, REF + 30, location="01", channel="HN?")
    assert all(tr.stats.sampling_rate == 50.0 and tr.data.std() > 0 for tr in st)
    truth = tiny_sim.truth(peaks=False)
    for ev_truth in truth:
        tp, ts = ev_truth.arrivals["XX.ALPH"]
        r = ev_truth.hypocentral_km["XX.ALPH"]
        # rotated horizontals (1/2 at 30 and 120 degrees) still give back ML at any distance
        ml = wa_ml(tiny_sim.waveforms("XX", "ALPH", tp - 60, ts + 90), tiny_inventory, r,
                   tp - 1, ts + 60, (0.05, 0.1, 20, 24))
        assert ml == pytest.approx(ev_truth.magnitude, abs=0.45), (r, ml)  # Brune Mw, IASPEI ML
    # the 50 Hz accelerometer records the near event above its (urban: above-NHNM) noise
    tp, ts = truth[0].arrivals["XX.BETA"]
    acc = tiny_sim.waveforms("XX", "BETA", tp - 20, ts + 20, channel="HNN")[0].data
    assert np.abs(acc).max() > 5 * acc[: 50 * 15].std()


def test_sds_archive_round_trip(tiny_sim, tmp_path) -> None:  # type: ignore[no-untyped-def]
    start, end = REF + 300, REF + 900  # 23:55 - 00:05, two days
    n = write_sds(tiny_sim, tmp_path, start, end)
    assert n == 12  # 6 channels x 2 days
    day1 = tmp_path / "2026" / "XX" / "ALPH" / "EHZ.D" / "XX.ALPH..EHZ.D.2026.125"
    assert day1.exists()
    client = SDSClient(str(tmp_path))
    for sta, cha in (("ALPH", "EHZ"), ("BETA", "HNE")):
        got = client.get_waveforms("XX", sta, "*", cha, start, end)
        got.merge(method=-1)
        want = tiny_sim.waveforms("XX", sta, start, end, channel=cha)
        assert len(got) == 1
        got.trim(want[0].stats.starttime, want[0].stats.endtime)
        np.testing.assert_array_equal(got[0].data, want[0].data)
    # writing the same range again replaces it, it does not duplicate it
    size = day1.stat().st_size
    write_sds(tiny_sim, tmp_path, start, end, stations=["XX.ALPH"])
    assert day1.stat().st_size == size
    assert len(client.get_waveforms("XX", "ALPH", "", "EHZ", start, end)) == 1
