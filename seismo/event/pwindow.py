"""The P window of a station for a located event: what the P-wave magnitudes read.

Mwp and Mwpd (:mod:`seismo.event.moment`) read a station's broadband vertical
displacement from the P onset to just before S, and its high-frequency envelope over
the same seconds; the P-wave magnitude Mpd (:mod:`seismo.event.pwave`) reads the
peak displacement of the first seconds after P. All three come from the per-second
series of :mod:`seismo.station.amplitudes` (``dz_nm``: the mean broadband vertical
displacement of each second; ``hf_z_nms``: the 1-5 Hz peak; ``pd_z_nm``: the 0.075 Hz
high-passed displacement peak), which cross task boundaries as small JSON.

**Stitching windows.** The window path measures a station's series once per window,
and each window starts its filters anew at its data start; a distant event's P
window may span two windows. For every second, the series whose data started earliest
before it is read (its filters have settled longest): :func:`stitch`.

**Displacement.** The mean displacement of each second, summed, is the time integral of
the displacement exactly (a sum of end points would not be: a 1-s sampling of a Brune
pulse of 3 s period reads its integral 30 % low). Baseline: the pre-event mean of the
displacement is removed. The pre-event mean of the velocity, the first step of Boore's
2001 baseline correction of strong-motion records (BSSA 91(5)), is already zero: the
station's causal 0.005 Hz two-pole high-pass removes any velocity offset of a broadband or
an integrated accelerometer (Boore's later steps need the record after the shaking and
cannot run in real time; a straight line fitted to the pre-event displacement instead
extrapolates its noise over the window). That high-pass would
cost an Mwp 0.05 units at 10 s of source duration and 0.13 at 20 s: it is undone over the
window, ``d + sqrt(2) w_c int d + w_c² int int d`` (the inverse of
``s² / (s² + sqrt(2) w_c s + w_c²)`` started at the P onset, where the pre-event motion
is ~0), which restores the integral within 2 % for durations of 1-60 s (tests).

Pure: no clock, no I/O. Times UTC, distances km, displacement nm, velocity nm/s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime
from obspy.geodetics import kilometers2degrees

from seismo.errors import SeismoError
from seismo.event.magtype import Motions
from seismo.geo import distance_km, hypocentral_km
from seismo.model import AmplitudeSeries
from seismo.station.series import LONG_PERIOD_HIGHPASS_HZ

#: The S window begins this long before the predicted S (s): the model error of a 1-D
#: model at a few hundred kilometres is ~1-3 % of the travel time (docs/location.md).
S_MARGIN_FRACTION = 0.03
S_MARGIN_MIN_S = 1.0


def stitch(
    series: Sequence[AmplitudeSeries], field: str, t0: UTCDateTime, n: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """``n`` one-second values of ``field`` from ``t0`` on, over several series (see the
    module docstring: per second, the series that started earliest), and per second
    whether the series used had clipped there. NaN where no series has a value."""
    out = np.full(n, np.nan)
    clip = np.zeros(n, dtype=bool)
    best = np.full(n, np.inf)  # start time of the series used per second
    for s in series:
        vals = getattr(s, field, ())
        if not vals or s.step_s != 1.0:
            continue
        arr = np.array([np.nan if v is None else v for v in vals], dtype=float)
        off = round(float(t0 - s.start))
        lo, hi = max(0, -off), min(n, arr.size - off)
        if hi <= lo:
            continue
        seg = arr[lo + off : hi + off]
        start = float(s.start.timestamp)
        take = np.isfinite(seg) & (start < best[lo:hi])
        idx = np.flatnonzero(take) + lo
        out[idx] = seg[take]
        best[idx] = start
        clipped = set(s.clipped)
        clip[idx] = [(i + off) in clipped for i in idx]
    return out, clip


def series_end(series: Sequence[AmplitudeSeries]) -> UTCDateTime | None:
    """End of the latest of ``series`` (None when there is none)."""
    ends = [s.start + s.step_s * len(s.pga_ms2 or s.dz_nm or s.wa_n_nm) for s in series]
    return max(ends) if ends else None


@dataclass(frozen=True)
class PWindow:
    """One station's P window: from the P onset to ``length_s`` later (before S).

    ``disp_nm``: the mean vertical displacement of each second from the second of P on
    (baseline removed, high-pass undone; NaN where the station has no long-period
    sensor); ``noise_nm``: the largest pre-event displacement about its baseline;
    ``hf_nms``: the 1-5 Hz envelope per second from P;
    ``pd_nm``: the Pd peaks per second from P; ``clipped``: the sensor used clipped.
    """

    station_id: str
    epi_km: float
    hypo_km: float
    delta_deg: float
    p_time: UTCDateTime
    length_s: int
    disp_nm: NDArray[np.float64]
    noise_nm: float
    hf_nms: NDArray[np.float64]
    pd_nm: NDArray[np.float64]
    clipped: bool


def p_time_at(motions: Motions, station_id: str, epi_km: float) -> UTCDateTime:
    """The P onset at a station: the event's own P pick there, else the predicted P."""
    ev = motions.event
    if ev is not None:
        picks = [a.time for a in ev.arrivals
                 if f"{a.network}.{a.station}" == station_id and a.phase.startswith("P")]
        if picks:
            return min(picks)
    r = motions.records
    return r.origin_time + float(r.p_time_fn(epi_km, r.depth_km))


