"""1-D layered velocity model and first-arrival travel times.

The model (``config/velocity_model.toml``) is a stack of constant-velocity
layers over a half-space. Travel times are those of a flat layered earth
(Shearer, *Introduction to Seismology*, 2nd ed., ch. 4; the same ray model
as HYPO71, Lee & Lahr 1975):

* the direct (up-going) ray from the source depth to the surface, found by
  solving X(p) = x for the ray parameter p by bisection, with
  X(p) = sum h_i p v_i / sqrt(1 - p² v_i²) and T(p) = sum h_i / (v_i sqrt(1 - p² v_i²));
* the head wave along the top of every faster layer below the source,
  T = x / v_n + sum_legs h_i sqrt(1/v_i² - 1/v_n²), valid beyond its critical
  distance x_c = sum_legs h_i tan(theta_i).

The first arrival ("P", "S") is the minimum. Explicit phases (Shearer ch. 4;
IASPEI standard phase names, Storchak et al. 2003, SRL 74 [3P]):

* "Pn", "Sn": the head wave along the top of the model's half-space (the last
  layer, taken as the upper mantle; the shipped model's Moho at 30 km);
* "Pg", "Sg": the fastest arrival that stays in the layers above it (the direct
  ray and the head waves along intra-crustal interfaces). At 100-300 km the Sg
  (or Lg) onset picked on a horizontal comes up to ~12 s after Sn, beyond any
  association tolerance around the first arrival: the associator takes for each
  pick the phase that fits (docs/location.md).

A source in the half-space has no "g" phase (and its "n" is the direct ray); a
phase that does not exist is tabulated as :data:`NO_ARRIVAL_S`. Times are
tabulated once per model and phase on a (depth, distance) grid and bilinearly
interpolated in the *reduced* form T - R / v0 (R the straight source-receiver
distance, v0 the top layer's velocity of the phase): the direct ray of a source in
the top layer is then exact at any distance (a bilinear cone near its apex is off by
up to ~0.2 x step / v0: 40 ms for S on the 1 km grid at 1 km), and what is left to
interpolate is smooth.

Datum. Depths are km below sea level, as in every origin. The model's own surface
stands ``datum_km`` above sea level (:meth:`VelocityModel.with_datum`; the network
derives it from its highest station, :mod:`seismo.event.geometry`): the top layer
extends up to it, so sources between sea level and the highest station exist, and
each station's elevation enters its travel times through the ray's vertical slowness
in the top layer (:meth:`VelocityModel.station_time`; a model top at the highest
station instead of sea level, as HYPOINVERSE allows, Klein 2002, USGS OFR 02-171
[3P]): with the datum at the highest station, the terms span only the network's relief.

Flat-earth times are good for local and regional distances; at 700 km the
Pn time differs from iasp91 by about 1-2 s, well inside what a city network
can resolve for such an event (documented in docs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.config import read_toml
from seismo.errors import ConfigError

#: Phase names: first arrivals and the explicit crustal (g) / mantle-head-wave (n) ones.
PHASES = ("P", "S", "Pg", "Pn", "Sg", "Sn")
#: Travel time (s) tabulated where a phase does not exist (finite, so that the bilinear
#: interpolation stays finite; any residual against it is rejected).
NO_ARRIVAL_S = 1.0e6
#: Deepest source the travel times reach (km): below the tables, rows are traced on demand.
DEEP_MAX_KM = 400.0
#: Mean Earth radius (km) of the Earth-flattening transform (the radius of iasp91 and
#: ak135, Kennett & Engdahl 1991; Kennett et al. 1995).
EARTH_RADIUS_KM = 6371.0


def phase_family(phase: str) -> str:
    """"P" or "S" of a phase name (``"Sn"`` -> ``"S"``)."""
    return phase[:1]


@dataclass(frozen=True)
class VelocityModel:
    """Layer tops (km) and P velocities (km/s); S from ``vp_vs``, or per layer from
    ``layer_vp_vs`` (one ratio per layer) when the cited model gives them."""

    name: str
    tops_km: tuple[float, ...]
    vp: tuple[float, ...]
    vp_vs: float = 1.73
    max_distance_km: float = 1500.0
    max_depth_km: float = 80.0
    layer_vp_vs: tuple[float, ...] | None = None
    datum_km: float = 0.0  # the model surface's height above sea level (km)
    #: Earth radius (km) of the Earth-flattening transform (module docstring); None: the
    #: layers are flat (exact layered-earth times, as HYPO71)
    earth_radius_km: float | None = None
    _tables: dict[str, TravelTimeTable] = field(default_factory=dict, compare=False, repr=False)
    # rows (one per km of source depth) below the tables, built when a deeper source is asked
    _deep: dict[tuple[str, int], NDArray] = field(
        default_factory=dict, compare=False, repr=False, init=False
    )

    def __post_init__(self) -> None:
        if len(self.tops_km) != len(self.vp) or not self.vp:
            raise ConfigError(f"velocity model {self.name!r}: tops and velocities differ in length")
        if self.tops_km[0] != 0.0:
            raise ConfigError(f"velocity model {self.name!r}: first layer top must be 0 km")
        if any(b <= a for a, b in zip(self.tops_km, self.tops_km[1:], strict=False)):
            raise ConfigError(f"velocity model {self.name!r}: layer tops must increase")
        if any(v <= 0 for v in self.vp) or self.vp_vs <= 1.0:
            raise ConfigError(f"velocity model {self.name!r}: velocities must be > 0, vp_vs > 1")
        if not -11.0 <= self.datum_km <= 9.0:
            raise ConfigError(
                f"velocity model {self.name!r}: datum {self.datum_km} km must be in [-11, 9]"
            )
        if self.layer_vp_vs is not None and (
            len(self.layer_vp_vs) != len(self.vp) or any(r <= 1.0 for r in self.layer_vp_vs)
        ):
            raise ConfigError(
                f"velocity model {self.name!r}: one vp_vs > 1 per layer ({self.layer_vp_vs})"
            )
        if self.earth_radius_km is not None and not (
            1000.0 <= self.earth_radius_km <= 10000.0
        ):
            raise ConfigError(
                f"velocity model {self.name!r}: earth_radius_km ({self.earth_radius_km}) must "
                "lie within 1000-10000 km"
            )

    def with_datum(self, datum_km: float) -> VelocityModel:
        """This model with its surface ``datum_km`` above sea level (the top layer extends
        up to it; interfaces stay at their depths below sea level). New tables."""
        if datum_km == self.datum_km:
            return self
        return dataclasses.replace(self, datum_km=float(datum_km), _tables={})

    def table_tops(self) -> NDArray:
        """Layer tops (km) below the model's surface (the datum): the first at 0, the
        others ``datum_km`` deeper than below sea level."""
        tops = np.asarray(self.tops_km, dtype=float) + self.datum_km
        tops[0] = 0.0
        return tops

    @property
    def min_depth_km(self) -> float:
        """The shallowest source depth (km below sea level): the model's surface."""
        return -self.datum_km

    def ratios(self) -> NDArray:
        """Vp/Vs of every layer."""
        if self.layer_vp_vs is not None:
            return np.asarray(self.layer_vp_vs, dtype=float)
        return np.full(len(self.vp), self.vp_vs)

    def velocities(self, phase: str) -> NDArray:
        if phase not in PHASES:
            raise ValueError(f"phase ({phase!r}) must be one of {', '.join(PHASES)}")
        v = np.asarray(self.vp, dtype=float)
        return v if phase.startswith("P") else v / self.ratios()

    def velocity_at(self, depth_km: float, phase: str = "P") -> float:
        """Velocity (km/s) at ``depth_km`` below sea level (above it: the top layer's)."""
        i = int(np.searchsorted(self.tops_km, depth_km, side="right") - 1)
        return float(self.velocities(phase)[max(i, 0)])

    def table(self, phase: str) -> TravelTimeTable:
        """The (cached) travel-time table of ``phase``; the tables of its family ("P",
        "Pg", "Pn" or "S", "Sg", "Sn") are built together."""
        if phase not in self._tables:
            if phase not in PHASES:
                raise ValueError(f"phase ({phase!r}) must be one of {', '.join(PHASES)}")
            family = [p for p in PHASES if phase_family(p) == phase_family(phase)]
            for t in TravelTimeTable.build_family(self, family):
                self._tables[t.phase] = t
        return self._tables[phase]

    def build_tables(self) -> None:
        """Build every phase's table now (before worker processes share the model)."""
        for family in ("P", "S"):
            self.table(family)

    def tables(self) -> dict[str, TravelTimeTable]:
        """Every phase's table (built if needed), by phase."""
        self.build_tables()
        return dict(self._tables)

    def use_tables(self, tables: Mapping[str, TravelTimeTable]) -> None:
        """Take tables built earlier for this model (e.g. by another process).

        Raises:
            ValueError: a phase is missing or a table's grid is not this model's.
        """
        dists, depths = _grid_axes(self)
        for phase in PHASES:
            t = tables.get(phase)
            if t is None:
                raise ValueError(f"no {phase} table for velocity model {self.name!r}")
            if not (np.array_equal(t.distances_km, dists) and np.array_equal(t.depths_km, depths)
                    and t.times_s.shape == (depths.size, dists.size)):
                raise ValueError(f"{phase} table does not fit velocity model {self.name!r}")
        self._tables.update({
            p: dataclasses.replace(tables[p], reduction_kms=float(self.velocities(p)[0]))
            for p in PHASES
        })

    def fingerprint(self) -> str:
        """A digest of everything the tables depend on: the model and this module's code."""
        h = hashlib.sha256()
        fields = [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if f.compare]
        h.update(repr((fields, _TABLE_STEPS_KM)).encode())
        h.update(Path(__file__).read_bytes())
        return h.hexdigest()[:24]

    def station_time(
        self, phase: str, distance_km: ArrayLike, depth_km: ArrayLike, elevation_m: ArrayLike
    ) -> NDArray:
        """Time (s) of ``phase`` from ``depth_km`` (below sea level) to a station at
        ``elevation_m`` above sea level, ``distance_km`` away: the time to the datum plus the
        station's elevation term (e - datum) x eta, eta = sqrt(1/v0² - p²) the vertical
        slowness of the ray in the top layer (p the ray parameter at that distance). The
        first-order exact static term (a station below the datum shortens the ray by its
        depth along the ray's vertical slowness); HYPO71's vertical-ray term (eta = 1/v0,
        Lee & Lahr 1975) over-corrects an oblique ray by relief x (1 - cos i) / v0: 0.04 s
        for 0.6 km at 20 km from an 8 km deep source. The same term as the simulator's
        (:meth:`seismo.simulate.earth.TravelTimes.elevation_delay_s`), which is physics,
        not an assumption of the locator."""
        t, p = self.time_slowness(phase, distance_km, depth_km)
        v0 = float(self.velocities(phase)[0])
        eta = np.sqrt(np.maximum(1.0 / v0**2 - p**2, 0.0))
        return t + (np.asarray(elevation_m, dtype=float) / 1000.0 - self.datum_km) * eta

    def time_slowness(
        self, phase: str, distance_km: ArrayLike, depth_km: ArrayLike
    ) -> tuple[NDArray, NDArray]:
        """Time (s) of ``phase`` from ``depth_km`` (below sea level) to the datum,
        ``distance_km`` away, and its ray parameter (horizontal slowness, s/km): the
        tables' bilinear time and slope; a source below the tables (a depth phase's
        intermediate depth) from the deep rows of :meth:`travel_time`, the slope by a
        central difference over +-1 km (the tables would clamp it to their last row)."""
        z = np.asarray(depth_km, dtype=float) + self.datum_km
        table = self.table(phase)
        t, p = table.time_slowness(distance_km, z)
        if np.any(z > table.depths_km[-1]):
            x, zz = np.broadcast_arrays(np.asarray(distance_km, dtype=float),
                                        np.asarray(depth_km, dtype=float))
            t, p = np.broadcast_to(t, x.shape).copy(), np.broadcast_to(p, x.shape).copy()
            deep = zz + self.datum_km > table.depths_km[-1]
            xd, zd = x[deep], zz[deep]
            lo = np.maximum(xd - 1.0, 0.0)
            t[deep] = self.travel_time(phase, xd, zd)
            p[deep] = (self.travel_time(phase, xd + 1.0, zd)
                       - self.travel_time(phase, lo, zd)) / (xd + 1.0 - lo)
        return t, p

    def travel_time(self, phase: str, distance_km: ArrayLike, depth_km: ArrayLike) -> NDArray:
        """First-arrival time (s) of ``phase`` at epicentral ``distance_km`` from ``depth_km``
        (below sea level) to the model's surface (the datum; add a station's elevation term).

        Sources deeper than the tables (``max_depth_km``, down to :data:`DEEP_MAX_KM`: an
        intermediate-depth event recognised by its depth phases) are traced row by row
        (1 km of depth) when first asked, and interpolated the same way.
        """
        table = self.table(phase)
        # depths below sea level -> below the model's surface (the datum)
        z = np.asarray(depth_km, dtype=float) + self.datum_km
        if not np.any(z > table.depths_km[-1]):
            return table.time(distance_km, z)
        x = np.asarray(distance_km, dtype=float)
        x, z = np.broadcast_arrays(x, z)
        out = np.asarray(table.time(x, z), dtype=float).copy()
        deep = z > table.depths_km[-1]
        zd = np.clip(z[deep], 0.0, DEEP_MAX_KM)
        xd = np.clip(x[deep], 0.0, table.distances_km[-1])
        iz = np.floor(zd).astype(int)
        tz = zd - iz
        dx = float(table.distances_km[1] - table.distances_km[0])
        fx = xd / dx
        ix = np.minimum(fx.astype(int), len(table.distances_km) - 2)
        tx = fx - ix
        res = np.empty(zd.shape)
        for k in np.unique(iz):
            m = iz == k
            r0, r1 = self._deep_row(phase, int(k)), self._deep_row(phase, int(k) + 1)
            a = r0[ix[m]] * (1 - tx[m]) + r0[ix[m] + 1] * tx[m]
            b = r1[ix[m]] * (1 - tx[m]) + r1[ix[m] + 1] * tx[m]
            res[m] = a * (1 - tz[m]) + b * tz[m]
        out[deep] = res
        return out

    def _deep_row(self, phase: str, depth_km: int) -> NDArray:
        """Times of ``phase`` on the tables' distance axis from a source ``depth_km`` deep."""
        key = (phase, depth_km)
        row = self._deep.get(key)
        if row is None:
            dists, _ = _grid_axes(self)
            row = first_arrival(self, phase, dists, float(depth_km))
            self._deep[key] = row
        return row


