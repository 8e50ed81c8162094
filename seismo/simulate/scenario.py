"""Scenarios of the simulated network: earthquakes and station faults.

A scenario catalogue is a TOML file (``config/scenarios.toml``). Each table is
one scenario; times in the file are offsets in seconds from the scenario's
``reference`` time, and are turned into absolute UTC times on loading.
:meth:`Scenario.rebased` moves a whole scenario to another reference (drills
and the live SeedLink server play scenarios "now").

Reading is strict: an unknown key raises :class:`~seismo.errors.ConfigError`
naming the file and the dotted key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from obspy import UTCDateTime

from seismo.config import read_toml
from seismo.errors import ConfigError

FaultKind = Literal["gap", "dead", "spikes", "clip", "late", "rate", "noisy"]
FAULT_KINDS: tuple[str, ...] = ("gap", "dead", "spikes", "clip", "late", "rate", "noisy")

#: Parameters of each fault kind: name -> default (None: required).
FAULT_PARAMS: dict[str, dict[str, float | None]] = {
    "gap": {},
    "dead": {"value": 0.0},  # constant output (counts)
    "spikes": {"rate_per_min": 1.0, "amplitude": 100000.0},  # spikes/min, counts
    "clip": {"gain": 1.0e6},  # gain factor applied before the digitizer saturates
    "late": {"delay_s": 120.0},  # data available this long after it was recorded
    "rate": {"sampling_rate": 50.0},  # Hz actually produced (differs from StationXML)
    "noisy": {"db": 20.0},  # noise level raised by this many dB
}

_SCENARIO_KEYS = {"description", "reference", "events", "faults"}
_EVENT_KEYS = {"origin_s", "latitude", "longitude", "depth_km", "magnitude", "stress_drop_bar"}
_FAULT_COMMON = {"kind", "station", "channels", "start_s", "duration_s"}


@dataclass(frozen=True)
class ScenarioEvent:
    """One simulated earthquake.

    ``magnitude`` is the moment magnitude Mw of the Brune source (docs/simulator.md);
    ``stress_drop_bar`` its Brune stress drop (bar; None: the simulator's default).
    """

    origin: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float
    magnitude: float
    stress_drop_bar: float | None = None


@dataclass(frozen=True)
class Fault:
    """A station fault over ``[start, start + duration_s)`` (open-ended if duration is None).

    ``station`` is ``NET.STA`` (a glob is allowed), ``channels`` a glob on the
    channel code. ``params`` holds the kind's parameters (see FAULT_PARAMS).
    """

    kind: FaultKind
    station: str
    start: UTCDateTime
    duration_s: float | None = None
    channels: str = "*"
    params: dict[str, float] = field(default_factory=dict)

    @property
    def end(self) -> UTCDateTime | None:
        return None if self.duration_s is None else self.start + self.duration_s

    def param(self, name: str) -> float:
        """A kind parameter, or its default."""
        if name in self.params:
            return float(self.params[name])
        default = FAULT_PARAMS[self.kind].get(name)
        if default is None:
            raise KeyError(name)
        return float(default)

    def matches(self, station_id: str, channel: str | None = None) -> bool:
        """Whether the fault applies to ``NET.STA`` (and channel code, if given)."""
        if not fnmatchcase(station_id, self.station):
            return False
        return channel is None or fnmatchcase(channel, self.channels)

    def active(self, time: UTCDateTime) -> bool:
        end = self.end
        return time >= self.start and (end is None or time < end)


@dataclass(frozen=True)
class Scenario:
    """Events and faults around a reference time (UTC)."""

    name: str
    reference: UTCDateTime
    description: str = ""
    events: tuple[ScenarioEvent, ...] = ()
    faults: tuple[Fault, ...] = ()

    def rebased(self, reference: UTCDateTime) -> Scenario:
        """The same scenario with every time shifted so that it starts at ``reference``."""
        shift = UTCDateTime(reference) - self.reference
        return replace(
            self,
            reference=UTCDateTime(reference),
            events=tuple(replace(e, origin=e.origin + shift) for e in self.events),
            faults=tuple(replace(f, start=f.start + shift) for f in self.faults),
        )


# --------------------------------------------------------------------------- loading
def _num(value: Any, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"invalid scenario file {path}: {where} must be a number (got {value!r})")
    return float(value)


def _unknown(keys: set[str], allowed: set[str], where: str, path: Path) -> None:
    extra = sorted(keys - allowed)
    if extra:
        raise ConfigError(f"invalid scenario file {path}: {where}.{extra[0]}: unknown key")


def _event(data: Any, where: str, ref: UTCDateTime, path: Path) -> ScenarioEvent:
    if not isinstance(data, dict):
        raise ConfigError(f"invalid scenario file {path}: {where} must be a table")
    _unknown(set(data), _EVENT_KEYS, where, path)
    for key in ("origin_s", "latitude", "longitude", "depth_km", "magnitude"):
        if key not in data:
            raise ConfigError(f"invalid scenario file {path}: {where}.{key}: missing")
    lat = _num(data["latitude"], f"{where}.latitude", path)
    lon = _num(data["longitude"], f"{where}.longitude", path)
    depth = _num(data["depth_km"], f"{where}.depth_km", path)
    mag = _num(data["magnitude"], f"{where}.magnitude", path)
    sd_raw = data.get("stress_drop_bar")
    sd = None if sd_raw is None else _num(sd_raw, f"{where}.stress_drop_bar", path)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(f"invalid scenario file {path}: {where}: latitude/longitude out of range")
    if not 0 <= depth <= 700:
        raise ConfigError(f"invalid scenario file {path}: {where}.depth_km: {depth} not in 0-700")
    if not -2 <= mag <= 9.5:
        raise ConfigError(f"invalid scenario file {path}: {where}.magnitude: {mag} not in -2-9.5")
    if sd is not None and sd <= 0:
        raise ConfigError(f"invalid scenario file {path}: {where}.stress_drop_bar must be > 0")
    origin = ref + _num(data["origin_s"], f"{where}.origin_s", path)
    return ScenarioEvent(origin, lat, lon, depth, mag, sd)


def _fault(data: Any, where: str, ref: UTCDateTime, path: Path) -> Fault:
    if not isinstance(data, dict):
        raise ConfigError(f"invalid scenario file {path}: {where} must be a table")
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise ConfigError(
            f"invalid scenario file {path}: {where}.kind: {kind!r} not one of {list(FAULT_KINDS)}"
        )
    _unknown(set(data), _FAULT_COMMON | set(FAULT_PARAMS[kind]), where, path)
    station = data.get("station")
    if not isinstance(station, str) or "." not in station:
        raise ConfigError(f"invalid scenario file {path}: {where}.station must be 'NET.STA'")
    channels = data.get("channels", "*")
    if not isinstance(channels, str) or not channels:
        raise ConfigError(f"invalid scenario file {path}: {where}.channels must be a glob string")
    start = ref + _num(data.get("start_s", 0.0), f"{where}.start_s", path)
    duration = data.get("duration_s")
    dur = None if duration is None else _num(duration, f"{where}.duration_s", path)
    if dur is not None and dur <= 0:
        raise ConfigError(f"invalid scenario file {path}: {where}.duration_s must be > 0")
    params = {k: _num(data[k], f"{where}.{k}", path) for k in FAULT_PARAMS[kind] if k in data}
    for key in ("rate_per_min", "sampling_rate", "gain", "amplitude"):
        if key in params and params[key] <= 0:
            raise ConfigError(f"invalid scenario file {path}: {where}.{key} must be > 0")
    if params.get("delay_s", 0.0) < 0:
        raise ConfigError(f"invalid scenario file {path}: {where}.delay_s must be >= 0")
    return Fault(kind, station, start, dur, channels, params)


def parse_scenarios(data: dict[str, Any], path: Path) -> dict[str, Scenario]:
    """Validate a parsed scenario catalogue (``path`` only names it in errors)."""
    out: dict[str, Scenario] = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"invalid scenario file {path}: {name}: must be a table")
        _unknown(set(table), _SCENARIO_KEYS, name, path)
        ref_raw = table.get("reference")
        if ref_raw is None:
            raise ConfigError(f"invalid scenario file {path}: {name}.reference: missing")
        try:
            ref = UTCDateTime(str(ref_raw))
        except (TypeError, ValueError):  # what UTCDateTime raises
            raise ConfigError(
                f"invalid scenario file {path}: {name}.reference: not a time ({ref_raw!r})"
            ) from None
        events_raw = table.get("events", [])
        faults_raw = table.get("faults", [])
        if not isinstance(events_raw, list) or not isinstance(faults_raw, list):
            raise ConfigError(f"invalid scenario file {path}: {name}: events/faults must be lists")
        events = tuple(
            sorted(
                (_event(e, f"{name}.events[{i}]", ref, path) for i, e in enumerate(events_raw)),
                key=lambda e: e.origin,
            )
        )
        faults = tuple(
            _fault(f, f"{name}.faults[{i}]", ref, path) for i, f in enumerate(faults_raw)
        )
        out[name] = Scenario(name, ref, str(table.get("description", "")), events, faults)
    return out


def load_scenarios(path: str | Path) -> dict[str, Scenario]:
    """Read a scenario catalogue.

    Raises:
        ConfigError: missing file, bad TOML, unknown key or bad value (the
            message names the file and the dotted key).
    """
    p = Path(path)
    return parse_scenarios(read_toml(p, "scenario file"), p)


def get_scenario(path: str | Path, name: str) -> Scenario:
    """One scenario by name; ConfigError listing the known names if absent."""
    scenarios = load_scenarios(path)
    try:
        return scenarios[name]
    except KeyError:
        raise ConfigError(
            f"scenario {name!r} not found in {path} (known: {', '.join(sorted(scenarios))})"
        ) from None
