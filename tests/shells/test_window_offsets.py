"""Large events never depend on where the window grid falls (issue 24, item 2).

The Nan'ao M7.3 (~335 km) and the Manila Trench M7.5 (~700 km) drill scenarios at 60 start
offsets across a one-minute window: every offset must give one event, owned by one window,
with the same stations and the same alert groups (:func:`seismo.alerts.rules.evaluate`).

A fast test of the window arithmetic: each scenario is simulated, picked and measured once,
over one span, by the real station stages (:func:`seismo.shells.window_stations.process_station`, as
``seismo detect`` picks each sample once); each window of each grid then gets its slice of
those picks and per-second amplitudes (what :class:`seismo.shells.chunk.StationChunk` gives a
window), and goes through the real window path: ownership, association, distant wave trains,
deferral and revisits (:func:`seismo.shells.window.process_results`), measurement and the late
surface-wave magnitudes (:class:`seismo.shells.window.LateMagnitudes`).

The association (:func:`seismo.event.associate.associate`, a pure function of its picks,
stations and known wave trains) is memoized on exactly those inputs: the 60 grids give a
window the same picks again and again, and a distant location costs ~1 s on 2 shared cores.
Every call with new inputs runs the real associator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pytest
from obspy import UTCDateTime

from seismo.alerts.rules import evaluate
from seismo.config import Settings
from seismo.event.candidate import EventCandidate
from seismo.event.trains import WaveTrain
from seismo.model import AmplitudeSeries, Event, Pick, StationResult
from seismo.shells.drill import POST_S, PRE_S
from seismo.shells.revisit import DistantTrains
from seismo.shells.window import LateMagnitudes, process_results
from seismo.shells.window_context import Context, Window, windows_between
from seismo.shells.window_stations import process_station
from seismo.simulate import Simulator

SCENARIOS = ("m73_nanao", "m75_manila_trench")
OFFSETS = range(60)


@dataclass(frozen=True)
class Played:
    """One scenario simulated, picked and measured once over ``[start, end)``."""

    origin: UTCDateTime
    start: UTCDateTime
    end: UTCDateTime
    stations: dict[str, StationResult]


@dataclass(frozen=True)
class Outcome:
    """What one grid offset published."""

    events: list[Event]
    owners: list[UTCDateTime]  # the start of the window that published each event
    groups: dict[str, tuple[str, ...]]
    stations: dict[str, frozenset[str]]
    reasons: dict[str, tuple[str, ...]]


def _slice(a: AmplitudeSeries | None, t0: UTCDateTime, t1: UTCDateTime) -> AmplitudeSeries | None:
    """The steps of ``a`` inside ``[t0, t1)`` (the series of that data span)."""
    if a is None:
        return None
    i0 = max(0, round(float(t0 - a.start) / a.step_s))
    i1 = max(i0, round(float(t1 - a.start) / a.step_s))
    cut: dict[str, object] = {}
    for f in dataclasses.fields(a):
        v = getattr(a, f.name)
        if f.name == "clipped":
            cut[f.name] = tuple(i - i0 for i in v if i0 <= i < i1)
        elif f.name.endswith(("_nm", "_nms", "_ms2", "_ms")):
            cut[f.name] = v[i0:i1]
    return dataclasses.replace(a, start=a.start + i0 * a.step_s, **cut)  # type: ignore[arg-type]


def _results_of(played: Played) -> Callable[[Window], list[StationResult]]:
    """A window's station results: its data span's slice of the span's picks and series."""

    def results(w: Window) -> list[StationResult]:
        t0, t1 = max(w.data_start, played.start), min(w.data_end, played.end)
        out = []
        for r in played.stations.values():
            if r.error or t1 <= t0:
                out.append(dataclasses.replace(r, picks=(), amplitudes=None,
                                               error=r.error or "no data in window"))
                continue
            share = float(t1 - t0) / float(played.end - played.start)
            out.append(dataclasses.replace(
                r, picks=tuple(p for p in r.picks if t0 <= p.time < t1),
                amplitudes=_slice(r.amplitudes, t0, t1),
                n_samples=max(1, round(r.n_samples * share))))
        return out

    return results


class Memo:
    """:func:`seismo.event.associate.associate`, once per distinct input."""

    def __init__(self, fn: Callable[..., list[EventCandidate]]) -> None:
        self.fn = fn
        self.got: dict[tuple[object, ...], list[EventCandidate]] = {}

    def __call__(self, picks: Sequence[Pick], stations: Mapping[str, object], *args: object,
                 known: Sequence[WaveTrain] = (), **kw: object) -> list[EventCandidate]:
        key = (tuple(sorted(p.id for p in picks)), tuple(sorted(stations)),
               tuple(id(a) for a in args), repr(sorted(kw.items())),
               tuple((t.source, str(t.origin_time)) for t in known))
        if key not in self.got:
            self.got[key] = self.fn(picks, stations, *args, known=known, **kw)
        return list(self.got[key])


