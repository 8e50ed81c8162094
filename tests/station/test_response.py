"""Instrument and filter responses (seismo.station.response) against ObsPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seismo.station.response import (
    WA_NOMINAL_GAIN,
    bandpass_power,
    cosine_prefilter,
    inverse_velocity_response,
    wood_anderson_paz,
    wood_anderson_response,
)


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


def test_cosine_prefilter_shape() -> None:
    f = np.linspace(0.0, 50.0, 501)
    c = cosine_prefilter(f, 0.5, 1.0, 20.0, 40.0)
    assert np.all(c[f < 0.5] == 0.0) and np.all(c[f > 40.0] == 0.0)
    assert np.all(c[(f >= 1.0) & (f <= 20.0)] == 1.0)
    assert c[f == 30.0][0] == pytest.approx(0.5)


def test_bandpass_power_matches_zero_phase_butterworth() -> None:
    """|B|² of one pass: 1/2 at the corners, ~1 in the pass band, small far outside."""
    f = np.array([0.1, 1.0, 10.0, 49.0])
    p = bandpass_power(np.append(f, 50.0), 0.1, 10.0)
    assert p[0] == pytest.approx(0.5, rel=1e-3) and p[2] == pytest.approx(0.5, rel=1e-3)
    assert p[1] == pytest.approx(1.0, abs=1e-3)
    assert p[3] < 1e-3


def test_inverse_velocity_response_is_cached_per_response(inventory) -> None:
    resp = inventory.select(channel="HHZ")[0][0][0].response
    a = inverse_velocity_response(resp, 1024, 100.0, (0.02, 0.04, 37.5, 45.0))
    b = inverse_velocity_response(resp, 1024, 100.0, (0.02, 0.04, 37.5, 45.0))
    assert a is b and not a.flags.writeable
    f = np.fft.rfftfreq(1024, 0.01)
    vel = resp.get_evalresp_response_for_frequencies(
        f, output="VEL", hide_sensitivity_mismatch_warning=True
    )
    band = (f > 0.1) & (f < 30.0)  # pass band of the pre-filter, above the water level
    assert np.allclose(a[band] * vel[band], 1.0, rtol=1e-9)
