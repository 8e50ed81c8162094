"""The simulator's Earth: crustal models over a global mantle, travel times by ObsPy TauP.

The locator (:mod:`seismo.event.velocity`) uses flat-earth layered times of its own
model. The simulator must not share them, so it computes arrival times with other
code (ObsPy's TauP, Crotwell et al. 1999, SRL 70) through another model:

* an :class:`EarthModel` is a crust (constant-velocity layers, depths below the
  model's surface ``datum_m`` metres above sea level) over the mantle and core of a
  global reference model, ``ak135`` (Kennett, Engdahl & Buland 1995) or ``iasp91``
  (Kennett & Engdahl 1991), read from the ``.tvel`` files ObsPy ships;
* it is written as a TauP ``.nd`` file and built once with
  ``obspy.taup.taup_create.build_taup_model`` into a cache directory (the file name is
  a hash of the model, so a changed model is rebuilt);
* :class:`TravelTimes` gives first P and S arrivals (``p``/``P``, ``s``/``S``) and the
  depth phases ``pP``/``sP``: time and ray parameter, for a source depth in km below
  sea level and an epicentral distance in degrees (spherical Earth).

Station elevation and statics are added by the caller (:mod:`seismo.simulate.simulator`)
with the arrival's ray parameter: ``dt = (elevation - datum) * sqrt(1/v0² - p²)``,
the vertical delay through the top layer (Shearer, Introduction to Seismology, ch. 4).

Model files (TOML, ``config/earth/*.toml``)::

    name = "..."            mantle = "ak135"      # or "iasp91"
    moho_km = 29.0          datum_m = 0.0         # optional
    mantle_top = [8.0, 4.45, 3.3]                 # optional Vp, Vs, rho at the Moho
    [[layers]]  top_km = 0.0  vp = 5.92  vs = 3.42  rho = 2.70   # rho optional

Without ``layers`` the global model is used as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import logging
import math
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from seismo.config import read_toml
from seismo.errors import ConfigError, SimulationError

log = logging.getLogger(__name__)

MANTLES = ("ak135", "iasp91")
#: Mean Earth radius of the TauP models (km): ray parameters in s/rad -> s/km.
EARTH_RADIUS_KM = 6371.0
#: Phase lists of TauP for the first P and S arrivals and the depth phases.
FIRST_PHASES = {"P": ("p", "P"), "S": ("s", "S")}
DEPTH_PHASES = ("pP", "sP")
ENV_CACHE = "SEISMO_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$SEISMO_CACHE_DIR/taup``, else ``$XDG_CACHE_HOME/seismo/taup`` or ``~/.cache/...``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env) / "taup"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "seismo" / "taup"


def brocher_density(vp_kms: float) -> float:
    """Density (g/cm³) from Vp (km/s): the Nafe-Drake curve of Brocher (2005, BSSA 95, eq. 1)."""
    v = vp_kms
    return 1.6612 * v - 0.4721 * v**2 + 0.0671 * v**3 - 0.0043 * v**4 + 0.000106 * v**5


@lru_cache(maxsize=4)
def _base(mantle: str) -> Any:
    """ObsPy's velocity model of the global reference (``.tvel`` shipped with ObsPy)."""
    from obspy.taup.velocity_model import VelocityModel

    path = resources.files("obspy.taup") / "data" / f"{mantle}.tvel"
    return VelocityModel.read_tvel_file(str(path))


