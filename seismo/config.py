"""Typed, strict configuration.

The configuration is one TOML file (``config/seismo.toml`` by default, or the
file named by ``SEISMO_CONFIG``). It is loaded into frozen pydantic models with
``extra="forbid"``: an unknown key, a wrong type or an out-of-range value raises
:class:`~seismo.errors.ConfigError` with one message naming the file and the
dotted key.

Secrets never live in the file. The file names the *environment variable* that
holds each secret (``token_env = "SEISMO_INFLUX_TOKEN"``) and :func:`secret`
reads it on use. Dumps (``seismo config check``) show only whether a secret is
set.

Relative paths in the file are resolved against the directory of the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seismo.errors import ConfigError

#: Repository root (where ``config/``, ``stations/`` live when running from a clone).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "seismo.toml"
ENV_CONFIG = "SEISMO_CONFIG"

PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------- network
class NetworkConfig(_Model):
    """Where the station metadata, velocity model and sites live."""

    inventory: Path = Field(description="StationXML file (or directory of files)")
    velocity_model: Path = Field(description="1-D layered velocity model (TOML)")
    sites: Path = Field(description="Sites for predicted intensity (TOML)")
    name: str = Field("seismo network", description="Human-readable network name")
    region: tuple[float, float, float, float] = Field(
        description="Monitored region: lat_min, lat_max, lon_min, lon_max (degrees)"
    )

    @model_validator(mode="after")
    def _check_region(self) -> NetworkConfig:
        la0, la1, lo0, lo1 = self.region
        if not (-90 <= la0 < la1 <= 90 and -180 <= lo0 < lo1 <= 180):
            raise ValueError(f"region {list(self.region)} must be lat_min<lat_max, lon_min<lon_max")
        return self


# --------------------------------------------------------------------------- feeds
class FeedsConfig(_Model):
    """Station feeds. ``default`` is a URL: seedlink://, fdsnws://, http(s)://, sds:///, sim://."""

    default: str = "sim://"
    overrides: dict[str, str] = Field(
        default_factory=dict, description="Per-station feed URL, keyed 'NET.STA'"
    )
    timeout_s: PosFloat = 10.0
    retries: Annotated[int, Field(ge=0, le=20)] = 2
    retry_delay_s: NonNegFloat = 1.0


# --------------------------------------------------------------------------- simulator
class SimulatorConfig(_Model):
    """The built-in simulated network (the embedded default feed)."""

    seed: int = 20261129
    scenarios: Path = Field(description="Scenario catalogue (TOML)")
    scenario: str | None = Field(None, description="Scenario played by sim:// (None: noise only)")
    urban_noise_fraction: Annotated[float, Field(ge=0, le=1)] = 0.55
    rural_noise_fraction: Annotated[float, Field(ge=0, le=1)] = 0.35
    seedlink_host: str = "127.0.0.1"
    seedlink_port: Annotated[int, Field(ge=0, le=65535)] = 18000
    record_seconds: PosFloat = Field(1.0, description="Seconds of data per SeedLink record")


# --------------------------------------------------------------------------- processing / picker
class BandConfig(_Model):
    freqmin: PosFloat
    freqmax: PosFloat
    corners: Annotated[int, Field(ge=1, le=8)] = 4

    @model_validator(mode="after")
    def _order(self) -> BandConfig:
        if self.freqmin >= self.freqmax:
            raise ValueError(f"freqmin ({self.freqmin}) must be below freqmax ({self.freqmax})")
        return self


class PickerConfig(_Model):
    method: Literal["recursive", "classic"] = "recursive"
    sta_s: PosFloat = 0.5
    lta_s: PosFloat = 10.0
    trig_on: PosFloat = 4.0
    trig_off: PosFloat = 1.5
    min_trigger_s: NonNegFloat = 0.1
    max_trigger_s: PosFloat = 60.0
    dead_time_s: NonNegFloat = 5.0
    max_gap_s: NonNegFloat = 0.5
    causal: bool = True
    bands: dict[str, BandConfig] = Field(
        default_factory=lambda: {
            "velocity": BandConfig(freqmin=2.0, freqmax=15.0),
            "acceleration": BandConfig(freqmin=2.0, freqmax=15.0),
        },
        description="Band-pass per channel kind (velocity, acceleration)",
    )
    aic_window_s: PosFloat = 2.0
    s_picks: bool = True
    channel_kinds: list[Literal["velocity", "acceleration"]] = Field(
        default_factory=lambda: ["velocity", "acceleration"],
        description="Which channel kinds are picked",
    )

    @model_validator(mode="after")
    def _check(self) -> PickerConfig:
        if self.sta_s >= self.lta_s:
            raise ValueError(f"sta_s ({self.sta_s}) must be shorter than lta_s ({self.lta_s})")
        if self.trig_off >= self.trig_on:
            raise ValueError(f"trig_off ({self.trig_off}) must be below trig_on ({self.trig_on})")
        return self


