"""The space-time grid stack of the associator (:func:`seismo.event.associate.associate`).

The idea is Earthworm binder_ew's (Dietz; a stack of pick times back-projected onto a
space-time grid), in the vectorised form of REAL (Zhang et al. 2019):

1. **Nodes** (:func:`stack_grid`): a grid of trial hypocentres covers the network
   (Cartesian-like rings of ``cfg.grid_spacing_km`` out to the network radius +
   ``cfg.grid_margin_km``) and the region beyond it (rings growing by 10 % of the
   distance, azimuth step ``cfg.azimuth_step_deg``) out to ``cfg.max_distance_km``, at
   depths ``cfg.depths_km`` (:func:`grid_depths`). P and S travel times from every node
   to every station are computed once per (model, station set, grid) and cached.
2. **Stack** (:class:`_Stack`): every pick, back-projected to every node, gives an
   origin time t0 = t_pick - T(node, station, phase). Picks of one event agree on t0 at
   the nodes near its hypocentre; the stack counts, per node, the picks in two adjacent
   origin-time bins of ``cfg.stack_window_s`` (a cluster narrower than one bin always
   falls in two adjacent bins). A node's best bin pair gives the seed picks (the best
   per station), which must be plausible (station and phase counts, the station ratio
   within :func:`_reach`) before anything is located.

Pure functions of picks, stations and the model; units km, s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.event.geometry import depth_nodes, node_bottom_km
from seismo.event.locate import node_blocks
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import VelocityModel
from seismo.geo import distance_km, polar_nodes
from seismo.inventory import StationInfo
from seismo.model import Pick

log = logging.getLogger(__name__)

_DEPTH_BLIND_KM = 150.0  # beyond network radius + this, one trial depth per node


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


def _nodes(
    slat: NDArray, slon: NDArray, spacing: float, margin: float, max_dist: float,
    az_step: float, depths: tuple[float, ...], z_far_km: float,
) -> tuple[NDArray, NDArray, NDArray]:
    """(lat, lon, depth) of the grid's nodes around the stations at ``slat``, ``slon``."""
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
    return lat, lon, z


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
    lat, lon, z = _nodes(slat, slon, spacing, margin, max_dist, az_step, depths, z_far_km)
    tt = np.empty((2, len(lat), len(slat)))
    for b in node_blocks(len(lat), len(slat)):
        dist = distance_km(lat[b, None], lon[b, None], slat[None, :], slon[None, :])
        zz = np.broadcast_to(z[b, None], dist.shape)
        ee = np.broadcast_to(selev[None, :] if elevation else 1000.0 * model.datum_km,
                             dist.shape)
        for k, ph in enumerate(("P", "S")):
            tt[k, b] = model.station_time(ph, dist, zz, ee)
    log.debug("association grid: %d nodes x %d stations", len(lat), len(ids))
    return StackGrid(ids, lat, lon, z, tt)


#: Memory (bytes) an associating process needs beyond its travel-time grid: the
#: interpreter, the travel-time tables, the pick pool and the blocks of
#: :data:`~seismo.event.locate.BLOCK_ELEMENTS` (measured: benchmarks/assoc_memory.py, 500
#: stations, a peak of 2,192 MB with 1,475 MB of grid travel times; design margin).
ASSOCIATION_OVERHEAD_BYTES = 750 * 2**20


def association_bytes(
    stations: Mapping[str, StationInfo], model: VelocityModel, cfg: AssociateConfig,
    loc_cfg: LocateConfig | None = None,
) -> tuple[int, int]:
    """(nodes of the association grid of ``stations``, bytes an associating process needs
    for it): the P and S travel times of every node to every station (float64) plus
    :data:`ASSOCIATION_OVERHEAD_BYTES`. Counts the nodes without computing travel times."""
    loc_cfg = loc_cfg or LocateConfig()
    slat = np.array([s.latitude for s in stations.values()])
    slon = np.array([s.longitude for s in stations.values()])
    spacing, margin, max_dist, az_step, depths, z_far = _node_rules(cfg, loc_cfg, model)
    lat, _, _ = _nodes(slat, slon, spacing, margin, max_dist, az_step, depths, z_far)
    n = len(lat)
    return n, 2 * n * len(stations) * 8 + ASSOCIATION_OVERHEAD_BYTES


