"""The drill network: the simulated stations over SeedLink, with earthquakes scheduled
while it runs.

A stack that runs on the simulated network (drills, the acceptance check) needs a
feed that plays ambient noise all the time and an earthquake when asked, without a
restart (``seismo stream`` and the detection DAG stay connected). The service
(``seismo stack feed``, unit ``seismo-drill-feed``) serves
:class:`DrillSource`: every record comes from the simulator without a scenario,
except those of a **drill**: a file ``<drills>/<name>.json`` holding ``{"scenario":
NAME, "origin": ISO time}`` adds that scenario's earthquakes, its first one at
``origin``, to the simulator that makes every record from then on (all drills'
earthquakes in one scenario, so a later drill never removes an earlier one from a
window the DAG reads again). A sample depends only on (seed, channel, time,
scenario) (:mod:`seismo.simulate.simulator`): the noise is the same before and after
a drill is added. ``seismo stack check`` writes such a file ahead of the origin.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from obspy import Stream, UTCDateTime

from seismo.errors import SeismoError
from seismo.inventory import load_inventory, stations
from seismo.io.seedlink.server import SeedLinkServer
from seismo.network import NetworkConfig
from seismo.simulate import Scenario, Simulator, load_scenarios  # type: ignore[attr-defined]
from seismo.simulate.settings import SimulatorConfig

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Drill:
    name: str
    scenario: str
    origin: UTCDateTime  # of the scenario's first event
    reference: UTCDateTime  # the scenario's reference, rebased


def drill_reference(sim_cfg: SimulatorConfig, scenario: str, origin: UTCDateTime) -> UTCDateTime:
    """The reference that puts ``scenario``'s first event at ``origin``."""
    scen = load_scenarios(sim_cfg.scenarios).get(scenario)
    if scen is None or not scen.events:
        raise SeismoError(f"scenario {scenario!r}: unknown or without an earthquake")
    return origin - (scen.events[0].origin - scen.reference)


def write_drill(drills: Path, scenario: str, origin: UTCDateTime) -> Path:
    """Schedule ``scenario``'s first event at ``origin`` on the running feed."""
    drills.mkdir(parents=True, exist_ok=True)
    path = drills / f"{origin.strftime('%Y%m%dT%H%M%S')}-{scenario}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"scenario": scenario, "origin": str(origin)}), encoding="utf-8")
    tmp.replace(path)
    return path


class DrillSource:
    """``source(network, station, start, end)`` of the drill network (module docstring)."""

    def __init__(self, sim_cfg: SimulatorConfig, network: NetworkConfig, drills: Path) -> None:
        self.sim_cfg, self.network, self.drills_dir = sim_cfg, network, drills
        self.base = Simulator.from_settings(sim_cfg, network, scenario=None)
        self.current = self.base
        self.drills: dict[str, Drill | None] = {}  # file name -> drill (None: unusable)
        self._mtime = -1.0
        self.lock = threading.Lock()

    def _scan(self) -> None:
        """Read new drill files; rebuild the simulator when there are new drills."""
        try:
            mtime = self.drills_dir.stat().st_mtime
        except OSError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        new = False
        for f in sorted(self.drills_dir.glob("*.json")):
            if f.name in self.drills:
                continue
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
                origin = UTCDateTime(rec["origin"])
                drill = Drill(f.name, rec["scenario"], origin,
                              drill_reference(self.sim_cfg, rec["scenario"], origin))
            except (OSError, ValueError, KeyError, TypeError, SeismoError) as exc:
                log.error("drill file %s ignored: %s", f, exc)
                self.drills[f.name] = None
                continue
            self.drills[f.name] = drill
            new = True
            log.warning("drill %s: scenario %s, earthquake at %s", f.name, drill.scenario, origin)
        if new:
            self.current = Simulator.from_settings(self.sim_cfg, self.network,
                                                   scenario=self.scenario())

    def scenario(self) -> Scenario | None:
        """Every drill's earthquakes in one scenario, in the order the drills were read (an
        event keeps its index, hence its random draws, when later drills are added)."""
        scenarios = load_scenarios(self.sim_cfg.scenarios)
        drills = [d for d in self.drills.values() if d is not None]
        if not drills:
            return None
        events = tuple(e for d in drills
                       for e in scenarios[d.scenario].rebased(d.reference).events)
        return Scenario(name="drills", reference=min(d.reference for d in drills),
                        description="scheduled drills", events=events)

    def __call__(self, network: str, station: str, start: UTCDateTime, end: UTCDateTime
                 ) -> Stream:
        with self.lock:  # the simulator is not assumed to be thread-safe
            self._scan()
            st: Stream = self.current.waveforms(network, station, start, end)
        return st

    def latency(self, network: str, station: str, now: UTCDateTime) -> float:
        with self.lock:
            return float(self.base.latency_s(f"{network}.{station}", now))


def serve_drills(sim_cfg: SimulatorConfig, network: NetworkConfig, drills: Path, host: str,
                 port: int) -> SeedLinkServer:
    """Start the drill network's SeedLink server; returns it running."""
    source = DrillSource(sim_cfg, network, drills)
    infos = stations(load_inventory(network.inventory))
    server = SeedLinkServer(
        source, [(s.network, s.station) for s in infos], host=host, port=port,
        record_seconds=sim_cfg.record_seconds, history_s=3600.0, latency_s=0.0,
        organization=network.name, descriptions={s.id: s.site_name or s.id for s in infos},
        station_latency=source.latency,
    )
    return server.start()