def load_velocity_model(path: str | Path) -> VelocityModel:
    """Read a model file: ``name``, ``vp_vs`` and ``[[layers]]`` with ``top_km`` and ``vp``
    (and optionally the layer's own ``vp_vs``, else the model's)."""
    p = Path(path)
    data = read_toml(p, "velocity model")
    allowed = {"name", "vp_vs", "layers", "max_distance_km", "max_depth_km", "spherical"}
    extra = set(data) - allowed
    if extra:
        raise ConfigError(f"invalid velocity model {p}: unknown key(s) {sorted(extra)}")
    layers = data.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ConfigError(f"invalid velocity model {p}: 'layers' must be a non-empty list")
    spherical = data.get("spherical", True)
    if not isinstance(spherical, bool):
        raise ConfigError(f"invalid velocity model {p}: 'spherical' must be true or false")
    tops, vps, ratios = [], [], []
    default_ratio = data.get("vp_vs", 1.73)
    for i, layer in enumerate(layers):
        if (
            not isinstance(layer, dict)
            or not {"top_km", "vp"} <= set(layer) <= {"top_km", "vp", "vp_vs"}
        ):
            raise ConfigError(
                f"invalid velocity model {p}: layers[{i}] needs top_km and vp (and at most vp_vs)"
            )
        try:
            tops.append(float(layer["top_km"]))
            vps.append(float(layer["vp"]))
            ratios.append(float(layer.get("vp_vs", default_ratio)))
        except (TypeError, ValueError):
            raise ConfigError(
                f"invalid velocity model {p}: layers[{i}] values must be numbers"
            ) from None
    try:
        return VelocityModel(
            name=str(data.get("name", p.stem)),
            tops_km=tuple(tops),
            vp=tuple(vps),
            vp_vs=float(data.get("vp_vs", 1.73)),
            max_distance_km=float(data.get("max_distance_km", 1500.0)),
            max_depth_km=float(data.get("max_depth_km", 80.0)),
            layer_vp_vs=tuple(ratios) if any("vp_vs" in x for x in layers) else None,
            earth_radius_km=EARTH_RADIUS_KM if spherical else None,
        )
    except ConfigError as exc:
        raise ConfigError(f"invalid velocity model {p}: {exc}") from None


