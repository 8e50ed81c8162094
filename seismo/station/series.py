"""Reading an :class:`~seismo.model.AmplitudeSeries`: which steps cover a time span, and
a field as numbers.

Kept apart from :mod:`seismo.station.amplitudes` (which makes the series and needs
SciPy's signal processing) so that the event stages, which only read series, load
without it (a DAG task that measures events starts faster).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.model import AmplitudeSeries

__all__ = ["LONG_PERIOD_HIGHPASS_HZ", "series_values", "series_window"]

#: High-pass (Hz, a two-pole Butterworth) of the long-period vertical behind
#: ``AmplitudeSeries.lp_z_nms`` and ``dz_nm``: the Early-est broadband high-pass (0.005 Hz),
#: which keeps the long-period displacement carrying the moment of great earthquakes
#: (Lomax & Michelini 2009, GJI 176; its port in SeisComP's Mwpd plugin [3P]). The event
#: stage undoes it over a P window (:mod:`seismo.event.pwindow`), so it lives here, beside
#: the series, not with the filters that SciPy designs.
LONG_PERIOD_HIGHPASS_HZ = 0.005


def series_window(series: AmplitudeSeries, t0: UTCDateTime, t1: UTCDateTime) -> slice:
    """Indices of the series' steps that overlap ``[t0, t1]`` (clamped to the series)."""
    n = max(len(series.wa_n_nm), len(series.wa_e_nm), len(series.pga_ms2), len(series.pgv_ms))
    i0 = math.floor((t0 - series.start) / series.step_s)
    i1 = math.floor((t1 - series.start) / series.step_s) + 1
    return slice(min(max(i0, 0), n), min(max(i1, 0), n))


def series_values(values: Sequence[float | None]) -> NDArray[np.float64]:
    """A series field as a float array (None -> NaN)."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)
