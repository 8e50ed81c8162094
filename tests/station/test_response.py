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