#: Table grid steps (km): distance, depth.
_TABLE_STEPS_KM = (1.0, 1.0)


def _grid_axes(model: VelocityModel) -> tuple[NDArray, NDArray]:
    """Distances and depths (km) of the travel-time tables of ``model``."""
    dx, dz = _TABLE_STEPS_KM
    return (np.arange(0.0, model.max_distance_km + dx, dx),
            np.arange(0.0, model.max_depth_km + dz, dz))


def _legs(tops: NDArray, depth: float) -> tuple[NDArray, NDArray]:
    """Thickness of each layer between the surface and ``depth`` (km), and layer indices."""
    bottoms = np.append(tops[1:], np.inf)
    thick = np.clip(np.minimum(bottoms, depth) - tops, 0.0, None)
    idx = np.nonzero(thick > 0)[0]
    return thick[idx], idx


def _direct_ray(v: NDArray, tops: NDArray, x: NDArray, depth_km: float) -> NDArray:
    """Times (s) of the direct, up-going ray from ``depth_km`` to distances ``x`` (km)."""
    h, idx = _legs(tops, depth_km)
    if h.size == 0:  # source at the surface: straight line in the top layer
        return x / v[0]
    vl = v[idx]
    pmax = 1.0 / vl.max()
    lo = np.zeros_like(x)
    hi = np.full_like(x, pmax * (1 - 1e-12))
    for _ in range(60):  # bisection on X(p) = x; X is monotonic in p
        pm = 0.5 * (lo + hi)
        s = pm[:, None] * vl[None, :]
        xp = np.sum(h[None, :] * s / np.sqrt(1 - s * s), axis=1)
        too_far = xp > x
        hi = np.where(too_far, pm, hi)
        lo = np.where(too_far, lo, pm)
    s = (0.5 * (lo + hi))[:, None] * vl[None, :]
    direct = np.sum(h[None, :] / (vl[None, :] * np.sqrt(1 - s * s)), axis=1)
    # residual horizontal misfit (large x, ray grazing): add it at the fastest speed
    xp = np.sum(h[None, :] * s / np.sqrt(1 - s * s), axis=1)
    return direct + np.abs(x - xp) / vl.max()


