"""Hypocentre location: grid search refined by Levenberg-Marquardt.

Method (details, limits and the far-event discussion in ``docs/location.md``):

1. **Coarse grid** over a polar grid centred on the picked stations, out to
   ``cfg.max_distance_km``: constant steps of ``cfg.grid_spacing_km`` within the
   network radius + ``cfg.grid_margin_km``, then rings growing by 10 % of the
   distance (the differential moveout across a network of aperture A from a
   source at distance r changes with a lateral shift d by about d*A/(r*v), so
   coarser cells far away cost no resolution that the data have).
   At every node the origin time is solved analytically as the weighted mean
   residual (Tarantola & Valette 1982; NonLinLoc does the same), and the misfit
   is the weighted sum of squared residuals, chi² = sum w_i (t_i - T_i - t0)²,
   w_i = 1/sigma_i², sigma_i = max(pick uncertainty, ``cfg.pick_sigma_s``), the
   floor multiplied by ``cfg.s_sigma_factor`` for S picks.
2. **Refinement**: a 7x7x5 local Cartesian grid around the best three distinct
   coarse nodes, shrunk by 0.4 per level down to ~0.1 km.
3. **Levenberg-Marquardt** (Marquardt 1963) on (east, north, depth, t0) with
   central-difference derivatives of the travel-time table (Geiger's method with
   damping; Lee & Stewart 1981, *Principles and Applications of Microearthquake
   Networks*, ch. 5). Depth is clamped to [depth_min_km, depth_max_km] and the
   epicentre to ``cfg.max_distance_km`` from the network.
4. **Uncertainty** (:mod:`seismo.event.uncertainty`): C = (J^T W J)^-1 *
   max(1, chi²/(n - m)) - the formal covariance from the pick standard errors,
   inflated by the a-posteriori
   variance factor when the residuals are larger than the pick errors (for
   equal weights this is (J^T J)^-1 * max(rms, sigma)²). Horizontal uncertainty
   is the 1-sigma semi-major axis of the epicentral 2x2 block, vertical the
   depth 1-sigma; both are capped at ``cfg.max_distance_km``.
5. **Depth fallback**: when the free-depth 1-sigma exceeds
   ``cfg.max_depth_sigma_km`` or the nearest station is farther than
   ``cfg.fix_depth_beyond_km`` or than ``cfg.depth_distance_ratio`` times the depth
   below the surface (depth needs a station within about one to two focal depths;
   Gomberg et al. 1990 [3P]), or the free depth ends on the deep bound (within 0.5 km
   of ``depth_max_km``: the misfit kept falling towards it), the depth is fixed at
   ``cfg.fixed_depth_km`` (the network sets it, :mod:`seismo.event.geometry`) and the
   event relocated; ``Origin.depth_fixed`` (and ``Event.depth_fixed``) says so, and
   the vertical uncertainty is reported as half the allowed depth range. A free depth
   on the shallow bound (``depth_min_km``: unset, the highest station, the velocity
   model's datum) is a valid shallow solution when a station lies within
   ``depth_distance_ratio`` depths of it (the depth below that station, at least
   0.5 km): the data then say "at the surface", and forcing such an event to the
   fallback depth moves its origin time and magnitude (:func:`shallow_resolved`).
   Otherwise it is fixed as above.

Depths are km below sea level; the shallowest is ``depth_min_km``, else the model's
surface (``model.min_depth_km``, its datum). Stations' elevations enter every
travel time (:meth:`seismo.event.velocity.VelocityModel.station_time`).

``outside_network`` is set when the epicentre lies outside the convex hull of
the stations used, or the azimuthal gap exceeds 180 deg.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.errors import LocationError
from seismo.event.depth import depth_unresolved, shallowest_km
from seismo.event.settings import LocateConfig
from seismo.event.uncertainty import (
    PickData,
    confidence_ellipse,
    covariance,
    epicentre_pdf,
    scaled_dof,
    sigmas,
    with_model_error,
)
from seismo.event.velocity import DEEP_MAX_KM, PHASES, VelocityModel
from seismo.geo import (
    azimuth_deg,
    azimuthal_gap_deg,
    distance_km,
    from_local_xy,
    inside_hull,
    local_xy,
    polar_nodes,
)
from seismo.inventory import StationInfo
from seismo.model import Arrival, Event, Pick

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Origin:
    """A located hypocentre. Times UTC, distances km, angles degrees, residuals s."""

    time: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float
    rms_s: float  # weighted RMS residual
    azimuthal_gap_deg: float
    n_phases: int
    n_stations: int
    horizontal_uncertainty_km: float  # 1-sigma semi-major axis of the epicentre
    vertical_uncertainty_km: float  # depth 1-sigma (half the depth range if fixed)
    time_uncertainty_s: float  # origin-time 1-sigma
    outside_network: bool
    depth_fixed: bool
    min_distance_km: float  # epicentral distance of the nearest station used
    arrivals: tuple[Arrival, ...] = ()
    picks: tuple[Pick, ...] = ()
    backazimuth_deg: float | None = None  # plane-wave fit of the P picks (towards the source)
    apparent_velocity_kms: float | None = None  # plane-wave fit of the P picks
    # epicentral confidence ellipses (2-D marginal; :func:`confidence_ellipse`)
    ellipse_68: tuple[float, float] = (float("nan"), float("nan"))  # semi-major, semi-minor km
    ellipse_90: tuple[float, float] = (float("nan"), float("nan"))
    ellipse_azimuth_deg: float = float("nan")  # of the major axis, from north
    # the epicentre's probability density, ((lat, lon, p), ...): uncertainty.epicentre_pdf
    epicentre_pdf: tuple[tuple[float, float, float], ...] = ()

    def to_event(self, event_id: str, creation_time: UTCDateTime | None = None) -> Event:
        """The :class:`~seismo.model.Event` of this origin (no magnitude yet)."""
        return Event(
            id=event_id,
            time=self.time,
            latitude=self.latitude,
            longitude=self.longitude,
            depth_km=self.depth_km,
            rms_s=self.rms_s,
            azimuthal_gap_deg=self.azimuthal_gap_deg,
            n_phases=self.n_phases,
            n_stations=self.n_stations,
            horizontal_uncertainty_km=self.horizontal_uncertainty_km,
            vertical_uncertainty_km=self.vertical_uncertainty_km,
            outside_network=self.outside_network,
            arrivals=self.arrivals,
            picks=self.picks,
            depth_fixed=self.depth_fixed,
            creation_time=creation_time,
            ellipse_68_major_km=self.ellipse_68[0],
            ellipse_68_minor_km=self.ellipse_68[1],
            ellipse_90_major_km=self.ellipse_90[0],
            ellipse_90_minor_km=self.ellipse_90[1],
            ellipse_azimuth_deg=self.ellipse_azimuth_deg,
            backazimuth_deg=self.backazimuth_deg,
            epicentre_pdf=self.epicentre_pdf,
        )


# --------------------------------------------------------------------------- data
def select_picks(picks: Sequence[Pick]) -> list[Pick]:
    """At most one P and one S per station: the one with the smallest uncertainty."""
    best: dict[tuple[str, str], Pick] = {}
    for p in picks:
        key = (p.station_id, p.phase)
        if key in best:
            log.warning("two %s picks at %s; keeping the more certain one", p.phase, p.station_id)
            if p.uncertainty_s >= best[key].uncertainty_s:
                continue
        best[key] = p
    return sorted(best.values(), key=lambda p: (p.time, p.station_id, p.phase))


def _prepare(
    picks: Sequence[Pick], stations: Mapping[str, StationInfo], model: VelocityModel,
    cfg: LocateConfig, phases: Mapping[str, str] | None = None,
) -> PickData:
    usable = []
    for p in picks:
        if p.station_id not in stations:
            log.warning("pick %s: station %s not in the inventory; ignored", p.id, p.station_id)
            continue
        if p.phase not in ("P", "S"):
            log.warning("pick %s: phase %r not P or S; ignored", p.id, p.phase)
            continue
        usable.append(p)
    chosen = select_picks(usable)
    n_sta = len({p.station_id for p in chosen})
    if n_sta < 3:
        raise LocationError(
            f"cannot locate: picks from {n_sta} station(s) "
            f"({sorted({p.station_id for p in chosen})}), at least 3 needed"
        )
    if len(chosen) < 4:
        raise LocationError(
            f"cannot locate: {len(chosen)} phases for 4 unknowns (lat, lon, depth, time)"
        )
    t_ref = min(p.time for p in chosen)
    st = [stations[p.station_id] for p in chosen]
    names = tuple(_phase_name(p, phases) for p in chosen)
    elev = np.array([s.elevation_m / 1000.0 for s in st]) if cfg.elevation_correction else None
    sigma = np.array(
        [
            max(float(p.uncertainty_s),
                cfg.pick_sigma_s * (cfg.s_sigma_factor if p.phase == "S" else 1.0))
            for p in chosen
        ]
    )
    ids = sorted({p.station_id for p in chosen})
    return PickData(
        picks=tuple(chosen),
        lat=np.array([s.latitude for s in st]),
        lon=np.array([s.longitude for s in st]),
        ulat=np.array([stations[i].latitude for i in ids]),
        ulon=np.array([stations[i].longitude for i in ids]),
        sta=np.array([ids.index(p.station_id) for p in chosen]),
        delay=np.zeros(len(chosen)),
        is_s=np.array([p.phase == "S" for p in chosen]),
        phase=names,
        t=np.array([float(p.time - t_ref) for p in chosen]),
        w=1.0 / sigma**2,
        t_ref=t_ref,
        elev_km=elev,
    )


def predicted(
    model: VelocityModel, d: PickData, lat: NDArray, lon: NDArray, depth: NDArray
) -> NDArray:
    """Predicted travel times (s), shape (n_nodes, n_picks), each to its station at its
    elevation (:meth:`~seismo.event.velocity.VelocityModel.station_time`)."""
    lat, lon, depth = (np.atleast_1d(np.asarray(a, float)) for a in (lat, lon, depth))
    dist = distance_km(lat[:, None], lon[:, None], d.ulat[None, :], d.ulon[None, :])[:, d.sta]
    z = np.broadcast_to(depth[:, None], dist.shape)
    tt = np.empty_like(dist)
    names = np.asarray(d.phase)
    for ph in sorted(set(d.phase)):
        m = names == ph
        if d.elev_km is None:
            tt[:, m] = model.travel_time(ph, dist[:, m], z[:, m])
        else:
            elev = np.broadcast_to(1000.0 * d.elev_km[None, m], dist[:, m].shape)
            tt[:, m] = model.station_time(ph, dist[:, m], z[:, m], elev)
    return tt + d.delay[None, :]


def _phase_name(p: Pick, phases: Mapping[str, str] | None) -> str:
    """The phase a pick is located as: its explicit name from ``phases`` (by pick id), if
    that is of the pick's own family, else its label (the first arrival)."""
    name = (phases or {}).get(p.id, p.phase)
    if name not in PHASES or name[:1] != p.phase:
        raise LocationError(f"pick {p.id}: phase {name!r} is not a {p.phase} phase")
    return name


