"""Noise PSD of one channel with ObsPy's PPSD, compared with Peterson's (1993) noise models.

PPSD (McNamara & Buland 2004, as implemented in ``obspy.signal.PPSD``) gives
acceleration PSDs in dB re 1 (m/s²)²/Hz. Its defaults are 3600 s segments with
50 % overlap (docs/references.md §7); health windows are short (600 s by default), so
the segment length is ``HealthConfig.psd_length_s`` (300 s by default, clamped
to the window) with PPSD's 50 % overlap. A segment needs contiguous data, so a
window with many gaps may yield no PSD (the metrics are then absent).

Per period band ``(lo, hi)`` s the metrics are, over PPSD's period bins inside the
band, the mean of ``psd - NHNM`` and of ``psd - NLNM`` (dB), where ``psd`` is the
median over the window's segments (an earthquake in one segment does not make
the site "noisy"). NLNM/NHNM come from ``obspy.signal.spectral_estimation``
(Peterson 1993, USGS OFR 93-322).

The same PPSD also gives the probability density of the segments' PSDs
(:class:`NoisePDF`: McNamara & Buland 2004, ``PPSD.calculate_histogram``), which
the console draws for a longer span than the health window.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from obspy import Stream, Trace
from obspy.core.inventory.response import Response
from obspy.signal import PPSD
from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NoisePDF:
    """Probability density of a window's segment PSDs (McNamara & Buland 2004), from
    PPSD's histogram: ``percent[i, j]`` is the share (%) of segments whose power at
    period bin ``i`` falls in the power bin ``[db_edges[j], db_edges[j + 1])`` (dB re
    1 (m/s²)²/Hz); ``mode_db`` the most frequent power per period bin."""

    db_edges: np.ndarray
    percent: np.ndarray
    mode_db: np.ndarray


@dataclass(frozen=True)
class NoisePSD:
    """Median PSD of a window: periods (s) and power (dB re 1 (m/s²)²/Hz), and the
    probability density of its segments (None when PPSD gave no histogram)."""

    periods_s: np.ndarray
    db: np.ndarray
    n_segments: int
    pdf: NoisePDF | None = None


def noise_models(periods_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peterson (1993) NLNM and NHNM (dB re 1 (m/s²)²/Hz) interpolated at ``periods_s``.

    Interpolation is linear in log10(period); outside the models' range
    (0.1-100000 s) the end values are held.
    """
    pl, nl = get_nlnm()
    ph, nh = get_nhnm()
    lp = np.log10(periods_s)
    nlnm = np.interp(lp, np.log10(pl[::-1]), nl[::-1])
    nhnm = np.interp(lp, np.log10(ph[::-1]), nh[::-1])
    return nlnm, nhnm


def noise_psd(traces: Sequence[Trace], response: Response, length_s: float) -> NoisePSD | None:
    """PPSD of contiguous segments of ``length_s`` s (50 % overlap); None if none fit.

    ``traces`` are the segments of one channel (counts); ``response`` its
    StationXML response (velocity or acceleration input units).
    """
    usable = [t for t in traces if t.stats.npts * t.stats.delta >= length_s]
    if not usable:
        return None
    ppsd = PPSD(usable[0].stats, metadata=response, ppsd_length=length_s, overlap=0.5)
    for tr in usable:
        ppsd.add(Stream([tr]))
    psds = ppsd.psd_values  # list of per-segment arrays over period_bin_centers (public API)
    if not psds:
        return None
    arr = np.asarray(psds, dtype=np.float64)
    return NoisePSD(
        periods_s=np.asarray(ppsd.period_bin_centers, dtype=np.float64),
        db=np.median(arr, axis=0),
        n_segments=arr.shape[0],
        pdf=_pdf(ppsd),
    )


def _pdf(ppsd: PPSD) -> NoisePDF | None:
    """PPSD's histogram over every segment added, as percent per period bin (public API:
    ``calculate_histogram``, ``current_histogram``, ``db_bin_edges``, ``get_mode``)."""
    ppsd.calculate_histogram()
    hist = ppsd.current_histogram
    count = ppsd.current_histogram_count
    if hist is None or not count:
        return None
    return NoisePDF(
        db_edges=np.asarray(ppsd.db_bin_edges, dtype=np.float64),
        percent=np.asarray(hist, dtype=np.float64) * (100.0 / count),
        mode_db=np.asarray(ppsd.get_mode()[1], dtype=np.float64),
    )


def band_deviation(psd: NoisePSD, lo: float, hi: float) -> tuple[float, float] | None:
    """Mean ``psd - NHNM`` and mean ``psd - NLNM`` (dB) over periods in ``[lo, hi]`` s."""
    sel = (psd.periods_s >= lo) & (psd.periods_s <= hi) & np.isfinite(psd.db)
    if not sel.any():
        return None
    nlnm, nhnm = noise_models(psd.periods_s[sel])
    db = psd.db[sel]
    return float(np.mean(db - nhnm)), float(np.mean(db - nlnm))


def band_key(lo: float, hi: float) -> str:
    """Metric-name suffix of a period band, e.g. ``0.1-1s``."""
    return f"{lo:g}-{hi:g}s"