@dataclass(frozen=True)
class RayLayers:
    """The layers the rays are traced in: the model's own (flat earth) or its
    Earth-flattened sublayers (module docstring), with the index of the first mantle
    (half-space) layer, ``moho`` (None for a one-layer model)."""

    tops_km: NDArray  # flattened depths when the model is spherical
    vp: NDArray
    ratios: NDArray
    moho: int | None
    earth_radius_km: float | None = None

    def velocities(self, phase: str) -> NDArray:
        return self.vp if phase.startswith("P") else self.vp / self.ratios

    def depth(self, depth_km: float) -> float:
        """The (flattened) depth of a source ``depth_km`` below the surface."""
        r = self.earth_radius_km
        if r is None:
            return float(depth_km)
        return float(r * np.log(r / (r - depth_km)))


#: Sublayer thickness (km) of the Earth-flattening transform, and how far below the
#: deepest tabulated source the mantle is sublayered (diving rays to 1500 km bottom
#: ~45 km below the Moho in a sphere: (R - z_moho)(1 - cos(delta / 2))).
_EFT_STEP_KM = 5.0
_EFT_BELOW_KM = 100.0


def ray_layers(model: VelocityModel, depth_km: float = 0.0) -> RayLayers:
    """The layers of ``model`` the rays from a source ``depth_km`` deep are traced in
    (:func:`_ray_layers`; the sublayers reach ``_EFT_BELOW_KM`` below the deeper of the
    source and the tables, in steps of 50 km so that they are shared)."""
    deepest = max(model.max_depth_km, min(float(depth_km), DEEP_MAX_KM)) + _EFT_BELOW_KM
    return _ray_layers(model, float(np.ceil(deepest / 50.0) * 50.0))