@dataclass(frozen=True)
class EarthModel:
    """A crust over a global mantle; depths in km below the model surface (``datum_m``)."""

    name: str
    mantle: str = "ak135"
    layers: tuple[tuple[float, float, float, float], ...] = ()  # (top km, vp, vs, rho)
    moho_km: float | None = None
    datum_m: float = 0.0
    mantle_top: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.mantle not in MANTLES:
            raise ConfigError(f"earth model {self.name!r}: mantle {self.mantle!r} not in {MANTLES}")
        if self.layers:
            tops = [lay[0] for lay in self.layers]
            if tops[0] != 0.0 or any(b <= a for a, b in itertools.pairwise(tops)):
                raise ConfigError(f"earth model {self.name!r}: layer tops must start at 0 and grow")
            if self.moho_km is None or self.moho_km <= tops[-1]:
                raise ConfigError(f"earth model {self.name!r}: moho_km must lie below the layers")
            for top, vp, vs, rho in self.layers:
                if not (0 < vs < vp and rho > 0):
                    raise ConfigError(f"earth model {self.name!r}: bad layer at {top} km")
        if not -500.0 <= self.datum_m <= 9000.0:
            raise ConfigError(f"earth model {self.name!r}: datum_m {self.datum_m} out of range")

    @property
    def datum_km(self) -> float:
        return self.datum_m / 1000.0

    def nd_text(self) -> str:
        """The model as a TauP ``.nd`` file (named discontinuities mantle/outer-core/inner-core)."""
        base = _base(self.mantle)
        rows: list[str] = []
        moho = float(base.moho_depth) if self.moho_km is None else float(self.moho_km)
        if self.layers:
            bots = [lay[0] for lay in self.layers[1:]] + [moho]
            for (top, vp, vs, rho), bot in zip(self.layers, bots, strict=True):
                rows += [
                    f"{top:.4f} {vp:.4f} {vs:.4f} {rho:.4f}",
                    f"{bot:.4f} {vp:.4f} {vs:.4f} {rho:.4f}",
                ]
        base_moho = float(base.moho_depth)
        first = True
        core = inner = False
        for lay in base.layers:
            top, bot = float(lay["top_depth"]), float(lay["bot_depth"])
            vals_top = tuple(
                float(lay[k]) for k in ("top_p_velocity", "top_s_velocity", "top_density")
            )
            vals_bot = tuple(
                float(lay[k]) for k in ("bot_p_velocity", "bot_s_velocity", "bot_density")
            )
            if not self.layers:
                if abs(top - moho) < 1e-6:
                    rows.append("mantle")
            else:
                if top < base_moho - 1e-6 or bot <= moho + 1e-9:
                    continue  # the base's crust, or mantle above our Moho
                if first:
                    rows.append("mantle")
                    if top > moho:  # our Moho above the base's: a mantle lid down to it
                        lid = self.mantle_top or vals_top
                        rows += [_row(moho, lid), _row(top, lid)]
                    elif top < moho:  # our Moho inside the base's layer: start there
                        frac = (moho - top) / max(bot - top, 1e-9)
                        vals_top = tuple(
                            a + frac * (b - a) for a, b in zip(vals_top, vals_bot, strict=True)
                        )
                        top = moho
                    first = False
            vs_top = float(lay["top_s_velocity"])
            if vs_top == 0.0 and not core:  # the fluid outer core
                rows.append("outer-core")
                core = True
            elif vs_top > 0.0 and core and not inner:
                rows.append("inner-core")
                inner = True
            rows += [_row(top, vals_top), _row(bot, vals_bot)]
        return "\n".join(rows) + "\n"

    def key(self) -> str:
        """A short hash of the model (the TauP cache file name)."""
        return hashlib.sha256(self.nd_text().encode()).hexdigest()[:16]

    def at(self, depth_km: float) -> tuple[float, float, float]:
        """(Vp km/s, Vs km/s, rho g/cm³) at ``depth_km`` below the model surface."""
        z = max(float(depth_km), 0.0)
        if self.layers and self.moho_km is not None and z < self.moho_km:
            lay = [lay for lay in self.layers if lay[0] <= z][-1]
            return lay[1], lay[2], lay[3]
        base = _base(self.mantle)
        if self.layers and z < float(base.moho_depth):
            z = float(base.moho_depth)  # the mantle lid down to the base model's Moho
            if self.mantle_top is not None:
                return self.mantle_top
        return (
            float(base.evaluate_below(z, "p")[0]),
            float(base.evaluate_below(z, "s")[0]),
            float(base.evaluate_below(z, "r")[0]),
        )


def _row(depth: float, vals: Any) -> str:
    vp, vs, rho = (float(v) for v in vals)
    return f"{depth:.4f} {vp:.4f} {vs:.4f} {rho:.4f}"


