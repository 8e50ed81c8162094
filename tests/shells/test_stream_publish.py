"""The publisher of ``seismo stream`` alone: EventUpdate messages in; identity, versions,
the alert thread (a real outbox and directory channel) and storage (a real influxd) out."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.alerts.service import AlertService
from seismo.event.identity import event_id
from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store.server import InfluxServer
from seismo.model import Event, Pick
from seismo.shells.publish import Publisher
from seismo.shells.registry import EventRegistry, KnownEventSource, StoredSnapshot
from seismo.shells.stream_events import EventUpdate
from seismo.shells.stream_publish import Deliverer, StoreWriter, StreamPublisher
from seismo.shells.stream_state import AnnouncedEvents

T = UTCDateTime("2026-02-01T10:00:20")


def _event(settings, first_pick: UTCDateTime, **kw: object) -> Event:  # type: ignore[no-untyped-def]
    base = dict(
        id=event_id(settings.pipeline.event_id_prefix, first_pick), time=first_pick - 2.0,
        latitude=22.62, longitude=114.07, depth_km=8.0, rms_s=0.05, azimuthal_gap_deg=60.0,
        n_phases=6, n_stations=6, horizontal_uncertainty_km=1.0, vertical_uncertainty_km=2.0,
        outside_network=False, magnitude=3.0, solution="stream", creation_time=first_pick + 3,
    )
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


class _Parts:
    """A stream publisher as the service builds it, on a real outbox."""

    def __init__(self, settings, tmp: Path, announced: AnnouncedEvents | None = None,  # type: ignore[no-untyped-def]
                 store: InfluxStore | None = None) -> None:
        s = settings.model_copy(update={
            "alerts": settings.alerts.model_copy(update={"outbox_dir": tmp / "outbox"})})
        self.alerts = AlertService.from_settings(s.alerts, s.network, alert_dir=tmp / "cap")
        self.announced = announced or AnnouncedEvents()
        sources: dict[str, KnownEventSource] = {"stream state": self.announced,
                                                "outbox": self.alerts}
        self.snapshot = StoredSnapshot(store) if store is not None else None
        if self.snapshot is not None:
            sources["store"] = self.snapshot
        self.publisher = Publisher(EventRegistry(sources, 5.0, 30.0), store=store,
                                   alerts=self.alerts)
        self.writer = StoreWriter()
        self.woken = 0
        self.out = StreamPublisher(self.publisher, self.announced, self.writer.put, self._wake,
                                   settings.stream.cancel_after_s)

    def _wake(self) -> None:
        self.woken += 1


def _thread(parts: _Parts, eid: str) -> list[str]:
    return [m.msg_type for m in parts.alerts.outbox.history(f"actual__{eid}__oncall")]


def test_versions_alert_update_then_cancel(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _Parts(settings, tmp_path)
    ev = _event(settings, T)
    v1 = p.out.handle(EventUpdate("version", 7, ev), float(T) + 5)
    assert v1 is not None and (v1.id, v1.version) == (ev.id, 1)
    assert _thread(p, ev.id) == ["Alert"] and p.woken == 1
    memo = p.announced.get(ev.id)
    assert memo is not None and memo.alerted and memo.event.version == 1
    v2 = p.out.handle(EventUpdate("version", 7, dataclasses.replace(ev, magnitude=3.4)),
                      float(T) + 6)
    assert v2 is not None and (v2.id, v2.version) == (ev.id, 2)
    assert _thread(p, ev.id) == ["Alert", "Update"]
    v3 = p.out.handle(EventUpdate("version", 7, dataclasses.replace(ev, magnitude=3.45)),
                      float(T) + 7)
    assert v3 is not None and v3.version == 3 and _thread(p, ev.id) == ["Alert", "Update"]
    assert p.out.handle(EventUpdate("vanish", 7, v3), float(T) + 30) is None
    assert _thread(p, ev.id) == ["Alert", "Update", "Cancel"]
    assert p.announced.get(ev.id) is None and p.out.threads == {} and p.out.n_versions == 3
    assert not list((tmp_path / "cap").glob("*.xml"))  # delivered by the deliverer
    Deliverer(p.publisher).deliver()
    assert len(list((tmp_path / "cap").glob("*.xml"))) == 3


def test_a_restarted_stream_continues_the_event(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """After a restart the same quake is found again with another first pick (another
    provisional id): it takes the announced id and continues its versions, no second
    Alert; a close keeps it known."""
    first = _Parts(settings, tmp_path)
    ev = _event(settings, T)
    first.out.handle(EventUpdate("version", 1, ev), float(T) + 5)
    first.out.handle(EventUpdate("version", 1, dataclasses.replace(ev, magnitude=3.1)),
                     float(T) + 6)
    again = _Parts(settings, tmp_path, AnnouncedEvents(first.announced.memos()))
    other = _event(settings, T + 0.4, time=ev.time + 0.3, magnitude=3.15)
    assert other.id != ev.id
    got = again.out.handle(EventUpdate("version", 1, other), float(T) + 60)
    assert got is not None and (got.id, got.version) == (ev.id, 3)
    assert _thread(again, ev.id) == ["Alert"]  # |dM| < 0.3 from the Alert: nothing new
    # a second tracked event at the same time and place never takes a taken id
    twin = again.out.handle(EventUpdate("version", 2, _event(settings, T + 0.5)), float(T) + 61)
    assert twin is not None and twin.id != ev.id
    again.out.handle(EventUpdate("close", 1), float(T) + 120)
    memo = again.announced.get(ev.id)
    assert memo is not None and memo.closed and memo.alerted


def test_a_failing_outbox_never_stops_publication(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _Parts(settings, tmp_path)
    ev = p.out.handle(EventUpdate("version", 3, _event(settings, T)), float(T) + 5)
    assert ev is not None
    (tmp_path / "outbox" / ".enqueue.lock").unlink()
    for d in (tmp_path / "outbox").iterdir():  # the outbox disk is gone
        for f in d.iterdir():
            f.unlink()
        d.rmdir()
    (tmp_path / "outbox").rmdir()
    got = p.publisher.cancel(ev, "test", p.out.sink)
    # nothing was alerted for this event: nothing to cancel, and no outbox error escapes
    assert got.queued == []
    assert p.out.handle(EventUpdate("vanish", 3, ev), float(T) + 30) is None  # logged, goes on


@pytest.mark.influx
def test_storage_from_the_writer_thread(  # type: ignore[no-untyped-def]
    settings, influx_server: InfluxServer, tmp_path: Path
) -> None:
    conn = InfluxConnection(url=influx_server.url, database=f"t_{uuid.uuid4().hex[:8]}")
    store = InfluxStore(conn, tmp_path / "spool", retry_interval_s=0.0)
    p = _Parts(settings, tmp_path, store=store)
    writer = threading.Thread(target=p.writer.run, daemon=True)
    writer.start()
    ev = _event(settings, T)
    pick = Pick(Pick.make_id("SZ.BAOA..HHZ", "P", T), "SZ", "BAOA", "", "HHZ", "P", T, 0.05,
                10.0, 1.0)
    p.out.picks([pick])
    p.out.handle(EventUpdate("version", 1, ev), float(T) + 5)
    p.out.heartbeat("node-1", T + 10, {"records": 5, "lag_s": None})
    p.writer.close()
    writer.join(30)
    assert not writer.is_alive()
    (stored,) = store.query_events(T - 60, T + 60)
    assert (stored.id, stored.version, stored.solution) == (ev.id, 1, "stream")
    rows = store.query("SELECT * FROM \"picks\" WHERE \"solution\" = 'stream'")
    assert [r["station"] for r in rows] == ["BAOA"]
    assert [r["msg_type"] for r in store.query("SELECT * FROM \"alerts\"")] == ["Alert"]
    beat = store.last_heartbeat(T - 60)
    assert beat is not None and beat["records"] == 5 and "lag_s" not in beat
    # the stored event is known to a restarted stream through the store alone
    assert p.snapshot is not None and p.snapshot.known_events(T - 600, T + 600) == []
    p.snapshot.refresh(T)
    (known,) = p.snapshot.known_events(T - 600, T + 600)
    assert (known.id, known.version) == (ev.id, 1)
    store.close()