@lru_cache(maxsize=32)
def _ray_layers(model: VelocityModel, bottom_km: float) -> RayLayers:
    """The layers of ``model`` the rays are traced in.

    Spherical model (``earth_radius_km``): the Earth-flattening transform (Müller 1977,
    J. Geophys. 42; Chapman 1973, GJRAS 35; Shearer, *Introduction to Seismology*,
    ch. 4.5): a depth z maps to z_f = R ln(R / (R - z)) and a velocity v(z) to
    v R / (R - z), after which flat-earth rays give the travel times of the sphere
    exactly. The transformed velocity grows with depth within every layer, so each
    layer is cut into sublayers of at most ``_EFT_STEP_KM``, each with the transformed
    velocity at its mid-depth; the half-space is cut down to ``_EFT_BELOW_KM`` below
    the deepest source, so that the mantle's "head wave" becomes the diving wave of a
    sphere (down to ``bottom_km``).
    """
    tops = model.table_tops()  # below the model's surface (the datum)
    vp = np.asarray(model.vp, dtype=float)
    ratios = model.ratios()
    moho = len(tops) - 1 if len(tops) > 1 else None
    r = model.earth_radius_km
    if r is None:
        return RayLayers(tops, vp, ratios, moho)
    bottoms = np.append(tops[1:], max(bottom_km, tops[-1] + _EFT_STEP_KM))
    ft: list[float] = []
    fv: list[float] = []
    fr: list[float] = []
    f_moho: int | None = None
    for i, (top, bot) in enumerate(zip(tops, bottoms, strict=True)):
        if i == moho:
            f_moho = len(ft)
        n = max(1, int(np.ceil((bot - top) / _EFT_STEP_KM)))
        edges = np.linspace(top, bot, n + 1)
        for a, b in itertools.pairwise(edges):
            mid = 0.5 * (a + b)
            ft.append(r * np.log(r / (r - a)))
            fv.append(vp[i] * r / (r - mid))
            fr.append(ratios[i])
    return RayLayers(np.array(ft), np.array(fv), np.array(fr), f_moho, r)


