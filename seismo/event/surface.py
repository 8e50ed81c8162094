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

import dataclasses
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
from seismo.event.pwindow import series_end, stitch
from seismo.event.settings import MagnitudeConfig
from seismo.event.uncertainty import ellipse_scale
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import AmplitudeSeries, Event, Magnitude

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


@dataclass(frozen=True)
class OtherEvent:
    """Another located event near in time: its picks (``"NET.STA"`` -> times) and its
    magnitude (None: not known)."""

    picks: Mapping[str, tuple[UTCDateTime, ...]]
    magnitude: float | None


def other_events(events: Sequence[Event]) -> list[OtherEvent]:
    """The :class:`OtherEvent` of each of ``events`` (its picks by station)."""
    out = []
    for e in events:
        picks: dict[str, list[UTCDateTime]] = {}
        for p in e.picks:
            picks.setdefault(p.station_id, []).append(p.time)
        out.append(OtherEvent({k: tuple(v) for k, v in picks.items()}, e.magnitude))
    return out


def _disturbed(
    sid: str, t0: UTCDateTime, t1: UTCDateTime, others: Sequence[OtherEvent],
    reference: float | None, margin: float,
) -> bool:
    """Whether another event's pick at ``sid`` falls in [t0, t1] and that event is not known
    to be ``margin`` smaller than ``reference`` (this event's largest magnitude so far)."""
    for o in others:
        if not any(t0 <= t <= t1 for t in o.picks.get(sid, ())):
            continue
        if o.magnitude is None or reference is None or o.magnitude > reference - margin:
            return True
    return False


def event_ms_bb(
    origin: UTCDateTime,
    latitude: float,
    longitude: float,
    depth_km: float,
    series: Mapping[str, Sequence[AmplitudeSeries]],
    stations: Mapping[str, StationInfo],
    p_time_fn: object,
    cfg: MagnitudeConfig,
    *,
    epicentre_uncertainty_km: float = 0.0,
    others: Sequence[OtherEvent] = (),
    reference_magnitude: float | None = None,
) -> SurfaceResult:
    """Network Ms_BB of one event from the stations' per-second Ms_BB-band peaks.

    ``series`` maps "NET.STA" to the station's series from one or more windows
    (later windows hold the surface waves of a distant event; per second, the series
    that started earliest is read, :func:`seismo.event.pwindow.stitch`). ``p_time_fn(epi_km,
    depth_km)`` gives the P travel time (s) for the noise window. A station counts when

    * it lies at 2 degrees or more even ``epicentre_uncertainty_km`` (the 90 % semi-major
      axis) nearer: Delta >= 2 degrees at 90 % confidence;
    * its series has the long-period vertical (a sensor usable at 3-60 s: broadbands and
      accelerometers, never geophones or short-period sensors) covering the whole
      surface-wave window, not clipped there;
    * its peak stands ``ms_min_snr`` times above the ``ms_noise_s`` before P;
    * no other event's pick falls in its window (unless that event is known to be
      ``ms_other_event_margin`` smaller than ``reference_magnitude``).

    Station values are combined as ML is (:func:`seismo.event.magnitude.network_magnitude`).
    """
    if not cfg.ms_bb or not math.isfinite(depth_km) or depth_km >= cfg.ms_max_depth_km:
        return SurfaceResult(None, None, 0, False, False)
    values: list[float] = []
    waiting = eligible = False
    unc = epicentre_uncertainty_km if math.isfinite(epicentre_uncertainty_km) else 0.0
    for sid, ss in sorted(series.items()):
        info = stations.get(sid)
        if info is None or not ss:
            continue
        epi = float(distance_km(latitude, longitude, info.latitude, info.longitude))
        delta = float(kilometers2degrees(epi))
        near = float(kilometers2degrees(max(epi - max(unc, 0.0), 0.0)))
        if not (near >= MS_BB_MIN_DEG and delta <= MS_BB_MAX_DEG):
            continue
        eligible = True
        t0, t1 = surface_window(origin, epi, cfg)
        n = max(math.ceil(t1 - t0), 1)
        k0 = UTCDateTime(math.floor(float(t0)))
        vals, clip = stitch(ss, "lp_z_nms", k0, n)
        end = series_end(ss)
        if end is None or end < k0 + n:
            waiting = True
            continue
        if not np.all(np.isfinite(vals)):
            continue  # no long-period vertical there, or a gap
        if np.any(clip):
            log.info("Ms_BB: %s clipped in its surface-wave window, left out", sid)
            continue
        if _disturbed(sid, t0, t1, others, reference_magnitude, cfg.ms_other_event_margin):
            log.info("Ms_BB: %s has another event's picks in its surface-wave window", sid)
            continue
        peak = float(vals.max())
        try:
            tp = origin + float(p_time_fn(epi, depth_km))  # type: ignore[operator]
        except (ValueError, TypeError, DataError):
            continue
        nv, _ = stitch(ss, "lp_z_nms", UTCDateTime(math.floor(float(tp - cfg.ms_noise_s))),
                       math.ceil(cfg.ms_noise_s) - 1)
        noise = float(np.nanmax(nv)) if np.any(np.isfinite(nv)) else math.nan
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
    mag, unc_m, used = network_magnitude(values, cfg.outlier_mad)
    return SurfaceResult(
        round(mag, 2), None if unc_m is None else round(unc_m, 2), int(np.sum(used)), waiting,
        eligible,
    )


