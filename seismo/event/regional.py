"""Distant events: found by their P plane wave, located from S-P, and their wave trains.

A network sees an earthquake a few apertures away as a plane wave: its first arrivals
cross the stations with the apparent velocity of the phase that left the source (Pn at
7.8-8.2 km/s beyond ~150-200 km, a teleseismic P faster still), from its back-azimuth.
The grid stack of :mod:`seismo.event.associate` finds such an event too, but it needs
the S waves in the same pick pool, it can take S-labelled coda onsets as crustal Sg
(pulling the epicentre tens of km towards the network) and it lets the S and coda
onsets of a large distant event make "local" events inside the network. This module
gives the distant event its own evidence (docs/location.md, "Distant events"):

1. **Plane-wave detector** (:func:`detect_plane_waves`): a slowness beam over the
   P-labelled picks (delay-and-count, the array-processing idea of Rost & Thomas 2002,
   Rev. Geophys. 40, applied to onset times rather than waveforms): for every slowness
   vector up to 1 / ``min_velocity_kms`` the picks' times reduced by s.x are counted in
   bins of the association tolerance; the best beam's picks are refined by weighted
   least squares (t = a + s.x) and outliers are dropped. Back-azimuth and slowness come
   with their standard errors.
2. **Distance from S-P** (:func:`sp_distance`): every S-labelled pick of a plane-wave
   station gives a distance for each S branch of the model (Sn or Sg, each with the
   first-arrival P): the branch and distance most stations agree on (within the S-P
   tolerance) start the location. An S onset is never made from a P-labelled pick
   (polarisation decides, issue 22).
3. **Location** (:func:`locate_distant`): the P and S picks located by
   :func:`seismo.event.locate.locate` with those explicit phases; the picks of other
   stations that fit are gathered, outliers dropped, as in the associator.
4. **Depth phases** (:func:`depth_phase`): a second plane wave of the same slowness
   that follows the P at every station by one delay is pP or sP. With the ray parameter
   p of the plane wave, pP - P = 2 int_0^z eta_P dz and sP - P = int_0^z (eta_P + eta_S)
   dz, eta = sqrt(1/v^2 - p^2) (the vertical slownesses; Shearer, Introduction to
   Seismology, 2nd ed., ch. 4; Engdahl, van der Hilst & Buland 1998, BSSA 88, use the
   same depth phases for the EHB depths). The delay gives the depth range [z(sP), z(pP)];
   the shallower one is used (a depth that is at least this deep), with the range as
   its uncertainty.
5. **Evidence** (:func:`far_evidence`): the observed P slowness must match the one
   predicted at the located epicentre for the phase it was located as (within 3 sigma
   and ``slowness_model_fraction``): a local event's Pg (~6 km/s) fitted by a distant
   epicentre fails it. :func:`unconstrained` says when the location cannot be trusted
   (90 % ellipse comparable to the distance, or a gap above ``max_gap_deg`` with no S-P
   to fix the distance).
6. **Wave trains** (:class:`WaveTrain`): from its P until its slowest surface waves of
   interest and a coda tail have passed, a distant event's onsets are everywhere:
   :meth:`WaveTrain.explains` names the picks its own phases explain, and
   :func:`prove_local` says whether a local candidate inside the train has what a real
   local event has there: clean P onsets at ``train_min_p_stations`` stations that the
   distant event does not explain, standing above the running coda level (the picker's
   SNR is measured against the preceding seconds), with a local moveout.

Pure functions of picks, stations and the model; units km, s, degrees.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.errors import LocationError
from seismo.event.locate import Origin, locate
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import NO_ARRIVAL_S, VelocityModel, ray_layers
from seismo.geo import destination, distance_km, hull_distance_km, local_xy
from seismo.inventory import StationInfo
from seismo.model import ArrivalPhase, Pick

log = logging.getLogger(__name__)

#: Share of the stations with a P onset in a plane wave's seconds that the wave must hold
#: (design choice: a distant event's first arrivals are picked everywhere; a few stations
#: may miss it or pick something else).
_PLANE_SHARE = 0.8
#: Depth (km) at which S-P distances are read before the depth is known (the locator's
#: usual fixed depth for distant events; S-P at 300-1000 km changes by < 1 s over 0-30 km).
_SP_DEPTH_KM = 10.0


# --------------------------------------------------------------------------- plane waves
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


# --------------------------------------------------------------------------- S-P distance
def tolerance_far_s(cfg: AssociateConfig, travel_time_s: NDArray | float) -> NDArray:
    """Residual tolerance (s) of a distant event's picks: the association's floor plus its
    model-error fraction of the travel time, without the local cap (a 1-D model good to a
    few per cent is several seconds off for S at 500 km)."""
    return cfg.residual_floor_s + cfg.residual_fraction * np.asarray(travel_time_s, dtype=float)


@dataclass(frozen=True)
class SPDistance:
    """The distance (km, from the plane wave's centre) most S-P times agree on."""

    distance_km: float
    branch: str  # "Sn" or "Sg"; "S" (the first-arrival S) for :func:`first_sp`
    s_picks: tuple[Pick, ...]
    #: one station's S-P time (:func:`first_sp`), not a consensus
    single: bool = False


def _sp_curve(model: VelocityModel, branch: str, depth_km: float) -> tuple[NDArray, NDArray]:
    """(S-P times, distances) of ``branch`` with the first-arrival P, monotonic in S-P."""
    x = model.table("P").distances_km
    sp = model.travel_time(branch, x, depth_km) - model.travel_time("P", x, depth_km)
    ok = model.travel_time(branch, x, depth_km) < NO_ARRIVAL_S / 2
    x, sp = x[ok], sp[ok]
    if x.size < 2:
        return np.array([0.0, 1.0]), np.array([0.0, 0.0])
    return np.maximum.accumulate(sp), x


def sp_distance(
    wave: PlaneWave, picks: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, branches: Sequence[str] = ("Sn", "Sg"),
    depth_km: float = _SP_DEPTH_KM,
) -> list[SPDistance]:
    """Per S branch (Sn, Sg), the distance that most stations' S-P times agree on (module
    doc, 2); the S-P times of one set of picks fit either branch at some distance, so the
    location decides between them.

    Only S-labelled picks count, and only at stations whose P is in the plane wave. A
    branch is left out when fewer than ``regional.min_sp_stations`` stations agree.
    """
    lat0, lon0 = wave.centre
    baz = math.radians(wave.backazimuth_deg)
    p_at = {p.station_id: p for p in wave.picks}
    s_picks = [p for p in picks if p.phase == "S" and p.station_id in p_at]
    out: list[SPDistance] = []
    if not s_picks:
        return out
    for branch in branches:
        best: tuple[int, float, SPDistance] | None = None
        sp_tab, x_tab = _sp_curve(model, branch, depth_km)
        est: list[tuple[float, str, Pick]] = []
        for s in s_picks:
            p = p_at[s.station_id]
            sp = float(s.time - p.time)
            if sp <= sp_tab[0] or sp >= sp_tab[-1]:
                continue
            x = float(np.interp(sp, sp_tab, x_tab))
            info = stations[s.station_id]
            ex, ny = local_xy(lat0, lon0, info.latitude, info.longitude)
            u = float(ex) * math.sin(baz) + float(ny) * math.cos(baz)  # towards the source
            est.append((x + u, s.station_id, s))
        if not est:
            continue
        d_all = np.array([e[0] for e in est])
        for c in d_all:
            k = int(np.searchsorted(x_tab, c))
            k = min(max(k, 1), len(x_tab) - 1)
            slope = max((sp_tab[k] - sp_tab[k - 1]) / max(x_tab[k] - x_tab[k - 1], 1e-6), 0.02)
            sp_c = float(np.interp(c, x_tab, sp_tab))
            tol_d = (cfg.s_minus_p_tolerance_s + cfg.residual_fraction * sp_c) / slope
            near = [e for e in est if abs(e[0] - c) <= tol_d]
            per_sta: dict[str, tuple[float, str, Pick]] = {}
            for e in near:
                if e[1] not in per_sta or abs(e[0] - c) < abs(per_sta[e[1]][0] - c):
                    per_sta[e[1]] = e
            n = len(per_sta)
            if n < cfg.regional.min_sp_stations:
                continue
            spread = float(np.std([e[0] for e in per_sta.values()]))
            cand = SPDistance(float(np.median([e[0] for e in per_sta.values()])), branch,
                              tuple(e[2] for e in per_sta.values()))
            if best is None or (n, -spread) > (best[0], -best[1]):
                best = (n, spread, cand)
        if best is not None:
            out.append(best[2])
    return out


def first_sp(
    wave: PlaneWave, picks: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel,
    depth_km: float = _SP_DEPTH_KM,
) -> SPDistance | None:
    """The distance from the earliest S-P time of ``wave``'s stations, read on the model's
    first-arrival S; None without an S-labelled pick.

    For when no ``regional.min_sp_stations`` S-P times agree (:func:`sp_distance`): the
    back-azimuth comes from the P plane wave, the distance from one S-P time, as an array
    or a three-component station locates a regional event on its own (back-azimuth and
    travel-time differences: Schweitzer 2001, Pure Appl. Geophys. 158, HYPOSAT; P, S and
    azimuth at one station: SEISAN manual, HYP, section 7.1.2). An S-labelled onset after
    a distant event's P is its first S or a later part of its S train (Sg, Lg, the S
    coda), never earlier than its first S, so when S-P times disagree the earliest is read
    as the first S and the later ones are not used (an early spurious S onset, P coda
    labelled S, would pull the distance short: that risk is not in the ellipse). Its
    error enters the location as that pick's and the P picks' errors (and, in the final
    location, the travel-time model error), which set the ellipse along the ray; the
    ellipse then decides whether the location is constrained (:func:`unconstrained`).
    """
    p_at = {p.station_id: p for p in wave.picks}
    s_picks = [p for p in picks if p.phase == "S" and p.station_id in p_at]
    if not s_picks:
        return None
    lat0, lon0 = wave.centre
    baz = math.radians(wave.backazimuth_deg)
    sp_tab, x_tab = _sp_curve(model, "S", depth_km)
    best: tuple[float, Pick] | None = None
    for s in s_picks:
        sp = float(s.time - p_at[s.station_id].time)
        if sp_tab[0] < sp < sp_tab[-1] and (best is None or sp < best[0]):
            best = (sp, s)
    if best is None:
        return None
    sp, s = best
    x = float(np.interp(sp, sp_tab, x_tab))
    info = stations[s.station_id]
    ex, ny = local_xy(lat0, lon0, info.latitude, info.longitude)
    u = float(ex) * math.sin(baz) + float(ny) * math.cos(baz)  # towards the source
    return SPDistance(x + u, "S", (s,), single=True)


def near_sp(
    wave: PlaneWave, picks: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig,
) -> str | None:
    """Why the P onsets of ``wave`` are a near source's (None: they may be distant).

    A source below or beside a network makes a nearly plane wave too (very steep, or
    curved less than the pick errors across a small array), but its S follows its P by
    the S-P time of a near source: when at least ``regional.min_sp_stations`` and half of
    the wave's stations have an S-labelled onset sooner after their P than S-P at
    ``far_km`` plus the aperture (the model's first arrivals at ``_SP_DEPTH_KM``), the
    wave is no distant event (S-P grows by 1/Vs - 1/Vp, ~0.12 s per km in the crust: in
    the shipped model 10.7 s at 90 km, against 33 s for S-P at 300 km; design choice).
    """
    x = cfg.far_km + aperture_km(stations)
    limit = float(model.travel_time("S", x, _SP_DEPTH_KM) - model.travel_time("P", x, _SP_DEPTH_KM))
    p_at = {p.station_id: p.time for p in wave.picks}
    near = {p.station_id for p in picks if p.phase == "S" and p.station_id in p_at
            and 0.0 < p.time - p_at[p.station_id] < limit}
    if len(near) >= max(cfg.regional.min_sp_stations, 0.5 * len(p_at)):
        return (f"S within {limit:.1f} s of P (a source within {x:.0f} km) at "
                f"{len(near)} of its {len(p_at)} stations")
    return None


# --------------------------------------------------------------------------- depth phases
def vertical_delay_s(model: VelocityModel, p_s_km: float, depth_km: float, phase: str) -> float:
    """Delay (s) of the depth phase ``phase`` ("pP" or "sP") after P, for a source at
    ``depth_km`` and a P ray parameter ``p_s_km`` (s/km at the surface): the vertical
    slowness integrals of the module docstring, in the Earth-flattened layers (where the
    surface ray parameter is conserved)."""
    lay = ray_layers(model, depth_km)
    z = lay.depth(depth_km)
    tops = lay.tops_km
    bottoms = np.append(tops[1:], np.inf)
    h = np.clip(np.minimum(bottoms, z) - tops, 0.0, None)
    eta_p = np.sqrt(np.clip(1.0 / lay.velocities("P") ** 2 - p_s_km**2, 0.0, None))
    eta_s = np.sqrt(np.clip(1.0 / lay.velocities("S") ** 2 - p_s_km**2, 0.0, None))
    if phase == "pP":
        return float(2.0 * np.sum(h * eta_p))
    if phase == "sP":
        return float(np.sum(h * (eta_p + eta_s)))
    raise ValueError(f"depth phase ({phase!r}) must be 'pP' or 'sP'")


def depth_from_delay(
    model: VelocityModel, p_s_km: float, delay_s: float, phase: str, max_depth_km: float
) -> float | None:
    """Source depth (km) whose ``phase`` - P delay is ``delay_s``; None beyond
    ``max_depth_km`` (bisection: the delay grows with depth)."""
    lo, hi = 0.0, float(max_depth_km)
    if vertical_delay_s(model, p_s_km, hi, phase) < delay_s:
        return None
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if vertical_delay_s(model, p_s_km, mid, phase) < delay_s:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class DepthPhase:
    """A second plane wave of the P's slowness, ``delay_s`` after it (s): pP or sP."""

    delay_s: float
    picks: tuple[Pick, ...]
    depth_sp_km: float  # the depth if it is sP (the shallower reading)
    depth_pp_km: float | None  # the depth if it is pP (None: deeper than allowed)

    @property
    def depth_km(self) -> float:
        """The depth reported: at least this deep (the sP reading)."""
        return self.depth_sp_km

    @property
    def sigma_km(self) -> float:
        """Standard error of the sP reading (km): the model error of a 1-D model, 10 %
        of the depth (the pP reading is deeper still: the depth is a lower bound)."""
        return 0.1 * self.depth_sp_km


def depth_phase(
    p_arrivals: Mapping[str, UTCDateTime], picks: Sequence[Pick], p_s_km: float,
    model: VelocityModel, cfg: AssociateConfig,
) -> DepthPhase | None:
    """The depth phase in ``picks`` (unused P-labelled onsets) after the P arrivals
    ``p_arrivals`` (station -> time) of a distant event of ray parameter ``p_s_km``.

    Its delay must be common to ``regional.depth_phase_min_stations`` stations and half
    of the P stations (within the residual floor), and longer than pP from the base of
    the model's crust (shorter delays are crustal phases: PmP, Pg after Pn); None if
    there is none.
    """
    rc = cfg.regional
    moho = model.tops_km[-1] if len(model.tops_km) > 1 else 10.0
    d_min = vertical_delay_s(model, p_s_km, moho, "pP")
    d_max = vertical_delay_s(model, p_s_km, rc.max_depth_km, "sP")
    tol = cfg.residual_floor_s
    cands: list[tuple[float, str, Pick]] = []
    for q in picks:
        t_p = p_arrivals.get(q.station_id)
        if q.phase != "P" or t_p is None:
            continue
        d = float(q.time - t_p)
        if d_min <= d <= d_max:
            cands.append((d, q.station_id, q))
    need = max(rc.depth_phase_min_stations, math.ceil(0.5 * len(p_arrivals)))
    if len({c[1] for c in cands}) < need:
        return None
    delays = np.array([c[0] for c in cands])
    best: tuple[int, float] | None = None
    for c in delays:
        near = {cands[k][1] for k in np.nonzero(np.abs(delays - c) <= tol)[0]}
        if best is None or len(near) > best[0]:
            best = (len(near), float(c))
    if best is None or best[0] < need:
        return None
    members = [c for c in cands if abs(c[0] - best[1]) <= tol]
    delay = float(np.median([c[0] for c in members]))
    per_sta: dict[str, Pick] = {}
    for _, sid, q in sorted(members, key=lambda c: abs(c[0] - delay)):
        per_sta.setdefault(sid, q)
    z_sp = depth_from_delay(model, p_s_km, delay, "sP", rc.max_depth_km)
    if z_sp is None:
        return None
    z_pp = depth_from_delay(model, p_s_km, delay, "pP", rc.max_depth_km)
    return DepthPhase(round(delay, 2), tuple(per_sta.values()), round(z_sp, 1),
                      None if z_pp is None else round(z_pp, 1))


# --------------------------------------------------------------------------- location
@dataclass(frozen=True)
class DistantOrigin:
    """A located distant event: its origin, the plane wave it came from, the S branch its
    S picks were located as, its depth phase (if any) and the picks its phases explain
    beyond its arrivals (the depth-phase onsets)."""

    origin: Origin
    wave: PlaneWave
    branch: str | None
    depth_phase: DepthPhase | None = None
    explained: tuple[str, ...] = ()


def _predict(
    origin: Origin, sid: str, phase: str, stations: Mapping[str, StationInfo],
    model: VelocityModel, loc_cfg: LocateConfig, depth_km: float | None = None,
) -> float:
    """Predicted travel time (s) of ``phase`` from ``origin`` to station ``sid``."""
    s = stations[sid]
    d = float(distance_km(origin.latitude, origin.longitude, s.latitude, s.longitude))
    z = origin.depth_km if depth_km is None else depth_km
    if not loc_cfg.elevation_correction:
        return float(model.travel_time(phase, d, z))
    # the station's elevation above the model's surface (datum) along a vertical ray in
    # the top layer (HYPO71's static term, Lee & Lahr 1975): a distant event's ray is steep
    # there (Pn: i ~ 40 deg under 5.5 km/s), the oblique-ray term differs by < 0.05 s/km
    v0 = float(model.velocities(phase)[0])
    return float(model.travel_time(phase, d, z)) + (s.elevation_m / 1000.0 - model.datum_km) / v0


def _gather(
    origin: Origin, pool: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig, branch: str | None,
    keep: Sequence[Pick],
) -> list[Pick]:
    """``keep`` plus, per station without them, the pool's P-labelled pick nearest its
    predicted P and (with a ``branch``) the S-labelled pick nearest its predicted S, within
    :func:`tolerance_far_s`."""
    have = {(p.station_id, p.phase) for p in keep}
    out = list(keep)
    best: dict[tuple[str, str], tuple[float, Pick]] = {}
    for q in pool:
        if (q.station_id, q.phase) in have or q.station_id not in stations:
            continue
        if q.phase == "S" and branch is None:
            continue
        tt = _predict(origin, q.station_id, "P" if q.phase == "P" else branch or "S", stations,
                      model, loc_cfg)
        r = abs(float(q.time - origin.time) - tt)
        if r <= float(tolerance_far_s(cfg, tt)):
            key = (q.station_id, q.phase)
            if key not in best or r < best[key][0]:
                best[key] = (r, q)
    out += [v[1] for v in best.values()]
    return out


def locate_distant(
    wave: PlaneWave, pool: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
) -> DistantOrigin | None:
    """Locate the distant event of ``wave`` with the S-labelled picks of ``pool``.

    Each S branch's S-P consensus (:func:`sp_distance`) starts a location on the
    back-azimuth; the one that fits better (more phases, then lower RMS) is kept. Without
    one the earliest S-P time gives the distance (:func:`first_sp`, its error in the
    ellipse); without any S the P picks alone are located (the distance then rests
    on the wavefront curvature). The picks that fit are gathered (P-labelled as P,
    S-labelled as the S branch; with one S-P time only P), the worst outlier is dropped
    while any residual exceeds its tolerance, and a depth phase, if the data hold one,
    fixes the depth. None when nothing can be located.
    """
    tries: list[tuple[str | None, SPDistance | None]] = [
        (sp.branch, sp) for sp in sp_distance(wave, pool, stations, model, cfg)]
    best: tuple[Origin, str | None] | None = None
    for branch, sp in tries or [(None, None)]:
        o = _locate_branch(wave, pool, stations, model, cfg, loc_cfg, branch, sp)
        if o is None:
            continue
        n_s = sum(1 for a in o.arrivals if a.phase.startswith("S"))
        if branch is not None and n_s < cfg.regional.min_sp_stations:
            continue
        if best is None or (o.n_phases, -o.rms_s) > (best[0].n_phases, -best[0].rms_s):
            best = (o, branch)
    if best is None:
        # no S-P consensus: the distance of the earliest S-P time (its error in the ellipse)
        one = first_sp(wave, pool, stations, model)
        if one is not None:
            o = _locate_branch(wave, pool, stations, model, cfg, loc_cfg, one.branch, one)
            if o is not None and any(a.phase.startswith("S") for a in o.arrivals):
                best = (o, one.branch)
    if best is None and tries:
        o = _locate_branch(wave, pool, stations, model, cfg, loc_cfg, None, None)
        best = None if o is None else (o, None)
    if best is None:
        return None
    origin, chosen = best
    p_at = {p.station_id: p.time for p in origin.picks if p.phase == "P"}
    used = {p.id for p in origin.picks}
    dp = depth_phase(p_at, [q for q in pool if q.id not in used], wave.slowness_s_km, model, cfg)
    explained: tuple[str, ...] = ()
    if dp is not None and dp.depth_km > (model.tops_km[-1] if len(model.tops_km) > 1 else 0.0):
        # a source below the crust: its S is the first-arrival S (no Sg from the mantle)
        sps = sp_distance(wave, pool, stations, model, cfg, ("S",), dp.depth_km)
        deep = _locate_branch(wave, pool, stations, model, cfg, loc_cfg, "S",
                              sps[0] if sps else None, depth_km=dp.depth_km,
                              start=None if sps else (origin.latitude, origin.longitude))
        if deep is not None and abs(deep.depth_km - dp.depth_km) < 1.0:
            log.info("distant event at %s: depth phase %.1f s after P at %d stations: "
                     "depth %.0f km (sP) to %s km (pP)", deep.time, dp.delay_s, len(dp.picks),
                     dp.depth_sp_km, dp.depth_pp_km)
            origin = replace(deep, vertical_uncertainty_km=round(dp.sigma_km, 1),
                             depth_fixed=False)
            chosen = "S"
            explained = tuple(p.id for p in dp.picks)
        else:
            dp = None
    else:
        dp = None
    return DistantOrigin(origin, wave, chosen, dp, explained)


def _locate_branch(
    wave: PlaneWave, pool: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig, branch: str | None,
    sp: SPDistance | None, depth_km: float | None = None,
    start: tuple[float, float] | None = None,
) -> Origin | None:
    """:func:`locate_distant` with one S branch (None: P only); with ``depth_km`` the depth
    is held there (a depth phase's), the search starting at ``start`` (lat, lon)."""
    lat0, lon0 = wave.centre
    sel: list[Pick] = list(wave.picks) + (list(sp.s_picks) if sp is not None else [])
    z0 = _SP_DEPTH_KM if depth_km is None else depth_km
    if start is not None:
        initial = (start[0], start[1], z0)
    elif sp is not None:
        initial = (*destination(lat0, lon0, wave.backazimuth_deg, sp.distance_km), z0)
    else:
        r = aperture_km(stations) + cfg.far_km
        initial = (*destination(lat0, lon0, wave.backazimuth_deg, r), z0)
    if depth_km is not None:  # the locator fixes a depth at its bound at fixed_depth_km
        loc_cfg = loc_cfg.model_copy(update={
            "fixed_depth_km": depth_km, "depth_min_km": max(depth_km - 1.0, 0.0),
            "depth_max_km": depth_km + 1.0,
        })

    def phases_of(picks: Sequence[Pick]) -> dict[str, str]:
        return {p.id: ("P" if p.phase == "P" else branch or "S") for p in picks}

    try:
        # the S-P consensus starts close (within the S-P tolerance): a local search; from
        # P alone the distance is open along the back-azimuth: the full grid
        origin = locate(sel, stations, model, loc_cfg, initial=initial, phases=phases_of(sel),
                        full_search=start is None and sp is None)
        for _ in range(3):
            # one S-P time (first_sp): the other S onsets disagreed with it, none gathered
            sel = _gather(origin, pool, stations, model, cfg, loc_cfg,
                          None if sp is not None and sp.single else branch, sel)
            while True:
                new = locate(sel, stations, model, loc_cfg, full_search=False,
                             initial=(origin.latitude, origin.longitude, origin.depth_km),
                             phases=phases_of(sel))
                res = np.array([abs(a.residual_s) for a in new.arrivals])
                tt = np.array([float(a.time - new.time) - a.residual_s for a in new.arrivals])
                robust = max(4.0 * 1.4826 * float(np.median(res)), cfg.residual_floor_s)
                excess = res / np.minimum(tolerance_far_s(cfg, tt), robust)
                k = int(np.argmax(excess))
                if excess[k] <= 1.0 or len({p.station_id for p in sel}) <= cfg.far_min_p_stations:
                    break
                sel = [p for p in sel if p.id != new.arrivals[k].pick_id]
            same = {p.id for p in new.picks} == {p.id for p in origin.picks}
            origin = new
            if same:
                break
    except LocationError as exc:
        log.debug("distant event of the plane wave at %s not located: %s", wave.time, exc)
        return None
    return _explicit(origin, stations, model, loc_cfg)


def _explicit(
    origin: Origin, stations: Mapping[str, StationInfo], model: VelocityModel,
    loc_cfg: LocateConfig,
) -> Origin:
    """``origin`` with its first-arrival P and S arrivals named by the explicit phase they
    are (the crustal g or the mantle n branch whose time is the first arrival's)."""
    out = []
    for a in origin.arrivals:
        if a.phase in ("P", "S"):
            sid = f"{a.network}.{a.station}"
            first = _predict(origin, sid, a.phase, stations, model, loc_cfg)
            g = _predict(origin, sid, f"{a.phase}g", stations, model, loc_cfg)
            name: ArrivalPhase = ("Pg" if a.phase == "P" else "Sg") if abs(g - first) < 1e-3 \
                else ("Pn" if a.phase == "P" else "Sn")
            a = replace(a, phase=name)
        out.append(a)
    return replace(origin, arrivals=tuple(out))


# --------------------------------------------------------------------------- evidence
def predicted_slowness(
    origin: Origin, stations: Mapping[str, StationInfo], model: VelocityModel,
    loc_cfg: LocateConfig,
) -> tuple[PlaneFit, PlaneFit] | None:
    """Plane waves fitted to the observed and to the predicted P times of ``origin``
    (each P arrival as the phase it was located as), over the same stations and weights."""
    lat0, lon0 = centroid(stations)
    p_arr = [a for a in origin.arrivals if a.phase.startswith("P")]
    if len(p_arr) < 4:
        return None
    picks = {p.id: p for p in origin.picks}
    obs, pred, xs, ys, sig = [], [], [], [], []
    for a in p_arr:
        sid = f"{a.network}.{a.station}"
        s = stations.get(sid)
        if s is None:
            continue
        x, y = local_xy(lat0, lon0, s.latitude, s.longitude)
        xs.append(float(x))
        ys.append(float(y))
        obs.append(float(a.time - origin.time))
        pred.append(_predict(origin, sid, a.phase, stations, model, loc_cfg))
        sig.append(_sigma(picks[a.pick_id], loc_cfg.pick_sigma_s) if a.pick_id in picks
                   else loc_cfg.pick_sigma_s)
    if len(obs) < 4:
        return None
    args = (np.array(xs), np.array(ys), np.array(sig))
    fo = fit_plane(np.array(obs), *args)
    fp = fit_plane(np.array(pred), *args)
    if fo is None or fp is None:
        return None
    return fo, fp


def far_evidence(
    origin: Origin, stations: Mapping[str, StationInfo], model: VelocityModel,
    cfg: AssociateConfig, loc_cfg: LocateConfig,
) -> list[str]:
    """Why ``origin``, located far outside the network, is not supported by its P onsets.

    The apparent velocity of its P picks must match the one the model predicts at that
    epicentre for the phase they were located as (Pn at 7.9-8.1 km/s beyond ~150-200 km,
    Pg ~6 km/s nearer): the slowness vectors may differ by 3 standard errors of the
    observed one plus ``regional.slowness_model_fraction`` of the predicted one. Empty
    for events within ``far_km`` of the network.
    """
    pts = list(stations.values())
    outside = hull_distance_km(origin.latitude, origin.longitude,
                               [s.latitude for s in pts], [s.longitude for s in pts])
    if outside <= cfg.far_km:
        return []
    fits = predicted_slowness(origin, stations, model, loc_cfg)
    if fits is None:
        return []
    fo, fp = fits
    diff = np.array([fo.sx - fp.sx, fo.sy - fp.sy])
    size = float(np.hypot(*diff))
    if size == 0.0:
        return []
    u = diff / size
    sigma = float(np.sqrt(max(u @ fo.cov[1:, 1:] @ u, 0.0)))
    allowed = 3.0 * sigma + cfg.regional.slowness_model_fraction * fp.slowness
    if size <= allowed:
        return []
    v_obs = 1.0 / fo.slowness if fo.slowness > 0 else math.inf
    v_pred = 1.0 / fp.slowness if fp.slowness > 0 else math.inf
    return [
        f"{outside:.0f} km outside the network, its P waves cross it at {v_obs:.1f} km/s "
        f"from {fo.backazimuth_deg:.0f} deg, where {v_pred:.1f} km/s from "
        f"{fp.backazimuth_deg:.0f} deg is predicted"
    ]


def slowness_resolved(
    origin: Origin, stations: Mapping[str, StationInfo], model: VelocityModel,
    cfg: AssociateConfig, loc_cfg: LocateConfig,
) -> bool:
    """Whether the P onsets of ``origin`` fix its apparent velocity well enough for
    :func:`far_evidence` to decide: the slowness standard error is below a tenth of Pn's
    (a wide network); a small one needs the local partition as well."""
    fits = predicted_slowness(origin, stations, model, loc_cfg)
    if fits is None:
        return False
    sig_s, _ = fits[0].sigmas()
    return sig_s < 0.1 / cfg.regional.min_velocity_kms


def unconstrained(
    origin: Origin, stations: Mapping[str, StationInfo], cfg: AssociateConfig
) -> list[str]:
    """Why the location of ``origin`` cannot be trusted (empty: it can).

    * its 90 % ellipse's semi-major axis exceeds ``regional.max_ellipse_fraction`` of its
      distance from the network centre (the location is comparable to its error);
    * its azimuthal gap exceeds ``regional.max_gap_deg`` and no station has both P and S
      (nothing but the wavefront curvature gives the distance; S-P gives it at any gap).
      One S-P time is enough to give a distance (:func:`first_sp`; NMSOP-2 IS 11.1): its
      pick and model errors are in the ellipse, which the first rule judges.
    """
    rc = cfg.regional
    lat0, lon0 = centroid(stations)
    d = float(distance_km(lat0, lon0, origin.latitude, origin.longitude))
    out = []
    a90 = origin.ellipse_90[0]
    if math.isfinite(a90) and d > 0 and a90 > rc.max_ellipse_fraction * d:
        out.append(f"90 % ellipse {a90:.0f} km at {d:.0f} km from the network")
    if origin.azimuthal_gap_deg > rc.max_gap_deg:
        fam: dict[str, set[str]] = {}
        for a in origin.arrivals:
            fam.setdefault(f"{a.network}.{a.station}", set()).add(a.phase[:1])
        n_sp = sum(1 for v in fam.values() if v == {"P", "S"})
        if n_sp == 0:
            out.append(f"azimuthal gap {origin.azimuthal_gap_deg:.0f} deg with S-P at "
                       f"{n_sp} station(s): the distance is not constrained")
    return out


# --------------------------------------------------------------------------- wave trains
@dataclass(frozen=True)
class WaveTrain:
    """The wave train of a distant event at every station: predicted P, Sn, Sg (and the
    depth phase) and the end of its train (s after the origin); ``source`` names it."""

    source: str
    origin_time: UTCDateTime
    p: dict[str, float] = field(default_factory=dict)
    s: dict[str, tuple[float, ...]] = field(default_factory=dict)
    end: dict[str, float] = field(default_factory=dict)
    depth_phase_delay_s: float | None = None
    tol_floor: float = 0.5
    tol_fraction: float = 0.05

    @classmethod
    def of(
        cls, source: str, time: UTCDateTime, latitude: float, longitude: float,
        depth_km: float, stations: Mapping[str, StationInfo], model: VelocityModel,
        cfg: AssociateConfig, depth_phase_delay_s: float | None = None,
    ) -> WaveTrain:
        """The train of an event at (``latitude``, ``longitude``, ``depth_km``), ``time``."""
        rc = cfg.regional
        p, s, end = {}, {}, {}
        for sid, info in stations.items():
            d = float(distance_km(latitude, longitude, info.latitude, info.longitude))
            p[sid] = float(model.travel_time("P", d, depth_km))
            s[sid] = tuple(float(model.travel_time(ph, d, depth_km)) for ph in ("Sn", "Sg", "S")
                           if float(model.travel_time(ph, d, depth_km)) < NO_ARRIVAL_S / 2)
            end[sid] = max(d / rc.train_surface_velocity_kms, max(s[sid], default=0.0)) \
                + rc.train_tail_s
        return cls(source, time, p, s, end, depth_phase_delay_s, cfg.residual_floor_s,
                   cfg.residual_fraction)

    def covers(self, pick: Pick) -> bool:
        """Whether ``pick`` falls inside the train at its station."""
        t_p = self.p.get(pick.station_id)
        if t_p is None:
            return False
        t = float(pick.time - self.origin_time)
        return t_p - self._tol(t_p) <= t <= self.end[pick.station_id]

    def explains(self, pick: Pick) -> bool:
        """Whether one of the train's phases (P, Sn, Sg, the depth phase) explains ``pick``."""
        t_p = self.p.get(pick.station_id)
        if t_p is None:
            return False
        t = float(pick.time - self.origin_time)
        times = [t_p, *self.s[pick.station_id]]
        if self.depth_phase_delay_s is not None:
            times.append(t_p + self.depth_phase_delay_s)
        return any(abs(t - x) <= self._tol(x) for x in times)

    def _tol(self, tt: float) -> float:
        return self.tol_floor + self.tol_fraction * tt


def prove_local(
    origin: Origin, trains: Sequence[WaveTrain], labelled_p: set[str],
    cfg: AssociateConfig,
) -> str | None:
    """Why a local candidate inside a distant event's wave train is not proven (None: it
    is, or it is not inside a train).

    A candidate is inside a train when half of its picks fall inside one. It then needs
    P onsets at ``regional.train_min_p_stations`` stations that the picker labelled P
    (``labelled_p``: ids of P-labelled picks; no relabelled S) and that no train explains,
    whose times grow with distance from the candidate (a local moveout). Every onset
    stands above the running coda level by construction: the picker measures its SNR
    against the seconds before it (``[picker] min_snr``).
    """
    if not trains or not origin.picks:
        return None
    inside = [t for t in trains
              if sum(t.covers(p) for p in origin.picks) >= 0.5 * len(origin.picks)]
    if not inside:
        return None
    picks = {p.id: p for p in origin.picks}
    clean: dict[str, tuple[float, float]] = {}
    for a in origin.arrivals:
        p = picks.get(a.pick_id)
        if p is None or not a.phase.startswith("P") or p.id not in labelled_p:
            continue
        if any(t.explains(p) for t in trains):
            continue
        clean[p.station_id] = (a.distance_km, float(p.time - origin.time))
    n = len(clean)
    need = cfg.regional.train_min_p_stations
    if n >= need:
        d = np.array([v[0] for v in clean.values()])
        t = np.array([v[1] for v in clean.values()])
        if np.ptp(d) == 0 or np.corrcoef(d, t)[0, 1] > 0:
            return None
        return (f"inside the wave train of {inside[0].source}: its clean P onsets do not "
                "grow with distance")
    return (f"inside the wave train of {inside[0].source}: clean P onsets at {n} station(s), "
            f"{need} needed")


def train_of(
    source: str, origin: Origin, stations: Mapping[str, StationInfo], model: VelocityModel,
    cfg: AssociateConfig, depth_phase_delay_s: float | None = None,
) -> WaveTrain:
    """The :class:`WaveTrain` of a located origin."""
    return WaveTrain.of(source, origin.time, origin.latitude, origin.longitude, origin.depth_km,
                        stations, model, cfg, depth_phase_delay_s)


def is_distant(
    latitude: float, longitude: float, stations: Mapping[str, StationInfo],
    cfg: AssociateConfig,
) -> bool:
    """Whether an epicentre lies more than ``far_km`` outside the stations' convex hull."""
    pts = list(stations.values())
    return hull_distance_km(latitude, longitude, [s.latitude for s in pts],
                            [s.longitude for s in pts]) > cfg.far_km
