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


# --------------------------------------------------------------------------- real data
OBSPY_DATA = Path(__import__("obspy").__file__).parent
UH_WAVEFORMS = OBSPY_DATA / "signal" / "tests" / "data"
UH_NLLOC = OBSPY_DATA / "io" / "nlloc" / "tests" / "data" / "nlloc_custom.hyp"


def _uh_stations() -> tuple[dict[str, tuple[float, float, float]], tuple[float, float, float]]:
    """Station positions (Gauss-Krueger km, elevation km) of BW.UH1-UH4 and the hypocentre
    (km) of the Unterhaching event NonLinLoc located with them, from ObsPy's own example
    file (``obspy/io/nlloc/tests/data/nlloc_custom.hyp``)."""
    pos: dict[str, tuple[float, float, float]] = {}
    hyp = (0.0, 0.0, 0.0)
    for line in UH_NLLOC.read_text().splitlines():
        f = line.split()
        if f and f[0] == "HYPOCENTER":
            hyp = (float(f[2]), float(f[4]), float(f[6]))
        if f and f[0].startswith("UH") and ">" in f:
            k = f.index(">")
            pos[f[0]] = (float(f[k + 4]), float(f[k + 5]), -float(f[k + 6]))
    return pos, hyp


def test_obspy_bw_uh_recordings(tmp_path: Path) -> None:
    """ObsPy's Unterhaching recordings (BW.UH1-UH4, 27 May 2010, four short-period
    stations over 11 km, one with three components; waveforms from ObsPy's coincidence
    trigger example, positions from its NonLinLoc example): seismo finds the two events
    that ObsPy's coincidence trigger sees at all four stations, at the geothermal
    reservoir, and nothing else (the third trigger, at three stations, is below the
    four-station minimum)."""
    import glob

    from obspy import Stream, read
    from obspy.core.inventory import Inventory, Network, Station
    from obspy.signal.trigger import coincidence_trigger

    from seismo.geo import from_local_xy
    from seismo.shells.evaluate import run_detection

    st = Stream()
    for f in sorted(glob.glob(str(UH_WAVEFORMS / "BW.UH*.D.2010.147.cut.slist.gz"))):
        st += read(f)
    for tr in st:
        tr.data = np.round(tr.data).astype(np.int32)
    z = st.select(component="Z").copy().filter("bandpass", freqmin=10, freqmax=20)
    trig = coincidence_trigger("recstalta", 3.5, 1, z, 3, sta=0.5, lta=10)  # ObsPy's test
    four = [t["time"] for t in trig if len(t["stations"]) == 4]
    assert len(trig) == 3 and len(four) == 2

    pos, hyp = _uh_stations()
    x0 = float(np.mean([p[0] for p in pos.values()]))
    y0 = float(np.mean([p[1] for p in pos.values()]))
    lat0, lon0 = 48.06, 11.64  # Unterhaching; only the relative positions matter
    stations, where = [], {}
    for code, (x, y, elev) in pos.items():
        la, lo = (float(v[0]) for v in from_local_xy(lat0, lon0, np.array([x - x0]),
                                                     np.array([y - y0])))
        where[code] = (la, lo)
        chans = [
            Channel(tr.stats.channel, "", la, lo, 1000 * elev, 0.0,
                    azimuth=90.0 if tr.stats.channel[-1] == "E" else 0.0,
                    dip=-90.0 if tr.stats.channel[-1] == "Z" else 0.0,
                    sample_rate=tr.stats.sampling_rate, start_date=UTCDateTime(2010, 1, 1))
            for tr in st.select(station=code)
        ]
        stations.append(Station(code, la, lo, 1000 * elev, channels=chans, site=Site(name=code),
                                start_date=UTCDateTime(2010, 1, 1)))
    inv = Inventory(networks=[Network("BW", stations=stations)], source="nlloc_custom.hyp")
    inv_path = tmp_path / "uh.xml"
    inv.write(str(inv_path), format="STATIONXML")
    for tr in st:
        s = tr.stats
        d = tmp_path / "sds" / "2010" / s.network / s.station / f"{s.channel}.D"
        d.mkdir(parents=True, exist_ok=True)
        tr.write(str(d / f"{s.network}.{s.station}..{s.channel}.D.2010.147"), format="MSEED")
    settings = load_settings(DEFAULT_CONFIG)
    settings = settings.model_copy(update={"network": settings.network.model_copy(
        update={"inventory": inv_path, "region": (47.5, 48.5, 11.0, 12.5)})})
    run = run_detection(settings, UTCDateTime("2010-05-27T16:24:20"),
                        UTCDateTime("2010-05-27T16:27:50"),
                        feed_url=f"sds://{tmp_path / 'sds'}", inventory=inv)
    events = sorted(run.raw_events, key=lambda e: e.time)
    assert len(events) == 2
    hla, hlo = (float(v[0]) for v in from_local_xy(lat0, lon0, np.array([hyp[0] - x0]),
                                                   np.array([hyp[1] - y0])))
    for ev, t in zip(events, four, strict=True):
        # the origin precedes the coincidence trigger by about a P travel time
        assert 0.0 < float(t - ev.time) < 3.0
        assert float(distance_km(ev.latitude, ev.longitude, hla, hlo)) < 5.0
        assert -0.5 < ev.depth_km < 10.0
    assert any("datum" in line for line in run.thresholds)
