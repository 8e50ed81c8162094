"""The network's geometry and the association/location thresholds it sets.

A constant tuned on one network breaks another: a 3 km grid step is finer than a
regional network needs and coarser than a 3 km micro-network, a depth range that
starts at sea level puts the events of a network 1.3 km above it on its bound, and a
6-phase minimum is never reached by 5 stations whose S-P is shorter than the picker's
merge span. So the thresholds that depend on the network are computed here from the
inventory (positions and elevations), and each carries the rule that set it
(:class:`Threshold`), which the shells log at start and ``seismo evaluate`` reports.
The configured values stay the caps (or, for lists, the explicit choice): the network
may make a threshold stricter or finer, never looser than configured.

The rules (docs/location.md, "Thresholds from the inventory"):

* **datum** (the velocity model's surface): the highest station. Depths stay km
  below sea level; the depth range starts at the datum (``[locate] depth_min_km``
  unless set), and every station's elevation enters its travel times
  (:meth:`seismo.event.velocity.VelocityModel.station_time`).
* **association grid step**: half the median nearest-station distance (a node within
  a quarter spacing of every epicentre between two stations), at most ``[associate]
  grid_spacing_km``; the locator's coarse step one spacing, at most ``[locate]
  grid_spacing_km`` (its refinement shrinks the step to 0.1 km).
* **inner grid margin**: one aperture beyond the network, at most the configured
  margin: within about one aperture the moveout across the network still resolves
  the distance as well as inside it.
* **maximum distance**: beyond r_c = A² / (8 v_n sigma) (A aperture, v_n the mantle P
  velocity of the model, sigma the pick standard error ``[locate] pick_sigma_s``) the
  P arrivals across the network are a plane wave to within sigma (wavefront curvature
  A²/(8 r v), e.g. Rost & Thomas 2002, Rev. Geophys. 40, array seismology [3P]), so
  the P moveout no longer gives a distance. The grids reach max(network radius +
  margin, r_c), at most the configured ``max_distance_km``.
* **depth nodes**: from the datum downward, first step the association grid step,
  growing by 30 % of the depth below the datum (depth resolution falls with depth as
  the stations' distances become small against it), down to the model's crust (the
  top of its half-space), at most ``[locate] depth_max_km`` (unless ``[associate]
  depths_km`` lists them): the stack seeds crustal sources, the locator then searches
  the whole range; the locator's coarse depth step is its coarse grid step.
* **fallback depth** (a depth the data do not resolve): the region's default depth
  (``[locate] fixed_depth_km``; NEIC's 10 km for crustal events, ISC uses regional
  default depths, Bondár & Storchak 2011, GJI 186 [3P]), but no deeper than A / k below
  the datum (k = ``[locate] depth_distance_ratio``): a depth is resolved when a
  station lies within k focal depths (Gomberg et al. 1990 [3P]), so a source near the
  network (nearest station within about A) whose depth stays unresolved is shallower
  than A / k.
* **rms limit** of an associated event: the configured ``max_rms_s`` (the pick errors
  of a local network), or twice the rms that the pick error and the model error
  (``[locate] model_error_fraction`` x travel time, the locator's error model) give at
  the network's median travel time, when larger: the model error grows with the
  travel times of a large network.
* **separable S**: a station contributes an S phase to the phase minimum only when the
  S-P time expected there (a source at the network's centre at the fallback depth)
  is at least the picker's merge span ``[picker] station_merge_s``: closer onsets are
  merged into one pick (:func:`seismo.event.associate.adapt_to_network`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import VelocityModel
from seismo.geo import distance_km
from seismo.inventory import StationInfo

log = logging.getLogger(__name__)

#: Growth of the depth-node step with depth below the datum (fraction; design choice).
DEPTH_STEP_GROWTH = 0.3
#: Smallest grid step (km): the bound of ``GridKm`` in the configuration.
MIN_STEP_KM = 0.1


@dataclass(frozen=True)
class NetworkGeometry:
    """Positions of a station set: km and m, centre in degrees."""

    n_stations: int
    centre: tuple[float, float]
    radius_km: float  # farthest station from the centre
    aperture_km: float  # largest distance between two stations
    spacing_km: float  # median distance from a station to its nearest neighbour
    top_elevation_m: float
    top_station: str
    bottom_elevation_m: float


def network_geometry(stations: Mapping[str, StationInfo]) -> NetworkGeometry:
    """The geometry of ``stations`` ("NET.STA" -> StationInfo; at least one)."""
    if not stations:
        raise ValueError("network_geometry needs at least one station")
    ids = sorted(stations)
    lat = np.array([stations[i].latitude for i in ids])
    lon = np.array([stations[i].longitude for i in ids])
    elev = np.array([stations[i].elevation_m for i in ids])
    c = (float(lat.mean()), float(lon.mean()))
    d = np.asarray(distance_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]), float)
    if len(ids) > 1:
        np.fill_diagonal(d, np.inf)
        spacing = float(np.median(d.min(axis=1)))
        np.fill_diagonal(d, 0.0)
    else:
        spacing = 0.0
    top = int(np.argmax(elev))
    return NetworkGeometry(
        n_stations=len(ids),
        centre=c,
        radius_km=float(np.max(distance_km(c[0], c[1], lat, lon))),
        aperture_km=float(d.max()),
        spacing_km=spacing,
        top_elevation_m=float(elev[top]),
        top_station=ids[top],
        bottom_elevation_m=float(elev.min()),
    )


@dataclass(frozen=True)
class Threshold:
    """One effective threshold, its value and the rule that set it."""

    name: str  # "[section] key"
    value: str
    rule: str

    def __str__(self) -> str:
        return f"{self.name} = {self.value}: {self.rule}"


def depth_nodes(top_km: float, step_km: float, bottom_km: float) -> tuple[float, ...]:
    """Trial depths (km below sea level) from ``top_km`` (the datum) down to ``bottom_km``:
    first step ``step_km``, then growing by :data:`DEPTH_STEP_GROWTH` of the depth below
    the datum (module docstring)."""
    if bottom_km <= top_km:
        raise ValueError(f"bottom ({bottom_km} km) must be below the top ({top_km} km)")
    step = max(float(step_km), MIN_STEP_KM)
    out = [float(top_km)]
    while out[-1] < bottom_km:
        z = out[-1] + max(step, DEPTH_STEP_GROWTH * (out[-1] - top_km))
        out.append(min(z, float(bottom_km)))
    return tuple(out)


def node_bottom_km(model: VelocityModel, loc: LocateConfig) -> tuple[float, str]:
    """The deepest trial depth of the association grid (km below sea level) and its
    rule: the model's crust (the top of its half-space, the Moho of a crustal model),
    at most ``[locate] depth_max_km``; the locator itself searches down to the latter."""
    moho = float(model.tops_km[-1])
    if 0.0 < moho < loc.depth_max_km:
        return moho, f"the top of the velocity model's half-space ({moho:g} km)"
    return loc.depth_max_km, f"[locate] depth_max_km {loc.depth_max_km:g}"


def curvature_distance_km(aperture_km: float, velocity_kms: float, sigma_s: float) -> float:
    """Distance (km) beyond which the wavefront curvature across ``aperture_km``,
    A² / (8 r v), falls below the pick error ``sigma_s`` (module docstring)."""
    return aperture_km**2 / (8.0 * velocity_kms * sigma_s)


def fallback_depth_km(
    geometry: NetworkGeometry, loc: LocateConfig, datum_km: float
) -> tuple[float, str]:
    """The depth (km below sea level) a location falls back to, and its rule."""
    region = loc.fixed_depth_km
    net = -datum_km + geometry.aperture_km / loc.depth_distance_ratio
    if geometry.n_stations > 1 and net < region:
        return round(net, 3), (
            f"aperture {geometry.aperture_km:.1f} km / depth_distance_ratio "
            f"{loc.depth_distance_ratio:g} below the datum (shallower than the region's "
            f"{region:g} km: an unresolved depth near this network is shallower)"
        )
    return region, f"the region's default depth ([locate] fixed_depth_km {region:g})"


def separable_s_stations(
    stations: Mapping[str, StationInfo], model: VelocityModel, depth_km: float,
    merge_s: float, centre: tuple[float, float] | None = None,
) -> set[str]:
    """Stations whose S-P (source at ``centre``, default the network's, ``depth_km``
    below sea level) is at least ``merge_s``: their P and S are two picks."""
    if not stations:
        return set()
    c = centre or network_geometry(stations).centre
    out = set()
    for sid, s in stations.items():
        d = float(distance_km(c[0], c[1], s.latitude, s.longitude))
        e = s.elevation_m
        sp = float(model.station_time("S", d, depth_km, e)) - float(
            model.station_time("P", d, depth_km, e))
        if sp >= merge_s:
            out.add(sid)
    return out


def rms_limit(
    stations: Mapping[str, StationInfo], model: VelocityModel, depth_km: float,
    centre: tuple[float, float], assoc: AssociateConfig, loc: LocateConfig,
) -> tuple[float, str]:
    """The largest rms (s) an associated event may have, and its rule: the configured
    ``max_rms_s`` (a local network's pick errors), or twice the rms the pick error and the
    travel-time model error give at the network's median travel time when that is larger
    (``[locate] model_error_fraction`` x time; a 250 km network's 20 s times carry
    ~0.6 s of model error, which no 0.5 s limit admits)."""
    times = []
    for s in stations.values():
        d = float(distance_km(centre[0], centre[1], s.latitude, s.longitude))
        times += [float(model.station_time(ph, d, depth_km, s.elevation_m)) for ph in ("P", "S")]
    t_med = float(np.median(times))
    expected = float(np.hypot(loc.pick_sigma_s, loc.model_error_fraction * t_med))
    if 2.0 * expected > assoc.max_rms_s:
        return round(2.0 * expected, 3), (
            f"2 x the rms of pick error {loc.pick_sigma_s:g} s and model error "
            f"{loc.model_error_fraction:g} x the median travel time {t_med:.1f} s "
            f"(above the configured {assoc.max_rms_s:g} s)")
    return assoc.max_rms_s, (
        f"configured (2 x the pick and model error at the median travel time {t_med:.1f} s: "
        f"{2.0 * expected:.2f} s)")


@dataclass(frozen=True)
class Derived:
    """Effective settings of one network and how they were set."""

    geometry: NetworkGeometry
    associate: AssociateConfig
    locate: LocateConfig
    model: VelocityModel  # with its datum at the highest station
    separable_s: frozenset[str]
    thresholds: tuple[Threshold, ...]

    def lines(self) -> list[str]:
        """The effective thresholds as text lines, one per threshold."""
        g = self.geometry
        head = (
            f"network: {g.n_stations} stations, aperture {g.aperture_km:.1f} km, median "
            f"station spacing {g.spacing_km:.2f} km, elevations {g.bottom_elevation_m:.0f}-"
            f"{g.top_elevation_m:.0f} m"
        )
        return [head, *(str(t) for t in self.thresholds)]

    def log(self, logger: logging.Logger = log) -> None:
        for line in self.lines():
            logger.info("threshold %s", line)


def derive(
    stations: Mapping[str, StationInfo],
    model: VelocityModel,
    assoc: AssociateConfig,
    loc: LocateConfig,
    *,
    merge_s: float,
    s_picks: bool = True,
) -> Derived:
    """The thresholds ``stations`` set (module docstring) on top of the configured
    ``assoc`` and ``loc``; ``merge_s``: the picker's ``station_merge_s``; ``s_picks``:
    whether the picker gives S picks. ``model`` is the configured velocity model."""
    g = network_geometry(stations)
    out: list[Threshold] = []
    datum = g.top_elevation_m / 1000.0
    m = model.with_datum(datum)
    out.append(Threshold("velocity model datum", f"{datum:.3f} km above sea level",
                         f"the highest station ({g.top_station}, {g.top_elevation_m:.0f} m)"))
    if loc.depth_min_km is None:
        zmin = -datum
        out.append(Threshold("[locate] depth_min_km", f"{zmin:.3f}",
                             "the datum: depths counted from the highest station down"))
    else:
        zmin = loc.depth_min_km
        out.append(Threshold("[locate] depth_min_km", f"{zmin:g}", "configured"))
        if zmin < -datum:
            raise ValueError(
                f"[locate] depth_min_km ({zmin}) lies above the highest station ({-datum:.3f})"
            )

    def capped(name: str, value: float, cap: float, why: str) -> float:
        if g.n_stations > 1 and value < cap:
            v = round(max(value, MIN_STEP_KM), 3)
            out.append(Threshold(name, f"{v:g}", f"{why} (configured cap {cap:g})"))
            return v
        out.append(Threshold(name, f"{cap:g}", f"configured ({why}: {value:.3g})"))
        return cap

    spacing = g.spacing_km or g.aperture_km
    a_step = capped("[associate] grid_spacing_km", spacing / 2.0, assoc.grid_spacing_km,
                    f"half the median station spacing {spacing:.2f} km")
    l_step = capped("[locate] grid_spacing_km", spacing, loc.grid_spacing_km,
                    f"the median station spacing {spacing:.2f} km")
    a_margin = capped("[associate] grid_margin_km", g.aperture_km, assoc.grid_margin_km,
                      f"one aperture, {g.aperture_km:.1f} km")
    l_margin = capped("[locate] grid_margin_km", g.aperture_km, loc.grid_margin_km,
                      f"one aperture, {g.aperture_km:.1f} km")
    v_n = float(model.vp[-1])
    r_c = curvature_distance_km(g.aperture_km, v_n, loc.pick_sigma_s)
    reach = max(g.radius_km + a_margin, r_c)
    why = (f"max(radius {g.radius_km:.1f} + margin {a_margin:g}, curvature distance "
           f"A^2/(8 v sigma) = {r_c:.0f} km with v {v_n:g} km/s, sigma {loc.pick_sigma_s:g} s)")
    a_max = capped("[associate] max_distance_km", reach, assoc.max_distance_km, why)
    l_max = capped("[locate] max_distance_km", reach, loc.max_distance_km, why)
    z_step = capped("[locate] depth_step_km", l_step, loc.depth_step_km,
                    "the locator's coarse grid step")
    if assoc.depths_km is None:
        bottom, where = node_bottom_km(model, loc)
        depths = depth_nodes(zmin, a_step, bottom)
        out.append(Threshold(
            "[associate] depths_km", ", ".join(f"{z:.3f}" for z in depths),
            f"from {zmin:.3f} km (the datum) down to {where}, steps from {a_step:g} km "
            f"growing by {DEPTH_STEP_GROWTH:g} x the depth below the datum",
        ))
    else:
        depths = tuple(sorted(assoc.depths_km))
        out.append(Threshold("[associate] depths_km", ", ".join(f"{z:g}" for z in depths),
                             "configured"))
    fixed, why_fixed = fallback_depth_km(g, loc, datum)
    out.append(Threshold("[locate] fixed_depth_km", f"{fixed:g}", why_fixed))
    max_rms, why_rms = rms_limit(stations, m, fixed, g.centre, assoc, loc)
    out.append(Threshold("[associate] max_rms_s", f"{max_rms:.3g}", why_rms))
    sep = separable_s_stations(stations, m, fixed, merge_s, g.centre) if s_picks else set()
    out.append(Threshold(
        "stations with a separable S", f"{len(sep)} of {g.n_stations}",
        f"expected S-P (source at the centre, {fixed:g} km deep) >= [picker] "
        f"station_merge_s {merge_s:g} s" if s_picks else "[picker] s_picks is off",
    ))
    a2 = assoc.model_copy(update={
        "grid_spacing_km": a_step, "grid_margin_km": a_margin, "max_distance_km": a_max,
        "depths_km": depths, "max_rms_s": max_rms,
    })
    l2 = loc.model_copy(update={
        "grid_spacing_km": l_step, "grid_margin_km": l_margin, "max_distance_km": l_max,
        "depth_min_km": zmin, "depth_step_km": z_step, "fixed_depth_km": fixed,
    })
    return Derived(g, a2, l2, m, frozenset(sep), tuple(out))


def phase_minimum_rule(
    n_live: int, n_s: int, cfg: AssociateConfig
) -> tuple[int, int]:
    """(min_stations, min_phases) that ``n_live`` live stations, ``n_s`` of them with a
    separable S, can reach: at most ``cfg``'s, at least 3 stations (epicentre and origin
    time) and 4 phases (4 unknowns, or 3 with the depth fixed plus one redundant)."""
    return max(3, min(cfg.min_stations, n_live)), max(4, min(cfg.min_phases, n_live + n_s))
