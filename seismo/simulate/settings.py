"""Settings of the simulated network, ``[simulator]`` (docs/simulator.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from seismo.config.base import DepthKm, NonNegFloat, StrictModel

__all__ = ["SimulatorConfig", "SimulatorPhysicsConfig"]

#: The shipped Earth models (``config/earth`` of the repository).
EARTH_MODELS = Path(__file__).resolve().parents[2] / "config" / "earth"


class SimulatorPhysicsConfig(StrictModel):
    """``[simulator.physics]``: the simulator's own Earth and wave physics.

    Kept apart from the locator's settings on purpose: the simulator computes travel
    times with ObsPy TauP through ``earth_model`` (not ``network.velocity_model``), and
    its amplitudes from a Brune source (docs/simulator.md; sources of every default in
    ``seismo.simulate.physics``).
    """

    earth_model: Path | None = Field(
        EARTH_MODELS / "south_china_coast.toml",
        description="Crust-over-mantle model for TauP (config/earth/*.toml); "
        "[simulator] velocity_model, when set, takes precedence",
    )
    taup_cache: Path | None = Field(
        None, description="Directory of built TauP models (default: ~/.cache/seismo/taup)"
    )
    stress_drop_bar: Annotated[float, Field(gt=0, le=1000)] = 50.0
    kappa_s: Annotated[float, Field(ge=0, le=0.2)] = 0.03
    statics_sigma_s: Annotated[float, Field(ge=0, le=2)] = Field(
        0.05, description="P station static N(0, sigma) fixed per station (S: times Vp/Vs)"
    )
    urban_nhnm_excess_db: Annotated[float, Field(ge=-30, le=30)] = Field(
        3.0, description="Noise of urban stations at 1-20 Hz, dB above Peterson's NHNM"
    )
    coda_q0: Annotated[float, Field(gt=0, le=5000)] = 120.0
    coda_eta: Annotated[float, Field(ge=0, le=1.5)] = 0.8
    coda_level: Annotated[float, Field(ge=0, le=2)] = 0.3
    surface_min_deg: Annotated[float, Field(ge=0, le=180)] = 1.0
    dispersion: Literal["continental", "oceanic"] = "continental"
    depth_phase_min_km: DepthKm = 30.0


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
    physics: SimulatorPhysicsConfig = Field(
        default_factory=lambda: SimulatorPhysicsConfig(),  # type: ignore[call-arg]
        description="Earth model and wave physics of the simulator (docs/simulator.md)",
    )

