"""What ``seismo stream`` stores: the ``solution=stream`` tag, the heartbeat, and the
health check that reports the stream down when the heartbeat stops (real influxd)."""

from __future__ import annotations

import dataclasses

import pytest
from obspy import UTCDateTime
from store_factories import T0, make_event, make_pick

from seismo.health.stream import check_stream, stream_status
from seismo.io.store import InfluxStore

pytestmark = pytest.mark.influx


def test_stream_picks_and_events_carry_the_solution_tag(store: InfluxStore) -> None:
    store.write_picks([make_pick("ST01")], "stream")
    store.write_picks([make_pick("ST02")])  # the window pass: no tag
    tagged = store.query("SELECT * FROM \"picks\" WHERE \"solution\" = 'stream'")
    assert [r["station"] for r in tagged] == ["ST01"]
    assert len(store.query_picks(T0 - 10, T0 + 10)) == 2
    ev = dataclasses.replace(make_event("sz1", version=2), solution="stream")
    dag = dataclasses.replace(make_event("sz1", version=3), solution="window")
    store.write_events([ev, dag])
    rows = store.query("SELECT * FROM \"events\"")
    assert sorted(r.get("solution") or "" for r in rows) == ["", "stream"]
    latest = store.query_events(T0 - 10, T0 + 10)
    assert [(e.id, e.version, e.solution) for e in latest] == [("sz1", 3, "window")]
    every = store.query_event_versions("sz1")
    assert [(e.version, e.solution) for e in every] == [(2, "stream"), (3, "window")]


class _Notices:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_notice(self, group: str, subject: str, text: str, key: str,
                    **_zh: str | None) -> list[object]:
        self.sent.append((group, key))
        return []


def _check(settings, store, notices, now):  # type: ignore[no-untyped-def]
    """The heartbeat check as the health run calls it with ``settings``."""
    return check_stream(store, notices, now, monitored=settings.stream.monitored,
                        down_after_s=settings.stream.heartbeat_down_s,
                        notify_group=settings.health.notify_group)


def test_heartbeat_and_stream_down(settings, store: InfluxStore) -> None:  # type: ignore[no-untyped-def]
    now = UTCDateTime()
    notices = _Notices()
    store.write_picks([make_pick("ST01")])  # the database exists; no heartbeat yet
    assert _check(settings, store, notices, now).up is False  # never seen
    store.write_heartbeat("node-1", now - 25, uptime_s=100.0, stations_live=20)
    store.write_heartbeat("node-1", now - 15, uptime_s=110.0, stations_live=19)
    row = store.last_heartbeat(now - 3600)
    assert row is not None and row["stations_live"] == 19 and row["host"] == "node-1"
    # a split stream: each part beats with its own host tag, read apart
    store.write_heartbeat("node-1:pickers-1of2", now - 20, uptime_s=5.0, stations_live=9)
    part = store.last_heartbeat(now - 3600, host="node-1:pickers-1of2")
    assert part is not None and part["stations_live"] == 9
    assert store.last_heartbeat(now - 3600, host="node-1:pickers-2of2") is None
    assert store.last_heartbeat(now - 3600)["host"] == "node-1"  # type: ignore[index]
    up = _check(settings, store, notices, now)
    assert up.up is True and up.last is not None and abs(up.last - (now - 15)) < 1e-3
    later = now + settings.stream.heartbeat_down_s + 30  # the beats stopped
    down = _check(settings, store, notices, later)
    assert down.up is False and "down" in down.detail
    again = _check(settings, store, notices, later + 60)
    assert again.up is False
    # one notice per outage (same key) to the engineers and to the on-call group
    assert {g for g, _ in notices.sent} == {settings.health.notify_group, "oncall"}
    keys = [k for _, k in notices.sent]
    assert keys.count(keys[-1]) == 4 and keys[0].endswith("never")
    off = settings.model_copy(update={"stream": settings.stream.model_copy(
        update={"monitored": False})})
    assert _check(off, store, notices, later).up is None
    assert stream_status(now - 5, now, 60).up is True


def test_one_dead_process_of_a_split_stream(settings, store: InfluxStore) -> None:  # type: ignore[no-untyped-def]
    """A split stream beats once per process. While the others beat, a process whose
    beats stopped without a last "stopped" beat is down on its own, and named; one that
    shut down cleanly (a part retired when the split changed) is not."""
    now = UTCDateTime()
    notices = _Notices()
    for host in ("node-1:associator", "node-1:pickers-1of2", "node-1:pickers-2of2"):
        store.write_heartbeat(host, now - 200, uptime_s=10.0, stations_live=10)
    store.write_heartbeat("node-1", now - 300, uptime_s=900.0, stations_live=20,
                          stopped=True)  # the single process, retired cleanly
    store.write_heartbeat("node-1:associator", now - 10, uptime_s=200.0, stations_live=20)
    store.write_heartbeat("node-1:pickers-1of2", now - 5, uptime_s=195.0, stations_live=10)
    # pickers-2of2 stopped beating 200 s ago: it died
    rows = store.last_heartbeats(now - 3600)
    assert [r["host"] for r in rows] == [
        "node-1:pickers-1of2", "node-1:associator", "node-1:pickers-2of2", "node-1"]
    st = _check(settings, store, notices, now)
    assert st.up is True and st.down_hosts == ("node-1:pickers-2of2",)
    assert "node-1:pickers-2of2" in st.detail and st.to_dict()["down_hosts"] == [
        "node-1:pickers-2of2"]
    assert {g for g, _ in notices.sent} == {settings.health.notify_group, "oncall"}
    assert all(k.startswith("stream-host-down.node-1:pickers-2of2.") for _, k in notices.sent)
    # it comes back: nobody is down
    store.write_heartbeat("node-1:pickers-2of2", now - 2, uptime_s=3.0, stations_live=10)
    assert _check(settings, store, _Notices(), now).down_hosts == ()
