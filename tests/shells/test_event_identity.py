"""One earthquake keeps one identity when a window is reprocessed with more stations.

The felt_m3_city scenario is processed once with its nearest station down (the
id comes from the earliest pick, so this solution gets another id), then again
with every station, through the same Runner as the DAG: a real influxd stores
the events and the CAP messages go to a directory channel.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from obspy import Stream, UTCDateTime

from seismo.alerts.cap import CAP_NS
from seismo.alerts.service import AlertService
from seismo.config import Settings
from seismo.errors import FeedError
from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store.server import InfluxServer
from seismo.shells.publish import Runner
from seismo.shells.window import process_window
from seismo.shells.window_context import Context, windows_between
from seismo.simulate import Simulator

pytestmark = pytest.mark.influx


def _results(settings: Settings, down: set[str]):  # type: ignore[no-untyped-def]
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario="felt_m3_city")
    origin = sim.truth()[0].origin
    ctx = Context.from_settings(settings)

    def src(sid: str, a: UTCDateTime, b: UTCDateTime) -> Stream:
        if sid in down:
            raise FeedError(f"station {sid} is down (test)", station=sid)
        net, sta = sid.split(".")
        return sim.waveforms(net, sta, a, b)

    return [process_window(ctx, w, source=src)
            for w in windows_between(settings, origin - 60, origin + 60)]


def test_reprocessed_window_keeps_one_event_and_sends_update_not_alert(
    settings: Settings, influx_server: InfluxServer, tmp_path: Path
) -> None:
    full = _results(settings, set())
    (ev_full,) = [e for r in full for e in r.events]
    first = min(ev_full.picks, key=lambda p: p.time)
    nearest = f"{first.network}.{first.station}"
    degraded = _results(settings, {nearest})
    (ev_deg,) = [e for r in degraded for e in r.events]
    assert ev_deg.id != ev_full.id  # the ids alone would make two events

    alerts_cfg = settings.alerts.model_copy(update={"outbox_dir": tmp_path / "outbox"})
    s = settings.model_copy(update={"alerts": alerts_cfg})
    conn = InfluxConnection(url=influx_server.url, database=f"t_{uuid.uuid4().hex[:8]}")
    store = InfluxStore(conn, tmp_path / "spool", retry_interval_s=0.0)

    def run(results) -> None:  # type: ignore[no-untyped-def]
        runner = Runner(s, store=store,
                        alerts=AlertService.from_settings(s.alerts, s.network,
                                                          alert_dir=tmp_path / "cap"))
        for r in results:
            runner.handle(r)

    run(degraded)  # the station was down
    run(full)  # it recovered: the window is reprocessed
    run(full)  # and reprocessed again: nothing new
    events = store.query_events()
    assert [e.id for e in events] == [ev_deg.id]
    versions = store.query_events(all_versions=True)
    assert sorted(e.version for e in versions) == [1, 2]
    latest = events[0]
    assert latest.version == 2 and latest.time == ev_full.time
    assert latest.latitude == pytest.approx(ev_full.latitude)
    caps = sorted(p for p in (tmp_path / "cap").glob("*.xml") if ".oncall." in p.name)
    types = [ET.parse(p).getroot().findtext(f"{{{CAP_NS}}}msgType") for p in caps]
    assert types.count("Alert") == 1, types
    assert types.count("Update") <= 1 and set(types) <= {"Alert", "Update"}, types
    assert all(ev_deg.id in p.name for p in caps)
    store.close()
