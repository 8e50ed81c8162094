"""The registry of known events: one interface over the outbox, the stream state, this
process and the store; the one identity rule applied to them."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.alerts.service import AlertService
from seismo.event.identity import event_id
from seismo.io.store import InfluxConnection, InfluxStore
from seismo.io.store.server import free_port
from seismo.model import Event, EventSummary
from seismo.shells.registry import EventRegistry, RecentEvents, StoredEvents
from seismo.shells.stream_state import AnnouncedEvents

T = UTCDateTime("2026-03-01T08:00:00")


def _event(first_pick: UTCDateTime, lat: float = 22.6, mag: float = 3.0, **kw: object) -> Event:
    nan = float("nan")
    return Event(id=event_id("sz", first_pick), time=first_pick - 2.0, latitude=lat,
                 longitude=114.0, depth_km=8.0, rms_s=0.1, azimuthal_gap_deg=80.0, n_phases=8,
                 n_stations=5, horizontal_uncertainty_km=nan, vertical_uncertainty_km=nan,
                 outside_network=False, magnitude=mag, **kw)  # type: ignore[arg-type]


def test_identity_across_sources(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={
        "alerts": settings.alerts.model_copy(update={"outbox_dir": tmp_path / "outbox"})})
    alerts = AlertService.from_settings(s.alerts, s.network)
    alerted = _event(T)
    assert alerts.process_events([alerted])  # known to the outbox (version unknown: 0)
    announced = AnnouncedEvents()
    announced.remember(dataclasses.replace(alerted, version=4), alerted=True)
    far = _event(T + 300, lat=23.5)
    announced.remember(far, alerted=False)
    recent = RecentEvents()
    reg = EventRegistry({"outbox": alerts, "stream state": announced}, 5.0, 30.0, recent)

    known = reg.known(T - 600, T + 600)
    assert {k.id: k.version for k in known} == {alerted.id: 4, far.id: 1}  # highest version
    assert reg.known(T + 400, T + 600) == []

    again = _event(T + 0.3, mag=3.3)  # another first pick: another id, the same quake
    new = _event(T + 120)  # nothing known there
    out = reg.identify([new, again])
    assert [(e.id, e.version) for e in out] == [(alerted.id, 5), (new.id, 1)]  # by time
    # this process remembers what it identified: repeating a solution keeps its version
    assert {k.id for k in recent.known_events(T - 600, T + 600)} == {alerted.id, new.id}
    (same,) = reg.identify([out[0]])
    assert (same.id, same.version) == (alerted.id, 5)
    (moved,) = reg.identify([dataclasses.replace(out[0], magnitude=3.6)])
    assert (moved.id, moved.version) == (alerted.id, 6)
    assert reg.identify([again], taken={alerted.id}) == [again]  # a taken id is not matched


def test_an_unreadable_source_leaves_the_others(settings, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The store is down (nothing listens on its port): logged, the others decide."""
    store = InfluxStore(InfluxConnection(url=f"http://127.0.0.1:{free_port()}", database="x"),
                        tmp_path / "spool", retry_interval_s=0.0)
    announced = AnnouncedEvents()
    ev = _event(T)
    announced.remember(ev, alerted=False)
    reg = EventRegistry({"store": StoredEvents(store), "stream state": announced}, 5.0, 30.0)
    with caplog.at_level(logging.ERROR, logger="seismo.shells.registry"):
        (got,) = reg.identify([_event(T + 0.2, mag=3.2)])
    assert (got.id, got.version) == (ev.id, 2)
    assert "cannot read known events from the store" in caplog.text
    store.close()


def test_summary_of_an_event_version() -> None:
    ev = dataclasses.replace(_event(T), version=3, magnitude_type="Ms_BB", magnitude=6.1)
    assert EventSummary.of(ev) == EventSummary(ev.id, ev.time, 22.6, 114.0, 8.0, 6.1, 3, "Ms_BB")
    assert EventSummary.of(dataclasses.replace(ev, magnitude=None)).magnitude_type is None


@pytest.mark.parametrize("n", [1, 3])
def test_recent_events_are_bounded(n: int) -> None:
    recent = RecentEvents(max_n=n)
    recent.add(EventSummary(f"e{k}", T + k, 22.0, 114.0) for k in range(5))
    assert [k.id for k in recent.known_events(T - 1, T + 10)] == [f"e{k}" for k in range(5 - n, 5)]
