"""Instrument responses for generated inventories (StationXML with full responses).

Generic but realistic sensors, each a poles-and-zeros stage (normalised to 1 at its
normalisation frequency) and a 24-bit digitizer stage of ``2**23 / 20 V`` counts/V
(times a preamplifier gain where a passive sensor needs one):

* ``broadband``: Streckeisen STS-2 (generation 1), 120 s - 50 Hz, 1500 V/(m/s)
  (as ``stations/build_inventory.py``; Streckeisen manual, IRIS NRL) [3P];
* ``geophone_1hz``: Mark Products L-4C, 1 Hz, damping 0.707, 276.8 V/(m/s) with its
  5500 ohm coil (Sercel/Mark Products data sheet) [3P];
* ``geophone_4.5hz``: a 4.5 Hz exploration geophone (Geospace GS-11D class), damping
  0.7, 32 V/(m/s), digitizer preamplifier gain 16 (design choice) [3P];
* ``accelerometer``: Kinemetrics EpiSensor ES-T, +-2 g into +-20 V (10 V/g), poles
  -981 +- 1009j, -3290 +- 1263j rad/s (Kinemetrics manual, IRIS NRL) [3P].

SEED channel codes follow the band code of the sampling rate (SEED manual, appendix
A): E for 80-250 Hz short-period, H for broadband (and accelerometers, flat to DC) at
80-250 Hz, D/C above 250 Hz, B/S at 10-80 Hz; instrument code H (high-gain
seismometer), N (accelerometer), P (geophone).
"""

from __future__ import annotations

import math

import numpy as np
from obspy import UTCDateTime
from obspy.core.inventory import (
    Channel,
    CoefficientsTypeResponseStage,
    InstrumentSensitivity,
    PolesZerosResponseStage,
    Response,
)

DIGITIZER_COUNTS_PER_VOLT = 2**23 / 20.0


def _geophone_poles(f0: float, h: float) -> list[complex]:
    w = 2.0 * math.pi * f0
    return [complex(-h * w, w * math.sqrt(1 - h * h)), complex(-h * w, -w * math.sqrt(1 - h * h))]


SENSORS: dict[str, dict[str, object]] = {
    "broadband": {
        "zeros": [0j, 0j],
        "poles": [
            -0.037004 + 0.037016j,
            -0.037004 - 0.037016j,
            -251.33 + 0j,
            -131.04 - 467.29j,
            -131.04 + 467.29j,
        ],
        "gain": 1500.0,
        "units": "M/S",
        "preamp": 1.0,
        "inst": "H",
        "broadband": True,
        "description": "Streckeisen STS-2 (gen 1), 120 s - 50 Hz",
    },
    "geophone_1hz": {
        "zeros": [0j, 0j],
        "poles": _geophone_poles(1.0, 0.707),
        "gain": 276.8,
        "units": "M/S",
        "preamp": 1.0,
        "inst": "H",
        "broadband": False,
        "description": "Mark Products L-4C 1 Hz geophone",
    },
    "geophone_4.5hz": {
        "zeros": [0j, 0j],
        "poles": _geophone_poles(4.5, 0.7),
        "gain": 32.0,
        "units": "M/S",
        "preamp": 16.0,
        "inst": "P",
        "broadband": False,
        "description": "4.5 Hz geophone (GS-11D class), preamp x16",
    },
    "accelerometer": {
        "zeros": [],
        "poles": [-981.0 + 1009.0j, -981.0 - 1009.0j, -3290.0 + 1263.0j, -3290.0 - 1263.0j],
        "gain": 10.0 / 9.80665,
        "units": "M/S**2",
        "preamp": 1.0,
        "inst": "N",
        "broadband": True,  # flat to DC: H/B band codes like strong-motion networks (HN?)
        "description": "Kinemetrics EpiSensor ES-T, +-2 g",
    },
}


def band_code(rate: float, broadband: bool) -> str:
    """SEED band code of a sampling rate (SEED manual v2.4, appendix A)."""
    if rate >= 250:
        return "C" if broadband else "D"
    if rate >= 80:
        return "H" if broadband else "E"
    if rate >= 10:
        return "B" if broadband else "S"
    return "L"


def response(sensor: str, rate: float) -> Response:
    """Full response of ``sensor`` digitised at ``rate`` Hz (counts per input unit)."""
    spec = SENSORS[sensor]
    zeros = list(spec["zeros"])  # type: ignore[call-overload]
    poles = list(spec["poles"])  # type: ignore[call-overload]
    s = 2j * np.pi * 1.0
    h = np.prod([s - z for z in zeros]) / np.prod([s - p for p in poles]) if poles else 1.0
    units = str(spec["units"])
    gain = float(spec["gain"])  # type: ignore[arg-type]
    paz = PolesZerosResponseStage(
        stage_sequence_number=1,
        stage_gain=gain,
        stage_gain_frequency=1.0,
        input_units=units,
        output_units="V",
        pz_transfer_function_type="LAPLACE (RADIANS/SECOND)",
        normalization_frequency=1.0,
        normalization_factor=float(1.0 / abs(h)),
        zeros=zeros,
        poles=poles,
    )
    adc_gain = DIGITIZER_COUNTS_PER_VOLT * float(spec["preamp"])  # type: ignore[arg-type]
    adc = CoefficientsTypeResponseStage(
        stage_sequence_number=2,
        stage_gain=adc_gain,
        stage_gain_frequency=1.0,
        input_units="V",
        output_units="COUNTS",
        cf_transfer_function_type="DIGITAL",
        numerator=[1.0],
        denominator=[],
        decimation_input_sample_rate=rate,
        decimation_factor=1,
        decimation_offset=0,
        decimation_delay=0.0,
        decimation_correction=0.0,
    )
    sens = InstrumentSensitivity(
        value=gain * adc_gain, frequency=1.0, input_units=units, output_units="COUNTS"
    )
    resp = Response(instrument_sensitivity=sens, response_stages=[paz, adc])
    resp.recalculate_overall_sensitivity(1.0)
    return resp


def channels(
    sensor: str,
    rate: float,
    lat: float,
    lon: float,
    elev: float,
    location: str,
    start: UTCDateTime,
) -> list[Channel]:
    """Z, N, E channels of one sensor (SEED codes from the rate and the sensor kind)."""
    spec = SENSORS[sensor]
    code = band_code(rate, bool(spec["broadband"])) + str(spec["inst"])
    out = []
    for comp, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)):
        out.append(
            Channel(
                code=code + comp,
                location_code=location,
                latitude=lat,
                longitude=lon,
                elevation=elev,
                depth=0.0,
                azimuth=az,
                dip=dip,
                sample_rate=rate,
                start_date=start,
                response=response(sensor, rate),
                description=str(spec["description"]),
            )
        )
    return out
