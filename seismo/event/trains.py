"""Distant events, 4: the far-event evidence of a location, and distant wave trains.

1. **Evidence** (:func:`far_evidence`): the observed P slowness must match the one
   predicted at the located epicentre for the phase it was located as (within 3 sigma
   and ``slowness_model_fraction``): a local event's Pg (~6 km/s) fitted by a distant
   epicentre fails it. :func:`unconstrained` says when the location cannot be trusted
   (90 % ellipse comparable to the distance, or a gap above ``max_gap_deg`` with no S-P
   to fix the distance).
2. **Wave trains** (:class:`WaveTrain`): from its P until its slowest surface waves of
   interest and a coda tail have passed, a distant event's onsets are everywhere:
   :meth:`WaveTrain.explains` names the picks its own phases explain, and
   :func:`prove_local` says whether a local candidate inside the train has what a real
   local event has there: clean P onsets at ``train_min_p_stations`` stations that the
   distant event does not explain, standing above the running coda level (the picker's
   SNR is measured against the preceding seconds), with a local moveout.

The distant event itself is found by :mod:`seismo.event.planewave` and located by
:mod:`seismo.event.distant`. Pure functions of picks, stations and the model; units km,
s, degrees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from obspy import UTCDateTime

from seismo.event.distant import _predict
from seismo.event.locate import Origin
from seismo.event.planewave import PlaneFit, _sigma, centroid, fit_plane
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import NO_ARRIVAL_S, VelocityModel
from seismo.geo import distance_km, hull_distance_km, local_xy
from seismo.inventory import StationInfo
from seismo.model import Pick


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

    * it lies more than ``far_km`` outside the network (:func:`is_distant`) and its 90 %
      ellipse's semi-major axis exceeds ``regional.max_ellipse_fraction`` of its distance
      from the network centre (the location is comparable to its error; inside and near
      the network that distance says nothing: the consistency checks judge those);
    * its azimuthal gap exceeds ``regional.max_gap_deg`` and no station has both P and S
      (nothing but the wavefront curvature gives the distance; S-P gives it at any gap).
      One S-P time is enough to give a distance (:func:`seismo.event.distant.first_sp`;
      NMSOP-2 IS 11.1): its pick and model errors are in the ellipse, which the first
      rule judges.
    """
    rc = cfg.regional
    lat0, lon0 = centroid(stations)
    d = float(distance_km(lat0, lon0, origin.latitude, origin.longitude))
    out = []
    a90 = origin.ellipse_90[0]
    if (math.isfinite(a90) and a90 > rc.max_ellipse_fraction * d
            and is_distant(origin.latitude, origin.longitude, stations, cfg)):
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
