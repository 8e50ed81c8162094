"""SeedLink servers playing the built-in simulator: seismo's own server (1 s records made
on demand) and a datalogger-style ring (records of a fixed length released as they fill).
"""

from __future__ import annotations

import threading

from obspy import Stream, UTCDateTime

from seismo.inventory import load_inventory, stations
from seismo.io.seedlink.ring import RecordRing, datalogger_records
from seismo.io.seedlink.server import SeedLinkServer
from seismo.network import NetworkConfig
from seismo.simulate import Scenario, Simulator  # type: ignore[attr-defined]
from seismo.simulate.settings import SimulatorConfig


def serve_simulation(
    sim_cfg: SimulatorConfig,
    network: NetworkConfig,
    scenario: str | Scenario | None = None,
    reference: UTCDateTime | None = None,
    host: str | None = None,
    port: int | None = None,
    *,
    latency_s: float = 0.0,
    history_s: float = 3600.0,
) -> SeedLinkServer:
    """Start a SeedLink server playing the built-in simulator; returns it running.

    ``scenario``: a name in the scenario catalogue, a :class:`~seismo.simulate.Scenario`
    (e.g. made up by a benchmark), or None (noise only).
    Stations come from ``network.inventory``; host/port default to ``sim_cfg``'s
    ``seedlink_host/seedlink_port`` (``[simulator]``). Call ``serve_forever()`` (or
    ``stop()``) on the result.
    """

    sim = Simulator.from_settings(sim_cfg, network, scenario=scenario, reference=reference)
    infos = stations(load_inventory(network.inventory))
    lock = threading.Lock()

    def source(network: str, station: str, start: UTCDateTime, end: UTCDateTime) -> Stream:
        with lock:  # the simulator is not assumed to be thread-safe
            st: Stream = sim.waveforms(network, station, start, end)
        return st

    def station_latency(network: str, station: str, now: UTCDateTime) -> float:
        with lock:
            return float(sim.latency_s(f"{network}.{station}", now))

    server = SeedLinkServer(
        source,
        [(s.network, s.station) for s in infos],
        host=host if host is not None else sim_cfg.seedlink_host,
        port=port if port is not None else sim_cfg.seedlink_port,
        record_seconds=sim_cfg.record_seconds,
        history_s=history_s,
        latency_s=latency_s,
        organization=network.name,
        descriptions={s.id: s.site_name or s.id for s in infos},
        station_latency=station_latency,
    )
    return server.start()


def serve_datalogger_simulation(
    sim_cfg: SimulatorConfig,
    network: NetworkConfig,
    start: UTCDateTime,
    end: UTCDateTime,
    scenario: str | Scenario | None = None,
    reference: UTCDateTime | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    reclen: int = 512,
    delay_s: float = 0.0,
    protocol4: bool = True,
) -> RecordRing:
    """A SeedLink server playing the simulator as dataloggers send it: ``[start, end)`` of
    every station cut into ``reclen``-byte Steim2 records, each released when its last
    sample has been taken (+ ``delay_s``), through a :class:`~seismo.io.seedlink.ring.
    RecordRing` (SeedLink 3, and 4 when ``protocol4``). The records are made before the
    server starts (seconds per minute of network data). Returns it running; ``stop()``
    ends it."""
    sim = Simulator.from_settings(sim_cfg, network, scenario=scenario, reference=reference)
    records = []
    for s in stations(load_inventory(network.inventory)):
        records += datalogger_records(sim.waveforms(s.network, s.station, start, end),
                                      reclen, delay_s)
    records.sort(key=lambda r: r[0])
    ring = RecordRing(host, port, protocol4=protocol4, organization=network.name)
    ring.add(records)
    return ring.start()