#: Moment-type magnitudes and the ones each needs for confirmation when the ML contradicts
#: it: independent data (the P wave against the surface waves) or an agency's.
CONFIRMED_BY = {"Ms_BB": ("Mwp", "Mwpd"), "Mwp": ("Ms_BB",), "Mwpd": ("Ms_BB",)}


def hold_surface_magnitude(mags: Sequence[Magnitude], cfg: MagnitudeConfig) -> list[Magnitude]:
    """``mags`` with each own moment-type magnitude (Ms_BB, Mwp, Mwpd) held for review
    (``Magnitude.held``) when it differs from a complete ML below ``ms_ml_saturation`` by
    more than ``ms_max_ml_difference`` and no magnitude from independent data
    (:data:`CONFIRMED_BY`, or an agency's) agrees with it within half a unit: a long-period
    magnitude the local records contradict is noise or another event's waves until a
    seismologist says otherwise (issue 22: a geophone's noise read as Ms_BB 5.8 outranked
    the ML; coastal16: a local ML 3.9 in an Mw 7.0's surface waves read "Mwp 6.1")."""
    ml = next((m for m in mags if m.type == "ML" and not m.agency), None)
    if ml is None or ml.lower_bound or ml.value >= cfg.ms_ml_saturation:
        return list(mags)
    out = list(mags)
    for k, m in enumerate(mags):
        if m.agency or m.type not in CONFIRMED_BY:
            continue
        if abs(m.value - ml.value) <= cfg.ms_max_ml_difference:
            continue
        confirm = [x for x in mags if x.published and x is not m and abs(x.value - m.value) <= 0.5
                   and (x.agency or x.type in CONFIRMED_BY[m.type])]
        if confirm:
            continue
        why = (f"{m.type} {m.value:.1f} differs from ML {ml.value:.1f} by more than "
               f"{cfg.ms_max_ml_difference:g} and no independent magnitude confirms it")
        log.warning("%s: held for review", why)
        out[k] = dataclasses.replace(m, held=why)
    return out


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
        ev = motions.event
        unc = 0.0
        ref = None
        if ev is not None:
            unc = ev.ellipse_90_major_km
            if not math.isfinite(unc):
                unc = (ev.horizontal_uncertainty_km * ellipse_scale(0.90)
                       if math.isfinite(ev.horizontal_uncertainty_km) else 0.0)
            known = [m.value for m in ev.magnitudes if m.published] + (
                [ev.magnitude] if ev.magnitude is not None else [])
            ref = max(known) if known else None
        ms = event_ms_bb(r.origin_time, r.latitude, r.longitude, r.depth_km, motions.series(),
                         r.stations, r.p_time_fn, self.cfg, epicentre_uncertainty_km=unc,
                         others=other_events(motions.others), reference_magnitude=ref)
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
        unc = event.ellipse_90_major_km if math.isfinite(event.ellipse_90_major_km) else 0.0
        return any(
            float(kilometers2degrees(max(float(distance_km(
                event.latitude, event.longitude, info.latitude, info.longitude)) - unc, 0.0)))
            >= MS_BB_MIN_DEG
            for info in stations.values()
        )

    def relocate(self, event: Event, stations: Mapping[str, StationInfo]) -> None:
        return None  # the per-second series are not stored: the measured Ms_BB stays

    def preferred(self, current: Magnitude | None, mine: Magnitude) -> bool:
        return preferred_magnitude(current, mine, self.cfg) is mine
