"""The peaks mirror of the split stream: station updates taken from the station pickers
after every few records, through JSON, into an AmplitudeMirror; the mirror answers the
measurement's calls (series, newest, reached) and the data clock exactly as the
pickers do at that moment."""

from __future__ import annotations

import json
import math

import pytest

from seismo.model import AmplitudeSeries
from seismo.shells.stream_amplitudes import AmplitudeMirror, station_update
from seismo.shells.stream_pickers import StationPickers
from seismo.shells.window_context import Context


@pytest.fixture(scope="module")
def ctx(settings):  # type: ignore[no-untyped-def]
    return Context.from_settings(settings, check_responses=False)


def _same(a: AmplitudeSeries | None, b: AmplitudeSeries | None) -> bool:
    """Equal, NaN equal to NaN (the series' marks of seconds without data)."""
    if a is None or b is None:
        return a is b
    da, db = a.to_dict(), b.to_dict()
    return json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True)


def test_mirror_answers_as_the_pickers(settings, ctx, quake_records) -> None:  # type: ignore[no-untyped-def]
    q = quake_records
    pk = StationPickers({k: v for k, v in ctx.stations.items() if k in q.stations},
                        ctx.inventory, settings.picker, settings.intensity,
                        settings.instrument, settings.stream, at=q.t0)
    mirror = AmplitudeMirror(ctx.stations, settings.stream)
    sent: dict[str, int | None] = {}
    origin = q.truth.origin
    checked = n_updates = 0
    for k, rec in enumerate(q.records):
        now = float(rec.header.end) + 0.5
        pk.process(rec, now)
        if k % 7 and k != len(q.records) - 1:  # an update every few records, as a batch
            continue
        for sid, state in pk.states.items():
            u = station_update(state, pk.arrived.get(sid), sent.get(sid))
            if u is None:
                continue
            sent[sid] = u["newest"]
            mirror.apply(json.loads(json.dumps(u, allow_nan=False)))
            n_updates += 1
        assert station_update(pk.states[q.stations[0]], None, sent[q.stations[0]]) is None
        for sid in q.stations:
            assert mirror.newest(sid) == pk.newest(sid)
            for comps in ("NE12", "Z", "ZNE"):
                assert mirror.reached(sid, comps) == pk.reached(sid, comps)
            for since in (q.t0, origin - 30, origin + 2.5, origin + 20):
                got, want = mirror.series(sid, since), pk.series(sid, since)
                assert _same(got, want), (sid, since)
                checked += want is not None
        assert mirror.clock(now) == pk.clock(now)
        assert mirror.live(now) == pk.live(now) and mirror.lag_s(now) == pk.lag_s(now)
    assert checked > 100 and n_updates > len(q.stations) * 5
    # the mirror saw the quake: the nearest station's peak acceleration is above noise
    s = mirror.series(q.stations[0], origin)
    assert s is not None
    peak = max(v for v in s.pga_ms2 if v is not None and not math.isnan(v))
    assert peak > 1e-4
    # a station the mirror never heard of, and one of the network without data
    assert mirror.series("XX.NONE", origin) is None and mirror.newest("XX.NONE") is None
    quiet = next(s for s in ctx.stations if s not in q.stations)
    assert mirror.series(quiet, origin) is None and mirror.reached(quiet, "NE12") is None
