"""Settings of the simulated network, ``[simulator]`` (docs/simulator.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from seismo.config.base import NonNegFloat, StrictModel

__all__ = ["SimulatorConfig"]


class SimulatorConfig(StrictModel):
    """The built-in simulated network (the embedded default feed)."""

    seed: int = 20261129
    scenarios: Path = Field(description="Scenario catalogue (TOML)")
    scenario: str | None = Field(None, description="Scenario played by sim:// (None: noise only)")
    urban_noise_fraction: Annotated[float, Field(ge=0, le=1)] = 0.55
    rural_noise_fraction: Annotated[float, Field(ge=0, le=1)] = 0.35
    urban_site_marker: str = Field(
        "urban=1", description="A station is urban if its StationXML Site description contains this"
    )
    digitizer_noise_counts: NonNegFloat = Field(
        1.0, description="White digitizer self-noise added to every channel (counts RMS)"
    )
    velocity_model: Path | None = Field(
        None,
        description="1-D model the simulator generates with (default: network.velocity_model); "
        "a different one simulates the locator's model error",
    )
    site_sigma_log10: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0,
        description="per-station site amplification, log10 standard deviation (0: none); "
        "0.15 is typical of between-station site terms (docs/simulator.md [3P])",
    )
    emergent_fraction: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0, description="share of station records with an emergent P onset (0.3-1 s rise)"
    )
    seedlink_host: str = "127.0.0.1"
    seedlink_port: Annotated[int, Field(ge=0, le=65535)] = 18000
    record_seconds: Annotated[float, Field(ge=0.01, le=60)] = Field(
        1.0, description="Seconds of data per SeedLink record"
    )

