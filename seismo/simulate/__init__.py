"""The simulated seismic network: noise, scenario earthquakes, faults, SDS output.

Public API::

    from seismo.simulate import Simulator, Scenario, ScenarioEvent, Fault, load_scenarios

See docs/simulator.md for the physical model and its limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seismo.lazy import lazy_exports

if TYPE_CHECKING:
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

# Imported on first use: the package's settings module is read by the configuration
# loader without importing the pipeline code (seismo.lazy).
__getattr__ = lazy_exports(__name__, {
    "FAULT_KINDS": "seismo.simulate.scenario",
    "FULL_SCALE": "seismo.simulate.simulator",
    "EarthModel": "seismo.simulate.earth",
    "TravelTimes": "seismo.simulate.earth",
    "load_earth_model": "seismo.simulate.earth",
    "Physics": "seismo.simulate.physics",
    "Fault": "seismo.simulate.scenario",
    "Scenario": "seismo.simulate.scenario",
    "ScenarioEvent": "seismo.simulate.scenario",
    "Simulator": "seismo.simulate.simulator",
    "TruthEvent": "seismo.simulate.simulator",
    "get_scenario": "seismo.simulate.scenario",
    "load_scenarios": "seismo.simulate.scenario",
})