# --------------------------------------------------------------------------- events
class AssociateConfig(_Model):
    min_stations: Annotated[int, Field(ge=3)] = 4
    max_residual_s: PosFloat = 1.5
    max_rms_s: PosFloat = 1.0
    max_distance_km: PosFloat = 300.0


class LocateConfig(_Model):
    grid_spacing_km: PosFloat = 2.0
    grid_margin_km: NonNegFloat = 150.0
    depth_min_km: NonNegFloat = 0.0
    depth_max_km: PosFloat = 40.0
    depth_step_km: PosFloat = 2.0
    max_iterations: PosInt = 20
    pick_sigma_s: PosFloat = 0.1


class MagnitudeConfig(_Model):
    """ML calibration: ML = log10(A[nm]) + a*log10(R) + b*R + c (IASPEI defaults)."""

    a: float = 1.11
    b: float = 0.00189
    c: float = -2.09
    min_distance_km: NonNegFloat = 0.0
    max_distance_km: PosFloat = 600.0
    outlier_mad: PosFloat = 3.0
    amplitude_window_s: PosFloat = 30.0


class IntensityConfig(_Model):
    freqmin: PosFloat = 0.1
    freqmax: PosFloat = 10.0
    relation: Literal["atkinson_wald_2007", "china_east_2015"] = "atkinson_wald_2007"


class PipelineConfig(_Model):
    window_s: PosFloat = 60.0
    preroll_s: NonNegFloat = 30.0
    postroll_s: NonNegFloat = 60.0
    safety_margin_s: NonNegFloat = 30.0


# --------------------------------------------------------------------------- store
class StoreConfig(_Model):
    enabled: bool = True
    url: str = "http://127.0.0.1:18086"
    api: Literal["auto", "v1", "v2"] = "auto"
    database: str = "seismo"
    bucket: str = "seismo"
    org: str = "seismo"
    username: str | None = None
    password_env: str = "SEISMO_INFLUX_PASSWORD"
    token_env: str = "SEISMO_INFLUX_TOKEN"
    timeout_s: PosFloat = 10.0
    batch_size: PosInt = 5000
    spool_dir: Path = Path("../var/spool")
    airflow_conn_id: str | None = Field(
        None, description="Airflow Connection (influxdb type) supplying url/token under Airflow"
    )
    server_data_dir: Path = Path("../var/influxdb")


# --------------------------------------------------------------------------- alerts
class ChannelConfig(_Model):
    kind: Literal["webhook", "smtp", "directory"]
    url: str | None = None
    token_env: str | None = None
    host: str | None = None
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str | None = None
    recipients: list[str] = Field(default_factory=list)
    path: Path | None = None
    timeout_s: PosFloat = 10.0

    @model_validator(mode="after")
    def _needs(self) -> ChannelConfig:
        need = {"webhook": ["url"], "smtp": ["host", "sender", "recipients"], "directory": ["path"]}
        for key in need[self.kind]:
            if not getattr(self, key):
                raise ValueError(f"a {self.kind} channel needs '{key}'")
        return self


class AlertRulesConfig(_Model):
    oncall_min_magnitude: float = 2.5
    oncall_min_intensity: float = 3.0
    tsunami_min_magnitude: float = 6.5
    tsunami_max_depth_km: PosFloat = 100.0
    saturation_magnitude: float = 5.5
    saturation_min_clipped_stations: PosInt = 3


class AlertsConfig(_Model):
    enabled: bool = True
    sender: str = "seismo@example.invalid"
    outbox_dir: Path = Path("../var/outbox")
    expire_s: PosFloat = 3600.0
    backoff_initial_s: PosFloat = 2.0
    backoff_max_s: PosFloat = 300.0
    rules: AlertRulesConfig = Field(default_factory=AlertRulesConfig)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Recipient group -> channel names"
    )

    @model_validator(mode="after")
    def _groups_known(self) -> AlertsConfig:
        for group, names in self.groups.items():
            for name in names:
                if name not in self.channels:
                    raise ValueError(f"group '{group}' names unknown channel '{name}'")
        return self


