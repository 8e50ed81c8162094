"""Phase association: picks -> event candidates by a space-time grid stack.

The idea is Earthworm binder_ew's (Dietz; a stack of pick times back-projected
onto a space-time grid), in the vectorised form of REAL (Zhang et al. 2019):

1. A grid of trial hypocentres covers the network (Cartesian-like rings of
   ``cfg.grid_spacing_km`` out to the network radius + ``cfg.grid_margin_km``)
   and the region beyond it (rings growing by 10 % of the distance, azimuth
   step ``cfg.azimuth_step_deg``) out to ``cfg.max_distance_km``, at depths
   ``cfg.depths_km``. P and S travel times from every node to every station
   are computed once per (model, station set, grid) and cached.
2. Every pick, back-projected to every node, gives an origin time
   t0 = t_pick - T(node, station, phase). Picks of one event agree on t0 at the
   nodes near its hypocentre; the stack counts, per node, the picks in two
   adjacent origin-time bins of ``cfg.stack_window_s`` (a cluster narrower
   than one bin always falls in two adjacent bins).
3. Iteratively: the best-supported (node, time) is taken; the picks that agree
   there (one P and one S per station) are located with
   :func:`seismo.event.locate.locate`; then all remaining picks within
   tolerance of the located origin's predicted times are taken (see
   :func:`tolerance_s`: 0.5 s + 5 % of the travel time, capped at
   ``cfg.max_residual_s``),
   the event is relocated, outliers are dropped, and the event is accepted
   when it has ``cfg.min_stations`` stations, ``cfg.min_phases`` phases, an
   RMS below ``cfg.max_rms_s`` and passes the consistency check
   (:mod:`seismo.event.consistency`). Its picks leave the pool and the stack is
   recomputed, so overlapping events are found one after the other.

Each pick is associated with the explicit phase that fits it (Pg or Pn, Sg or
Sn of the 1-D model; :func:`_residuals`), and a regional candidate with Sn
arrivals is also tried with them as Sg (:func:`_grow`). The minimum counts adapt
to what the live stations can give (:func:`adapt_to_network`).

Coincidence in time alone never makes an event: the picks must be travel-time
consistent with one hypocentre, first on the grid, then after location.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.errors import LocationError
from seismo.event import regional
from seismo.event.consistency import check_origin
from seismo.event.geometry import depth_nodes, node_bottom_km, phase_minimum_rule
from seismo.event.locate import Origin, locate, polar_nodes
from seismo.event.regional import WaveTrain
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import VelocityModel
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import Phase, Pick

log = logging.getLogger(__name__)

_DEPTH_BLIND_KM = 150.0  # beyond network radius + this, one trial depth per node
_MAX_PEAKS = 2000  # grid nodes inspected per pass (cheap; locations are capped by max_attempts)


@dataclass(frozen=True)
class EventCandidate:
    """Associated picks (at most one P and one S per station) and their origin."""

    picks: tuple[Pick, ...]
    origin: Origin
    stack_count: int  # picks that agreed at the grid node that seeded the event
    # a distant event found by its P plane wave (seismo.event.regional): the delay (s) of
    # its depth phase after P when one fixed its depth
    distant: bool = False
    depth_phase_s: float | None = None

    @property
    def time(self) -> UTCDateTime:
        return self.origin.time

    @property
    def latitude(self) -> float:
        return self.origin.latitude

    @property
    def longitude(self) -> float:
        return self.origin.longitude

    @property
    def depth_km(self) -> float:
        return self.origin.depth_km

    @property
    def n_stations(self) -> int:
        return self.origin.n_stations


@dataclass(frozen=True)
class StackGrid:
    """Trial hypocentres and their travel times to the stations (s).

    ``tt`` has shape (2, n_nodes, n_stations): index 0 P, 1 S, to each station at its
    elevation (:meth:`seismo.event.velocity.VelocityModel.station_time`).
    """

    station_ids: tuple[str, ...]
    lat: NDArray
    lon: NDArray
    depth: NDArray
    tt: NDArray


@lru_cache(maxsize=8)
def _grid(
    model: VelocityModel,
    stakey: tuple[tuple[str, float, float, float], ...],
    spacing: float,
    margin: float,
    max_dist: float,
    az_step: float,
    depths: tuple[float, ...],
    elevation: bool,
    z_far_km: float = 10.0,
) -> StackGrid:
    ids = tuple(k[0] for k in stakey)
    slat = np.array([k[1] for k in stakey])
    slon = np.array([k[2] for k in stakey])
    selev = np.array([k[3] for k in stakey])
    lat0, lon0 = float(slat.mean()), float(slon.mean())
    r_net = float(distance_km(lat0, lon0, slat, slon).max())
    la, lo, _ = polar_nodes(lat0, lon0, r_net + margin, max_dist, spacing, az_step)
    zs = np.asarray(depths, float)
    # far away the moveout across the network hardly depends on depth (head waves:
    # depth only shifts the intercept time, which the origin time absorbs): one depth
    deep = distance_km(lat0, lon0, la, lo) <= r_net + _DEPTH_BLIND_KM
    z_far = zs[np.argmin(np.abs(zs - z_far_km))]
    lat = np.concatenate([np.repeat(la[deep], len(zs)), la[~deep]])
    lon = np.concatenate([np.repeat(lo[deep], len(zs)), lo[~deep]])
    z = np.concatenate([np.tile(zs, int(deep.sum())), np.full(int((~deep).sum()), z_far)])
    dist = distance_km(lat[:, None], lon[:, None], slat[None, :], slon[None, :])
    zz = np.broadcast_to(z[:, None], dist.shape)
    ee = np.broadcast_to(selev[None, :] if elevation else 1000.0 * model.datum_km, dist.shape)
    tt = np.empty((2, *dist.shape))
    for k, ph in enumerate(("P", "S")):
        tt[k] = model.station_time(ph, dist, zz, ee)
    log.debug("association grid: %d nodes x %d stations", len(lat), len(ids))
    return StackGrid(ids, lat, lon, z, tt)


def grid_depths(
    cfg: AssociateConfig, loc_cfg: LocateConfig, model: VelocityModel
) -> tuple[float, ...]:
    """Trial depths of the grid (km below sea level): ``cfg.depths_km`` when set, else
    from the shallowest depth (``loc_cfg.depth_min_km``, else the model's surface) down
    to the model's crust (:func:`seismo.event.geometry.depth_nodes`,
    :func:`~seismo.event.geometry.node_bottom_km`)."""
    if cfg.depths_km is not None:
        return tuple(sorted(cfg.depths_km))
    top = model.min_depth_km if loc_cfg.depth_min_km is None else loc_cfg.depth_min_km
    return depth_nodes(top, cfg.grid_spacing_km, node_bottom_km(model, loc_cfg)[0])


def stack_grid(
    stations: Mapping[str, StationInfo], model: VelocityModel, cfg: AssociateConfig,
    elevation_correction: bool = True, loc_cfg: LocateConfig | None = None,
) -> StackGrid:
    """The (cached) association grid of ``stations`` (depths: :func:`grid_depths`; far
    nodes at the one trial depth nearest ``loc_cfg.fixed_depth_km``)."""
    loc_cfg = loc_cfg or LocateConfig()
    key = tuple(
        (sid, s.latitude, s.longitude, s.elevation_m) for sid, s in sorted(stations.items())
    )
    return _grid(
        model, key, cfg.grid_spacing_km, cfg.grid_margin_km, cfg.max_distance_km,
        cfg.azimuth_step_deg, grid_depths(cfg, loc_cfg, model), elevation_correction,
        loc_cfg.fixed_depth_km,
    )


def remove_glitches(picks: Sequence[Pick], cfg: AssociateConfig) -> list[Pick]:
    """Drop bursts of picks at ``cfg.glitch_min_stations`` or more stations within
    ``cfg.glitch_window_s`` of each other.

    Seismic waves reach stations at different distances at different times; a
    burst of simultaneous onsets across the network is a telemetry, timing or
    power glitch (any 3 stations are equidistant from their circumcentre, so the
    test starts at 4). ``glitch_min_stations = 0`` disables it.
    """
    n_min = cfg.glitch_min_stations
    if n_min == 0 or len(picks) < n_min:
        return list(picks)
    order = sorted(picks, key=lambda p: p.time)
    times = np.array([float(p.time - order[0].time) for p in order])
    bad: set[int] = set()
    j = 0
    for i in range(len(order)):
        while times[i] - times[j] > cfg.glitch_window_s:
            j += 1
        group = range(j, i + 1)
        if len({order[k].station_id for k in group}) >= n_min:
            bad.update(group)
    if bad:
        log.warning(
            "%d simultaneous pick(s) at %d stations dropped as a glitch (at %s)",
            len(bad), len({order[k].station_id for k in bad}), order[min(bad)].time,
        )
    return [p for k, p in enumerate(order) if k not in bad]


def _best_per_station(
    idx: Sequence[int], picks: Sequence[Pick], misfit: NDArray
) -> list[int]:
    """From candidate pick indices keep the best-fitting one per (station, phase)."""
    best: dict[tuple[str, str], int] = {}
    for i in idx:
        key = (picks[i].station_id, picks[i].phase)
        if key not in best or misfit[i] < misfit[best[key]]:
            best[key] = i
    return sorted(best.values())


def _residuals(
    origin: Origin, picks: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, loc_cfg: LocateConfig, phase: str | None = None,
) -> tuple[NDArray, NDArray, list[str]]:
    """Residual (s) of every pick against ``origin`` (as ``phase`` if given), the
    predicted travel time (s) and the explicit phase that fits it best.

    Each pick is compared with the crustal ("Pg"/"Sg") and the mantle head-wave
    ("Pn"/"Sn") phase of its family and takes the one with the smaller residual
    (at regional distances the picked S is often Sg, seconds after Sn).
    """
    out = np.full(len(picks), np.inf)
    tt = np.zeros(len(picks))
    names: list[str] = []
    for i, p in enumerate(picks):
        s = stations[p.station_id]
        fam = phase or p.phase
        d = distance_km(origin.latitude, origin.longitude, s.latitude, s.longitude)
        elev = s.elevation_m if loc_cfg.elevation_correction else 1000.0 * model.datum_km
        best = ("", np.inf, 0.0)
        for ph in (f"{fam}g", f"{fam}n"):
            t = float(model.station_time(ph, d, origin.depth_km, elev))
            r = float(p.time - origin.time) - t
            if abs(r) < abs(best[1]):
                best = (ph, r, t)
        names.append(best[0] or fam)
        out[i], tt[i] = best[1], best[2]
    return out, tt, names


def tolerance_s(cfg: AssociateConfig, travel_time_s: NDArray | float) -> NDArray:
    """Largest residual (s) that still associates a pick with travel time ``travel_time_s``.

    ``residual_floor_s`` (pick error) + ``residual_fraction`` x travel time (a
    1-D model is good to a few percent in velocity), capped at ``max_residual_s``.
    """
    t = np.asarray(travel_time_s, dtype=float)
    return np.minimum(cfg.max_residual_s, cfg.residual_floor_s + cfg.residual_fraction * t)


def _as_phase(p: Pick, phase: Phase) -> Pick:
    """``p`` relabelled as ``phase`` ("P"/"S"), with the id of that label."""
    return dataclasses.replace(p, phase=phase, id=Pick.make_id(p.seed_id, phase, p.time))


def _usable_picks(
    picks: Sequence[Pick], stations: Mapping[str, StationInfo], cfg: AssociateConfig
) -> list[Pick]:
    """P and S picks of known stations, glitches removed (the rest logged)."""
    pool = [p for p in picks if p.station_id in stations and p.phase in ("P", "S")]
    if len(pool) < len(picks):
        unknown = sorted({p.station_id for p in picks if p.station_id not in stations})
        log.warning("%d pick(s) ignored (unknown station or phase): %s",
                    len(picks) - len(pool), unknown)
    return remove_glitches(pool, cfg)


@dataclass
class _Stack:
    """The space-time stack of a pick pool: origin-time bins of width ``w`` per grid node."""

    pool: list[Pick]
    grid: StackGrid
    col: dict[str, int]  # "NET.STA" -> station column of the grid
    t_ref: UTCDateTime
    w: float
    t0_min: float  # s after t_ref, first bin edge
    nbins: int
    slat: NDArray
    slon: NDArray

    @classmethod
    def build(
        cls,
        pool: list[Pick],
        stations: Mapping[str, StationInfo],
        model: VelocityModel,
        cfg: AssociateConfig,
        loc_cfg: LocateConfig,
    ) -> _Stack:
        grid = stack_grid(stations, model, cfg, loc_cfg.elevation_correction, loc_cfg)
        t_ref = min(p.time for p in pool)
        w = cfg.stack_window_s
        tmax = max(float(p.time - t_ref) for p in pool)
        t0_min = -float(grid.tt.max()) - w
        return cls(
            pool=pool,
            grid=grid,
            col={sid: i for i, sid in enumerate(grid.station_ids)},
            t_ref=t_ref,
            w=w,
            t0_min=t0_min,
            nbins=int(np.ceil((tmax - t0_min) / w)) + 2,
            slat=np.array([stations[sid].latitude for sid in grid.station_ids]),
            slon=np.array([stations[sid].longitude for sid in grid.station_ids]),
        )

    def stack(self, idx: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """For the picks ``idx``: origin times (n_picks, n_nodes), their bins, and the
        score (picks in two neighbouring bins, shape (n_nodes, nbins - 1): one row per
        node, so that the best bin of a node is found along contiguous memory)."""
        n_nodes = len(self.grid.lat)
        pool = self.pool
        sta = np.array([self.col[pool[i].station_id] for i in idx])
        ph = np.array([1 if pool[i].phase == "S" else 0 for i in idx])
        t = np.array([float(pool[i].time - self.t_ref) for i in idx])
        t0 = t[:, None] - self.grid.tt[ph, :, sta]  # (n_picks, n_nodes)
        b = np.floor((t0 - self.t0_min) / self.w).astype(np.int64)
        counts = np.bincount(
            (np.arange(n_nodes)[None, :] * self.nbins + b).ravel(),
            minlength=self.nbins * n_nodes,
        ).reshape(n_nodes, self.nbins)
        return t0, b, counts[:, :-1] + counts[:, 1:]

    def seed(self, node: int, bbest: int, idx: NDArray, t0: NDArray, b: NDArray) -> list[int]:
        """Pool indices seeding an event at ``node``: the picks within ``w`` of the median
        origin time of the best bin pair, the best per station."""
        members = np.nonzero((b[:, node] == bbest) | (b[:, node] == bbest + 1))[0]
        t0_est = float(np.median(t0[members, node]))
        dev = np.abs(t0[:, node] - t0_est)
        close = [int(idx[j]) for j in np.nonzero(dev <= self.w)[0]]
        misfit = np.full(len(self.pool), np.inf)
        misfit[idx] = dev
        return _best_per_station(close, self.pool, misfit)

    def plausible(self, seed: list[int], node: int, cfg: AssociateConfig) -> bool:
        """Enough stations and phases, and the station ratio at the node (cheap, before
        any location)."""
        seed_sta = {self.col[self.pool[i].station_id] for i in seed}
        if len(seed_sta) < cfg.min_stations or len(seed) < cfg.min_phases:
            return False
        if sum(self.pool[i].phase == "P" for i in seed) < cfg.min_p_phases:
            return False  # an S-only seed: the consistency check would reject what it grows
        dn = distance_km(self.grid.lat[node], self.grid.lon[node], self.slat, self.slon)
        dsel = dn[list(seed_sta)]
        within = int(np.sum(dn <= _reach(float(dsel.min()), float(dsel.max()))))
        return len(seed_sta) / max(within, 1) >= cfg.min_station_ratio


def _has_horizontals(s: StationInfo) -> bool:
    """Whether a station can give S picks: a horizontal channel (|dip| < 30 deg), or no
    channel metadata at all (assume it can)."""
    return not s.channels or any(abs(c.dip) < 30.0 for c in s.channels)


def adapt_to_network(
    cfg: AssociateConfig, stations: Mapping[str, StationInfo], s_picks: bool = True,
    separable_s: Collection[str] | None = None,
) -> AssociateConfig:
    """``cfg`` with station and phase minimums no larger than ``stations`` can give.

    A network of N live stations, M of them able to give an S pick apart from their P,
    gives at most N + M phases. A station counts in M when it has horizontals (S picks)
    and, given ``separable_s`` (the stations whose expected S-P is at least the
    picker's merge span, :func:`seismo.event.geometry.separable_s_stations`), is one of
    them: the picker merges onsets closer than ``station_merge_s`` into one pick, so a
    network whose S-P is shorter gives one phase per station. ``min_stations`` drops to
    N (not below 3: an epicentre and origin time need 3 stations) and ``min_phases`` to
    N + M (not below 4: four unknowns, or three with the depth fixed plus one redundant
    datum). A network that cannot reach those floors (fewer than 3 stations, or 3
    vertical-only ones) locates nothing, and says so in the log.
    """
    n = len(stations)
    m = sum(
        1 for sid, s in stations.items()
        if _has_horizontals(s) and (separable_s is None or sid in separable_s)
    ) if s_picks else 0
    min_sta, min_ph = phase_minimum_rule(n, m, cfg)
    if (min_sta, min_ph) == (cfg.min_stations, cfg.min_phases):
        return cfg
    if n < 3 or n + m < 4:
        log.warning("%d live station(s) (%d with a separable S) cannot locate an event", n, m)
    else:
        log.debug("%d live stations, %d with a separable S: min_stations %d, min_phases %d",
                  n, m, min_sta, min_ph)
    return cfg.model_copy(update={"min_stations": min_sta, "min_phases": min_ph})


def _retire(alive: NDArray, pool: Sequence[Pick], cand: EventCandidate) -> None:
    """Take the picks of ``cand`` (also relabelled ones) out of the pool."""
    used_ids = {p.id for p in cand.picks}
    for i in np.nonzero(alive)[0].tolist():
        flip: Phase = "S" if pool[i].phase == "P" else "P"
        if pool[i].id in used_ids or _as_phase(pool[i], flip).id in used_ids:
            alive[i] = False


def associate(
    picks: Sequence[Pick],
    stations: Mapping[str, StationInfo],
    model: VelocityModel,
    cfg: AssociateConfig,
    loc_cfg: LocateConfig,
    *,
    s_picks: bool = True,
    separable_s: Collection[str] | None = None,
    known: Sequence[WaveTrain] = (),
) -> list[EventCandidate]:
    """Group ``picks`` into located event candidates, earliest first.

    Distant events come first (:func:`_distant`: their P plane wave, located with S-P,
    :mod:`seismo.event.regional`); the picks their phases, or those of the ``known``
    distant events' wave trains (found in earlier windows), explain leave the pool, and a
    local candidate inside a train must prove itself
    (:func:`seismo.event.regional.prove_local`).

    Picks of stations absent from ``stations`` are ignored (logged). Picks that
    fit no event are left out. ``stations`` maps "NET.STA" to StationInfo (the
    stations that delivered data: the thresholds adapt to them, see
    :func:`adapt_to_network`; ``s_picks``: whether the picker gives S picks;
    ``separable_s``: the stations whose S the picker can separate from their P).
    Candidates are located with pick errors alone (``loc_cfg.model_error_fraction``
    is not applied here: association tests the picks' mutual consistency; the caller
    relocates with the model error, :func:`seismo.shells.window.final_location`).
    """
    loc_cfg = loc_cfg.model_copy(update={"model_error_fraction": 0.0})
    cfg = adapt_to_network(cfg, stations, s_picks, separable_s)
    pool = _usable_picks(picks, stations, cfg)
    if len({p.station_id for p in pool}) < cfg.min_stations:
        return []
    st = _Stack.build(pool, stations, model, cfg, loc_cfg)
    n_nodes = len(st.grid.lat)
    alive = np.ones(len(pool), dtype=bool)
    labelled_p = {p.id for p in pool if p.phase == "P"}
    # the phases of distant events found before explain their picks here: they leave the
    # pool, then this pool's own distant events are found, then its local ones
    for i in range(len(pool)):
        if any(t.explains(pool[i]) for t in known):
            alive[i] = False
    events, own_trains = _distant(pool, alive, stations, model, cfg, loc_cfg)
    trains = [*known, *own_trains]
    for i in np.nonzero(alive)[0].tolist():
        if any(t.explains(pool[i]) for t in own_trains):
            alive[i] = False
    tried: set[frozenset[int]] = set()
    attempts = 0
    found = True
    while found and attempts < cfg.max_attempts:
        found = False
        idx = np.nonzero(alive)[0]
        if len({pool[i].station_id for i in idx}) < cfg.min_stations:
            break
        t0, b, score = st.stack(idx)
        # walk the nodes by their best stack value until one grows into an accepted event;
        # nodes of one cluster share their seed picks, so repeats are skipped cheaply
        node_bin = np.argmax(score, axis=1)
        node_best = score[np.arange(n_nodes), node_bin]
        order = np.argsort(-node_best, kind="stable")[:_MAX_PEAKS]
        for node in order.tolist():
            bbest, best = int(node_bin[node]), int(node_best[node])
            if best < cfg.min_phases:
                break
            seed = st.seed(node, bbest, idx, t0, b)
            key = frozenset(seed)
            if key in tried:
                continue
            tried.add(key)
            if not st.plausible(seed, node, cfg):
                continue
            attempts += 1
            initial = (float(st.grid.lat[node]), float(st.grid.lon[node]),
                       float(st.grid.depth[node]))
            cand = _grow(seed, pool, alive, stations, model, cfg, loc_cfg, initial)
            if cand is not None:
                why = regional.prove_local(cand.origin, trains, labelled_p, cfg)
                if why is None and cfg.regional.enabled and regional.is_distant(
                        cand.latitude, cand.longitude, stations, cfg) and not (
                        regional.slowness_resolved(cand.origin, stations, model, cfg, loc_cfg)):
                    why = _local_partition(cand, stations, model, cfg, loc_cfg, s_picks)
                if why:
                    log.info("candidate at %s %.3f %.3f rejected: %s", cand.time,
                             cand.latitude, cand.longitude, why)
                    cand = None
            if cand is None:
                if attempts >= cfg.max_attempts:
                    log.warning("association stopped after %d attempts", attempts)
                    break
                continue
            _retire(alive, pool, cand)
            events.append(dataclasses.replace(cand, stack_count=best))
            log.info(
                "event at %s %.3f %.3f %.1f km: %d stations, %d phases, rms %.2f s",
                cand.time, cand.latitude, cand.longitude, cand.depth_km,
                cand.origin.n_stations, cand.origin.n_phases, cand.origin.rms_s,
            )
            found = True
            break
    events.sort(key=lambda e: e.time)
    return events


def _distant(
    pool: list[Pick], alive: NDArray, stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
) -> tuple[list[EventCandidate], list[WaveTrain]]:
    """Distant events of the pool, found by their P plane waves and located with S-P
    (:mod:`seismo.event.regional`), their picks (and depth-phase onsets) retired from
    ``alive``; with their wave trains. A plane wave whose location fails the far-event
    evidence, or whose picks a local partition explains as well, is left to the stack."""
    out: list[EventCandidate] = []
    trains: list[WaveTrain] = []
    waves = regional.detect_plane_waves(pool, stations, cfg, loc_cfg.pick_sigma_s)
    for wave in waves:
        live = [pool[i] for i in np.nonzero(alive)[0].tolist()]
        if not {p.id for p in wave.picks} <= {p.id for p in live}:
            continue
        near = regional.near_sp(wave, live, stations, model, cfg)
        if near is not None:
            log.info("plane wave at %s (baz %.0f deg, %.1f km/s) is no distant event: %s",
                     wave.time, wave.backazimuth_deg, wave.apparent_velocity_kms, near)
            continue
        found = regional.locate_distant(wave, live, stations, model, cfg, loc_cfg)
        if found is None:
            continue
        o = found.origin
        why = check_origin(o, stations, model, cfg) + regional.far_evidence(
            o, stations, model, cfg, loc_cfg)
        if o.rms_s > max_rms_s(cfg, o):
            why.append(f"rms {o.rms_s:.2f} s")
        if not regional.is_distant(o.latitude, o.longitude, stations, cfg):
            why.append("not outside the network")
        cand = EventCandidate(picks=o.picks, origin=o, stack_count=len(wave.picks),
                              distant=True,
                              depth_phase_s=None if found.depth_phase is None
                              else found.depth_phase.delay_s)
        if not why and not regional.slowness_resolved(o, stations, model, cfg, loc_cfg):
            local = _local_partition(cand, stations, model, cfg, loc_cfg, True)
            why += [local] if local else []
        if why:
            log.info("plane wave at %s (baz %.0f deg, %.1f km/s) is no distant event: %s",
                     wave.time, wave.backazimuth_deg, wave.apparent_velocity_kms,
                     "; ".join(why))
            continue
        _retire(alive, pool, cand)
        explained = set(found.explained)
        for i in np.nonzero(alive)[0].tolist():
            if pool[i].id in explained:
                alive[i] = False
        out.append(cand)
        trains.append(regional.train_of(
            f"the distant event at {o.time}", o, stations, model, cfg, cand.depth_phase_s))
        log.info("distant event at %s %.3f %.3f %.0f km (plane wave from %.0f deg at %.1f km/s,"
                 " S as %s): %d stations, %d phases, rms %.2f s", o.time, o.latitude,
                 o.longitude, o.depth_km, wave.backazimuth_deg, wave.apparent_velocity_kms,
                 found.branch or "-", o.n_stations, o.n_phases, o.rms_s)
    return out, trains


def _local_partition(
    cand: EventCandidate, stations: Mapping[str, StationInfo], model: VelocityModel,
    cfg: AssociateConfig, loc_cfg: LocateConfig, s_picks: bool,
) -> str | None:
    """Why the far candidate ``cand`` loses against local events made of its own picks
    (None: it wins). The same picks are associated on the grid within the network (its
    radius plus ``grid_margin_km``); when the local events explain at least as many of
    them, a larger stack far away does not win by default (issue: compare against a
    local partition)."""
    lat = np.array([s.latitude for s in stations.values()])
    lon = np.array([s.longitude for s in stations.values()])
    r_net = float(distance_km(lat.mean(), lon.mean(), lat, lon).max())
    reach = r_net + cfg.grid_margin_km
    local_cfg = cfg.model_copy(update={
        "max_distance_km": reach,
        "regional": cfg.regional.model_copy(update={"enabled": False}),
    })
    local_loc = loc_cfg.model_copy(update={"max_distance_km": reach})
    try:
        local = associate(list(cand.picks), stations, model, local_cfg, local_loc,
                          s_picks=s_picks)
    except LocationError:
        return None
    n_local = sum(len(c.picks) for c in local)
    if local and n_local >= len(cand.picks):
        return (f"{len(local)} local event(s) explain {n_local} of its {len(cand.picks)} "
                "picks")
    return None


def max_rms_s(cfg: AssociateConfig, origin: Origin) -> float:
    """Largest RMS (s) an origin may have: ``max_rms_s`` and the model error of its median
    travel time (``residual_fraction`` of it) added in quadrature: a 1-D model that is
    good to a few per cent misfits a distant event by seconds (docs/location.md)."""
    tt = [float(a.time - origin.time) - a.residual_s for a in origin.arrivals]
    model = cfg.residual_fraction * (float(np.median(tt)) if tt else 0.0)
    return float(np.hypot(cfg.max_rms_s, model))


def _grow(
    seed: list[int], pool: Sequence[Pick], alive: NDArray, stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
    initial: tuple[float, float, float],
) -> EventCandidate | None:
    """Locate the seed picks, gather the fitting ones, relocate, check; None if rejected.

    When the result holds head-wave S arrivals (Sn), the alternative that they are
    crustal Sg (the phase usually picked on horizontals at 100-300 km) is located too,
    and the better-fitting of the two is kept (more phases, then lower RMS): the seed
    is stacked on first arrivals, which biases a regional event with Sg picks towards
    the network.
    """
    if len({pool[i].station_id for i in seed}) < cfg.min_stations or len(seed) < cfg.min_phases:
        return None
    try:
        origin = locate([pool[i] for i in seed], stations, model, loc_cfg, initial=initial)
    except LocationError as exc:
        log.debug("seed rejected: %s", exc)
        return None
    best = _settle(origin, pool, alive, stations, model, cfg, loc_cfg)
    if best is not None and any(a.phase == "Sn" for a in best.arrivals):
        alt_phases = {a.pick_id: "Sg" if a.phase == "Sn" else a.phase for a in best.arrivals}
        try:
            alt0 = locate(list(best.picks), stations, model, loc_cfg, phases=alt_phases,
                          initial=(best.latitude, best.longitude, best.depth_km))
        except LocationError:
            alt0 = None
        alt = None if alt0 is None else _settle(alt0, pool, alive, stations, model, cfg, loc_cfg)
        if alt is not None and (alt.n_phases, -alt.rms_s) > (best.n_phases, -best.rms_s):
            best = alt
    if best is None:
        return None
    if best.rms_s > max_rms_s(cfg, best):
        log.debug("candidate rejected: rms %.2f s > %.2f s", best.rms_s, max_rms_s(cfg, best))
        return None
    ratio = _station_ratio(best, stations)
    if ratio < cfg.min_station_ratio:
        log.debug("candidate rejected: only %.0f %% of the stations within reach picked it",
                  100 * ratio)
        return None
    why = check_origin(best, stations, model, cfg) + regional.far_evidence(
        best, stations, model, cfg, loc_cfg)
    if why:
        log.info("candidate at %s %.3f %.3f rejected as inconsistent: %s", best.time,
                 best.latitude, best.longitude, "; ".join(why))
        return None
    return EventCandidate(picks=best.picks, origin=best, stack_count=0)


def _settle(
    origin: Origin, pool: Sequence[Pick], alive: NDArray, stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
) -> Origin | None:
    """Gather the live picks that fit ``origin`` (each as the phase that fits it best),
    relocate and trim outliers until the pick set is stable; None below the minimums."""
    for _ in range(3):
        live = [int(i) for i in np.nonzero(alive)[0]]
        cands = [pool[i] for i in live]
        res, tt, names = _residuals(origin, cands, stations, model, loc_cfg)
        phases = {p.id: n for p, n in zip(cands, names, strict=True)}
        ratio = np.abs(res) / tolerance_s(cfg, tt)
        chosen = _best_per_station(
            [j for j in range(len(cands)) if ratio[j] <= 1.0], cands, ratio
        )
        sel = [cands[j] for j in chosen]
        if cfg.relabel_phases:
            # a distant event's S must come from S-polarised onsets (issue 22): only S->P
            far = regional.is_distant(origin.latitude, origin.longitude, stations, cfg)
            sel = _relabel(origin, cands, sel, stations, model, cfg, loc_cfg, phases,
                           to_s=not far)
        # drop the worst outliers one by one after each relocation
        while True:
            if (
                len({p.station_id for p in sel}) < cfg.min_stations
                or len(sel) < cfg.min_phases
            ):
                return None
            try:
                new = locate(sel, stations, model, loc_cfg, full_search=False,
                             initial=(origin.latitude, origin.longitude, origin.depth_km),
                             phases=phases)
            except LocationError as exc:
                log.debug("candidate rejected: %s", exc)
                return None
            res_abs = np.array([abs(a.residual_s) for a in new.arrivals])
            tol = tolerance_s(cfg, np.array([float(a.time - new.time) for a in new.arrivals])
                              - np.array([a.residual_s for a in new.arrivals]))
            # robust trim: a least-squares fit spreads an outlier's error over the good
            # picks, so also cut at 4 robust sigmas (1.4826 x median |res|, Gaussian MAD),
            # never below the tolerance floor
            robust = max(4.0 * 1.4826 * float(np.median(res_abs)), cfg.residual_floor_s)
            excess = res_abs / np.minimum(tol, robust)
            k = int(np.argmax(excess))
            if excess[k] <= 1.0:
                break
            sel = [p for p in sel if p.id != new.arrivals[k].pick_id]
        same = {p.id for p in new.picks} == {p.id for p in origin.picks}
        origin = new
        if same:
            break
    return origin


def _reach(nearest_km: float, farthest_km: float) -> float:
    """Distance (km) within which stations are expected to have picked the event.

    Every station no farther than the farthest associated one, and at least
    those within 2 x the nearest distance: amplitudes fall roughly as 1/R
    (geometric spreading), so a station 2 x farther sees half the
    amplitude and should usually trigger too. For a distant event this covers
    the whole network. [heuristic; the factor is ours]
    """
    return max(farthest_km, 2.0 * nearest_km) + 1e-3


def _station_ratio(origin: Origin, stations: Mapping[str, StationInfo]) -> float:
    """Associated stations / stations within :func:`_reach` of the epicentre.

    A real event is picked at most of the stations that are as close as the
    ones that picked it; a chance alignment of noise picks is not.
    """
    dist = [a.distance_km for a in origin.arrivals]
    lat = np.array([s.latitude for s in stations.values()])
    lon = np.array([s.longitude for s in stations.values()])
    d_all = distance_km(origin.latitude, origin.longitude, lat, lon)
    n_within = int(np.sum(d_all <= _reach(min(dist), max(dist))))
    return origin.n_stations / max(n_within, 1)


def _relabel(
    origin: Origin, cands: Sequence[Pick], sel: list[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
    phases: dict[str, str] | None = None, to_s: bool = True,
) -> list[Pick]:
    """Add picks that fit the event as the other phase where the station lacks that phase.

    ``to_s=False``: P-labelled onsets never become S (a distant event's S needs S
    polarisation; the other way, an S-labelled first arrival may still become its P).

    The label from the picker (polarisation) stands where it fits; an onset whose label
    does not fit but which fits the event as the other phase at a station that has none
    is taken as that phase (the arrival's fit to the event), e.g. the P of a large event
    whose first second of motion was mislabelled S, or an S on a sensor without
    usable horizontals.
    """
    out = list(sel)
    pairs: tuple[tuple[Phase, Phase], ...] = (("S", "P"), ("P", "S")) if to_s else (("S", "P"),)
    for new, old in pairs:
        have = {(p.station_id, p.phase) for p in out}
        used = {p.id for p in out} | {_as_phase(p, "S" if p.phase == "P" else "P").id
                                      for p in out}
        other = [p for p in cands if p.phase == old and p.id not in used]
        if not other:
            continue
        res, tt, names = _residuals(origin, other, stations, model, loc_cfg, phase=new)
        ratio = np.abs(res) / tolerance_s(cfg, tt)
        for j in np.argsort(ratio):
            p = other[int(j)]
            if ratio[j] <= 1.0 and (p.station_id, new) not in have:
                q = _as_phase(p, new)
                out.append(q)
                have.add((p.station_id, new))
                if phases is not None:
                    phases[q.id] = names[int(j)]
    return out
