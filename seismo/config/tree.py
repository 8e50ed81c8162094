"""The whole configuration: one section per owner, composed into :class:`Settings`.

Each section's model lives next to the package that reads it (docs/architecture.md,
"Settings next to their owners"); this module only puts them together under the keys
of the TOML file. It is the one foundation module that imports the settings modules
of every layer (``tests/test_architecture.py``); those modules import nothing heavier
than pydantic, so that loading the configuration stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from seismo.alerts.settings import AlertsConfig
from seismo.config.base import StrictModel
from seismo.config.installation import INSTALLATION_PATHS, InstallationConfig
from seismo.event.settings import AssociateConfig, IntensityConfig, LocateConfig, MagnitudeConfig
from seismo.health.settings import HealthConfig
from seismo.io.feeds.settings import FeedsConfig
from seismo.io.settings import ExternalConfig
from seismo.io.store.settings import StoreConfig
from seismo.network import NetworkConfig
from seismo.shells.settings import AirflowConfig, PipelineConfig, ReportConfig, StreamConfig
from seismo.simulate.settings import SimulatorConfig
from seismo.station.picker.settings import PickerConfig
from seismo.station.settings import InstrumentConfig
from seismo.web.settings import WebConfig

__all__ = ["Settings", "relocated"]


class Settings(StrictModel):
    """The whole configuration. ``source`` is the file it came from."""

    installation: InstallationConfig = Field(default_factory=InstallationConfig)
    network: NetworkConfig
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    simulator: SimulatorConfig
    instrument: InstrumentConfig = Field(default_factory=InstrumentConfig)
    picker: PickerConfig = Field(default_factory=PickerConfig)
    associate: AssociateConfig = Field(default_factory=AssociateConfig)
    locate: LocateConfig = Field(default_factory=LocateConfig)
    magnitude: MagnitudeConfig = Field(default_factory=MagnitudeConfig)
    intensity: IntensityConfig = Field(default_factory=IntensityConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    airflow: AirflowConfig = Field(default_factory=AirflowConfig)
    stream: StreamConfig = Field(default_factory=StreamConfig)
    external: ExternalConfig = Field(default_factory=ExternalConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    source: Path = Field(Path("<memory>"), exclude=True)


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def relocated(settings: Settings, directory: Path) -> Settings:
    """``settings`` as an installation of its own under ``directory``: every state path
    (:data:`INSTALLATION_PATHS`; not the travel-time cache, which holds no state) moves
    there, and so does every directory alert channel that
    wrote under the old installation directory (an audit trail keeps its name under the
    new one). A demo and a drill run on such settings; nothing they write lands in the
    old installation."""
    directory = Path(directory).resolve()
    old = settings.installation.dir
    updates: dict[str, dict[str, Any]] = {}
    for section, key, name in INSTALLATION_PATHS:
        if section == "pipeline":
            continue  # computed travel-time tables, no state: shared with the installation
        updates.setdefault(section, {})[key] = directory / name
    channels = {}
    for cname, cfg in settings.alerts.channels.items():
        path = getattr(cfg, "path", None)
        if isinstance(path, Path) and _under(path, old):
            cfg = cfg.model_copy(update={"path": directory / path.resolve().relative_to(
                old.resolve())})
        channels[cname] = cfg
    updates.setdefault("alerts", {})["channels"] = channels
    sections = {name: getattr(settings, name).model_copy(update=upd)
                for name, upd in updates.items()}
    return settings.model_copy(update={
        **sections, "installation": InstallationConfig(dir=directory)})