def p_windows(
    motions: Motions,
    *,
    min_deg: float,
    max_deg: float,
    pre_s: int,
    max_s: int,
    min_s: int = 1,
    need_long_period: bool = True,
    partial: bool = False,
    stop_at_s: bool = True,
) -> tuple[list[PWindow], bool]:
    """Every station's P window between ``min_deg`` and ``max_deg`` (epicentral), and
    whether a station in range still waits for data (its window is not all in yet).

    The window runs from the second of the P onset (:func:`p_time_at`) to the predicted
    S less a margin (:data:`S_MARGIN_FRACTION`, at least :data:`S_MARGIN_MIN_S`), or for a
    deep source (``records.pp_delay_fn``) to :data:`S_MARGIN_MIN_S` before its pP, at most
    ``max_s`` seconds; ``pre_s`` seconds before it are the pre-event baseline. A station
    whose window is shorter than ``min_s``, or (``need_long_period``) whose series has no
    long-period vertical or a gap in the window, is left out. With ``partial``, a window
    the data end within is cut there (at least ``min_s`` seconds) instead of waited for;
    without ``stop_at_s`` it runs ``max_s`` seconds whatever arrives in them.
    """
    r = motions.records
    out: list[PWindow] = []
    waiting = False
    for sid, ss in sorted(motions.series().items()):
        info = r.stations.get(sid)
        if info is None or not ss:
            continue
        epi = float(distance_km(r.latitude, r.longitude, info.latitude, info.longitude))
        delta = float(kilometers2degrees(epi))
        if not min_deg <= delta <= max_deg:
            continue
        try:
            tp = p_time_at(motions, sid, epi)
            ts = r.origin_time + float(r.s_time_fn(epi, r.depth_km))
        except (SeismoError, ValueError):
            continue
        margin = max(S_MARGIN_MIN_S, S_MARGIN_FRACTION * float(ts - r.origin_time))
        end_s = ts - margin
        if r.pp_delay_fn is not None:
            # a deep source: its pP (and the later sP) would be read as more moment; the
            # window ends before the pP (Tsuboi, Whitmore & Sokolowski 1999, BSSA 89,
            # 1345-1351: Mwp of deep events from the P before pP) [3P]
            end_s = min(end_s, tp + float(r.pp_delay_fn(epi, r.depth_km)) - S_MARGIN_MIN_S)
        length = min(math.floor(float(end_s - tp)), max_s) if stop_at_s else max_s
        if length < min_s:
            continue
        k_p = UTCDateTime(math.floor(float(tp)))
        t0 = k_p - pre_s
        n = pre_s + length
        end = series_end(ss)
        if end is None or end < k_p + length:
            waiting = True
            have = -1 if end is None else math.floor(float(end - k_p))
            if not partial or have < min_s:
                continue
            length = have
            n = pre_s + length
        dz, clip_v = stitch(ss, "dz_nm", t0, n)
        hf, clip_h = stitch(ss, "hf_z_nms", k_p, length)
        pd, _ = stitch(ss, "pd_z_nm", k_p, length)
        have_lp = bool(np.all(np.isfinite(dz)))
        if need_long_period and not have_lp:
            continue
        disp = np.full(length, np.nan)
        noise = math.nan
        if have_lp and pre_s > 1:
            disp, noise = baseline_displacement(dz, pre_s)
        out.append(PWindow(
            sid, epi, float(hypocentral_km(epi, max(r.depth_km, 0.0))), delta, tp, length,
            disp, noise, hf, pd, bool(np.any(clip_v) or np.any(clip_h)),
        ))
    return out, waiting


def baseline_displacement(dz_nm: NDArray[np.float64], pre_s: int) -> tuple[NDArray, float]:
    """(P-window displacement, pre-event noise) from per-second mean displacements whose
    first ``pre_s`` seconds are pre-event (module docstring: baseline, high-pass undone)."""
    d = dz_nm - float(np.mean(dz_nm[:pre_s]))
    noise = float(np.max(np.abs(d[:pre_s])))
    p = d[pre_s:]
    w = 2.0 * math.pi * LONG_PERIOD_HIGHPASS_HZ
    w1 = np.cumsum(p)
    return p + math.sqrt(2.0) * w * w1 + w * w * np.cumsum(w1), noise


def duration_s(hf_nms: NDArray[np.float64], level: float, smooth_s: int = 3) -> tuple[int, bool]:
    """(T0, resolved): the seconds after P until the smoothed 1-5 Hz envelope last stands
    at ``level`` of its peak, and whether it fell below that before the window's last
    second (False: the duration is at least the window, a lower bound).

    The envelope is the per-second peak, smoothed by a ``smooth_s`` running mean (Lomax &
    Michelini 2009 square and smooth the 1-5 Hz velocity and read T0 where it falls below
    fixed fractions of its peak [3P]).
    """
    x = np.asarray(hf_nms, dtype=float)
    x = np.where(np.isfinite(x), x, 0.0)
    if x.size == 0 or not np.any(x > 0):
        return 0, False
    k = max(1, min(smooth_s, x.size))
    env = np.convolve(x, np.ones(k) / k, mode="same")
    above = np.flatnonzero(env >= level * float(env.max()))
    last = int(above[-1])
    return last + 1, last < x.size - 2


def stations_by_distance(windows: Sequence[PWindow]) -> Mapping[str, PWindow]:
    """The windows by station id, nearest first."""
    return {w.station_id: w for w in sorted(windows, key=lambda w: w.epi_km)}