def first_arrival(
    model: VelocityModel,
    phase: str,
    x_km: NDArray,
    depth_km: float,
    direct: NDArray | None = None,
) -> NDArray:
    """Exact times (s) of ``phase`` at distances ``x_km`` for one source ``depth_km``
    below the model's surface (the datum: below sea level when ``datum_km`` is 0).

    "P"/"S": first arrival; "Pg"/"Sg", "Pn"/"Sn": module docstring. ``direct``: the
    direct-ray times of the same velocities, distances and depth when already known
    (P, Pg and Pn share them; so do S, Sg and Sn). Traced in :func:`ray_layers`.
    """
    branch = phase[1:]  # "", "g" or "n"
    lay = ray_layers(model, depth_km)
    v = lay.velocities(phase)
    tops = lay.tops_km
    z = lay.depth(depth_km)
    x = np.asarray(x_km, dtype=float)
    if direct is None:
        direct = _direct_ray(v, tops, x, z)
    moho = lay.moho
    in_mantle = moho is not None and z >= tops[moho]
    if branch == "n" and not in_mantle:
        best = np.full_like(x, NO_ARRIVAL_S)
    elif branch == "g" and in_mantle:
        return np.full_like(x, NO_ARRIVAL_S)
    else:
        best = direct
    # head waves along the top of every layer below the source faster than all above
    bottoms = np.append(tops[1:], np.inf)
    for n in range(1, len(tops)):
        mantle = moho is not None and n >= moho
        if (branch == "n" and not mantle) or (branch == "g" and mantle):
            continue
        if tops[n] < z:
            continue
        vn = v[n]
        above = v[:n]
        if np.any(above >= vn):
            continue
        up, iu = _legs(tops, tops[n])
        down_thick = np.clip(np.minimum(bottoms, tops[n]) - np.maximum(tops, z), 0, None)
        idn = np.nonzero(down_thick > 0)[0]
        legs_h = np.concatenate([up, down_thick[idn]])
        legs_v = np.concatenate([v[iu], v[idn]])
        slow = np.sqrt(1.0 / legs_v**2 - 1.0 / vn**2)
        intercept = float(np.sum(legs_h * slow))
        xc = float(np.sum(legs_h * (legs_v / vn) / np.sqrt(1 - (legs_v / vn) ** 2)))
        head = np.where(x >= xc, x / vn + intercept, np.inf)
        best = np.minimum(best, head)
    return np.minimum(best, NO_ARRIVAL_S)