# --------------------------------------------------------------------------- health
class HealthConfig(_Model):
    window_s: PosFloat = 600.0
    warn_latency_s: PosFloat = 60.0
    fail_latency_s: PosFloat = 600.0
    warn_availability_pct: Annotated[float, Field(ge=0, le=100)] = 98.0
    fail_availability_pct: Annotated[float, Field(ge=0, le=100)] = 80.0
    spike_threshold: PosFloat = 20.0
    clip_fraction: Annotated[float, Field(gt=0, le=1)] = 0.95
    flat_std_counts: NonNegFloat = 0.5
    psd_warn_db_above_nhnm: float = 0.0


# --------------------------------------------------------------------------- airflow
class AirflowConfig(_Model):
    detect_schedule: str = "* * * * *"
    health_schedule: str = "*/10 * * * *"
    report_schedule: str = "@daily"
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_delay_s: NonNegFloat = 5.0
    run_timeout_s: PosFloat = 50.0


class Settings(_Model):
    """The whole configuration. ``source`` is the file it came from."""

    network: NetworkConfig
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    simulator: SimulatorConfig
    picker: PickerConfig = Field(default_factory=PickerConfig)
    associate: AssociateConfig = Field(default_factory=AssociateConfig)
    locate: LocateConfig = Field(default_factory=LocateConfig)
    magnitude: MagnitudeConfig = Field(default_factory=MagnitudeConfig)
    intensity: IntensityConfig = Field(default_factory=IntensityConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    airflow: AirflowConfig = Field(default_factory=AirflowConfig)
    source: Path = Field(Path("<memory>"), exclude=True)


# --------------------------------------------------------------------------- loading
def _format_error(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<top level>"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        got = e.get("input")
        got_s = "" if e["type"] in ("missing", "extra_forbidden") else f" (got {got!r})"
        lines.append(f"{key}: {msg}{got_s}")
    return f"invalid configuration in {path}: " + "; ".join(lines)


def _resolve_paths(node: Any, base: Path) -> Any:
    if isinstance(node, BaseModel):
        updates = {}
        for name in type(node).model_fields:
            if name == "source":
                continue
            val = getattr(node, name)
            new = _resolve_paths(val, base)
            if new is not val:
                updates[name] = new
        return node.model_copy(update=updates) if updates else node
    if isinstance(node, Path):
        return node if node.is_absolute() else (base / node).resolve()
    if isinstance(node, dict):
        out = {k: _resolve_paths(v, base) for k, v in node.items()}
        return out if any(out[k] is not node[k] for k in node) else node
    return node


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The configuration file to use: ``path``, else ``$SEISMO_CONFIG``, else the default."""
    if path is not None:
        return Path(path)
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else DEFAULT_CONFIG


def parse_settings(data: dict[str, Any], source: Path, base: Path | None = None) -> Settings:
    """Validate a configuration mapping; relative paths resolve against ``base``."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from None
    resolved = _resolve_paths(settings, (base or source.parent).resolve())
    return resolved.model_copy(update={"source": source})


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load and validate the configuration file.

    Raises:
        ConfigError: the file is missing, is not TOML, or fails validation. The
            message names the file and the offending key.
    """
    p = config_path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {p}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid configuration in {p}: not valid TOML: {exc}") from None
    return parse_settings(data, p)


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment variable ``env_name`` (None if unset)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None


def _mask(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if isinstance(k, str) and k.endswith("_env") and isinstance(v, str):
                out[k] = f"{v} ({'set' if secret(v) else 'unset'})"
            else:
                out[k] = _mask(v)
        return out
    if isinstance(node, list | tuple):
        return [_mask(v) for v in node]
    if isinstance(node, Path):
        return str(node)
    return node


def effective_config(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets reduced to set/unset."""
    return _mask(settings.model_dump(mode="python"))


def dump_toml(data: dict[str, Any]) -> str:
    """Render nested plain data as TOML (enough for :func:`effective_config`)."""
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if v is None:
            return '"<none>"'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'

    def walk(prefix: str, node: dict[str, Any]) -> None:
        simple = {k: v for k, v in node.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in node.items() if isinstance(v, dict)}
        if prefix and simple:
            lines.append(f"[{prefix}]")
        for k, v in simple.items():
            lines.append(f"{k} = {scalar(v)}")
        if simple:
            lines.append("")
        for k, v in nested.items():
            key = k if all(c.isalnum() or c in "_-" for c in k) else f'"{k}"'
            walk(f"{prefix}.{key}" if prefix else key, v)

    walk("", data)
    return "\n".join(lines).rstrip() + "\n"
