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
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.errors import DataError
from seismo.event.arrivals import ArrivalWindow, EventRecords, arrival_windows
from seismo.event.magtype import MagnitudeReading, Motions
from seismo.event.settings import MagnitudeConfig
from seismo.geo import distance_km, hypocentral_km
from seismo.inventory import StationInfo
from seismo.model import Event, Magnitude, StationMagnitude
from seismo.station.series import series_values

log = logging.getLogger(__name__)

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


def hypocentral_distance_km(epi_km: float, depth_km: float) -> float:
    """Hypocentral distance for ML, km (at least 0.1 km: a station above a 0-km source)."""
    return max(float(hypocentral_km(epi_km, max(depth_km, 0.0))), 0.1)


def _s_steps(w: ArrivalWindow) -> tuple[slice, bool] | None:
    """Steps from which the S amplitude is read, and whether they are only partial.

    When the data end before S (a distant event near the end of a window), the
    peak since P is a lower bound of the S amplitude: those steps are returned
    with ``partial=True``. None when the series does not reach P either.
    """
    s_idx = w.steps_at(w.s_time)
    if s_idx.stop > s_idx.start:
        return s_idx, False
    p_idx = w.steps_at(w.p_time)
    if p_idx.stop <= p_idx.start:
        return None
    return slice(p_idx.start, w.steps.stop), True


def station_magnitudes(
    w: ArrivalWindow, hypo_km: float, cfg: MagnitudeConfig
) -> list[tuple[StationMagnitude, bool]]:
    """One station's ML per horizontal component, each with its "partial" flag.

    The amplitude is the largest per-second WA peak of the component within the
    arrival window; a component without a finite peak where S is read gives
    nothing. ``used`` is False when the station clipped inside the window (the
    amplitude is only a lower bound); "partial" as in :func:`_s_steps`.
    """
    s_read = _s_steps(w)
    if s_read is None:
        return []
    s_idx, partial = s_read
    clipped = w.clipped
    info, series = w.station, w.series
    labels = (*tuple(series.wa_channels), None, None)
    out: list[tuple[StationMagnitude, bool]] = []
    for comp, values, label in (
        ("N", series.wa_n_nm, labels[0]),
        ("E", series.wa_e_nm, labels[1]),
    ):
        seg = series_values(values[w.steps])
        if seg.size == 0 or not np.any(np.isfinite(series_values(values[s_idx]))):
            continue
        amp = float(np.nanmax(seg))
        if not (math.isfinite(amp) and amp > 0):
            continue
        ml = float(ml_iaspei(amp, hypo_km, cfg.a, cfg.b, cfg.c))
        sm = StationMagnitude(
            network=info.network,
            station=info.station,
            channel=_chan_code(label, comp),
            amplitude_nm=amp,
            hypo_distance_km=hypo_km,
            ml=round(ml, 3),
            used=not clipped,
        )
        out.append((sm, partial))
    if clipped and out:
        log.info("magnitude: %s clipped within the amplitude window, not used", w.station_id)
    return out


def combine_station_magnitudes(
    rows: Sequence[tuple[StationMagnitude, bool]], cfg: MagnitudeConfig
) -> tuple[float | None, float | None, list[StationMagnitude]]:
    """Network ML from station magnitudes with their "partial" flags.

    Unclipped complete values are combined by :func:`network_magnitude`; lower
    bounds (partial: S not yet in the data) count only when no station has its S
    window. Everything not combined, or rejected as an outlier, gets
    ``used=False``.
    """
    mag, unc, out, _ = combine_with_bound(rows, cfg)
    return mag, unc, out


def combine_with_bound(
    rows: Sequence[tuple[StationMagnitude, bool]], cfg: MagnitudeConfig
) -> tuple[float | None, float | None, list[StationMagnitude], bool]:
    """:func:`combine_station_magnitudes` plus whether the ML is only a lower bound.

    The ML is a lower bound when every value combined was read on P amplitudes
    only (the data end before S): it is then never reported as a plain ML.
    """
    out = [m for m, _ in rows]
    complete = [i for i, (m, partial) in enumerate(rows) if m.used and not partial]
    candidates = complete or [i for i, m in enumerate(out) if m.used]
    for i in set(range(len(out))) - set(candidates):
        out[i] = dataclasses.replace(out[i], used=False)
    if not candidates:
        return None, None, out, False
    mag, unc, mask = network_magnitude([out[i].ml for i in candidates], cfg.outlier_mad)
    for i, keep in zip(candidates, mask, strict=True):
        if not keep:
            out[i] = dataclasses.replace(out[i], used=False)
    return round(mag, 2), None if unc is None else round(unc, 2), out, not complete


