"""Nothing is specific to the shipped network: another inventory, other instruments,
other sampling rates, other codes, through simulate -> SDS -> ``seismo detect``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from obspy import UTCDateTime
from obspy.core.inventory import (
    Channel,
    CoefficientsTypeResponseStage,
    InstrumentSensitivity,
    Inventory,
    Network,
    PolesZerosResponseStage,
    Response,
    Site,
    Station,
)

from seismo.cli.main import main
from seismo.config import DEFAULT_CONFIG, load_settings, settings_to_toml
from seismo.geo import destination, distance_km
from seismo.io.sds import write_sds

CENTRE = (36.0, -117.5)  # far from the shipped network, on another continent
REF = UTCDateTime("2026-05-01T10:00:00")


def _geophone(fs: float) -> Response:
    """4.5 Hz geophone (h = 0.7, 28.8 V/(m/s)) on a 24-bit digitizer."""
    w0, h = 2 * np.pi * 4.5, 0.7
    poles = [complex(-h * w0, w0 * np.sqrt(1 - h * h)), complex(-h * w0, -w0 * np.sqrt(1 - h * h))]
    zeros = [0j, 0j]
    s = 2j * np.pi * 10.0
    a0 = float(1 / abs(np.prod([s - z for z in zeros]) / np.prod([s - p for p in poles])))
    paz = PolesZerosResponseStage(
        1,
        28.8,
        10.0,
        "M/S",
        "V",
        pz_transfer_function_type="LAPLACE (RADIANS/SECOND)",
        normalization_frequency=10.0,
        normalization_factor=a0,
        zeros=zeros,
        poles=poles,
    )
    adc = CoefficientsTypeResponseStage(
        2,
        2**23 / 5.0,
        10.0,
        "V",
        "COUNTS",
        cf_transfer_function_type="DIGITAL",
        numerator=[1.0],
        denominator=[],
        decimation_input_sample_rate=fs,
        decimation_factor=1,
        decimation_offset=0,
        decimation_delay=0.0,
        decimation_correction=0.0,
    )
    resp = Response(
        instrument_sensitivity=InstrumentSensitivity(28.8 * 2**23 / 5.0, 10.0, "M/S", "COUNTS"),
        response_stages=[paz, adc],
    )
    resp.recalculate_overall_sensitivity(10.0)
    return resp


def _inventory() -> Inventory:
    stations = []
    for i, (az, dist) in enumerate(
        [(0, 12), (60, 20), (120, 15), (180, 25), (240, 18), (300, 22), (30, 35), (200, 40)]
    ):
        lat, lon = destination(*CENTRE, az, dist)
        fs = 200.0 if i % 2 else 50.0  # mixed sampling rates
        code = f"K{i}" if i != 3 else "Q-3"  # an unusual code with a dash
        chans = [
            Channel(
                f"EH{c}",
                "",
                lat,
                lon,
                500.0,
                0.0,
                azimuth=az_,
                dip=dip,
                sample_rate=fs,
                response=_geophone(fs),
                start_date=UTCDateTime(2020, 1, 1),
            )
            for c, az_, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0))
        ]
        stations.append(
            Station(
                code,
                lat,
                lon,
                500.0,
                channels=chans,
                site=Site(name=code),
                start_date=UTCDateTime(2020, 1, 1),
            )
        )
    return Inventory(networks=[Network("XY", stations=stations)], source="test")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    from seismo.simulate import Scenario, ScenarioEvent, Simulator

    tmp = tmp_path_factory.mktemp("other")
    inv_path = tmp / "xy.xml"
    inv = _inventory()
    inv.write(str(inv_path), format="STATIONXML")
    s = load_settings(DEFAULT_CONFIG)
    lat, lon = destination(*CENTRE, 45.0, 5.0)
    scen = Scenario("xy", REF, events=(ScenarioEvent(REF + 100, lat, lon, 6.0, 2.8),))
    sim = Simulator(inv, s.network.velocity_model, scen, seed=7)
    write_sds(sim, tmp / "sds", REF, REF + 240)
    cfg = s.model_copy(
        update={
            "network": s.network.model_copy(
                update={"inventory": inv_path, "region": (35.0, 37.0, -118.5, -116.5)}
            )
        }
    )
    cfg_path = tmp / "xy.toml"
    cfg_path.write_text(settings_to_toml(cfg), encoding="utf-8")
    return tmp, inv_path, cfg_path


def test_detect_on_an_unseen_network(setup: tuple[Path, Path, Path]) -> None:
    tmp, inv_path, cfg_path = setup
    out = tmp / "ev.json"
    rc = main(
        [
            "--config",
            str(cfg_path),
            "detect",
            "--start",
            str(REF + 60),
            "--end",
            str(REF + 180),
            "--feed",
            f"sds://{tmp / 'sds'}",
            "--inventory",
            str(inv_path),
            "--no-store",
            "--no-alerts",
            "--quiet",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    events = json.loads(out.read_text())["events"]
    assert len(events) == 1
    ev = events[0]
    lat, lon = destination(*CENTRE, 45.0, 5.0)
    assert float(distance_km(ev["latitude"], ev["longitude"], lat, lon)) < 3.0
    assert abs(UTCDateTime(ev["origin_time"]) - (REF + 100)) < 0.5
    assert abs(ev["magnitude"] - 2.8) < 0.3
    assert {p["station"] for p in ev["picks"]} >= {"Q-3"}
    assert all(p["channel"].startswith("EH") for p in ev["picks"])


def test_stations_and_fetch_on_an_unseen_network(
    setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, inv_path, _ = setup
    assert main(["stations", "--inventory", str(inv_path)]) == 0
    assert "XY.Q-3" in capsys.readouterr().out
    assert (
        main(
            [
                "fetch",
                "--inventory",
                str(inv_path),
                "--feed",
                f"sds://{tmp / 'sds'}",
                "--start",
                str(REF + 60),
                "--end",
                str(REF + 120),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "XY.Q-3" in out and "XY.K1" in out