@dataclass(frozen=True)
class TravelTimeTable:
    """First-arrival times on a regular (depth, distance) grid, bilinearly interpolated
    in the reduced form ``T - R / reduction_kms`` (module docstring; 0: not reduced).
    Depths are below the model's surface."""

    phase: str
    depths_km: NDArray
    distances_km: NDArray
    times_s: NDArray  # shape (n_depths, n_distances)
    reduction_kms: float = 0.0

    @classmethod
    def build(cls, model: VelocityModel, phase: str) -> TravelTimeTable:
        return cls.build_family(model, [phase])[0]

    @classmethod
    def build_family(cls, model: VelocityModel, phases: list[str]) -> list[TravelTimeTable]:
        """Tables of ``phases`` of one family ("P", "Pg", "Pn" or the S ones): the direct
        ray, the expensive part, is traced once per depth for all of them."""
        if len({phase_family(p) for p in phases}) != 1:
            raise ValueError(f"phases {phases} are not of one family")
        dists, depths = _grid_axes(model)
        lay = ray_layers(model)  # the tables' sources are all above its bottom
        v = lay.velocities(phases[0])
        rows: list[list[NDArray]] = [[] for _ in phases]
        for z in depths:
            direct = _direct_ray(v, lay.tops_km, dists, lay.depth(float(z)))
            for k, ph in enumerate(phases):
                rows[k].append(first_arrival(model, ph, dists, float(z), direct=direct))
        return [cls(ph, depths, dists, np.vstack(r), float(v[0]))
                for ph, r in zip(phases, rows, strict=True)]

    @cached_property
    def _steps(self) -> tuple[float, float]:
        return float(self.depths_km[1] - self.depths_km[0]), float(
            self.distances_km[1] - self.distances_km[0]
        )

    @cached_property
    def _reduced(self) -> NDArray:
        """``times_s`` minus the straight-ray time at ``reduction_kms`` (module docstring)."""
        if self.reduction_kms <= 0:
            return self.times_s
        r = np.hypot(self.depths_km[:, None], self.distances_km[None, :])
        return self.times_s - r / self.reduction_kms

    def time(self, distance_km: ArrayLike, depth_km: ArrayLike) -> NDArray:
        """Travel time (s); distances and depths (below the model's surface) beyond the
        grid are clamped to its edge."""
        return self.time_slowness(distance_km, depth_km)[0]

    def time_slowness(
        self, distance_km: ArrayLike, depth_km: ArrayLike
    ) -> tuple[NDArray, NDArray]:
        """Travel time (s) and its derivative with distance, the horizontal slowness
        (ray parameter, s/km), of the same bilinear interpolation."""
        dz, dx = self._steps
        x = np.clip(np.asarray(distance_km, dtype=float), 0.0, self.distances_km[-1])
        z = np.clip(np.asarray(depth_km, dtype=float), 0.0, self.depths_km[-1])
        fx, fz = x / dx, z / dz
        ix = np.minimum(fx.astype(int), len(self.distances_km) - 2)
        iz = np.minimum(fz.astype(int), len(self.depths_km) - 2)
        tx, tz = fx - ix, fz - iz
        t = self._reduced
        top = t[iz, ix] * (1 - tx) + t[iz, ix + 1] * tx
        bottom = t[iz + 1, ix] * (1 - tx) + t[iz + 1, ix + 1] * tx
        out = top * (1 - tz) + bottom * tz
        slope = ((t[iz, ix + 1] - t[iz, ix]) * (1 - tz)
                 + (t[iz + 1, ix + 1] - t[iz + 1, ix]) * tz) / dx
        if self.reduction_kms > 0:
            r = np.hypot(x, z)
            out = out + r / self.reduction_kms
            slope = slope + np.divide(x, r * self.reduction_kms, out=np.zeros_like(r), where=r > 0)
        return out, slope
