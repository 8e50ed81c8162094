"""Local magnitude ML from Wood-Anderson amplitudes (IASPEI standard).

The station task turns waveforms into per-second Wood-Anderson peaks
(:func:`seismo.station.amplitudes.station_amplitudes`, Wood-Anderson response in
:mod:`seismo.station.response`); this module turns those peaks
into station and network magnitudes once the origin is known.

Formula (IASPEI 2011/2013 standard, isc.ac.uk/standards/magnitudes) [V]::

    ML = log10(A) + 1.11 log10(R) + 0.00189 R - 2.09

* ``A``: zero-to-peak amplitude in nm on a horizontal component filtered to a
  Wood-Anderson response with magnification 1 (so ``A`` is in nm of ground
  displacement "as seen through" the WA instrument). Each horizontal component
  is one datum.
* ``R``: hypocentral distance in km (the standard was derived for 10-600 km;
  nearer stations are accepted but are extrapolation).

Check values (IASPEI page): ML 3.0 at R = 50 km <-> 1.29 µm (2.68 mm at gain
2080); 8.44 mm at 20 km. See docs/magnitude_intensity.md for the saturation
limits of ML on this network.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from obspy import UTCDateTime

from seismo.config import MagnitudeConfig
from seismo.errors import DataError
from seismo.geo import distance_km, hypocentral_km
from seismo.inventory import StationInfo
from seismo.model import AmplitudeSeries, StationMagnitude
from seismo.station.amplitudes import series_window

log = logging.getLogger(__name__)

#: Travel-time callable: (epicentral distance km, depth km) -> seconds after origin time.
TravelTimeFn = Callable[[float, float], float]

# Robust outlier rejection: MAD * 1.4826 estimates sigma for normal data
# (Rousseeuw & Croux 1993). The floor keeps near-identical values from rejecting
# a datum 0.05 units away; 0.1 ML units is our choice (typical station scatter is
# 0.2-0.3, e.g. Bormann 2012, NMSOP-2 ch. 3).
MAD_TO_SIGMA = 1.4826
MIN_SIGMA = 0.1


def ml_iaspei(
    amp_nm: ArrayLike,
    hypo_km: ArrayLike,
    a: float = 1.11,
    b: float = 0.00189,
    c: float = -2.09,
) -> NDArray[np.float64]:
    """ML = log10(A) + a log10(R) + b R + c (IASPEI defaults, isc.ac.uk/standards/magnitudes).

    Args:
        amp_nm: zero-to-peak Wood-Anderson (magnification 1) amplitude, nm. > 0.
        hypo_km: hypocentral distance, km. > 0.
    Raises:
        DataError: an amplitude or a distance is not positive and finite.
    """
    amp = np.asarray(amp_nm, dtype=float)
    r = np.asarray(hypo_km, dtype=float)
    if not np.all(np.isfinite(amp) & (amp > 0)):
        raise DataError(f"Wood-Anderson amplitude must be > 0 nm (got {amp_nm!r})")
    if not np.all(np.isfinite(r) & (r > 0)):
        raise DataError(f"hypocentral distance must be > 0 km (got {hypo_km!r})")
    return np.asarray(np.log10(amp) + a * np.log10(r) + b * r + c, dtype=float)


def wa_amplitude_for_ml(
    ml: float, hypo_km: float, a: float = 1.11, b: float = 0.00189, c: float = -2.09
) -> float:
    """Inverse of :func:`ml_iaspei`: the WA (gain 1) amplitude in nm for ``ml`` at ``hypo_km``."""
    return float(10.0 ** (ml - a * math.log10(hypo_km) - b * hypo_km - c))


def network_magnitude(
    values: Sequence[float] | NDArray, k: float = 3.0
) -> tuple[float, float | None, NDArray[np.bool_]]:
    """Robust network magnitude: median after rejecting outliers.

    A datum is rejected when ``|x - median| > k * max(1.4826 * MAD, 0.1)``
    (Hampel identifier; MAD = median absolute deviation). The magnitude is the
    median of the kept data; the uncertainty is their sample standard deviation
    (None for a single datum).

    Returns:
        (magnitude, uncertainty, used mask aligned with ``values``)
    Raises:
        DataError: no value, or a value is not finite; ``k`` not positive.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise DataError("network_magnitude needs at least one station magnitude")
    if not np.all(np.isfinite(x)):
        raise DataError(f"station magnitudes must be finite (got {x.tolist()})")
    if not k > 0:
        raise DataError(f"outlier factor k ({k}) must be > 0")
    med = float(np.median(x))
    sigma = max(MAD_TO_SIGMA * float(np.median(np.abs(x - med))), MIN_SIGMA)
    used = np.abs(x - med) <= k * sigma
    kept = x[used]
    mag = float(np.median(kept))
    unc = float(np.std(kept, ddof=1)) if kept.size >= 2 else None
    return mag, unc, used