@pytest.fixture(scope="module")
def memo() -> Iterator[Memo]:
    import seismo.shells.window_events as window_events

    m = Memo(window_events.associate)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(window_events, "associate", m)
        yield m


@pytest.fixture(scope="module")
def ctx(settings: Settings) -> Context:
    c = Context.from_settings(settings)
    c.prepare_tables()
    return c


@pytest.fixture(scope="module")
def played(ctx: Context, settings: Settings) -> dict[str, Played]:
    return _play(ctx, settings)


def _play(ctx: Context, settings: Settings) -> dict[str, Played]:
    """Each scenario simulated, picked and measured once, over one span."""
    out = {}
    p = settings.pipeline
    for name in SCENARIOS:
        sim = Simulator.from_settings(settings.simulator, settings.network, scenario=name)
        origin = sim.truth(peaks=False)[0].origin
        # every window of every grid that meets the drill's range, with its pre-roll and a
        # post-roll long enough for the distant S
        start = UTCDateTime(int(float((origin - PRE_S - p.window_s - p.preroll_s).timestamp)))
        end = UTCDateTime(int(float((origin + POST_S + p.window_s + p.postroll_s).timestamp)))
        span = Window(start, end, 0.0, 0.0)
        stations = {}
        for sid in ctx.stations:
            net, _, sta = sid.partition(".")
            st = sim.waveforms(net, sta, start, end)
            stations[sid] = process_station(ctx, sid, span, stream=st)
        out[name] = Played(origin, start, end, stations)
    return out


def _run(ctx: Context, settings: Settings, played: Played, offset: float) -> Outcome:
    """The drill's range on the grid shifted by ``offset`` seconds, window by window."""
    shifted = settings.model_copy(update={
        "pipeline": settings.pipeline.model_copy(update={"window_offset_s": offset})})
    trains, late = DistantTrains(ctx), LateMagnitudes(ctx)
    results_of = _results_of(played)
    events: dict[str, Event] = {}
    owners: dict[str, UTCDateTime] = {}
    for w in windows_between(shifted, played.origin - PRE_S, played.origin + POST_S):
        res = process_results(ctx, w, results_of, trains)
        for e in res.events:
            assert e.id not in events, f"event {e.id} published by two windows"
            events[e.id], owners[e.id] = e, w.start
        for e in late.add(res):  # surface-wave magnitudes once the waves are in
            events[e.id] = e
    rules, region = settings.alerts.rules, settings.network.region
    decisions = {k: evaluate(e, rules, region) for k, e in events.items()}
    return Outcome(
        list(events.values()), list(owners.values()),
        {k: d.groups for k, d in decisions.items()},
        {k: frozenset(f"{a.network}.{a.station}" for a in e.arrivals) for k, e in events.items()},
        {k: d.reasons for k, d in decisions.items()},
    )


@pytest.fixture(scope="module")
def outcomes(
    ctx: Context, settings: Settings, played: dict[str, Played], memo: Memo,
) -> dict[str, dict[int, Outcome]]:
    return {name: {k: _run(ctx, settings, played[name], float(k)) for k in OFFSETS}
            for name in SCENARIOS}


def _reference(settings: Settings, played: Played, runs: dict[int, Outcome]) -> Outcome:
    """The offset whose window holds the first P well inside it (the undisputed case)."""
    first = min(p.time for r in played.stations.values() for p in r.picks
                if p.time >= played.origin)
    w = settings.pipeline.window_s
    k = int((float(first.timestamp) - w / 2) % w)  # the first P in the middle of its window
    return runs[k]


@pytest.mark.parametrize(
    ("scenario", "offset"),
    [pytest.param(s, k, id=f"{s}-{k:02d}") for s in SCENARIOS for k in OFFSETS],
)
def test_every_grid_offset_gives_the_same_alert(
    settings: Settings, played: dict[str, Played], outcomes: dict[str, dict[int, Outcome]],
    scenario: str, offset: int,
) -> None:
    ref = _reference(settings, played[scenario], outcomes[scenario])
    got = outcomes[scenario][offset]
    assert len(ref.events) == 1 and "tsunami" in next(iter(ref.groups.values()))
    assert len(got.events) == 1, [(str(e.time), e.latitude, e.longitude) for e in got.events]
    assert len(got.owners) == 1
    (eid,) = got.groups
    (rid,) = ref.groups
    assert eid == rid  # the same identity: the same first pick
    assert got.stations[eid] == ref.stations[rid]
    assert got.groups[eid] == ref.groups[rid], got.reasons[eid]
