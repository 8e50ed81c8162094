"""Instrument and filter responses (seismo.station.response) against ObsPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from seismo.station.response import (
    WA_NOMINAL_GAIN,
    differentiator_sos,
    motion_bandpass_sos,
    velocity_sos,
    wood_anderson_paz,
    wood_anderson_response,
    wood_anderson_sos,
)

FS = 100.0
BAND = np.array([0.3, 1.0, 2.0, 5.0, 10.0])


def test_wood_anderson_paz() -> None:
    paz = wood_anderson_paz()
    w0 = 2 * math.pi / 0.8
    for p in paz["poles"]:
        assert abs(p) == pytest.approx(w0)  # natural period 0.8 s
        assert -p.real / abs(p) == pytest.approx(0.7)  # damping 0.7
    assert paz["zeros"] == [0j, 0j] and paz["sensitivity"] == 1.0
    assert wood_anderson_paz(WA_NOMINAL_GAIN)["sensitivity"] == 2080.0


def test_wood_anderson_response_matches_obspy_paz() -> None:
    from obspy.signal.invsim import paz_to_freq_resp

    paz = wood_anderson_paz()
    nfft = 1024
    h, f = paz_to_freq_resp(paz["poles"], paz["zeros"], paz["gain"], 0.01, nfft, freq=True)
    ours = wood_anderson_response(f)
    assert np.allclose(ours, h, rtol=1e-10, atol=1e-12)
    # Damping 0.7 at the 0.8 s natural period: |H| = 1/(2h) at 1.25 Hz, -> 1 well above.
    assert abs(wood_anderson_response([1.25])[0]) == pytest.approx(1 / 1.4, rel=1e-6)
    assert abs(wood_anderson_response([40.0])[0]) == pytest.approx(1.0, abs=2e-3)


def _freqz(sos: np.ndarray, f: np.ndarray) -> np.ndarray:
    return scipy.signal.sosfreqz(sos, worN=f, fs=FS)[1]


@pytest.mark.parametrize("channel", ["HHZ", "HNZ"])
def test_velocity_sos_inverts_the_full_response(inventory, channel) -> None:
    """counts -> m/s: the causal filter times the StationXML response is ~1 in the band
    (the 40 Hz pole of the broadband sensor costs ~1 % at 10 Hz), and the high-pass
    (0.04 Hz) shows below it."""
    resp = inventory.select(channel=channel)[0][0][0].response
    sos = velocity_sos(resp, FS)
    assert velocity_sos(resp, FS) is sos  # cached per response
    vel = resp.get_evalresp_response_for_frequencies(
        BAND, output="VEL", hide_sensitivity_mismatch_warning=True)
    assert np.allclose(np.abs(_freqz(sos, BAND) * vel), 1.0, atol=0.015)
    low = resp.get_evalresp_response_for_frequencies([0.02], output="VEL")
    assert abs(_freqz(sos, np.array([0.02]))[0] * low[0]) < 0.3
    # stable: every pole inside the unit circle
    assert max(np.abs(np.roots(sec[3:])).max() for sec in sos) < 1.0


def test_velocity_sos_flat_without_poles_and_zeros(inventory) -> None:
    from obspy.core.inventory import InstrumentSensitivity, Response

    flat = Response(instrument_sensitivity=InstrumentSensitivity(
        value=1e9, frequency=1.0, input_units="M/S", output_units="COUNTS"))
    sos = velocity_sos(flat, FS)
    assert np.allclose(np.abs(_freqz(sos, BAND)) * 1e9, 1.0, atol=0.01)


def test_wood_anderson_sos_and_differentiator() -> None:
    """Velocity -> WA displacement within 1 % up to 10 Hz; d/dt within 0.5 %; the
    PGA/PGV band-pass is -3 dB at its corners."""
    wa = wood_anderson_response(BAND) / (2j * np.pi * BAND)
    assert np.allclose(np.abs(_freqz(wood_anderson_sos(FS), BAND) / wa), 1.0, atol=0.01)
    d = np.abs(_freqz(differentiator_sos(FS), BAND)) / (2 * np.pi * BAND)
    assert np.allclose(d, 1.0, atol=0.005)
    bp = np.abs(_freqz(motion_bandpass_sos(FS, 0.1, 10.0), np.array([0.1, 1.0, 10.0])))
    assert bp == pytest.approx([2**-0.5, 1.0, 2**-0.5], abs=1e-3)


# --------------------------------------------------------------------------- long periods
MS_PERIODS = np.array([3.0, 20.0, 40.0, 60.0])


@pytest.mark.parametrize("sensor", ["broadband", "accelerometer"])
@pytest.mark.parametrize("rate", [100.0, 20.0])
def test_ms_bb_chain_is_velocity_flat_from_3_to_60_s(sensor: str, rate: float) -> None:
    """IASPEI (2013): Ms_BB on a record proportional to velocity over 3-60 s. The
    long-period correction times the Ms_BB band-pass is within 2 % of 1 at 3, 20, 40 and
    60 s (the band-pass of 1/60-1/3 Hz with the 0.04 Hz correction read 0.71, 0.84, 0.36
    and 0.12 there: -0.15, -0.07, -0.44, -0.92 magnitude units)."""
    from seismo.simulate.instruments import response
    from seismo.station.response import MS_BB_BAND_HZ, long_period_pre_filt

    resp = response(sensor, rate)
    f = 1.0 / MS_PERIODS
    vel = resp.get_evalresp_response_for_frequencies(
        f, output="VEL", hide_sensitivity_mismatch_warning=True)
    corr = scipy.signal.sosfreqz(velocity_sos(resp, rate, long_period_pre_filt(rate)),
                                 worN=f, fs=rate)[1]
    band = scipy.signal.sosfreqz(motion_bandpass_sos(rate, *MS_BB_BAND_HZ), worN=f, fs=rate)[1]
    gain = np.abs(vel * corr * band)
    assert np.allclose(gain, 1.0, atol=0.02), gain
    # the short-period correction alone (0.04 Hz high-pass) is not flat there
    short = scipy.signal.sosfreqz(velocity_sos(resp, rate), worN=f, fs=rate)[1]
    assert abs(vel[-1] * short[-1]) < 0.5


@pytest.mark.parametrize(
    ("sensor", "usable"),
    [("broadband", True), ("accelerometer", True), ("geophone_1hz", False),
     ("geophone_4.5hz", False)],
)
def test_long_period_usable_refuses_geophones(sensor: str, usable: bool) -> None:
    """Ms_BB and Mwp need a response usable at 3-60 s (issue 22): broadbands and
    accelerometers, never geophones; nor a response reduced to its sensitivity."""
    from obspy.core.inventory import InstrumentSensitivity, Response

    from seismo.simulate.instruments import SENSORS, response
    from seismo.station.response import long_period_usable

    kind = "acceleration" if "S**2" in str(SENSORS[sensor]["units"]) else "velocity"
    assert long_period_usable(response(sensor, 100.0), kind) is usable
    flat = Response(instrument_sensitivity=InstrumentSensitivity(
        value=1e9, frequency=1.0, input_units="M/S", output_units="COUNTS"))
    assert long_period_usable(flat, "velocity") is False


def test_displacement_highpass_is_wu_kanamori_pd_filter() -> None:
    """Velocity -> displacement high-passed by a two-pole Butterworth at 0.075 Hz (Pd,
    Wu & Kanamori 2005): within 1 % of the analogue 1/(i w) x HP(f) from 0.2 to 10 Hz."""
    from seismo.station.response import PD_HIGHPASS_HZ, displacement_highpass_sos

    f = np.array([0.2, 0.5, 1.0, 3.0, 10.0])
    h = _freqz(displacement_highpass_sos(FS), f)
    b, a = scipy.signal.butter(2, 2 * math.pi * PD_HIGHPASS_HZ, "highpass", analog=True)
    hp = scipy.signal.freqs(b, a, worN=2 * math.pi * f)[1]
    want = hp / (2j * math.pi * f)
    assert np.allclose(np.abs(h), np.abs(want), rtol=0.01)
    assert abs(_freqz(displacement_highpass_sos(FS), np.array([0.01]))[0]) < 2.0  # bounded
    with pytest.raises(Exception, match="impossible"):
        displacement_highpass_sos(0.1)
