"""Reconciliation of the real-time detector with the window pass (the DAG's functions):
an announced stream event that the complete pass does not find is cancelled; the pass
never sends a second Alert (docs/streaming.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.alerts.service import AlertService
from seismo.event.identity import event_id
from seismo.model import Event, StationResult
from seismo.shells.publish import Runner
from seismo.shells.window import WindowResult, process_window
from seismo.shells.window_context import Context, windows_between
from seismo.simulate import Simulator

T = UTCDateTime("2026-02-01T10:00:00")


def _stream_event(settings, first_pick: UTCDateTime) -> Event:  # type: ignore[no-untyped-def]
    return Event(
        id=event_id(settings.pipeline.event_id_prefix, first_pick), time=first_pick - 2.0,
        latitude=22.62, longitude=114.07, depth_km=8.0, rms_s=0.05, azimuthal_gap_deg=60.0,
        n_phases=6, n_stations=6, horizontal_uncertainty_km=1.0, vertical_uncertainty_km=2.0,
        outside_network=False, magnitude=3.0, solution="stream",
        creation_time=first_pick + 3.0,
    )


@pytest.fixture(scope="module")
def quiet_window(settings):  # type: ignore[no-untyped-def]
    """A window of noise only, every station delivering data: the pass finds nothing."""
    s = settings.model_copy(update={"pipeline": settings.pipeline.model_copy(
        update={"window_offset_s": 0.0})})
    sim = Simulator.from_settings(s.simulator, s.network, scenario=None)
    window = windows_between(s, T, T + 1)[0]
    result = process_window(Context.from_settings(s), window,
                            source=lambda sid, t0, t1: sim.waveforms(*sid.split("."), t0, t1))
    assert result.events == [] and not result.errors
    return s, result


def _settings(s, tmp: Path, **stream):  # type: ignore[no-untyped-def]
    return s.model_copy(update={
        "alerts": s.alerts.model_copy(update={"outbox_dir": tmp / "outbox"}),
        "stream": s.stream.model_copy(update=stream),
    })


def _types(tmp: Path) -> list[str]:
    return sorted(p.name.split("__")[-1].removesuffix(".json")
                  for p in (tmp / "outbox" / "messages").glob("*.json"))


def test_window_pass_cancels_an_unconfirmed_stream_event(quiet_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    s0, result = quiet_window
    s = _settings(s0, tmp_path)
    w = result.window
    inside = _stream_event(s, w.start + 20.0)
    edge = _stream_event(s, w.start + 2.0)  # within the guard band: the neighbour's call
    svc = AlertService.from_settings(s.alerts, s.network, alert_dir=tmp_path / "cap")
    assert [m.msg_type for m in svc.process_events([inside, edge])] == ["Alert", "Alert"]
    with Runner.from_settings(s, store=False, alert_dir=tmp_path / "cap") as runner:
        rep = runner.handle(result)
        assert rep.cancelled == [inside.id]
        again = runner.handle(result)  # reprocessing: nothing new
        assert again.cancelled == [] and again.alerts_queued == 0
    assert _types(tmp_path) == ["Alert", "Alert", "Cancel"]
    cancel = next((tmp_path / "cap").glob(f"*{inside.id}*v2*.xml")).read_text()
    assert "<msgType>Cancel</msgType>" in cancel and "authoritative" in cancel
    assert f"{inside.id}.oncall.v1" in cancel  # references the Alert


def test_no_cancel_without_every_station_or_when_turned_off(quiet_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    s0, result = quiet_window
    w = result.window
    down = list(result.stations)
    down[0] = StationResult(network=down[0].network, station=down[0].station,
                            error="feed timed out")
    partial = WindowResult(w, down, [])
    for sub, res, stream in (("partial", partial, {}), ("off", result, {"dag_cancels": False})):
        tmp = tmp_path / sub
        s = _settings(s0, tmp, **stream)
        ev = _stream_event(s, w.start + 20.0)
        AlertService.from_settings(s.alerts, s.network).process_events([ev])
        with Runner.from_settings(s, store=False) as runner:
            rep = runner.handle(res)
        assert rep.cancelled == [] and _types(tmp) == ["Alert"], sub


def test_window_solution_of_a_stream_event_is_never_a_second_alert(quiet_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The pass's own solution of the event (other first pick, so another id) takes the
    stream event's id: an Update (ML moved by >= 0.3), no second Alert."""
    s0, result = quiet_window
    s = _settings(s0, tmp_path)
    w = result.window
    stream = _stream_event(s, w.start + 20.0)
    AlertService.from_settings(s.alerts, s.network).process_events([stream])
    dag = dataclasses.replace(stream, id=event_id(s.pipeline.event_id_prefix, w.start + 19.5),
                              time=stream.time - 0.3, magnitude=3.4, solution="window")
    with Runner.from_settings(s, store=False) as runner:
        rep = runner.handle(WindowResult(w, result.stations, [dag]))
    assert rep.event_ids == [stream.id] and rep.cancelled == []
    assert _types(tmp_path) == ["Alert", "Update"]


@pytest.mark.influx
def test_a_pass_that_fails_to_associate_keeps_a_stream_alert_whose_picks_it_held(
    quiet_window, influx_server, tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """The window holds the stream event's picks (six stations) but associates nothing:
    the pass failed, not the event; its Alert is not withdrawn. The same pass without
    those picks still cancels (the test above)."""
    import uuid

    from seismo.io.store import InfluxStore
    from seismo.io.store.connection import InfluxConnection
    from seismo.model import Pick

    s0, result = quiet_window
    s = _settings(s0, tmp_path)
    w = result.window
    first = w.start + 20.0
    picks = tuple(
        Pick(Pick.make_id(f"{r.network}.{r.station}..HHZ", "P", first + 0.4 * i), r.network,
             r.station, "", "HHZ", "P", first + 0.4 * i, 0.05, 20.0, 1000.0)
        for i, r in enumerate(result.stations[:6]))
    stream = dataclasses.replace(_stream_event(s, first), picks=picks)
    conn = InfluxConnection(url=influx_server.url, database=f"t_{uuid.uuid4().hex[:12]}")
    store = InfluxStore(conn, tmp_path / "spool", retry_interval_s=0.0)
    store.write_events([stream])  # the stream's version, with its picks
    AlertService.from_settings(s.alerts, s.network).process_events([stream])
    # the window pass: the same onsets (a window pick differs by a few samples), no event
    held = [dataclasses.replace(r, picks=tuple(
        dataclasses.replace(p, id=p.id + "w", time=p.time + 0.03)
        for p in picks if p.station == r.station)) for r in result.stations]
    runner = Runner(s, store=store, alerts=AlertService.from_settings(s.alerts, s.network))
    rep = runner.handle(WindowResult(w, held, []))
    store.close()
    assert rep.cancelled == [] and _types(tmp_path) == ["Alert"]
