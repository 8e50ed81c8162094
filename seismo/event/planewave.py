"""Distant events, 1: the P plane wave that a distant event sends across the network.

A network sees an earthquake a few apertures away as a plane wave: its first arrivals
cross the stations with the apparent velocity of the phase that left the source (Pn at
7.8-8.2 km/s beyond ~150-200 km, a teleseismic P faster still), from its back-azimuth.
The grid stack of :mod:`seismo.event.associate` finds such an event too, but it needs
the S waves in the same pick pool, it can take S-labelled coda onsets as crustal Sg
(pulling the epicentre tens of km towards the network) and it lets the S and coda
onsets of a large distant event make "local" events inside the network. A distant
event therefore has its own evidence (docs/location.md, "Distant events"): this plane
wave, its location from S-P and back-azimuth (:mod:`seismo.event.distant`), its depth
phases (:mod:`seismo.event.depthphase`), the far-event evidence and its wave train
(:mod:`seismo.event.trains`).

**Plane-wave detector** (:func:`detect_plane_waves`): a slowness beam over the
P-labelled picks (delay-and-count, the array-processing idea of Rost & Thomas 2002,
Rev. Geophys. 40, applied to onset times rather than waveforms): for every slowness
vector up to 1 / ``min_velocity_kms`` the picks' times reduced by s.x are counted in
bins of the association tolerance; the best beam's picks are refined by weighted
least squares (t = a + s.x, :func:`fit_plane`) and outliers are dropped. Back-azimuth
and slowness come with their standard errors.

Pure functions of picks and stations; units km, s, degrees.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.event.settings import AssociateConfig
from seismo.geo import distance_km, local_xy
from seismo.inventory import StationInfo
from seismo.model import Pick

log = logging.getLogger(__name__)


#: Share of the stations with a P onset in a plane wave's seconds that the wave must hold
#: (design choice: a distant event's first arrivals are picked everywhere; a few stations
#: may miss it or pick something else).
_PLANE_SHARE = 0.8
#: Depth (km) at which S-P distances are read before the depth is known (the locator's
#: usual fixed depth for distant events; S-P at 300-1000 km changes by < 1 s over 0-30 km).

@dataclass(frozen=True)
class PlaneWave:
    """P onsets that cross the network as a plane wave.

    ``time`` is the arrival at the centroid of the stations (``centre``); slowness in
    s/km with its standard error; back-azimuth (towards the source) in degrees.
    """

    picks: tuple[Pick, ...]
    backazimuth_deg: float
    backazimuth_sigma_deg: float
    slowness_s_km: float
    slowness_sigma_s_km: float
    time: UTCDateTime
    rms_s: float
    centre: tuple[float, float]

    @property
    def apparent_velocity_kms(self) -> float:
        return 1.0 / self.slowness_s_km if self.slowness_s_km > 0 else math.inf

    @property
    def stations(self) -> set[str]:
        return {p.station_id for p in self.picks}


@dataclass(frozen=True)
class PlaneFit:
    """A weighted least-squares plane wave t = a + sx x + sy y (s, km)."""

    a: float
    sx: float
    sy: float
    cov: NDArray  # 3x3, of (a, sx, sy), scaled by max(1, chi2/(n-3))
    residuals: NDArray

    @property
    def slowness(self) -> float:
        return float(np.hypot(self.sx, self.sy))

    @property
    def backazimuth_deg(self) -> float:
        """Direction to the source: the wave travels along +s."""
        return float(np.degrees(np.arctan2(-self.sx, -self.sy)) % 360.0)

    def sigmas(self) -> tuple[float, float]:
        """Standard errors of the slowness (s/km) and of the back-azimuth (deg)."""
        s = self.slowness
        c = self.cov[1:, 1:]
        if s <= 0 or not np.all(np.isfinite(c)):
            return math.inf, 180.0
        u = np.array([self.sx, self.sy]) / s
        v = np.array([-u[1], u[0]])
        sig_s = float(np.sqrt(max(u @ c @ u, 0.0)))
        sig_a = float(np.degrees(np.sqrt(max(v @ c @ v, 0.0)) / s))
        return sig_s, min(sig_a, 180.0)


def fit_plane(t: NDArray, x: NDArray, y: NDArray, sigma: NDArray) -> PlaneFit | None:
    """The weighted least-squares plane wave through times ``t`` (s) at (east, north) km.

    None when the stations are collinear (rank < 3). The covariance is scaled by the
    a-posteriori variance factor when the residuals exceed the errors.
    """
    n = len(t)
    if n < 3:
        return None
    a = np.column_stack([np.ones(n), x, y])
    w = 1.0 / np.asarray(sigma, float) ** 2
    sw = np.sqrt(w)
    coef, _, rank, _ = np.linalg.lstsq(a * sw[:, None], t * sw, rcond=None)
    if rank < 3:
        return None
    res = t - a @ coef
    chi2 = float(np.sum(w * res**2))
    scale = max(1.0, chi2 / (n - 3)) if n > 3 else 1.0
    try:
        cov = np.linalg.inv((a * w[:, None]).T @ a) * scale
    except np.linalg.LinAlgError:
        return None
    return PlaneFit(float(coef[0]), float(coef[1]), float(coef[2]), cov, res)


def centroid(stations: Mapping[str, StationInfo]) -> tuple[float, float]:
    lat = [s.latitude for s in stations.values()]
    lon = [s.longitude for s in stations.values()]
    return float(np.mean(lat)), float(np.mean(lon))


def aperture_km(stations: Mapping[str, StationInfo]) -> float:
    """Largest inter-station distance (km)."""
    lat = np.array([s.latitude for s in stations.values()])
    lon = np.array([s.longitude for s in stations.values()])
    if len(lat) < 2:
        return 0.0
    return float(distance_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]).max())


def _sigma(p: Pick, floor: float) -> float:
    return max(float(p.uncertainty_s), floor)


def detect_plane_waves(
    picks: Sequence[Pick],
    stations: Mapping[str, StationInfo],
    cfg: AssociateConfig,
    pick_sigma_s: float = 0.1,
    max_waves: int = 4,
) -> list[PlaneWave]:
    """P plane waves in ``picks`` (P-labelled picks of ``stations``), strongest first.

    A wave needs P at ``max(far_min_p_stations, min_station_fraction x stations)``
    stations, an apparent velocity of at least ``regional.min_velocity_kms`` (within
    3 sigma), residuals within the association's residual floor and a slowness standard
    error below a third of the slowness of Pn (so that the apparent velocity means
    something; a network too small for that finds no plane wave).
    """
    rc = cfg.regional
    if not rc.enabled or len(stations) < 3:
        return []
    lat0, lon0 = centroid(stations)
    ap = aperture_km(stations)
    if ap <= 0.0:
        return []
    pool = [p for p in picks if p.phase == "P" and p.station_id in stations]
    need = max(cfg.far_min_p_stations, math.ceil(rc.min_station_fraction * len(stations)))
    if len({p.station_id for p in pool}) < need:
        return []
    sx_sta = {k: local_xy(lat0, lon0, s.latitude, s.longitude) for k, s in stations.items()}
    x = np.array([float(sx_sta[p.station_id][0]) for p in pool])
    y = np.array([float(sx_sta[p.station_id][1]) for p in pool])
    t_ref = min(p.time for p in pool)
    t = np.array([float(p.time - t_ref) for p in pool])
    tol = cfg.residual_floor_s
    s_max = 1.0 / rc.min_velocity_kms
    ds = max(tol / ap, 1e-4)
    rings = np.arange(0.0, s_max + ds, ds)
    bx, by = [0.0], [0.0]
    for s in rings[1:]:
        n_az = max(8, math.ceil(2 * math.pi * s / ds))
        az = np.arange(n_az) * 2 * math.pi / n_az
        bx.extend(s * np.sin(az))
        by.extend(s * np.cos(az))
    beam_x, beam_y = np.array(bx), np.array(by)
    waves: list[PlaneWave] = []
    alive = np.ones(len(pool), dtype=bool)
    for _ in range(max_waves):
        idx = np.nonzero(alive)[0]
        if len({pool[i].station_id for i in idx}) < need:
            break
        tau = (t[idx][None, :] - beam_x[:, None] * x[idx][None, :]
               - beam_y[:, None] * y[idx][None, :])
        b = np.floor((tau - tau.min()) / tol).astype(np.int64)
        nb = int(b.max()) + 2
        flat = (np.arange(len(beam_x))[:, None] * nb + b).ravel()
        counts = np.bincount(flat, minlength=len(beam_x) * nb).reshape(len(beam_x), nb)
        pair = counts[:, :-1] + counts[:, 1:]
        best = int(np.argmax(pair))
        k, j = divmod(best, nb - 1)
        if pair[k, j] < need:
            break
        members = idx[(b[k] == j) | (b[k] == j + 1)]
        wave = _refine_wave(members, pool, t, x, y, tol, pick_sigma_s, need, t_ref, (lat0, lon0))
        if wave is None:
            alive[members] = False
            continue
        used = {p.id for p in wave.picks}
        alive[[i for i in idx.tolist() if pool[i].id in used]] = False
        fast = wave.slowness_s_km - 3 * wave.slowness_sigma_s_km <= s_max
        resolved = wave.slowness_sigma_s_km < s_max / 3.0
        # a plane wave accounts for the P onsets around it: one side of a local event's
        # onsets looks planar, and the other side has its P onsets in the same seconds
        t_lo = min(p.time for p in wave.picks) - tol
        t_hi = max(p.time for p in wave.picks) + tol
        others = {pool[i].station_id for i in idx.tolist()
                  if t_lo <= pool[i].time <= t_hi and pool[i].station_id not in wave.stations}
        whole = len(wave.stations) >= _PLANE_SHARE * (len(wave.stations) + len(others))
        if fast and resolved and whole:
            waves.append(wave)
        else:
            log.debug("plane wave at %s rejected: slowness %.4f +- %.4f s/km", wave.time,
                      wave.slowness_s_km, wave.slowness_sigma_s_km)
    return waves


def _refine_wave(
    members: NDArray, pool: Sequence[Pick], t: NDArray, x: NDArray, y: NDArray, tol: float,
    floor: float, need: int, t_ref: UTCDateTime, centre: tuple[float, float],
) -> PlaneWave | None:
    """Least-squares plane wave of a beam's picks (one per station), outliers dropped."""
    # one pick per station: the earliest (a plane wave's first onset)
    first: dict[str, int] = {}
    for i in members.tolist():
        sid = pool[i].station_id
        if sid not in first or t[i] < t[first[sid]]:
            first[sid] = i
    sel = sorted(first.values())
    while len(sel) >= need:
        sig = np.array([_sigma(pool[i], floor) for i in sel])
        fit = fit_plane(t[sel], x[sel], y[sel], sig)
        if fit is None:
            return None
        r = np.abs(fit.residuals)
        robust = max(3.0 * 1.4826 * float(np.median(r)), tol)
        k = int(np.argmax(r))
        if r[k] > robust:
            sel.pop(k)
            continue
        sig_s, sig_a = fit.sigmas()
        rms = float(np.sqrt(np.mean(fit.residuals**2)))
        return PlaneWave(
            picks=tuple(pool[i] for i in sel),
            backazimuth_deg=round(fit.backazimuth_deg, 2),
            backazimuth_sigma_deg=round(sig_a, 2),
            slowness_s_km=round(fit.slowness, 5),
            slowness_sigma_s_km=round(sig_s, 5),
            time=t_ref + fit.a,
            rms_s=round(rms, 3),
            centre=centre,
        )
    return None