def event_magnitude(
    records: EventRecords, cfg: MagnitudeConfig
) -> tuple[float | None, float | None, list[StationMagnitude]]:
    """Network ML of one located event from the stations' per-second WA peaks.

    For each station the amplitude is the largest per-second peak of each
    horizontal component within the arrival window ``[origin + P - 1 s, origin +
    S + cfg.amplitude_window_s]`` (:func:`seismo.event.arrivals.arrival_windows`).
    Stations outside ``[cfg.min_distance_km, cfg.max_distance_km]`` (hypocentral)
    or whose series does not cover the S arrival are skipped. Stations with a
    clipped second inside the window are reported with ``used=False`` (their
    amplitude is only a lower bound). Each horizontal component is one datum.

    Returns:
        (ML or None, uncertainty or None, station magnitudes incl. rejected ones)
    """
    ml, smags = event_ml(records, cfg)
    return (None, None, smags) if ml is None else (ml.value, ml.uncertainty, smags)


def event_ml(
    records: EventRecords, cfg: MagnitudeConfig
) -> tuple[Magnitude | None, list[StationMagnitude]]:
    """As :func:`event_magnitude`, the ML as a :class:`~seismo.model.Magnitude` that says
    whether it is only a lower bound (read on P amplitudes only)."""
    rows: list[tuple[StationMagnitude, bool]] = []
    for w in arrival_windows(records, cfg.amplitude_window_s, what="magnitude"):
        hypo = hypocentral_distance_km(w.epi_km, records.depth_km)
        if cfg.min_distance_km <= hypo <= cfg.max_distance_km:
            rows += station_magnitudes(w, hypo, cfg)
    mag, unc, out, bound = combine_with_bound(rows, cfg)
    if mag is None:
        return None, out
    n = len({(m.network, m.station) for m in out if m.used})
    return Magnitude("ML", mag, unc, n, lower_bound=bound), out


def relocated_station_magnitudes(
    event: Event, stations: Mapping[str, StationInfo], cfg: MagnitudeConfig
) -> list[tuple[StationMagnitude, bool]]:
    """``event``'s stored station magnitudes at its (new) hypocentre: the stored
    Wood-Anderson amplitudes at the new hypocentral distances.

    Station magnitudes flagged unused (clipped or outliers) stay out; so do those now
    outside ``[cfg.min_distance_km, cfg.max_distance_km]``. A station not in
    ``stations`` keeps its stored value.
    """
    rows: list[tuple[StationMagnitude, bool]] = []
    for m in event.station_magnitudes:
        info = stations.get(f"{m.network}.{m.station}")
        if info is None or not m.amplitude_nm > 0:
            rows.append((m, False))
            continue
        epi = float(distance_km(event.latitude, event.longitude, info.latitude, info.longitude))
        hypo = hypocentral_distance_km(epi, event.depth_km)
        ml = float(ml_iaspei(m.amplitude_nm, hypo, cfg.a, cfg.b, cfg.c))
        in_range = cfg.min_distance_km <= hypo <= cfg.max_distance_km
        rows.append((dataclasses.replace(m, hypo_distance_km=round(hypo, 3), ml=round(ml, 3),
                                         used=m.used and in_range), False))
    return rows


class LocalMagnitude:
    """ML as a magnitude type of the measurement stage (:mod:`seismo.event.magtype`): the
    first of the list, preferred unless a later type says otherwise."""

    name = "ML"

    def __init__(self, cfg: MagnitudeConfig) -> None:
        self.cfg = cfg

    def measure(self, motions: Motions) -> MagnitudeReading:
        ml, smags = event_ml(motions.records, self.cfg)
        return MagnitudeReading(ml, tuple(smags))

    def awaits(self, event: Event, stations: Mapping[str, StationInfo]) -> bool:
        return False  # S arrives within the event's window (post-roll) wherever ML applies

    def relocate(self, event: Event, stations: Mapping[str, StationInfo]) -> MagnitudeReading:
        """ML at the new hypocentre from the stored amplitudes, through the same robust
        median as the automatic ML (:func:`relocated_station_magnitudes`)."""
        rows = relocated_station_magnitudes(event, stations, self.cfg)
        mag, unc, smags = combine_station_magnitudes(rows, self.cfg)
        if mag is None:
            return MagnitudeReading(None, tuple(smags))
        n = len({(m.network, m.station) for m in smags if m.used})
        return MagnitudeReading(Magnitude("ML", mag, unc, n), tuple(smags))

    def preferred(self, current: Magnitude | None, mine: Magnitude) -> bool:
        return current is None