def _node_rules(
    cfg: AssociateConfig, loc_cfg: LocateConfig, model: VelocityModel
) -> tuple[float, float, float, float, tuple[float, ...], float]:
    """What places the grid's nodes (:func:`_nodes`): spacing, margin, maximum distance,
    azimuth step, trial depths and the one depth of the far nodes."""
    return (cfg.grid_spacing_km, cfg.grid_margin_km, cfg.max_distance_km,
            cfg.azimuth_step_deg, grid_depths(cfg, loc_cfg, model), loc_cfg.fixed_depth_km)


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
    spacing, margin, max_dist, az_step, depths, z_far = _node_rules(cfg, loc_cfg, model)
    return _grid(model, key, spacing, margin, max_dist, az_step, depths, elevation_correction,
                 z_far)


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


@dataclass(frozen=True)
class StackPicks:
    """Picks as the stack reads them: pool indices, station columns, phase (0 P, 1 S)
    and times (s after the stack's reference time)."""

    idx: NDArray
    sta: NDArray
    ph: NDArray
    t: NDArray


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

    def picks_of(self, idx: NDArray) -> StackPicks:
        """The picks ``idx`` as the stack reads them."""
        pool = self.pool
        return StackPicks(
            idx=np.asarray(idx),
            sta=np.array([self.col[pool[i].station_id] for i in idx], dtype=np.int64),
            ph=np.array([1 if pool[i].phase == "S" else 0 for i in idx], dtype=np.int64),
            t=np.array([float(pool[i].time - self.t_ref) for i in idx]),
        )

    def origin_times(self, sp: StackPicks, nodes: slice) -> NDArray:
        """Origin times of the picks ``sp`` back-projected to ``nodes``: (n_picks, n)."""
        return sp.t[:, None] - self.grid.tt[sp.ph, nodes, sp.sta]

    def stack(self, idx: NDArray) -> tuple[StackPicks, NDArray]:
        """For the picks ``idx``: the picks as read (:meth:`picks_of`) and the score (picks
        in two neighbouring origin-time bins, shape (n_nodes, nbins - 1): one row per
        node, so that the best bin of a node is found along contiguous memory). Built in
        blocks of nodes (:func:`seismo.event.locate.node_blocks`)."""
        n_nodes = len(self.grid.lat)
        sp = self.picks_of(idx)
        score = np.empty((n_nodes, self.nbins - 1), dtype=np.int64)
        for nodes in node_blocks(n_nodes, len(sp.t)):
            n = nodes.stop - nodes.start
            b = np.floor((self.origin_times(sp, nodes) - self.t0_min) / self.w).astype(np.int64)
            counts = np.bincount(
                (np.arange(n)[None, :] * self.nbins + b).ravel(), minlength=self.nbins * n,
            ).reshape(n, self.nbins)
            score[nodes] = counts[:, :-1] + counts[:, 1:]
        return sp, score

    def seed(self, node: int, bbest: int, sp: StackPicks) -> list[int]:
        """Pool indices seeding an event at ``node``: the picks within ``w`` of the median
        origin time of the best bin pair, the best per station."""
        idx = sp.idx
        t0 = self.origin_times(sp, slice(node, node + 1))[:, 0]
        b = np.floor((t0 - self.t0_min) / self.w).astype(np.int64)
        members = np.nonzero((b == bbest) | (b == bbest + 1))[0]
        t0_est = float(np.median(t0[members]))
        dev = np.abs(t0 - t0_est)
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


def _reach(nearest_km: float, farthest_km: float) -> float:
    """Distance (km) within which stations are expected to have picked the event.

    Every station no farther than the farthest associated one, and at least
    those within 2 x the nearest distance: amplitudes fall roughly as 1/R
    (geometric spreading), so a station 2 x farther sees half the
    amplitude and should usually trigger too. For a distant event this covers
    the whole network. [heuristic; the factor is ours]
    """
    return max(farthest_km, 2.0 * nearest_km) + 1e-3
