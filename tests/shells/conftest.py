"""Fixtures of the shell tests: the scenario quake as the SeedLink records a feed sends."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from obspy import UTCDateTime
from sim_helpers import seedlink_records

from seismo.config import Settings
from seismo.io.seedlink.client import Record
from seismo.simulate import Simulator
from seismo.simulate.simulator import TruthEvent


@dataclass(frozen=True)
class QuakeRecords:
    """The felt_m3_city quake at its ``stations`` nearest stations, from ``t0``, as 1 s
    records in the order a feed sends them."""

    truth: TruthEvent
    t0: UTCDateTime
    stations: tuple[str, ...]
    records: tuple[Record, ...]


@pytest.fixture(scope="session")
def quake_records(settings: Settings) -> QuakeRecords:
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario="felt_m3_city")
    truth = sim.truth(peaks=False)[0]
    near = tuple(sorted(truth.arrivals, key=lambda k: truth.arrivals[k][0])[:7])
    t0 = UTCDateTime(int(truth.origin.timestamp)) - 30
    streams = {sid: sim.waveforms(*sid.split("."), t0, t0 + 60) for sid in near}
    recs = seedlink_records(streams, t0, 60)
    return QuakeRecords(truth, t0, near, tuple(recs))  # type: ignore[arg-type]
