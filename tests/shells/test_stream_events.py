"""The associator of ``seismo stream`` alone: StationPicks messages of the scenario quake
in (from the real station pickers), measured event versions out; the clock is passed in
(record times), so the run is reproducible."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest
from obspy import UTCDateTime

from seismo.event.identity import event_id, first_pick_time
from seismo.geo import distance_km
from seismo.model import Event, SiteIntensity
from seismo.shells.stream_events import EventUpdate, StreamAssociator, material
from seismo.shells.stream_pickers import StationPickers, StationPicks
from seismo.shells.window_context import Context


@pytest.fixture(scope="module")
def ctx(settings):  # type: ignore[no-untyped-def]
    c = Context.from_settings(settings, check_responses=False)
    c.prepare_tables()
    return c


@pytest.fixture(scope="module")
def fed(settings, ctx, quake_records):  # type: ignore[no-untyped-def]
    """The records through the pickers: (pickers, [(record end time, message)])."""
    q = quake_records
    sub = {k: v for k, v in ctx.stations.items() if k in q.stations}
    pk = StationPickers(sub, ctx.inventory, settings.picker, settings.intensity,
                        settings.instrument, settings.stream, at=q.t0)
    msgs = [(float(r.end_time), pk.process(r, float(r.end_time) + 0.5)) for r in q.records]
    return pk, [(t, m) for t, m in msgs if m is not None]


def _run(events: StreamAssociator, pk: StationPickers, msgs, until: float | None = None):  # type: ignore[no-untyped-def]
    out: list[tuple[float, EventUpdate]] = []
    last = 0.0
    for now, m in msgs:
        if until is not None and now > until:
            break
        events.add(m)
        if events.due(now, last):
            out += [(now, u) for u in events.update(now, pk.live(now))]
            last = now
    return out


def test_picks_in_versions_out(settings, ctx, quake_records, fed) -> None:  # type: ignore[no-untyped-def]
    q, (pk, msgs) = quake_records, fed
    events = StreamAssociator(ctx, settings.stream, pk)
    got = _run(events, pk, msgs)
    versions = [(t, u) for t, u in got if u.kind == "version"]
    assert versions and all(u.key == versions[0][1].key for _, u in versions)  # one event
    t_first, first = versions[0]
    ev = first.event
    assert ev is not None and ev.solution == "stream" and ev.magnitude is not None
    assert ev.id == event_id(settings.pipeline.event_id_prefix, first_pick_time(ev.picks))
    truth = q.truth
    assert abs(float(ev.time - truth.origin)) < 2.0
    assert float(distance_km(ev.latitude, ev.longitude, truth.latitude, truth.longitude)) < 10
    assert abs(ev.magnitude - truth.magnitude) < 0.5
    # the first version waited for the S wave at the third-nearest station
    third = sorted(truth.arrivals.values(), key=lambda a: a[0])[2]
    assert t_first >= float(third[1])
    # each later version is a material change of the one before
    for (_, a), (_, b) in itertools.pairwise(versions):
        assert a.event is not None and b.event is not None and material(a.event, b.event)
    last = versions[-1][1].event
    assert last is not None and events.sent[first.key] == last
    # the publisher's id is used from then on; nothing moved: no new version
    events.accepted(first.key, dataclasses.replace(last, id="sz-known", version=4))
    end = msgs[-1][0]
    assert events.remeasure(end + 1.0) == []
    # quiet for close_after_s: closed, no more versions
    closed = events.update(end + settings.stream.close_after_s + 2.0, pk.live(end))
    assert [u.kind for u in closed] == ["close"] and closed[0].key == first.key
    assert events.n_open == 0 and events.sent == {}
    for _, u in got:
        assert EventUpdate.from_dict(json.loads(json.dumps(u.to_dict()))) == u


def test_an_event_that_falls_apart_vanishes(settings, ctx, quake_records, fed) -> None:  # type: ignore[no-untyped-def]
    """An event found on provisional picks alone, which are then withdrawn: it vanishes
    after cancel_after_s, with the last version sent (the publisher cancels it)."""
    pk, msgs = fed
    picks = [p for _, m in msgs for p in m.final]
    events = StreamAssociator(ctx, settings.stream, pk)
    end = msgs[-1][0]
    for sid in {p.station_id for p in picks}:
        events.add(StationPicks(sid, (), tuple(p for p in picks if p.station_id == sid)))
    first = events.update(end, pk.live(end))
    assert [u.kind for u in first] == ["version"]
    for sid in {p.station_id for p in picks}:
        events.add(StationPicks(sid, (), ()))  # the onsets were not confirmed
    assert events.update(end + 1.0, pk.live(end)) == []
    gone = events.update(end + settings.stream.cancel_after_s + 2.0, pk.live(end))
    assert [(u.kind, u.key) for u in gone] == [("vanish", first[0].key)]
    assert gone[0].event == first[0].event and events.sent == {}


def test_material_changes() -> None:
    nan = float("nan")
    ev = Event(id="e", time=UTCDateTime(2026, 1, 1),
               latitude=22.6, longitude=114.0, depth_km=8.0, rms_s=0.1, azimuthal_gap_deg=90,
               n_phases=8, n_stations=5, horizontal_uncertainty_km=nan,
               vertical_uncertainty_km=nan, outside_network=False, magnitude=3.0,
               max_intensity=4.0)
    assert not material(ev, dataclasses.replace(ev, id="other", version=3, magnitude=3.05))
    assert material(ev, dataclasses.replace(ev, magnitude=3.1))
    assert material(ev, dataclasses.replace(ev, magnitude=None))
    assert material(ev, dataclasses.replace(ev, time=ev.time + 0.5))
    assert not material(ev, dataclasses.replace(ev, max_intensity=4.1))
    site = SiteIntensity("x", "district", 22.6, 114.0, 5.0, 4.2, 4.0)
    assert material(ev, dataclasses.replace(ev, site_intensities=(site,)))


# --------------------------------------------------------------------------- memory
def test_memory_limit_of_the_control_group(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """cgroup v2 (the group's memory.max), v1 (memory.limit_in_bytes), a container whose
    group is the mounted root, and no limit."""
    from seismo.shells.stream_events import memory_limit_bytes

    def tree(name: str, cgroup: str, files: dict[str, str]):  # type: ignore[no-untyped-def]
        root = tmp_path / name
        (root / "proc/self").mkdir(parents=True)
        (root / "proc/self/cgroup").write_text(cgroup)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return root

    v2 = tree("v2", "0::/system.slice/seismo-stream.service\n",
              {"sys/fs/cgroup/system.slice/seismo-stream.service/memory.max": "1073741824\n"})
    assert memory_limit_bytes(v2) == 2**30
    v1 = tree("v1", "4:memory:/docker/abc\n1:cpu:/\n0::/\n",
              {"sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912\n"})
    assert memory_limit_bytes(v1) == 2**29
    none = tree("none", "0::/user.slice\n", {"sys/fs/cgroup/user.slice/memory.max": "max\n"})
    assert memory_limit_bytes(none) is None
    unlimited = tree("unl", "4:memory:/\n",
                     {"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"})
    assert memory_limit_bytes(unlimited) is None
    assert memory_limit_bytes(tmp_path / "nothing") is None


def test_association_memory_against_the_limit(ctx) -> None:  # type: ignore[no-untyped-def]
    """The grid's node count is the grid's own; a limit below what the grid needs gives
    the error that names the unit's MemoryMax=, a larger one none."""
    from seismo.event.gridstack import association_bytes, stack_grid
    from seismo.shells.stream_events import check_association_memory

    n, need = association_bytes(ctx.stations, ctx.velocity, ctx.assoc_cfg, ctx.locate_cfg)
    grid = stack_grid(ctx.stations, ctx.velocity, ctx.assoc_cfg,
                      ctx.locate_cfg.elevation_correction, ctx.locate_cfg)
    assert n == len(grid.lat) and need >= grid.tt.nbytes
    why = check_association_memory(ctx, limit=need // 2)
    assert why is not None and "MemoryMax=" in why and f"{n} nodes" in why
    assert check_association_memory(ctx, limit=2 * need) is None