def load_earth_model(path: str | Path) -> EarthModel:
    """Read an earth-model TOML (format in the module docstring); ConfigError names the key."""
    p = Path(path)
    data = read_toml(p, "earth model")
    allowed = {"name", "mantle", "moho_km", "datum_m", "mantle_top", "layers"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise ConfigError(f"invalid earth model {p}: {extra[0]}: unknown key")
    layers = []
    for i, lay in enumerate(data.get("layers", [])):
        if not isinstance(lay, dict) or not {"top_km", "vp", "vs"} <= set(lay):
            raise ConfigError(f"invalid earth model {p}: layers[{i}] needs top_km, vp, vs")
        bad = sorted(set(lay) - {"top_km", "vp", "vs", "rho"})
        if bad:
            raise ConfigError(f"invalid earth model {p}: layers[{i}].{bad[0]}: unknown key")
        vp = float(lay["vp"])
        layers.append(
            (float(lay["top_km"]), vp, float(lay["vs"]), float(lay.get("rho", brocher_density(vp))))
        )
    top = data.get("mantle_top")
    try:
        return EarthModel(
            name=str(data.get("name", p.stem)),
            mantle=str(data.get("mantle", "ak135")),
            layers=tuple(layers),
            moho_km=None if data.get("moho_km") is None else float(data["moho_km"]),
            datum_m=float(data.get("datum_m", 0.0)),
            mantle_top=None if top is None else (float(top[0]), float(top[1]), float(top[2])),
        )
    except ConfigError as exc:
        raise ConfigError(f"invalid earth model {p}: {exc}") from None


def earth_from_layers(
    name: str, tops_km: tuple[float, ...], vp: tuple[float, ...], vs: tuple[float, ...]
) -> EarthModel:
    """A locator-style layered model (last layer = upper mantle) over ak135."""
    crust = tuple(
        (t, p, s, brocher_density(p))
        for t, p, s in zip(tops_km[:-1], vp[:-1], vs[:-1], strict=True)
    )
    top = (vp[-1], vs[-1], 3.3)  # upper-mantle density, ak135 (3.32 g/cm³ at 35 km) [V]
    return EarthModel(name, "ak135", crust, tops_km[-1], 0.0, top)


@dataclass(frozen=True)
class Arrival:
    """A TauP arrival: time after origin (s) and ray parameter at the surface (s/km)."""

    time_s: float
    p_s_per_km: float


@dataclass
class TravelTimes:
    """TauP travel times through ``model`` (built once into ``cache_dir``)."""

    model: EarthModel
    cache_dir: Path | None = None
    _taup: Any = field(default=None, repr=False)
    _memo: dict[tuple[str, float, float], Arrival | None] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def taup(self) -> Any:
        """The ``TauPyModel`` (built on first use)."""
        with self._lock:
            if self._taup is None:
                self._taup = _build(self.model, self.cache_dir or default_cache_dir())
            return self._taup

    def arrival(self, phases: tuple[str, ...], depth_km: float, dist_deg: float) -> Arrival | None:
        """The earliest of ``phases`` for a source ``depth_km`` below sea level, or None."""
        key = ("|".join(phases), round(float(depth_km), 4), round(float(dist_deg), 6))
        if key in self._memo:
            return self._memo[key]
        z = float(depth_km) + self.model.datum_km
        if z < 0:
            raise SimulationError(
                f"source depth {depth_km} km is above the surface of earth model "
                f"{self.model.name!r}"
            )
        arrs = self.taup().get_travel_times(
            source_depth_in_km=z,
            distance_in_degree=max(float(dist_deg), 1e-5),
            phase_list=list(phases),
        )
        out = None
        if arrs:
            a = min(arrs, key=lambda x: x.time)
            out = Arrival(float(a.time), float(a.ray_param) / EARTH_RADIUS_KM)
        self._memo[key] = out
        return out

    def first(self, family: str, depth_km: float, dist_deg: float) -> Arrival:
        """First P or S arrival (``family`` "P"/"S"); SimulationError if TauP finds none."""
        a = self.arrival(FIRST_PHASES[family], depth_km, dist_deg)
        if a is None:
            raise SimulationError(
                f"no {family} arrival at {dist_deg:.3f} deg from {depth_km} km in "
                f"{self.model.name!r}"
            )
        return a

    def elevation_delay_s(self, family: str, elevation_m: float, p_s_per_km: float) -> float:
        """Delay (s) of a station ``elevation_m`` above sea level relative to the model surface."""
        vp, vs, _ = self.model.at(0.0)
        v = vp if family == "P" else vs
        eta = math.sqrt(max(1.0 / v**2 - p_s_per_km**2, 0.0))
        return (elevation_m / 1000.0 - self.model.datum_km) * eta


def _build(model: EarthModel, cache_dir: Path) -> Any:
    """Build (or load from the cache) the TauP model of ``model``."""
    from obspy.taup import TauPyModel
    from obspy.taup.taup_create import build_taup_model

    cache_dir.mkdir(parents=True, exist_ok=True)
    key = model.key()
    npz = cache_dir / f"{key}.npz"
    if not npz.exists():
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            nd = Path(tmp) / f"{key}.nd"
            nd.write_text(model.nd_text(), encoding="utf-8")
            with contextlib.redirect_stdout(io.StringIO()):  # build_taup_model prints progress
                build_taup_model(str(nd), output_folder=tmp)
            shutil.move(str(Path(tmp) / f"{key}.npz"), str(npz))  # atomic within one filesystem
            (cache_dir / f"{key}.nd").write_text(model.nd_text(), encoding="utf-8")
        log.info("TauP model %r built into %s", model.name, npz)
    return TauPyModel(model=str(npz))
