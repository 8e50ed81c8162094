"""Scenario families: generated networks and earthquakes with truth, reproducible from a seed.

A family file (``config/families/*.toml``) describes a network (or names an existing
StationXML), the simulator's Earth model and physics for it, and its earthquakes
(explicit events, random events inside a radius, pairs of micro-events a few tens of
seconds apart). :func:`load_family` turns it into an ObsPy inventory with full
responses (:mod:`seismo.simulate.instruments`) and a :class:`Scenario`; every random
draw comes from the family's seed. :func:`write_family` writes what ``seismo evaluate``
needs: ``inventory.xml``, ``scenarios.toml``, ``catalog.json`` (the truth, Mw) and a
configuration overlay ``family.toml`` on a base configuration.

Schema (all lengths km, times s from ``reference``)::

    name, description, network, seed, reference, duration_s, quick_duration_s
    earth_model = "../earth/x.toml"      center = [lat, lon]
    [stations]  inventory = "FILE" | count, layout = "random"|"ring", aperture_km,
                elevation_m = [lo, hi], urban_fraction, sensors = [...],
                secondary_sensors = [...], primary_every (sensors on every n-th station),
                sampling_rate, nhnm_db (urban stations' noise above the NHNM)
    [physics]   keys of [simulator] (site_sigma_log10, emergent_fraction) and
                [simulator.physics] (statics_sigma_s, kappa_s, dispersion, ...)
    [random_events]  count, magnitude = [lo, hi], depth_km = [lo, hi], radius_km,
                     start_s, end_s
    [pairs]     count, separation_s = [lo, hi], magnitude, depth_km, radius_km
    [[events]]  origin_s, latitude/longitude or distance_km/azimuth_deg, depth_km,
                magnitude (Mw), label
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from obspy import Inventory, UTCDateTime
from obspy.core.inventory import Network, Site, Station

from seismo.config import read_toml
from seismo.errors import ConfigError
from seismo.geo import destination, distance_km
from seismo.inventory import load_inventory
from seismo.simulate.instruments import SENSORS, channels
from seismo.simulate.scenario import Scenario, ScenarioEvent

FAMILY_DIR = Path(__file__).resolve().parent.parent.parent / "config" / "families"
_TOP = {
    "name",
    "description",
    "network",
    "seed",
    "reference",
    "duration_s",
    "quick_duration_s",
    "earth_model",
    "center",
    "stations",
    "physics",
    "random_events",
    "pairs",
    "events",
}
_PHYSICS = {
    "site_sigma_log10",
    "emergent_fraction",
    "statics_sigma_s",
    "kappa_s",
    "stress_drop_bar",
    "urban_nhnm_excess_db",
    "coda_q0",
    "coda_eta",
    "coda_level",
    "surface_min_deg",
    "dispersion",
    "depth_phase_min_km",
}
_SIM_KEYS = {"site_sigma_log10", "emergent_fraction"}


@dataclass
class Family:
    """A generated network and its scenario (times absolute, magnitudes Mw)."""

    name: str
    description: str
    inventory: Inventory
    scenario: Scenario
    earth_model: Path
    physics: dict[str, Any]
    seed: int
    center: tuple[float, float]
    labels: list[str] = field(default_factory=list)
    span: tuple[UTCDateTime, UTCDateTime] = (UTCDateTime(0), UTCDateTime(0))

    @property
    def region(self) -> tuple[float, float, float, float]:
        """lat/lon box of the stations, padded by 0.2 degrees (the monitored region)."""
        lats = [s.latitude for n in self.inventory for s in n]
        lons = [s.longitude for n in self.inventory for s in n]
        return (min(lats) - 0.2, max(lats) + 0.2, min(lons) - 0.2, max(lons) + 0.2)


def family_path(name: str) -> Path:
    """The shipped family file of ``name`` (``config/families/NAME.toml``)."""
    return FAMILY_DIR / f"{name}.toml"


def family_names() -> list[str]:
    """Names of the shipped families."""
    return sorted(p.stem for p in FAMILY_DIR.glob("*.toml"))


def _pair(v: Any, where: str, path: Path) -> tuple[float, float]:
    if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) for x in v)):
        raise ConfigError(f"invalid family file {path}: {where} must be [low, high]")
    return float(v[0]), float(v[1])


def load_family(path: str | Path, *, quick: bool = False) -> Family:
    """Build the family of ``path`` (a file, or a shipped family's name).

    ``quick``: only the first ``quick_duration_s`` (events and span), for tests.
    Raises ConfigError naming the file and key.
    """
    p = Path(path) if str(path).endswith(".toml") else family_path(str(path))
    data = read_toml(p, "family file")
    extra = sorted(set(data) - _TOP)
    if extra:
        raise ConfigError(f"invalid family file {p}: {extra[0]}: unknown key")
    phys = dict(data.get("physics", {}))
    bad = sorted(set(phys) - _PHYSICS)
    if bad:
        raise ConfigError(f"invalid family file {p}: physics.{bad[0]}: unknown key")
    seed = int(data.get("seed", 0))
    rng = np.random.default_rng(seed)
    ref = UTCDateTime(str(data["reference"]))
    dur = float(data.get("quick_duration_s", 300.0) if quick else data["duration_s"])
    center = _pair(data["center"], "center", p)
    draft = _Draft(data, p, rng, center, ref)
    inv = draft.inventory()
    events, labels = draft.events()
    keep = [(e, lab) for e, lab in zip(events, labels, strict=True) if e.origin < ref + dur]
    keep.sort(key=lambda x: x[0].origin)
    scen = Scenario(
        str(data.get("name", p.stem)),
        ref,
        str(data.get("description", "")),
        tuple(e for e, _ in keep),
    )
    earth = (p.parent / str(data["earth_model"])).resolve()
    return Family(
        scen.name,
        scen.description,
        inv,
        scen,
        earth,
        phys,
        seed,
        center,
        [lab for _, lab in keep],
        (ref, ref + dur),
    )


@dataclass(frozen=True)
class _Draft:
    """A family file being built: its table, its path (for messages and relative paths),
    the seeded random draws, its centre (lat, lon) and reference time. The stations are
    drawn before the events: the order of the draws is part of the family."""

    data: dict[str, Any]
    path: Path
    rng: np.random.Generator
    center: tuple[float, float]
    ref: UTCDateTime

    def inventory(self) -> Inventory:
        """The stations: the file's inventory, or drawn as its ``[stations]`` say."""
        st = self.data.get("stations", {})
        if "inventory" in st:
            return load_inventory((self.path.parent / str(st["inventory"])).resolve())
        count = int(st["count"])
        aperture = float(st["aperture_km"])
        elev = _pair(st.get("elevation_m", [0.0, 0.0]), "stations.elevation_m", self.path)
        urban = float(st.get("urban_fraction", 0.0))
        sensors = list(st.get("sensors", ["broadband"]))
        secondary = list(st.get("secondary_sensors", []))
        every = int(st.get("primary_every", 1))
        for s in sensors + secondary:
            if s not in SENSORS:
                raise ConfigError(
                    f"invalid family file {self.path}: stations.sensors: {s!r} unknown")
        rate = float(st.get("sampling_rate", 100.0))
        layout = str(st.get("layout", "random"))
        nhnm = st.get("nhnm_db")
        net = str(self.data.get("network", "XF"))
        start = self.ref - 86400 * 30
        stations = []
        pts: list[tuple[float, float]] = []
        for k in range(count):
            if layout == "ring":
                az, r = 360.0 * k / count, aperture / 2.0
            else:  # uniform in the disc, at least aperture/(3 sqrt(count)) from the others
                for _ in range(200):
                    az = float(self.rng.uniform(0, 360))
                    r = aperture / 2.0 * math.sqrt(self.rng.uniform())
                    lat, lon = destination(self.center[0], self.center[1], az, r)
                    gap = aperture / (3.0 * math.sqrt(count))
                    if all(float(distance_km(lat, lon, a, b)) > gap for a, b in pts):
                        break
            lat, lon = destination(self.center[0], self.center[1], az, r)
            pts.append((lat, lon))
            el = float(self.rng.uniform(*elev))
            is_urban = bool(self.rng.uniform() < urban)
            desc = f"urban={int(is_urban)}" + (
                f" nhnm_db={nhnm}" if is_urban and nhnm is not None else ""
            )
            chans = []
            # every primary_every-th station carries ``sensors`` (locations 00, 10, ...), the
            # others ``secondary_sensors``
            kinds = sensors if k % every == 0 or not secondary else secondary
            for i, sensor in enumerate(kinds):
                loc = f"{10 * i:02d}" if len(kinds) > 1 else ""
                chans += channels(sensor, rate, lat, lon, el, loc, start)
            stations.append(
                Station(
                    f"{net[0]}{k + 1:03d}"[-4:],
                    lat,
                    lon,
                    el,
                    channels=chans,
                    site=Site(name=f"{net} site {k + 1}", description=desc),
                    start_date=start,
                    creation_date=start,
                )
            )
        return Inventory(
            [Network(net, stations=stations, start_date=start)], source="seismo.simulate.families"
        )


    def events(self) -> tuple[list[ScenarioEvent], list[str]]:
        """The listed, random and paired events, with their labels."""
        events: list[ScenarioEvent] = []
        labels: list[str] = []
        for i, e in enumerate(self.data.get("events", [])):
            where = f"events[{i}]"
            if "latitude" in e:
                lat, lon = float(e["latitude"]), float(e["longitude"])
            elif "distance_km" in e:
                lat, lon = destination(
                    self.center[0], self.center[1], float(e["azimuth_deg"]), float(e["distance_km"])
                )
            else:
                raise ConfigError(f"invalid family file {self.path}: {where}: no position")
            events.append(
                ScenarioEvent(
                    self.ref + float(e["origin_s"]), lat, lon, float(e["depth_km"]),
                    float(e["magnitude"])
                )
            )
            labels.append(str(e.get("label", f"Mw {e['magnitude']}")))
        rnd = self.data.get("random_events")
        if rnd:
            mag = _pair(rnd["magnitude"], "random_events.magnitude", self.path)
            dep = _pair(rnd["depth_km"], "random_events.depth_km", self.path)
            t0 = float(rnd.get("start_s", 30.0))
            t1 = float(rnd.get("end_s", self.data["duration_s"]))
            n = int(rnd["count"])
            times = np.sort(self.rng.uniform(t0, t1, n))
            for t in times:
                ev = _random_event(self.rng, self.center, float(rnd["radius_km"]),
                                   self.ref + float(t), mag, dep)
                events.append(ev)
                labels.append(f"random Mw {ev.magnitude}")
        pairs = self.data.get("pairs")
        if pairs:
            sep = _pair(pairs["separation_s"], "pairs.separation_s", self.path)
            mag = _pair(pairs["magnitude"], "pairs.magnitude", self.path)
            dep = _pair(pairs["depth_km"], "pairs.depth_km", self.path)
            for k in range(int(pairs["count"])):
                t = float(pairs.get("start_s", 60.0)) + k * float(pairs.get("every_s", 600.0))
                dt = float(self.rng.uniform(*sep))
                for j, tt in enumerate((t, t + dt)):
                    ev = _random_event(self.rng, self.center, float(pairs["radius_km"]),
                                       self.ref + tt, mag, dep)
                    events.append(ev)
                    m = ev.magnitude
                    labels.append(f"pair {k + 1}{'ab'[j]} Mw {m} ({dt:.0f} s apart)")
        return events, labels


def _random_event(
    rng: np.random.Generator,
    center: tuple[float, float],
    radius_km: float,
    origin: UTCDateTime,
    mag: tuple[float, float],
    depth: tuple[float, float],
) -> ScenarioEvent:
    """An event uniform in the disc of ``radius_km`` (draws: azimuth, radius, Mw, depth)."""
    lat, lon = destination(
        center[0], center[1], float(rng.uniform(0, 360)), radius_km * math.sqrt(rng.uniform())
    )
    m = round(float(rng.uniform(*mag)), 1)
    return ScenarioEvent(origin, lat, lon, round(float(rng.uniform(*depth)), 2), m)


def truth_catalog(fam: Family) -> list[dict[str, Any]]:
    """The family's truth as ``seismo evaluate --catalog`` JSON records (magnitude type Mw)."""
    return [
        {
            "time": str(e.origin),
            "latitude": round(e.latitude, 5),
            "longitude": round(e.longitude, 5),
            "depth_km": e.depth_km,
            "magnitude": e.magnitude,
            "magnitude_type": "Mw",
            "label": lab,
            "id": f"{fam.name}#{k}",
        }
        for k, (e, lab) in enumerate(zip(fam.scenario.events, fam.labels, strict=True))
    ]


def write_family(fam: Family, outdir: str | Path, base_config: str | Path) -> Path:
    """Write inventory, scenario, truth and a configuration overlay into ``outdir``.

    Returns the overlay's path: ``load_settings(path)`` gives the base configuration
    with this family's network, region, simulator scenario, seed, Earth model and physics.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    fam.inventory.write(str(out / "inventory.xml"), format="STATIONXML")
    ref = fam.scenario.reference
    lines = [
        f"[{fam.name}]",
        f"description = {json.dumps(fam.description)}",
        f'reference = "{str(ref)[:19]}"',
    ]
    for e in fam.scenario.events:
        lines += [
            f"[[{fam.name}.events]]",
            f"origin_s = {float(e.origin - ref)!r}",
            f"latitude = {e.latitude!r}",
            f"longitude = {e.longitude!r}",
            f"depth_km = {e.depth_km!r}",
            f"magnitude = {e.magnitude!r}",
        ]
    if not fam.scenario.events:
        lines.append("events = []")
    (out / "scenarios.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "catalog.json").write_text(
        json.dumps({"events": truth_catalog(fam)}, indent=1) + "\n", encoding="utf-8"
    )
    la0, la1, lo0, lo1 = fam.region
    sim = [f"{k} = {v!r}" for k, v in fam.physics.items() if k in _SIM_KEYS]
    phys = [f"{k} = {json.dumps(v)}" for k, v in fam.physics.items() if k not in _SIM_KEYS]
    overlay = [
        f'base = "{Path(base_config).resolve()}"',
        "[network]",
        'inventory = "inventory.xml"',
        f'name = "family {fam.name}"',
        f"region = [{la0:.4f}, {la1:.4f}, {lo0:.4f}, {lo1:.4f}]",
        "[simulator]",
        'scenarios = "scenarios.toml"',
        f'scenario = "{fam.name}"',
        f"seed = {fam.seed}",
        *sim,
        "[simulator.physics]",
        f'earth_model = "{fam.earth_model}"',
        *phys,
    ]
    path = out / "family.toml"
    path.write_text("\n".join(overlay) + "\n", encoding="utf-8")
    return path
