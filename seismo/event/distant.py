"""Distant events, 2: located from S-P times along the P plane wave's back-azimuth.

1. **Distance from S-P** (:func:`sp_distance`): every S-labelled pick of a plane-wave
   station (:mod:`seismo.event.planewave`) gives a distance for each S branch of the
   model (Sn or Sg, each with the first-arrival P): the branch and distance most
   stations agree on (within the S-P tolerance) start the location. An S onset is never
   made from a P-labelled pick (polarisation decides, issue 22); an S pick counts at its
   emergent onset (:func:`emergent_s`). Without a consensus the
   earliest S-P time gives it (:func:`first_sp`); S too soon after P marks a near source
   (:func:`near_sp`).
2. **Location** (:func:`locate_distant`): the P and S picks located by
   :func:`seismo.event.locate.locate` with those explicit phases; the picks of other
   stations that fit are gathered, outliers dropped, as in the associator; a depth phase
   (:func:`seismo.event.depthphase.depth_phase`) fixes the depth when the data hold one.

Pure functions of picks, stations and the model; units km, s, degrees.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from seismo.errors import LocationError
from seismo.event.depthphase import DepthPhase, depth_phase
from seismo.event.locate import Origin, locate
from seismo.event.planewave import PlaneWave, aperture_km
from seismo.event.residuals import settle, worst_outlier
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import NO_ARRIVAL_S, VelocityModel
from seismo.geo import destination, distance_km, local_xy
from seismo.inventory import StationInfo
from seismo.model import ArrivalPhase, Pick

log = logging.getLogger(__name__)

#: Depth (km) at which S-P distances are read before the depth is known (the locator's
#: usual fixed depth for distant events; S-P at 300-1000 km changes by < 1 s over 0-30 km).
_SP_DEPTH_KM = 10.0


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
    doc, 1); the S-P times of one set of picks fit either branch at some distance, so the
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
    ellipse then decides whether the location is constrained
    (:func:`seismo.event.trains.unconstrained`).
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
    # the station's elevation term along the ray's own vertical slowness, as the locator
    # times it (:meth:`~seismo.event.velocity.VelocityModel.station_time`)
    return float(model.station_time(phase, d, z, s.elevation_m))


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


def emergent_s(pick: Pick) -> Pick:
    """``pick`` at its ``early_onset`` when it has one (an S), else itself.

    A distant event's S crosses the network inside its own P coda and is emergent: its
    trigger lags the onset by seconds (a share of S-P), and the picker's wide AIC window
    (:func:`seismo.station.picker.onset.s_aic_lead_s`) holds its onset as the pick's
    ``early_onset``. Only here, where the plane wave has shown the event to be distant, is
    that onset the S: after a local event's P the same wide window can hold another
    event's unpicked P (on the Hi-net Aizu records 83 of 576 S picks moved, up to 16 s,
    when every S took it). The pick keeps its id (one onset detection): the event's
    pick and arrival carry the onset it was located with, the ``picks`` measurement the
    pick as picked, with its ``early_onset``.
    """
    if pick.phase != "S" or pick.early_onset is None:
        return pick
    return replace(pick, time=pick.early_onset)


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
    pool = [emergent_s(p) for p in pool]
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

    def step(origin: Origin) -> Origin:
        nonlocal sel
        # one S-P time (first_sp): the other S onsets disagreed with it, none gathered
        sel = _gather(origin, pool, stations, model, cfg, loc_cfg,
                      None if sp is not None and sp.single else branch, sel)
        while True:
            new = locate(sel, stations, model, loc_cfg, full_search=False,
                         initial=(origin.latitude, origin.longitude, origin.depth_km),
                         phases=phases_of(sel))
            worst = worst_outlier(new.arrivals, new.time,
                                  lambda tt: tolerance_far_s(cfg, tt), cfg.residual_floor_s)
            if worst is None or len({p.station_id for p in sel}) <= cfg.far_min_p_stations:
                return new
            sel = [p for p in sel if p.id != worst]

    try:
        # the S-P consensus starts close (within the S-P tolerance): a local search; from
        # P alone the distance is open along the back-azimuth: the full grid
        first = locate(sel, stations, model, loc_cfg, initial=initial, phases=phases_of(sel),
                       full_search=start is None and sp is None)
        origin = settle(first, step)
    except LocationError as exc:
        log.debug("distant event of the plane wave at %s not located: %s", wave.time, exc)
        return None
    return None if origin is None else _explicit(origin, stations, model, loc_cfg)


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


