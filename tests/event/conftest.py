"""Fixtures shared by the event-stage tests: the shipped velocity model and stations."""

from __future__ import annotations

import pytest

from seismo.event.velocity import VelocityModel, load_velocity_model
from seismo.inventory import StationInfo, station_map


@pytest.fixture(scope="module")
def model(settings) -> VelocityModel:  # type: ignore[no-untyped-def]
    """The shipped network's velocity model."""
    return load_velocity_model(settings.network.velocity_model)


@pytest.fixture(scope="module")
def sz(inventory) -> dict[str, StationInfo]:  # type: ignore[no-untyped-def]
    """The shipped stations ("NET.STA" -> StationInfo)."""
    return station_map(inventory)