def _misfit(d: PickData, tt: NDArray) -> tuple[NDArray, NDArray]:
    """Analytic origin time (weighted mean residual) and chi² per node."""
    r = d.t[None, :] - tt
    ones = d.weigh(np.ones(d.n))
    t0 = (d.weigh(r)).sum(axis=1) / ones.sum()
    rr = r - t0[:, None]
    chi2 = (d.weigh(rr) * rr).sum(axis=1)
    return t0, chi2


# --------------------------------------------------------------------------- grid search
#: Elements of one block of (nodes x stations) or (nodes x picks) arrays (the grid search
#: here, the association grid and stack): ~100 MB of temporaries however large the
#: network (500 stations, 184 437 nodes: 13 GB in one block; benchmarks/README.md).
BLOCK_ELEMENTS = 2_000_000


def node_blocks(n_nodes: int, per_node: int) -> Iterator[slice]:
    """The nodes ``0 .. n_nodes`` in consecutive blocks of at most
    :data:`BLOCK_ELEMENTS` / ``per_node`` nodes (at least one)."""
    step = max(1, BLOCK_ELEMENTS // max(per_node, 1))
    for a in range(0, n_nodes, step):
        yield slice(a, min(a + step, n_nodes))


def _depths(cfg: LocateConfig, step: float, fixed: float | None) -> NDArray:
    if fixed is not None:
        return np.array([fixed])
    n = max(int(np.ceil((cfg.depth_max_km - shallowest_km(cfg)) / step)), 1)
    return np.linspace(shallowest_km(cfg), cfg.depth_max_km, n + 1)


def _coarse(
    d: PickData, model: VelocityModel, cfg: LocateConfig, centre: tuple[float, float],
    r_net: float, fixed: float | None, initial: tuple[float, float, float] | None,
) -> list[tuple[float, float, float, float]]:
    """Best (lat, lon, depth, cell_km) of the coarse grid, up to 3 distinct minima."""
    la, lo, cell = polar_nodes(
        centre[0], centre[1], r_net + cfg.grid_margin_km, cfg.max_distance_km, cfg.grid_spacing_km
    )
    if initial is not None:
        la = np.append(la, initial[0])
        lo = np.append(lo, initial[1])
        cell = np.append(cell, cfg.grid_spacing_km)
    zs = _depths(cfg, cfg.depth_step_km, fixed)
    # beyond the distance where depth is fixed anyway, one trial depth is enough
    r = distance_km(centre[0], centre[1], la, lo)
    deep = r <= r_net + cfg.fix_depth_beyond_km
    z_far = np.array([cfg.fixed_depth_km if fixed is None else fixed])
    lat = np.concatenate([np.repeat(la[deep], len(zs)), la[~deep]])
    lon = np.concatenate([np.repeat(lo[deep], len(zs)), lo[~deep]])
    z = np.concatenate([np.tile(zs, int(deep.sum())), np.repeat(z_far, int((~deep).sum()))])
    cells = np.concatenate([np.repeat(cell[deep], len(zs)), cell[~deep]])
    # in blocks of nodes (node_blocks; each node's chi² is its own)
    chi2 = np.concatenate([_misfit(d, predicted(model, d, lat[b], lon[b], z[b]))[1]
                           for b in node_blocks(len(lat), d.n)])
    order = np.argsort(chi2)
    out: list[tuple[float, float, float, float]] = []
    for k in order:
        node = (float(lat[k]), float(lon[k]), float(z[k]), float(cells[k]))
        far = all(
            float(distance_km(node[0], node[1], o[0], o[1])) > 2.0 * max(node[3], o[3])
            for o in out
        )
        if far:
            out.append(node)
        if len(out) == 3:
            break
    return out


def _refine(
    d: PickData, model: VelocityModel, cfg: LocateConfig, start: tuple[float, float, float, float],
    fixed: float | None,
) -> tuple[float, float, float, float]:
    """Shrinking local grid search; returns (lat, lon, depth, chi2)."""
    lat0, lon0, z0, h = start
    hz = cfg.depth_step_km
    best = (lat0, lon0, z0, np.inf)
    g = np.linspace(-1.0, 1.0, 7)
    gz = np.linspace(-1.0, 1.0, 5)
    for _ in range(25):
        dx, dy = np.meshgrid(g * h, g * h, indexing="ij")
        la, lo = from_local_xy(lat0, lon0, dx.ravel(), dy.ravel())
        if fixed is None:
            zs = np.unique(np.clip(z0 + gz * hz, shallowest_km(cfg), cfg.depth_max_km))
        else:
            zs = np.array([fixed])
        lat = np.repeat(la, len(zs))
        lon = np.repeat(lo, len(zs))
        z = np.tile(zs, len(la))
        _, chi2 = _misfit(d, predicted(model, d, lat, lon, z))
        k = int(np.argmin(chi2))
        if chi2[k] <= best[3]:
            best = (float(lat[k]), float(lon[k]), float(z[k]), float(chi2[k]))
        lat0, lon0, z0 = best[0], best[1], best[2]
        if h < 0.1 and hz < 0.1:
            break
        h *= 0.4
        hz = max(hz * 0.4, 0.05)
    return best


# --------------------------------------------------------------------------- least squares
def _jacobian(
    d: PickData, model: VelocityModel, lat: float, lon: float, z: float, fixed: bool
) -> tuple[NDArray, NDArray]:
    """Predicted times (n,) and dT/d(east, north, depth, t0) (n, 4) by central differences."""
    h = 0.05  # km; the table is bilinear on a 1 km grid, so any h < 0.5 km is exact
    la, lo = from_local_xy(
        lat, lon, np.array([0.0, h, -h, 0.0, 0.0]), np.array([0.0, 0.0, 0.0, h, -h])
    )
    zs = np.full(5, z)
    tt = predicted(model, d, la, lo, zs)
    zp, zm = z + h, max(z - h, model.min_depth_km)
    ttz = predicted(model, d, np.array([lat, lat]), np.array([lon, lon]), np.array([zp, zm]))
    j = np.ones((d.n, 4))
    j[:, 0] = (tt[1] - tt[2]) / (2 * h)
    j[:, 1] = (tt[3] - tt[4]) / (2 * h)
    j[:, 2] = 0.0 if fixed else (ttz[0] - ttz[1]) / (zp - zm)
    return tt[0], j


def _lm(
    d: PickData, model: VelocityModel, cfg: LocateConfig, lat: float, lon: float, z: float,
    fixed: bool, centre: tuple[float, float],
) -> tuple[float, float, float, float, float, NDArray]:
    """Levenberg-Marquardt; returns lat, lon, depth, t0 (s after t_ref), chi2, J^T W J."""
    tt = predicted(model, d, np.array([lat]), np.array([lon]), np.array([z]))
    t0a, chi2a = _misfit(d, tt)
    t0, chi2 = float(t0a[0]), float(chi2a[0])
    lam = 1e-3
    jtwj = np.eye(4)
    for _ in range(cfg.max_iterations):
        tt1, j = _jacobian(d, model, lat, lon, z, fixed)
        r = d.t - tt1 - t0
        jtw = d.weigh(j.T)
        jtwj = jtw @ j
        g = jtw @ r
        if fixed:
            jtwj[2, :] = jtwj[:, 2] = 0.0
            jtwj[2, 2] = 1.0
            g[2] = 0.0
        improved = False
        for _ in range(8):
            a = jtwj + lam * np.diag(np.diag(jtwj))
            try:
                step = np.linalg.solve(a, g)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(a, g, rcond=None)[0]
            nla, nlo = from_local_xy(lat, lon, step[0], step[1])
            nla_f, nlo_f = float(nla), float(nlo)
            zlo = shallowest_km(cfg)
            nz = float(np.clip(z + step[2], zlo, cfg.depth_max_km)) if not fixed else z
            if float(distance_km(centre[0], centre[1], nla_f, nlo_f)) > cfg.max_distance_km:
                lam *= 10.0
                continue
            ntt = predicted(model, d, np.array([nla_f]), np.array([nlo_f]), np.array([nz]))
            nt0, nchi2 = _misfit(d, ntt)
            if nchi2[0] < chi2:
                lat, lon, z, t0, chi2 = nla_f, nlo_f, nz, float(nt0[0]), float(nchi2[0])
                lam = max(lam / 10.0, 1e-7)
                improved = True
                break
            lam *= 10.0
        if not improved or (np.hypot(step[0], step[1]) < 1e-3 and abs(step[2]) < 1e-3):
            break
    _, j = _jacobian(d, model, lat, lon, z, fixed)
    jtwj = d.weigh(j.T) @ j
    return lat, lon, z, t0, chi2, jtwj


def plane_wave(
    d: PickData, centre: tuple[float, float]
) -> tuple[float | None, float | None]:
    """Back-azimuth (deg) and apparent velocity (km/s) from a plane-wave fit to the P picks.

    t_i = a + s_x x_i + s_y y_i by weighted least squares over station (east,
    north) km; the wave travels along +s, so the source lies at azimuth of -s.
    """
    p = ~d.is_s
    if p.sum() < 3:
        return None, None
    x, y = local_xy(centre[0], centre[1], d.lat[p], d.lon[p])
    a = np.column_stack([np.ones(p.sum()), x, y])
    sw = np.sqrt(d.w[p])
    coef, _, rank, _ = np.linalg.lstsq(a * sw[:, None], d.t[p] * sw, rcond=None)
    if rank < 3:
        return None, None
    sx, sy = float(coef[1]), float(coef[2])
    s = float(np.hypot(sx, sy))
    if s <= 0:
        return None, None
    return float(np.degrees(np.arctan2(-sx, -sy)) % 360.0), 1.0 / s


# --------------------------------------------------------------------------- public API
def locate(
    picks: Sequence[Pick],
    stations: Mapping[str, StationInfo],
    model: VelocityModel,
    cfg: LocateConfig,
    *,
    initial: tuple[float, float, float] | None = None,
    full_search: bool = True,
    phases: Mapping[str, str] | None = None,
    pdf: bool = False,
) -> Origin:
    """Locate one event from its P and S ``picks``.

    ``phases`` maps pick ids to the explicit phase they are located as ("Pg",
    "Pn", "Sg", "Sn", of the pick's own family; default: the first arrival of its
    label); the arrivals carry those names.

    ``stations`` maps "NET.STA" to :class:`~seismo.inventory.StationInfo`;
    ``initial`` is an optional (lat, lon, depth_km) trial hypocentre (added to
    the coarse grid); with ``full_search=False`` only a local search around
    ``initial`` is made (relocation after adding picks); ``pdf``: sample the
    epicentre's probability density (:func:`seismo.event.uncertainty.epicentre_pdf`).
    Picks of unknown stations are ignored (logged); at most one P and one S per station are
    used. Raises
    :class:`~seismo.errors.LocationError` with fewer than 3 stations or 4 phases.
    """
    if cfg.depth_min_km is None:
        cfg = cfg.model_copy(update={"depth_min_km": model.min_depth_km})
    if cfg.depth_max_km <= shallowest_km(cfg):
        raise LocationError(
            f"depth_max_km ({cfg.depth_max_km}) must exceed depth_min_km ({cfg.depth_min_km})"
        )
    if shallowest_km(cfg) < model.min_depth_km - 1e-6:
        raise LocationError(
            f"depth_min_km ({cfg.depth_min_km}) lies above the velocity model's surface "
            f"({model.min_depth_km} km)"
        )
    d = _prepare(picks, stations, model, cfg, phases)
    centre = (float(np.mean(d.lat)), float(np.mean(d.lon)))
    r_net = float(np.max(distance_km(centre[0], centre[1], d.lat, d.lon)))
    # the travel-time table clamps beyond its edges: keep the search inside it (sources
    # below the tables are traced on demand down to DEEP_MAX_KM)
    reach = model.max_distance_km - r_net
    deepest = max(model.max_depth_km, DEEP_MAX_KM)
    if cfg.max_distance_km > reach or cfg.depth_max_km > deepest:
        log.warning(
            "search limited to the velocity model's table (%.0f km, %.0f km deep)",
            reach, deepest,
        )
        cfg = cfg.model_copy(
            update={
                "max_distance_km": min(cfg.max_distance_km, reach),
                "depth_max_km": min(cfg.depth_max_km, deepest),
            }
        )

    def solve(
        data: PickData, fixed: float | None, start: tuple[float, float, float] | None = None
    ) -> tuple[float, float, float, float, float, NDArray]:
        if start is not None:
            z0 = start[2] if fixed is None else fixed
            starts = [(start[0], start[1], z0, cfg.grid_spacing_km)]
        elif initial is not None and not full_search:
            z0 = initial[2] if fixed is None else fixed
            starts = [(initial[0], initial[1], z0, cfg.grid_spacing_km)]
        else:
            starts = _coarse(data, model, cfg, centre, r_net, fixed, initial)
        refined = [_refine(data, model, cfg, s, fixed) for s in starts]
        la, lo, z, _ = min(refined, key=lambda r: r[3])
        return _lm(data, model, cfg, la, lo, z, fixed is not None, centre)

    lat, lon, z, t0, chi2, jtwj = solve(d, None)
    if cfg.model_error_fraction > 0.0:
        # weights with the model error at the first solution's travel times, then re-solve
        tt = predicted(model, d, np.array([lat]), np.array([lon]), np.array([z]))[0] - d.delay
        d = with_model_error(
            d, tt, cfg.model_error_fraction, cfg.model_error_corr_km,
            np.asarray(distance_km(lat, lon, d.lat, d.lon), float),
        )
        lat, lon, z, t0, chi2, jtwj = solve(d, None, (lat, lon, z))
    cov = covariance(jtwj, chi2, d.n, fixed=False)
    dist = np.asarray(distance_km(lat, lon, d.lat, d.lon), float)
    _, dz, _ = sigmas(cov, cfg.max_distance_km)
    why = depth_unresolved(cfg, z, dz, dist, [stations[p.station_id].elevation_m
                                              for p in d.picks])
    fixed = why is not None
    if fixed:
        log.info("depth unconstrained (%s; free depth %.2f km): fixed at %.2f km",
                 why, z, cfg.fixed_depth_km)
        lat, lon, z, t0, chi2, jtwj = solve(d, cfg.fixed_depth_km)
        cov = covariance(jtwj, chi2, d.n, fixed=True)
    eh, ez, et = sigmas(cov, cfg.max_distance_km)
    if fixed:
        ez = (cfg.depth_max_km - shallowest_km(cfg)) / 2.0
    origin = _build(d, model, lat, lon, z, t0, eh, ez, et, fixed, centre)
    cap = cfg.max_distance_km
    dof = scaled_dof(chi2, d.n, fixed)  # the quantile follows the scaling (uncertainty.py)
    a68, b68, az = confidence_ellipse(cov[:2, :2], 0.68, cap, dof)
    a90, b90, _ = confidence_ellipse(cov[:2, :2], 0.90, cap, dof)
    density: tuple[tuple[float, float, float], ...] = ()
    if pdf:

        def misfit_at(la: NDArray, lo: NDArray) -> NDArray:
            return _misfit(d, predicted(model, d, la, lo, np.full(la.shape, z)))[1]

        density = epicentre_pdf(misfit_at, lat, lon, chi2,
                                1.0 if dof is None else chi2 / dof, a90, b90, az)
    return replace(
        origin,
        ellipse_68=(round(a68, 3), round(b68, 3)),
        ellipse_90=(round(a90, 3), round(b90, 3)),
        ellipse_azimuth_deg=round(az, 1) if np.isfinite(az) else float("nan"),
        epicentre_pdf=density,
    )


def _build(
    d: PickData, model: VelocityModel, lat: float, lon: float, z: float, t0: float,
    eh: float, ez: float, et: float, fixed: bool, centre: tuple[float, float],
) -> Origin:
    tt = predicted(model, d, np.array([lat]), np.array([lon]), np.array([z]))[0]
    res = d.t - tt - t0
    dist = distance_km(lat, lon, d.lat, d.lon)
    az = azimuth_deg(lat, lon, d.lat, d.lon)
    wrel = d.w / d.w.max()
    arrivals = tuple(
        Arrival(
            pick_id=p.id, network=p.network, station=p.station, channel=p.channel,
            phase=d.phase[i], time=p.time, distance_km=round(float(dist[i]), 3),  # type: ignore[arg-type]
            azimuth_deg=round(float(az[i]), 2), residual_s=round(float(res[i]), 4),
            weight=round(float(wrel[i]), 4),
        )
        for i, p in enumerate(d.picks)
    )
    rms = float(np.sqrt(np.sum(d.w * res**2) / d.w.sum()))
    sta = sorted({p.station_id for p in d.picks})
    first = {p.station_id: i for i, p in reversed(list(enumerate(d.picks)))}
    idx = np.array([first[s] for s in sta])
    gap = azimuthal_gap_deg(az[idx])
    sx, sy = local_xy(centre[0], centre[1], d.lat[idx], d.lon[idx])
    ex, ey = local_xy(centre[0], centre[1], np.array([lat]), np.array([lon]))
    outside = gap > 180.0 or not inside_hull(float(ex[0]), float(ey[0]), sx, sy)
    baz, vapp = plane_wave(d, centre)
    return Origin(
        time=d.t_ref + t0,
        latitude=round(lat, 5),
        longitude=round(lon, 5),
        depth_km=round(z, 3),
        rms_s=round(rms, 4),
        azimuthal_gap_deg=round(gap, 1),
        n_phases=d.n,
        n_stations=len(sta),
        horizontal_uncertainty_km=round(eh, 3),
        vertical_uncertainty_km=round(ez, 3),
        time_uncertainty_s=round(et, 3),
        outside_network=bool(outside),
        depth_fixed=fixed,
        min_distance_km=round(float(dist.min()), 3),
        arrivals=arrivals,
        picks=d.picks,
        backazimuth_deg=None if baz is None else round(baz, 1),
        apparent_velocity_kms=None if vapp is None else round(vapp, 3),
    )