def _chan_code(label: str | None, fallback: str) -> str:
    if not label:
        return fallback
    return label.split(".")[-1]


def event_magnitude(
    origin_time: UTCDateTime,
    latitude: float,
    longitude: float,
    depth_km: float,
    amplitudes: Mapping[str, AmplitudeSeries],
    stations: Mapping[str, StationInfo],
    p_time_fn: TravelTimeFn,
    s_time_fn: TravelTimeFn,
    cfg: MagnitudeConfig,
) -> tuple[float | None, float | None, list[StationMagnitude]]:
    """Network ML of one located event from the stations' per-second WA peaks.

    For each station (keys ``"NET.STA"`` in both mappings) the amplitude is the
    largest per-second peak of each horizontal component within
    ``[origin + P - 1 s, origin + S + cfg.amplitude_window_s]`` (P, S from the
    travel-time callables, which take epicentral distance and depth in km).
    Stations outside ``[cfg.min_distance_km, cfg.max_distance_km]`` (hypocentral)
    or whose series does not cover the S arrival are skipped. Stations with a
    clipped second inside the window are reported with ``used=False`` (their
    amplitude is only a lower bound). Each horizontal component is one datum.

    Returns:
        (ML or None, uncertainty or None, station magnitudes incl. rejected ones)
    """
    out: list[StationMagnitude] = []
    partial: set[int] = set()  # indices into ``out`` whose window ends before S
    for sid, series in sorted(amplitudes.items()):
        info = stations.get(sid)
        if info is None:
            log.warning("magnitude: station %s has amplitudes but is not in the inventory", sid)
            continue
        epi = float(distance_km(latitude, longitude, info.latitude, info.longitude))
        hypo = float(hypocentral_km(epi, max(depth_km, 0.0)))
        hypo = max(hypo, 0.1)  # a station right at a 0-km-deep hypocentre
        if not cfg.min_distance_km <= hypo <= cfg.max_distance_km:
            continue
        try:
            t_p = origin_time + float(p_time_fn(epi, depth_km))
            t_s = origin_time + float(s_time_fn(epi, depth_km))
        except Exception as exc:  # the velocity module raises its own errors
            log.warning("magnitude: no travel time for %s at %.1f km: %s", sid, epi, exc)
            continue
        win = series_window(series, t_p - 1.0, t_s + cfg.amplitude_window_s)
        s_idx = series_window(series, t_s, t_s)
        if win.stop <= win.start:
            continue
        if s_idx.stop <= s_idx.start:
            # The data end before S (a distant event near the end of a window): the
            # peak since P is a lower bound of the S amplitude, kept apart below.
            p_idx = series_window(series, t_p, t_p)
            if p_idx.stop <= p_idx.start:
                continue
            s_idx = slice(p_idx.start, win.stop)
            partial.add(len(out))
        clipped = any(win.start <= i < win.stop for i in series.clipped)
        labels = (*tuple(series.wa_channels), None, None)
        for comp, values, label in (
            ("N", series.wa_n_nm, labels[0]),
            ("E", series.wa_e_nm, labels[1]),
        ):
            seg = np.array([np.nan if v is None else v for v in values[win]], dtype=float)
            s_seg = np.array([np.nan if v is None else v for v in values[s_idx]], dtype=float)
            if seg.size == 0 or not np.any(np.isfinite(s_seg)):
                continue
            amp = float(np.nanmax(seg))
            if not (math.isfinite(amp) and amp > 0):
                continue
            ml = float(ml_iaspei(amp, hypo, cfg.a, cfg.b, cfg.c))
            out.append(
                StationMagnitude(
                    network=info.network,
                    station=info.station,
                    channel=_chan_code(label, comp),
                    amplitude_nm=amp,
                    hypo_distance_km=hypo,
                    ml=round(ml, 3),
                    used=not clipped,
                )
            )
        if clipped:
            log.info("magnitude: %s clipped within the amplitude window, not used", sid)
    # each station appends up to two components; mark both as partial
    partial |= {i + 1 for i in partial if i + 1 < len(out) and out[i + 1].station == out[i].station}
    complete = [i for i, m in enumerate(out) if m.used and i not in partial]
    # Lower bounds (S not yet in the data) count only when no station has its S window.
    candidates = complete or [i for i, m in enumerate(out) if m.used]
    for i in set(range(len(out))) - set(candidates):
        out[i] = dataclasses.replace(out[i], used=False)
    if not candidates:
        return None, None, out
    mag, unc, mask = network_magnitude([out[i].ml for i in candidates], cfg.outlier_mad)
    for i, keep in zip(candidates, mask, strict=True):
        if not keep:
            out[i] = dataclasses.replace(out[i], used=False)
    return (
        round(mag, 2),
        None if unc is None else round(unc, 2),
        out,
    )
