"""The simulated seismic network: noise, scenario earthquakes, faults, SDS output.

Public API::

    from seismo.simulate import Simulator, Scenario, ScenarioEvent, Fault, load_scenarios

See docs/simulator.md for the physical model and its limits.
"""

from __future__ import annotations

from seismo.simulate.earth import EarthModel, TravelTimes, load_earth_model
from seismo.simulate.physics import Physics
from seismo.simulate.scenario import (
    FAULT_KINDS,
    Fault,
    Scenario,
    ScenarioEvent,
    get_scenario,
    load_scenarios,
)
from seismo.simulate.simulator import FULL_SCALE, Simulator, TruthEvent

__all__ = [
    "FAULT_KINDS",
    "FULL_SCALE",
    "EarthModel",
    "Fault",
    "Physics",
    "Scenario",
    "ScenarioEvent",
    "Simulator",
    "TravelTimes",
    "TruthEvent",
    "get_scenario",
    "load_earth_model",
    "load_scenarios",
]
