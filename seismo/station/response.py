"""Instrument and filter responses in the frequency domain.

* The Wood-Anderson standard seismograph (for ML, IASPEI standard): natural
  period 0.8 s, damping 0.7, static magnification 2080 (Uhrhammer & Collins
  1990, BSSA 80(3); adopted by the IASPEI 2011/2013 magnitude standard, which
  measures A at magnification 1).
* The inverse of a channel's StationXML response to ground velocity (ObsPy
  ``Response.get_evalresp_response_for_frequencies(output="VEL")``) with a water
  level (60 dB below the peak response, ObsPy's ``remove_response`` default) and
  an ObsPy-style cosine pre-filter ``(f1, f2, f3, f4)``; cached per response
  object and FFT grid.
* The squared magnitude ``|B(f)|**2`` of an analogue Butterworth band-pass (the
  zero-phase, forward-backward filter of ObsPy's ``zerophase=True``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal
from numpy.typing import ArrayLike, NDArray
from obspy.core.inventory import Response

# Wood-Anderson standard torsion seismograph (sources in the module docstring).
WA_PERIOD_S = 0.8
WA_DAMPING = 0.7
WA_NOMINAL_GAIN = 2080.0

#: Water level for the spectral division, dB below the peak response (ObsPy default).
WATER_LEVEL_DB = 60.0
#: Butterworth order of the PGA/PGV band-pass (applied twice: zero phase).
BANDPASS_CORNERS = 4
#: Bound on cached inverse responses; the cache is cleared when it grows beyond.
INVERSE_CACHE_SIZE = 512


def wood_anderson_paz(gain: float = 1.0) -> dict[str, object]:
    """Poles and zeros of the Wood-Anderson seismometer, displacement in -> displacement out.

    ``H(s) = gain * s**2 / (s**2 + 2 h w0 s + w0**2)`` with ``w0 = 2 pi / 0.8 s`` and
    ``h = 0.7`` (Uhrhammer & Collins 1990; IASPEI 2013). ``H -> gain`` well above
    1.25 Hz, so with ``gain=1`` (the IASPEI convention) the output is in the same
    unit as the input ground displacement (nm in, nm out).

    Returns an ObsPy-style PAZ dict (``poles``, ``zeros``, ``gain``, ``sensitivity``):
    ``gain`` is the normalisation factor A0 (1 here, the transfer function already
    tends to 1), ``sensitivity`` the magnification.
    """
    w0 = 2.0 * math.pi / WA_PERIOD_S
    h = WA_DAMPING
    re, im = -h * w0, w0 * math.sqrt(1.0 - h * h)
    return {
        "poles": [complex(re, im), complex(re, -im)],
        "zeros": [0j, 0j],
        "gain": 1.0,
        "sensitivity": float(gain),
    }


def wood_anderson_response(freqs: ArrayLike, gain: float = 1.0) -> NDArray[np.complex128]:
    """Complex WA response (displacement -> displacement) at ``freqs`` (Hz)."""
    paz = wood_anderson_paz(gain)
    s = 2j * math.pi * np.asarray(freqs, dtype=float)
    num = np.ones_like(s)
    for z in paz["zeros"]:  # type: ignore[attr-defined]
        num = num * (s - z)
    den = np.ones_like(s)
    for p in paz["poles"]:  # type: ignore[attr-defined]
        den = den * (s - p)
    return np.asarray(gain * num / den, dtype=np.complex128)


def cosine_prefilter(freqs: NDArray, f1: float, f2: float, f3: float, f4: float) -> NDArray:
    """ObsPy-style cosine taper in frequency: 0 below f1/above f4, 1 in [f2, f3]."""
    c = np.zeros_like(freqs)
    up = (freqs >= f1) & (freqs < f2)
    c[up] = 0.5 * (1 - np.cos(np.pi * (freqs[up] - f1) / (f2 - f1)))
    c[(freqs >= f2) & (freqs <= f3)] = 1.0
    down = (freqs > f3) & (freqs <= f4)
    c[down] = 0.5 * (1 + np.cos(np.pi * (freqs[down] - f3) / (f4 - f3)))
    return c


def bandpass_power(freqs: NDArray, fmin: float, fmax: float) -> NDArray:
    """|B(f)|² of an analogue Butterworth band-pass (high-pass if fmax >= the last freq)."""
    nyq = float(freqs[-1])
    w = 2 * np.pi * freqs
    if fmax < nyq:
        z, p, k = scipy.signal.butter(
            BANDPASS_CORNERS,
            [2 * np.pi * fmin, 2 * np.pi * fmax],
            "bandpass",
            analog=True,
            output="zpk",
        )
    else:
        z, p, k = scipy.signal.butter(
            BANDPASS_CORNERS, 2 * np.pi * fmin, "highpass", analog=True, output="zpk"
        )
    _, h = scipy.signal.freqs_zpk(z, p, k, worN=w)
    return np.abs(h) ** 2


_INVERSE_CACHE: dict[tuple[int, int, float, tuple[float, ...]], tuple[Response, NDArray]] = {}


def inverse_velocity_response(
    response: Response, nfft: int, fs: float, pf: tuple[float, float, float, float]
) -> NDArray:
    """Pre-filter / (response to velocity, water-levelled) on the rfft grid, cached.

    Multiply the rfft (length ``nfft``, sampling rate ``fs`` Hz) of counts by it
    to get ground velocity in m/s. The result is read-only. The cache keeps the
    response object with the result and checks identity, so a re-used ``id()``
    can never return another channel's response.
    """
    key = (id(response), nfft, fs, tuple(pf))
    hit = _INVERSE_CACHE.get(key)
    if hit is not None and hit[0] is response:
        return hit[1]
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    resp = response.get_evalresp_response_for_frequencies(
        freqs, output="VEL", hide_sensitivity_mismatch_warning=True
    )
    amp = np.abs(resp)
    level = amp.max() * 10.0 ** (-WATER_LEVEL_DB / 20.0)
    small = amp < level
    resp = resp.copy()
    resp[small] = level * np.exp(1j * np.angle(resp[small]))
    resp[resp == 0] = level
    inv = cosine_prefilter(freqs, *pf) / resp
    inv.setflags(write=False)
    if len(_INVERSE_CACHE) > INVERSE_CACHE_SIZE:
        _INVERSE_CACHE.clear()
    _INVERSE_CACHE[key] = (response, inv)
    return inv
