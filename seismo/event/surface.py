"""Broadband surface-wave magnitude Ms_BB (IASPEI standard): a magnitude that does not
saturate for the large regional events the tsunami centre acts on.

Formula (IASPEI 2013 standard, isc.ac.uk/standards/magnitudes; Bormann & Dewey 2014,
NMSOP-2 IS 3.3) [3P]::

    Ms_BB = log10(Vmax / 2 pi) + 1.66 log10(Delta) + 0.3

* ``Vmax``: the largest vertical ground velocity (nm/s) in the surface-wave train,
  on a record proportional to velocity for periods 3 s < T < 60 s
  (``AmplitudeSeries.lp_z_nms``: per-second peaks after a 3-60 s band-pass,
  :mod:`seismo.station.amplitudes`);
* ``Delta``: epicentral distance in degrees, 2 <= Delta <= 160; source depth < 60 km.

Why Ms_BB and not Mwp (Tsuboi et al. 1995) for this network (docs/magnitude_intensity.md):
Mwp is defined from 5 degrees outward, while the tsunami sources nearest to the city are
at 3 degrees (Nan'ao, 330 km) and 5.5-9 degrees (Manila Trench); Ms_BB covers both
(2-160 degrees). Ms_BB follows Mw to about Mw 8 (Bormann 2012, NMSOP-2 ch. 3 [3P]).

The surface-wave train is looked for between group velocities
``MagnitudeConfig.ms_group_velocity_kms`` (4.0 to 2.5 km/s, continental Rayleigh waves
at 10-25 s [3P]) plus ``ms_window_pad_s``; a station counts only when its series covers
that whole window (the measurement waits for the data, see
:meth:`seismo.event.measure.EventMeasurer.remeasure`) and its peak stands ``ms_min_snr`` times
above the peak of the ``ms_noise_s`` seconds before P.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from obspy import UTCDateTime
from obspy.geodetics import kilometers2degrees

from seismo.errors import DataError
from seismo.event.magnitude import network_magnitude
from seismo.event.magtype import MagnitudeReading, Motions
from seismo.event.settings import MagnitudeConfig
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import AmplitudeSeries, Event, Magnitude
from seismo.station.amplitudes import series_values, series_window

log = logging.getLogger(__name__)

#: Ms_BB's distance range, degrees (IASPEI 2013 standard) [3P].
MS_BB_MIN_DEG, MS_BB_MAX_DEG = 2.0, 160.0


def ms_bb(vmax_nms: float, delta_deg: float) -> float:
    """Ms_BB = log10(Vmax/2pi) + 1.66 log10(Delta) + 0.3 (IASPEI 2013) [3P].

    Raises:
        DataError: a non-positive velocity or a distance outside 2-160 degrees.
    """
    if not (math.isfinite(vmax_nms) and vmax_nms > 0):
        raise DataError(f"Vmax ({vmax_nms!r} nm/s) must be > 0")
    if not MS_BB_MIN_DEG <= delta_deg <= MS_BB_MAX_DEG:
        raise DataError(f"Ms_BB is defined for 2-160 degrees (got {delta_deg:.2f})")
    return math.log10(vmax_nms / (2.0 * math.pi)) + 1.66 * math.log10(delta_deg) + 0.3


def vmax_for_ms_bb(ms: float, delta_deg: float) -> float:
    """Inverse of :func:`ms_bb`: Vmax (nm/s) giving ``ms`` at ``delta_deg``."""
    return 2.0 * math.pi * 10.0 ** (ms - 0.3 - 1.66 * math.log10(delta_deg))


def surface_window(
    origin: UTCDateTime, epi_km: float, cfg: MagnitudeConfig
) -> tuple[UTCDateTime, UTCDateTime]:
    """[first, last] time of the surface-wave train at ``epi_km`` (group velocities)."""
    v_fast, v_slow = max(cfg.ms_group_velocity_kms), min(cfg.ms_group_velocity_kms)
    return origin + epi_km / v_fast, origin + epi_km / v_slow + cfg.ms_window_pad_s


@dataclass(frozen=True)
class SurfaceResult:
    """Ms_BB of one event: value, spread, stations, and whether data are still awaited."""

    magnitude: float | None
    uncertainty: float | None
    n_stations: int
    waiting: bool  # some eligible station's surface-wave window is not in the data yet
    eligible: bool  # distance and depth allow Ms_BB at all


def _peak(
    series: Sequence[AmplitudeSeries], t0: UTCDateTime, t1: UTCDateTime
) -> tuple[float, bool]:
    """Largest ``lp_z_nms`` value in [t0, t1] over several series; whether every second
    of [t0, t1] was covered by some series."""
    need = max(math.ceil(t1 - t0), 1)
    covered: set[int] = set()
    peak = -math.inf
    for s in series:
        vals = series_values(s.lp_z_nms)
        if vals.size == 0:
            continue
        sl = series_window(s, t0, t1)
        seg = vals[sl]
        for k, v in enumerate(seg):
            if math.isfinite(v):
                sec = math.floor(float((s.start + (sl.start + k) * s.step_s) - t0))
                covered.add(sec)
                peak = max(peak, float(v))
    full = len({c for c in covered if 0 <= c < need}) >= need - 1  # edge seconds may straddle
    return peak, full


def event_ms_bb(
    origin: UTCDateTime,
    latitude: float,
    longitude: float,
    depth_km: float,
    series: Mapping[str, Sequence[AmplitudeSeries]],
    stations: Mapping[str, StationInfo],
    p_time_fn: object,
    cfg: MagnitudeConfig,
) -> SurfaceResult:
    """Network Ms_BB of one event from the stations' per-second Ms_BB-band peaks.

    ``series`` maps "NET.STA" to the station's series from one or more windows
    (later windows hold the surface waves of a distant event). ``p_time_fn(epi_km,
    depth_km)`` gives the P travel time (s) for the noise window. Station values are
    combined as ML is (:func:`seismo.event.magnitude.network_magnitude`).
    """
    if not cfg.ms_bb or not math.isfinite(depth_km) or depth_km >= cfg.ms_max_depth_km:
        return SurfaceResult(None, None, 0, False, False)
    values: list[float] = []
    waiting = eligible = False
    for sid, ss in sorted(series.items()):
        info = stations.get(sid)
        if info is None or not ss:
            continue
        epi = float(distance_km(latitude, longitude, info.latitude, info.longitude))
        delta = float(kilometers2degrees(epi))
        if not MS_BB_MIN_DEG <= delta <= MS_BB_MAX_DEG:
            continue
        eligible = True
        t0, t1 = surface_window(origin, epi, cfg)
        peak, full = _peak(ss, t0, t1)
        if not full:
            waiting = True
            continue
        try:
            tp = origin + float(p_time_fn(epi, depth_km))  # type: ignore[operator]
        except (ValueError, TypeError, DataError):
            continue
        noise, _ = _peak(ss, tp - cfg.ms_noise_s, tp - 1.0)
        if not math.isfinite(peak) or peak <= 0:
            continue
        if math.isfinite(noise) and noise > 0 and peak < cfg.ms_min_snr * noise:
            log.info(
                "Ms_BB: %s surface waves %.3g nm/s below %g x noise", sid, peak, cfg.ms_min_snr
            )
            continue
        values.append(ms_bb(peak, delta))
    if not values:
        return SurfaceResult(None, None, 0, waiting, eligible)
    mag, unc, used = network_magnitude(values, cfg.outlier_mad)
    return SurfaceResult(
        round(mag, 2), None if unc is None else round(unc, 2), int(np.sum(used)), waiting, eligible
    )


def preferred_magnitude(
    ml: Magnitude | None, ms: Magnitude | None, cfg: MagnitudeConfig
) -> Magnitude | None:
    """The event's preferred magnitude: Ms_BB when ML is missing or a P-only lower bound,
    or when Ms_BB >= ``cfg.prefer_ms_bb_from``; else ML."""
    if ms is None:
        return ml
    if ml is None or ml.lower_bound or ms.value >= cfg.prefer_ms_bb_from:
        return ms
    return ml


class SurfaceMagnitude:
    """Ms_BB as a magnitude type of the measurement stage (:mod:`seismo.event.magtype`):
    measured on every window's series, awaited for events with stations beyond 2 degrees,
    preferred as :func:`preferred_magnitude` says."""

    name = "Ms_BB"

    def __init__(self, cfg: MagnitudeConfig) -> None:
        self.cfg = cfg

    def measure(self, motions: Motions) -> MagnitudeReading:
        r = motions.records
        ms = event_ms_bb(r.origin_time, r.latitude, r.longitude, r.depth_km, motions.series(),
                         r.stations, r.p_time_fn, self.cfg)
        mag = None if ms.magnitude is None else Magnitude(
            self.name, ms.magnitude, ms.uncertainty, ms.n_stations)
        return MagnitudeReading(mag, None, ms.waiting)

    def awaits(self, event: Event, stations: Mapping[str, StationInfo]) -> bool:
        """No Ms_BB yet, shallow enough, and a station at 2 degrees or more: its surface
        waves come in later windows."""
        cfg = self.cfg
        if not cfg.ms_bb or any(m.type == self.name for m in event.magnitudes):
            return False
        if event.depth_km >= cfg.ms_max_depth_km:
            return False
        return any(
            float(kilometers2degrees(float(distance_km(
                event.latitude, event.longitude, info.latitude, info.longitude)))) >= MS_BB_MIN_DEG
            for info in stations.values()
        )

    def relocate(self, event: Event, stations: Mapping[str, StationInfo]) -> None:
        return None  # the per-second series are not stored: the measured Ms_BB stays

    def preferred(self, current: Magnitude | None, mine: Magnitude) -> bool:
        return preferred_magnitude(current, mine, self.cfg) is mine
