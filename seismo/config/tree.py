"""The whole configuration: one section per owner, composed into :class:`Settings`.

Each section's model lives next to the package that reads it (docs/architecture.md,
"Settings next to their owners"); this module only puts them together under the keys
of the TOML file. It is the one foundation module that imports the settings modules
of every layer (``tests/test_architecture.py``); those modules import nothing heavier
than pydantic, so that loading the configuration stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from seismo.alerts.settings import AlertsConfig
from seismo.config.base import StrictModel
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

__all__ = ["Settings"]


class Settings(StrictModel):
    """The whole configuration. ``source`` is the file it came from."""

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

