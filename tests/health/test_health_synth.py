"""Realistic synthetic station noise for the health tests, and a check of it.

Ground acceleration noise is shaped to the dB midpoint between Peterson's
(1993) NLNM and NHNM, then passed through the channel's StationXML response
(``output="ACC"``: counts per m/s²) and rounded to integer counts, like a
24-bit digitizer. Other health test modules import these helpers.
"""

from __future__ import annotations

import numpy as np
from obspy import Inventory, Stream, Trace, UTCDateTime

from seismo.health.psd import noise_models
from seismo.inventory import StationInfo


def shaped_noise_counts(
    response, n: int, sampling_rate: float, rng: np.random.Generator, gain_db: float = 0.0
) -> np.ndarray:
    """``n`` samples of counts whose acceleration PSD is mid NLNM/NHNM (+ gain_db)."""
    dt = 1.0 / sampling_rate
    freqs = np.fft.rfftfreq(n, dt)
    f = freqs.copy()
    f[0] = freqs[1]
    nlnm, nhnm = noise_models(1.0 / f)
    target_db = 0.5 * (nlnm + nhnm) + gain_db
    w = np.fft.rfft(rng.standard_normal(n))  # white, one-sided PSD 2*dt
    acc = w * np.sqrt(10.0 ** (target_db / 10.0) / (2.0 * dt))
    resp = response.get_evalresp_response_for_frequencies(f, output="ACC")
    spec = acc * resp
    spec[0] = 0.0
    return np.round(np.fft.irfft(spec, n)).astype(np.int32)


def clean_stream(
    inv: Inventory,
    info: StationInfo,
    start: UTCDateTime,
    duration_s: float,
    seed: int = 1,
    gain_db: float = 0.0,
) -> Stream:
    """Clean noise on every channel of ``info`` over ``[start, start + duration_s)``."""
    rng = np.random.default_rng(seed)
    st = Stream()
    for ch in info.channels:
        n = round(duration_s * ch.sampling_rate)
        resp = inv.get_response(ch.seed_id, start)
        tr = Trace(shaped_noise_counts(resp, n, ch.sampling_rate, rng, gain_db))
        tr.stats.update(
            dict(network=ch.network, station=ch.station, location=ch.location,
                 channel=ch.channel, sampling_rate=ch.sampling_rate, starttime=start)
        )
        st.append(tr)
    return st


def test_synthetic_noise_lies_between_the_noise_models(inventory) -> None:
    from seismo.health.psd import band_deviation, noise_psd
    from seismo.inventory import stations

    info = next(s for s in stations(inventory) if len(s.kinds()) == 2)
    t0 = UTCDateTime(2026, 1, 15, 8)
    st = clean_stream(inventory, info, t0, 600.0)
    for tr in st:
        psd = noise_psd([tr], inventory.get_response(tr.id, t0), 300.0)
        assert psd is not None and psd.n_segments == 3
        for lo, hi in [(0.1, 1.0), (1.0, 10.0)]:
            dev = band_deviation(psd, lo, hi)
            assert dev is not None
            above_nhnm, above_nlnm = dev
            assert above_nhnm < -5.0, (tr.id, lo, hi, dev)
            assert above_nlnm > 5.0, (tr.id, lo, hi, dev)
