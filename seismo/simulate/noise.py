"""Ambient seismic noise between Peterson's (1993) low and high noise models.

Target: the one-sided power spectral density of ground acceleration, in dB
relative to 1 (m/s²)²/Hz,

    PSD_dB(f) = NLNM(f) + fraction * (NHNM(f) - NLNM(f))

with NLNM/NHNM from Peterson (1993), USGS Open-File Report 93-322, as
tabulated by ObsPy (``obspy.signal.spectral_estimation.get_nlnm/get_nhnm``).
Both models are defined for periods 0.1-100000 s; above 10 Hz the 0.1 s value
is held constant (an assumption, documented in docs/simulator.md).

Synthesis (stationary and window-independent):

* time is cut into blocks of ``N`` samples on the epoch grid, hop ``N/2``;
* each block is independent Gaussian noise drawn directly in the frequency
  domain, ``X_k = c_k (a_k + i b_k)`` with a, b ~ N(0, 1). For
  ``x = irfft(X, N)`` the one-sided PSD of x is P_k when
  ``c_k = sqrt(P_k * fs * N / 4)`` (the variance of x is
  ``(1/N²) * sum over both sides of E|X_k|² = (4/N²) sum_k c_k²``, which must
  equal ``sum_k P_k * fs / N``);
* the instrument response (counts per m/s²) multiplies ``c_k``, and a white
  digitizer noise of ``sigma`` counts RMS adds ``sigma² N / 2`` to ``c_k²``;
* each block is weighted by the sine window ``w_j = sin(pi (j + 1/2) / N)``
  and overlap-added: with a hop of N/2, ``w_j² + w_{j+N/2}² = 1`` so the sum
  of independent blocks keeps the variance (and, smoothed over 1/(N dt), the
  spectrum) constant.

Each block is drawn from a generator seeded with (seed, channel id, rate,
block index) through SHA-256, so a sample depends only on those and its time.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

#: Noise block length (s). 60 s resolves the 0.1-10 Hz band well; blocks hop by half.
BLOCK_S = 60.0


@lru_cache(maxsize=1)
def _models() -> tuple[NDArray, NDArray, NDArray, NDArray]:
    p_lo, db_lo = get_nlnm()
    p_hi, db_hi = get_nhnm()
    o_lo, o_hi = np.argsort(p_lo), np.argsort(p_hi)
    return (
        np.log10(np.asarray(p_lo, float)[o_lo]),
        np.asarray(db_lo, float)[o_lo],
        np.log10(np.asarray(p_hi, float)[o_hi]),
        np.asarray(db_hi, float)[o_hi],
    )


def nlnm_nhnm_db(freqs: NDArray) -> tuple[NDArray, NDArray]:
    """Peterson NLNM and NHNM (dB rel. 1 (m/s²)²/Hz) at ``freqs`` (Hz > 0), edge values held."""
    lp_lo, db_lo, lp_hi, db_hi = _models()
    lp = np.log10(1.0 / np.maximum(np.asarray(freqs, float), 1e-12))
    return np.interp(lp, lp_lo, db_lo), np.interp(lp, lp_hi, db_hi)


def target_psd_db(freqs: NDArray, fraction: float, urban_excess_db: float | None = None) -> NDArray:
    """Target ground-acceleration PSD (dB rel. 1 (m/s²)²/Hz) at ``freqs`` (Hz).

    ``urban_excess_db``: an urban station, whose cultural noise (traffic, machinery)
    stands this many dB above the NHNM from 1 to 20 Hz (urban noise exceeds Peterson's
    high-noise model above ~1 Hz in day time: Groos & Ritter 2009, GJI 179, Bucharest
    [3P]). It is blended in between 0.5 and 1 Hz and out between 20 and 40 Hz
    (log-frequency ramps; design choice) over the ``fraction`` level.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"noise fraction ({fraction}) must be within [0, 1]")
    lo, hi = nlnm_nhnm_db(freqs)
    base = lo + fraction * (hi - lo)
    if urban_excess_db is None:
        return base
    lf = np.log10(np.maximum(np.asarray(freqs, float), 1e-12))
    up = np.clip((lf - np.log10(0.5)) / np.log10(2.0), 0.0, 1.0)
    down = np.clip((np.log10(40.0) - lf) / np.log10(2.0), 0.0, 1.0)
    weight = up * down
    return base + weight * np.maximum(hi + urban_excess_db - base, 0.0)


def block_length(fs: float) -> int:
    """Samples per noise block at rate ``fs`` (even, at least 2)."""
    return max(2, 2 * round(BLOCK_S * fs / 2))


def block_amplitude(
    fs: float, n: int, fraction: float, response: NDArray, digitizer_rms: float,
    urban_excess_db: float | None = None,
) -> NDArray:
    """Spectral amplitude ``c_k`` (counts) of one block of ``n`` samples.

    ``response`` is the complex response (counts per m/s²) at ``rfftfreq(n, 1/fs)``.
    """
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    psd = np.zeros_like(freqs)
    psd[1:] = 10.0 ** (target_psd_db(freqs[1:], fraction, urban_excess_db) / 10.0)
    power = psd * fs * n / 4.0 * np.abs(response) ** 2 + digitizer_rms**2 * n / 2.0
    amp = np.sqrt(power)
    amp[0] = 0.0  # no DC
    if n % 2 == 0:
        amp[-1] = 0.0  # the Nyquist bin is real-only; drop it
    return amp


@lru_cache(maxsize=64)
def sine_window(n: int) -> NDArray:
    """``sin(pi (j + 1/2) / n)``: squares of half-overlapping copies sum to one."""
    w = np.sin(np.pi * (np.arange(n) + 0.5) / n)
    w.flags.writeable = False
    return w


def block_rng(seed: int, key: str, index: int) -> np.random.Generator:
    """A generator for block ``index`` of stream ``key`` (stable across runs and platforms)."""
    digest = hashlib.sha256(f"{seed}|{key}|{index}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))


def noise_segment(
    i0: int,
    i1: int,
    amplitude: NDArray,
    seed: int,
    key: str,
) -> NDArray:
    """Noise samples ``[i0, i1)`` on the epoch grid (counts, float64).

    ``amplitude`` (from :func:`block_amplitude`) fixes the block length
    ``n = 2 * (len(amplitude) - 1)``. Block ``k`` covers samples
    ``[k n/2, k n/2 + n)``.
    """
    n = 2 * (len(amplitude) - 1)
    hop = n // 2
    out = np.zeros(max(i1 - i0, 0))
    if i1 <= i0:
        return out
    win = sine_window(n)
    k_first = i0 // hop - 1
    k_last = (i1 - 1) // hop
    nf = len(amplitude)
    for k in range(k_first, k_last + 1):
        b0 = k * hop
        lo, hi = max(b0, i0), min(b0 + n, i1)
        if hi <= lo:
            continue
        rng = block_rng(seed, key, k)
        z = rng.standard_normal((2, nf))
        block = np.fft.irfft(amplitude * (z[0] + 1j * z[1]), n)
        out[lo - i0 : hi - i0] += block[lo - b0 : hi - b0] * win[lo - b0 : hi - b0]
    return out
