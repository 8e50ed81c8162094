"""Build StationXML for a network from a station table (CSV).

Usage::

    python stations/build_inventory.py stations/stations.csv stations/SZ.xml

The instrument models are generic but realistic; each is documented in
``stations/README.md`` with its source:

* velocity ("HH?", location "00"): STS-2 (generation 1) poles and zeros,
  normalisation 6.0077e7 rad/s at 1 Hz, generator constant 1500 V/(m/s)
  (Streckeisen STS-2 manual; IRIS NRL) [3P];
* strong motion ("HN?", location "10"): Kinemetrics EpiSensor ES-T poles
  -981±1009j, -3290±1263j rad/s, ±2 g full scale into ±20 V differential,
  i.e. 10 V/g = 1.01972 V/(m/s²) (Kinemetrics EpiSensor manual; IRIS NRL) [3P];
* digitizer: 24 bit, ±20 V full scale -> 2**23 / 20 V = 419430.4 counts/V.

The normalisation factor of each PAZ stage is recomputed here so that
``|A0 * H(f_norm)| == 1`` exactly; the overall sensitivity is recomputed from the
stages by ObsPy.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
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

START = UTCDateTime("2025-01-01T00:00:00")
SAMPLING_RATE = 100.0
DIGITIZER_COUNTS_PER_VOLT = 2**23 / 20.0

VELOCITY = {
    "code": "HH",
    "location": "00",
    "zeros": [0j, 0j],
    "poles": [-0.037004 + 0.037016j, -0.037004 - 0.037016j, -251.33 + 0j,
              -131.04 - 467.29j, -131.04 + 467.29j],
    "gain": 1500.0,  # V/(m/s)
    "input_units": ("M/S", "Velocity in meters per second"),
    "norm_freq": 1.0,
    "sensor": "Streckeisen STS-2 (gen 1), 120 s - 50 Hz",
}
ACCELERATION = {
    "code": "HN",
    "location": "10",
    "zeros": [],
    "poles": [-981.0 + 1009.0j, -981.0 - 1009.0j, -3290.0 + 1263.0j, -3290.0 - 1263.0j],
    "gain": 10.0 / 9.80665,  # V/(m/s^2): 10 V per g
    "input_units": ("M/S**2", "Acceleration in meters per second squared"),
    "norm_freq": 1.0,
    "sensor": "Kinemetrics EpiSensor ES-T, +-2 g, DC - 200 Hz",
}


def _a0(zeros: list[complex], poles: list[complex], f: float) -> float:
    s = 2j * np.pi * f
    h = np.prod([s - z for z in zeros]) / np.prod([s - p for p in poles])
    return float(1.0 / abs(h))


def _response(inst: dict) -> Response:
    units_in, desc_in = inst["input_units"]
    paz = PolesZerosResponseStage(
        stage_sequence_number=1,
        stage_gain=inst["gain"],
        stage_gain_frequency=inst["norm_freq"],
        input_units=units_in,
        input_units_description=desc_in,
        output_units="V",
        output_units_description="Volts",
        pz_transfer_function_type="LAPLACE (RADIANS/SECOND)",
        normalization_frequency=inst["norm_freq"],
        normalization_factor=_a0(inst["zeros"], inst["poles"], inst["norm_freq"]),
        zeros=inst["zeros"],
        poles=inst["poles"],
    )
    adc = CoefficientsTypeResponseStage(
        stage_sequence_number=2,
        stage_gain=DIGITIZER_COUNTS_PER_VOLT,
        stage_gain_frequency=inst["norm_freq"],
        input_units="V",
        input_units_description="Volts",
        output_units="COUNTS",
        output_units_description="Digital counts",
        cf_transfer_function_type="DIGITAL",
        numerator=[1.0],
        denominator=[],
        decimation_input_sample_rate=SAMPLING_RATE,
        decimation_factor=1,
        decimation_offset=0,
        decimation_delay=0.0,
        decimation_correction=0.0,
    )
    sens = InstrumentSensitivity(
        value=inst["gain"] * DIGITIZER_COUNTS_PER_VOLT,
        frequency=inst["norm_freq"],
        input_units=units_in,
        output_units="COUNTS",
        input_units_description=desc_in,
        output_units_description="Digital counts",
    )
    resp = Response(instrument_sensitivity=sens, response_stages=[paz, adc])
    resp.recalculate_overall_sensitivity(inst["norm_freq"])
    return resp


def _channels(inst: dict, lat: float, lon: float, elev: float) -> list[Channel]:
    out = []
    for comp, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)):
        out.append(
            Channel(
                code=inst["code"] + comp,
                location_code=inst["location"],
                latitude=lat,
                longitude=lon,
                elevation=elev,
                depth=0.0,
                azimuth=az,
                dip=dip,
                sample_rate=SAMPLING_RATE,
                start_date=START,
                sensor=None,
                response=_response(inst),
                description=inst["sensor"],
            )
        )
    return out


def build(table: Path) -> Inventory:
    networks: dict[str, Network] = {}
    with table.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    for net, sta, lat_s, lon_s, elev_s, site, kind, urban in rows:
        lat, lon, elev = float(lat_s), float(lon_s), float(elev_s)
        chans: list[Channel] = []
        if kind in ("velocity", "both"):
            chans += _channels(VELOCITY, lat, lon, elev)
        if kind in ("strong_motion", "both"):
            chans += _channels(ACCELERATION, lat, lon, elev)
        if not chans:
            raise SystemExit(f"{table}: station {sta}: unknown kind {kind!r}")
        station = Station(
            code=sta,
            latitude=lat,
            longitude=lon,
            elevation=elev,
            start_date=START,
            site=Site(name=site, description=f"urban={urban}"),
            channels=chans,
            creation_date=START,
        )
        networks.setdefault(
            net,
            Network(code=net, description="Shenzhen city seismic network", start_date=START),
        ).stations.append(station)
    return Inventory(networks=list(networks.values()), source="seismo stations/build_inventory.py")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    inv = build(Path(argv[1]))
    inv.write(argv[2], format="STATIONXML", validate=True)
    n = sum(len(n.stations) for n in inv.networks)
    print(f"wrote {argv[2]}: {n} stations, {len(inv.get_contents()['channels'])} channels")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
