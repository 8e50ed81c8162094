"""Moment magnitudes from the P wave: Mwp (Tsuboi et al. 1995) and Mwpd (Lomax &
Michelini 2009), for large events from a few tenths of a degree on and in the first
minutes, before surface waves (Ms_BB, :mod:`seismo.event.surface`) arrive.

**Mwp** (Tsuboi, Abe, Takano & Yamanaka 1995, BSSA 85(2) 606-613; for deep and
teleseismic events Tsuboi, Whitmore & Sokolowski 1999, BSSA 89(5) 1345-1351) [3P]. The
far-field P displacement of a point source integrates to the moment times the radiation
pattern and the free-surface factor, divided by ``4 pi rho alpha^3 r`` (Aki & Richards
2002, eq. 4.32)::

    M0 = max |int_tP^t u_z dt| * 4 pi rho alpha^3 r / (R_P F),    Mw = (log10 M0 - 9.1) / 1.5

``u_z`` the vertical ground displacement (m), the integral taken from the P onset to just
before S (:mod:`seismo.event.pwindow`), its peak searched up to 1.25 T0 + 3 s (the
rupture is over; Tsuboi et al. read the first peak), ``r`` the hypocentral distance (m;
a whole-space spreading: at 3-10 degrees a regional Pn decays otherwise, see
docs/magnitude_intensity.md), ``R_P = 0.52`` the P radiation pattern averaged over the
focal sphere (rms, Boore & Boatwright 1984, BSSA 74) and ``F = 2`` the free surface;
``rho``, ``alpha`` at the source: a crust of 2800 kg/m³ and 6.3 km/s above
``MagnitudeConfig.mwp_moho_km``, Tsuboi's mantle values 3400 kg/m³ and 7.9 km/s below it.
Mw from M0 in N m: IASPEI (2013) standard ``(log10 M0 - 9.1) / 1.5`` (Hanks & Kanamori
1979 in SI units) [V: isc.ac.uk/standards/magnitudes].

**T0 and Mwpd** (Lomax & Michelini 2009, GJI 176, 200-214; 2011, GJI 185 283-291) [3P].
The apparent source duration ``T0`` is read from the envelope of the 1-5 Hz vertical
velocity after P (:func:`seismo.event.pwindow.duration_s`: where it last stands at
``mwp_t0_level`` of its peak; the network's median over stations). Mwpd integrates the
displacement over ``T0`` instead of taking the peak of the integral: the positive and
negative lobes are summed apart and the larger counts (eq. 3 of the 2009 paper, as in
Early-est and its port to SeisComP), and for ``T0`` > 90 s the moment-scaling term of
great events is added, ``0.45 (Mwpd - 7.2) * clip((T0 - 90) / 20, 0, 1)`` (eq. 5a). At
regional distances the window ends before S, so a duration that outlasts it makes both
Mwp and Mwpd lower bounds (``Magnitude.lower_bound``): a slow or great rupture is never
read as a small one. The duration is kept (``Magnitude.duration_s``).

A station counts when its window has a long-period vertical (a broadband, or an
accelerometer where the broadband clipped, :mod:`seismo.station.amplitudes`), did not
clip, and the P displacement of its first ``mwp_pre_event_s`` seconds stands
``mwp_min_snr`` times above that of the pre-event seconds; the event needs
``mwp_min_stations`` such stations and at least
``mwp_min_station_fraction`` of those with a long-period P window (a local event inside a
great one's wave train otherwise reads the great one's motion at the few stations where
it stands out, and gets its moment). Station values are combined as ML's (median,
Hampel outliers). Values below ``mwp_min_magnitude`` are not reported: below M ~5 the
long-period P displacement is below the noise of a city's broadbands.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from obspy.geodetics import kilometers2degrees

from seismo.event.magnitude import network_magnitude
from seismo.event.magtype import MagnitudeReading, Motions
from seismo.event.pwindow import PWindow, duration_s, p_windows
from seismo.event.settings import MagnitudeConfig
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import Event, Magnitude

log = logging.getLogger(__name__)

#: P radiation pattern, rms over the focal sphere (Boore & Boatwright 1984) [3P].
RADIATION_P = 0.52
#: Free-surface amplification of the vertical P displacement [3P: Aki & Richards 2002].
FREE_SURFACE = 2.0
#: Source medium above / below the Moho: (density kg/m³, P velocity m/s). Crust: a
#: mid-crustal 6.3 km/s (iasp91 has 5.8 and 6.5 km/s in its two crustal layers, Kennett &
#: Engdahl 1991 [V]) and 2800 kg/m³ (Brocher 2005's Nafe-Drake fit at 6.3 km/s gives 2.78
#: g/cm³ [3P]); mantle: Tsuboi et al. (1995)'s 3400 kg/m³ and 7.9 km/s [3P].
CRUST = (2800.0, 6300.0)
MANTLE = (3400.0, 7900.0)
#: The moment-scaling ramp of great events (Lomax & Michelini 2009 eq. 5a, as in
#: Early-est and SeisComP's Mwpd [3P]): T0 from 90 to 110 s, slope 0.45 above Mwpd 7.2.
T0_RAMP_S = (90.0, 110.0)
MWPD_SCALING = (7.2, 0.45)


def moment_mw(m0_nm: float) -> float:
    """Mw from the moment in N m: (log10 M0 - 9.1) / 1.5 (IASPEI 2013)."""
    return (math.log10(m0_nm) - 9.1) / 1.5


def moment_from_integral(integral_m_s: float, hypo_km: float, depth_km: float,
                         moho_km: float) -> float:
    """M0 (N m) from the P displacement integral (m s) at ``hypo_km`` (module docstring)."""
    rho, alpha = CRUST if depth_km < moho_km else MANTLE
    r = max(hypo_km, 1.0) * 1000.0
    return abs(integral_m_s) * 4.0 * math.pi * rho * alpha**3 * r / (RADIATION_P * FREE_SURFACE)


def integral_for_mw(mw: float, hypo_km: float, depth_km: float, moho_km: float) -> float:
    """Inverse of :func:`moment_from_integral` and :func:`moment_mw`: the displacement
    integral (m s) an Mw gives at ``hypo_km``."""
    m0 = 10.0 ** (1.5 * mw + 9.1)
    return m0 / moment_from_integral(1.0, hypo_km, depth_km, moho_km)


@dataclass(frozen=True)
class StationMoment:
    """One station's Mwp and Mwpd, its duration T0 (s), and whether T0 was resolved
    inside the window (False: a lower bound)."""

    station_id: str
    mwp: float
    mwpd: float
    t0_s: int
    resolved: bool
    delta_deg: float


def _usable(w: PWindow, cfg: MagnitudeConfig) -> bool:
    """Not clipped, and the P displacement of the first seconds (as many as the pre-event
    sample, like for like) stands ``mwp_min_snr`` times above the pre-event displacement."""
    if w.clipped:
        log.info("Mwp: %s clipped in its P window, left out", w.station_id)
        return False
    first = w.disp_nm[: max(cfg.mwp_pre_event_s, 1)]
    peak = float(np.nanmax(np.abs(first))) if first.size else math.nan
    if not (math.isfinite(peak) and peak > 0):
        return False
    return not (math.isfinite(w.noise_nm) and peak < cfg.mwp_min_snr * w.noise_nm)


def station_moments(motions: Motions, cfg: MagnitudeConfig) -> tuple[list[StationMoment], bool]:
    """Per station, Mwp, Mwpd and T0 (module docstring); whether stations still wait."""
    r = motions.records
    windows, waiting = p_windows(
        motions, min_deg=cfg.mwp_min_deg, max_deg=cfg.mwp_max_deg,
        pre_s=cfg.mwp_pre_event_s, max_s=cfg.mwp_max_window_s, min_s=3,
    )
    usable = [w for w in windows if _usable(w, cfg)]
    need = max(cfg.mwp_min_stations, cfg.mwp_min_station_fraction * len(windows))
    if len(usable) < need:
        if usable:
            log.info("Mwp: %d of %d stations above the noise, %g needed: none", len(usable),
                     len(windows), need)
        return [], waiting
    durations = [duration_s(w.hf_nms, cfg.mwp_t0_level) for w in usable]
    t0_net = int(np.median([d for d, _ in durations]))
    out = []
    for w, (t0, resolved) in zip(usable, durations, strict=True):
        # the peak of the integral once the rupture is over (Tsuboi read its first peak):
        # searched up to 1.25 T0 + 3 s, not over the whole window, where long-period noise
        # (an accelerometer's double integral) drifts
        reach = min(w.length_s, math.ceil(1.25 * max(t0_net, 1)) + 3)
        integ = np.cumsum(w.disp_nm[:reach]) * 1e-9  # m s, 1 s steps
        peak = float(np.max(np.abs(integ)))
        n = min(max(t0_net, 1), w.length_s)
        u = w.disp_nm[:n] * 1e-9
        lobes = max(float(np.sum(u[u > 0])), float(-np.sum(u[u < 0])))
        mwp = moment_mw(moment_from_integral(peak, w.hypo_km, r.depth_km, cfg.mwp_moho_km))
        raw = moment_mw(moment_from_integral(lobes, w.hypo_km, r.depth_km, cfg.mwp_moho_km))
        ramp = min(max((t0_net - T0_RAMP_S[0]) / (T0_RAMP_S[1] - T0_RAMP_S[0]), 0.0), 1.0)
        mwpd = raw + ramp * (raw - MWPD_SCALING[0]) * MWPD_SCALING[1]
        out.append(StationMoment(w.station_id, mwp, mwpd, t0, resolved, w.delta_deg))
    return out, waiting


class _PMoment:
    """Common part of Mwp and Mwpd as magnitude types (:mod:`seismo.event.magtype`)."""

    name = ""

    def __init__(self, cfg: MagnitudeConfig) -> None:
        self.cfg = cfg

    def _value(self, s: StationMoment) -> float:
        raise NotImplementedError

    def measure(self, motions: Motions) -> MagnitudeReading:
        if not self.cfg.mwp:
            return MagnitudeReading(None)
        rows, waiting = station_moments(motions, self.cfg)
        if not rows:
            return MagnitudeReading(None, None, waiting)
        mag, unc, used = network_magnitude([self._value(s) for s in rows], self.cfg.outlier_mad)
        kept = [s for s, u in zip(rows, used, strict=True) if u]
        t0 = int(np.median([s.t0_s for s in kept]))
        bound = sum(not s.resolved for s in kept) > len(kept) / 2
        if mag < self.cfg.mwp_min_magnitude:
            log.info("%s %.2f from %d stations below %g: not reported", self.name, mag,
                     len(kept), self.cfg.mwp_min_magnitude)
            return MagnitudeReading(None, None, waiting)
        m = Magnitude(self.name, round(mag, 2), None if unc is None else round(unc, 2),
                      len(kept), lower_bound=bound, duration_s=float(t0))
        return MagnitudeReading(m, None, waiting)

    def awaits(self, event: Event, stations: Mapping[str, StationInfo]) -> bool:
        """No value yet, possibly large (no magnitude, a lower bound, at least
        ``mwp_min_magnitude`` - 1, or outside the network: a distant event's ML from a
        small network is unreliable), and a station within range: its P window may end
        in a later window."""
        cfg = self.cfg
        if not cfg.mwp or any(m.type == self.name for m in event.magnitudes):
            return False
        mag = event.magnitude
        big = (mag is None or event.magnitude_lower_bound or event.outside_network
               or mag >= cfg.mwp_min_magnitude - 1.0)
        return big and any(
            cfg.mwp_min_deg <= float(kilometers2degrees(float(distance_km(
                event.latitude, event.longitude, i.latitude, i.longitude)))) <= cfg.mwp_max_deg
            for i in stations.values()
        )

    def relocate(self, event: Event, stations: Mapping[str, StationInfo]) -> None:
        return None  # the per-second series are not stored: the measured value stays


class PMomentMagnitude(_PMoment):
    """Mwp (Tsuboi et al. 1995): preferred when nothing better is known, over a P-wave
    or lower-bound magnitude, or from ``prefer_mwp_from`` (where ML saturates)."""

    name = "Mwp"

    def _value(self, s: StationMoment) -> float:
        return s.mwp

    def preferred(self, current: Magnitude | None, mine: Magnitude) -> bool:
        if current is None or current.lower_bound or current.type == "Mpd":
            return True
        return mine.value >= self.cfg.prefer_mwp_from


class DurationMomentMagnitude(_PMoment):
    """Mwpd (Lomax & Michelini 2009): preferred when nothing else is known, or from
    ``mwpd_prefer_from`` on (great and slow ruptures, where the peak of the integral
    that Mwp reads comes before the rupture ends; Early-est's practice [3P])."""

    name = "Mwpd"

    def _value(self, s: StationMoment) -> float:
        return s.mwpd

    def preferred(self, current: Magnitude | None, mine: Magnitude) -> bool:
        if current is None:
            return True
        return mine.value >= self.cfg.mwpd_prefer_from and mine.value > current.value


def moment_types(cfg: MagnitudeConfig) -> Sequence[_PMoment]:
    """Mwp and Mwpd, in that order."""
    return [PMomentMagnitude(cfg), DurationMomentMagnitude(cfg)]
