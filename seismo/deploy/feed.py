"""The drill network: the simulated stations over SeedLink, with earthquakes scheduled
while it runs.

A stack that runs on the simulated network (drills, the acceptance check) needs a
feed that plays ambient noise all the time and an earthquake when asked, without a
restart (``seismo stream`` and the detection DAG stay connected). The service
(``seismo stack feed``, unit ``seismo-drill-feed``) serves
:class:`DrillSource`: every record comes from the simulator without a scenario,
except those of a **drill**: a file ``<drills>/<name>.json`` holding ``{"scenario":
NAME, "origin": ISO time}`` makes the records from the drill's scenario
reference (its first event at ``origin``) to one hour later come from the
simulator of that scenario. A sample depends only on (seed, channel, time,
scenario) (:mod:`seismo.simulate.simulator`), so the noise is the same on both sides
of the switch. ``seismo stack check`` writes such a file ahead of the origin.
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
from seismo.simulate import Simulator, load_scenarios
from seismo.simulate.settings import SimulatorConfig

log = logging.getLogger(__name__)

#: How long after its scenario reference a drill's simulator plays (s).
DRILL_SPAN_S = 3600.0


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
        self._drills: dict[str, tuple[Drill, Simulator]] = {}
        self._mtime = -1.0
        self.lock = threading.Lock()

    def _scan(self) -> None:
        try:
            mtime = self.drills_dir.stat().st_mtime
        except OSError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        for f in sorted(self.drills_dir.glob("*.json")):
            if f.name in self._drills:
                continue
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
                origin = UTCDateTime(rec["origin"])
                ref = drill_reference(self.sim_cfg, rec["scenario"], origin)
                sim = Simulator.from_settings(self.sim_cfg, self.network,
                                              scenario=rec["scenario"], reference=ref)
            except (OSError, ValueError, KeyError, TypeError, SeismoError) as exc:
                log.error("drill file %s ignored: %s", f, exc)
                self._drills[f.name] = (Drill(f.name, "", UTCDateTime(0), UTCDateTime(0)),
                                        self.base)
                continue
            drill = Drill(f.name, rec["scenario"], origin, ref)
            self._drills[f.name] = (drill, sim)
            log.warning("drill %s: scenario %s, earthquake at %s", f.name, drill.scenario, origin)

    def simulator(self, start: UTCDateTime, end: UTCDateTime) -> Simulator:
        """The simulator of the latest drill playing at ``end``, else the noise-only one."""
        self._scan()
        best: tuple[Drill, Simulator] | None = None
        for drill, sim in self._drills.values():
            if drill.scenario and drill.reference <= end < drill.reference + DRILL_SPAN_S and (
                    best is None or drill.reference > best[0].reference):
                best = (drill, sim)
        return best[1] if best else self.base

    def __call__(self, network: str, station: str, start: UTCDateTime, end: UTCDateTime
                 ) -> Stream:
        with self.lock:  # the simulator is not assumed to be thread-safe
            st: Stream = self.simulator(start, end).waveforms(network, station, start, end)
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
