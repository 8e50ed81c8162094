"""The P-wave magnitude Mpd: a magnitude from the first seconds after P, so that the
first message of an event has one before S reaches the stations (the approach of the
earthquake early warning systems ElarmS and ShakeAlert).

Formula (Wu & Zhao 2006, "Magnitude estimation using the first three seconds P-wave
amplitude in earthquake early warning", GRL 33, L16312) [V: the abstract]::

    log10(Pd) = -3.463 + 0.729 M - 1.374 log10(R)   (± 0.305)

* ``Pd``: the peak vertical displacement (cm) in the first 3 s after the P onset, after
  a 0.075 Hz two-pole causal Butterworth high-pass (Wu & Kanamori 2005, BSSA 95(3))
  (``AmplitudeSeries.pd_z_nm``, :mod:`seismo.station.amplitudes`);
* ``R``: hypocentral distance (km). Derived from southern California events; it agrees
  with catalogue magnitudes within 0.18 below M 6.5 and saturates above (Pd of the first
  seconds stops growing once the rupture outlasts them).

A station counts when it has at least ``pd_min_window_s`` seconds after P within
``pd_max_distance_km`` (the window is not cut at S: Wu & Zhao read the first 3 s
whatever arrived in them, and near stations had S inside); station values are
combined as ML's (median, Hampel outliers). Mpd is preferred only while no complete ML
is known: ML supersedes it when S is in the data (:meth:`PWaveMagnitude.preferred`
and the local magnitude's own rule). The per-second series give the peak of the seconds
that hold the window, so the window may reach up to one second past its nominal end.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import numpy as np

from seismo.event.magnitude import network_magnitude
from seismo.event.magtype import MagnitudeReading, Motions
from seismo.event.pwindow import p_windows
from seismo.event.settings import MagnitudeConfig
from seismo.inventory import StationInfo
from seismo.model import Event, Magnitude

log = logging.getLogger(__name__)

#: Wu & Zhao (2006): log10(Pd[cm]) = A + B M + C log10(R[km]) (southern California).
WU_ZHAO_2006 = (-3.463, 0.729, -1.374)
#: Its residual standard deviation in log10(Pd) (same source).
WU_ZHAO_2006_SIGMA = 0.305


def mpd(pd_cm: float, hypo_km: float) -> float:
    """M from Pd (cm) at hypocentral distance ``hypo_km`` (Wu & Zhao 2006)."""
    a, b, c = WU_ZHAO_2006
    return (math.log10(pd_cm) - a - c * math.log10(max(hypo_km, 1.0))) / b


def pd_for_magnitude(m: float, hypo_km: float) -> float:
    """Inverse of :func:`mpd`: Pd (cm) at ``hypo_km`` for magnitude ``m``."""
    a, b, c = WU_ZHAO_2006
    return float(10.0 ** (a + b * m + c * math.log10(max(hypo_km, 1.0))))


class PWaveMagnitude:
    """Mpd as a magnitude type of the measurement stage (:mod:`seismo.event.magtype`)."""

    name = "Mpd"

    def __init__(self, cfg: MagnitudeConfig) -> None:
        self.cfg = cfg

    def measure(self, motions: Motions) -> MagnitudeReading:
        cfg = self.cfg
        if not cfg.mpd:
            return MagnitudeReading(None)
        max_deg = cfg.pd_max_distance_km / 111.19
        windows, _ = p_windows(
            motions, min_deg=0.0, max_deg=max_deg, pre_s=0,
            max_s=math.ceil(cfg.pd_window_s), min_s=math.ceil(cfg.pd_min_window_s),
            need_long_period=False, partial=True, stop_at_s=False,
        )
        values = []
        for w in windows:
            if w.clipped or w.hypo_km > cfg.pd_max_distance_km:
                continue
            seg = w.pd_nm[: math.ceil(cfg.pd_window_s)]
            seg = seg[np.isfinite(seg)]
            if seg.size < math.ceil(cfg.pd_min_window_s):
                continue
            pd_cm = float(seg.max()) * 1e-7  # nm -> cm
            if pd_cm > 0:
                values.append(mpd(pd_cm, w.hypo_km))
        if not values:
            return MagnitudeReading(None)
        mag, unc, used = network_magnitude(values, cfg.outlier_mad)
        return MagnitudeReading(Magnitude(
            self.name, round(mag, 2), None if unc is None else round(unc, 2),
            int(np.sum(used)),
        ))

    def awaits(self, event: Event, stations: Mapping[str, StationInfo]) -> bool:
        return False  # the first seconds of P are in the event's own window

    def relocate(self, event: Event, stations: Mapping[str, StationInfo]) -> None:
        return None  # the per-second series are not stored: the measured value stays

    def preferred(self, current: Magnitude | None, mine: Magnitude) -> bool:
        """Only while no complete ML is known: no magnitude, or an ML read on P
        amplitudes alone that Mpd exceeds (a lower bound below it says less)."""
        if current is None:
            return True
        return current.lower_bound and mine.value >= current.value
