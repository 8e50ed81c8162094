"""Missing metadata is loud, and an event without a magnitude still alerts.

The felt_m3_city scenario (ML 3.0 under the city) is processed with an
inventory whose responses were taken away, as delivered by a careless export.
"""

from __future__ import annotations

import copy
import logging

import pytest
from obspy import Inventory, Stream, UTCDateTime

from seismo.alerts.rules import evaluate
from seismo.config import Settings
from seismo.shells.window import process_window
from seismo.shells.window_context import Context, windows_between
from seismo.simulate import Simulator


def _events(settings: Settings, inv: Inventory):  # type: ignore[no-untyped-def]
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario="felt_m3_city")
    origin = sim.truth()[0].origin
    ctx = Context.from_settings(settings, inv)

    def src(sid: str, a: UTCDateTime, b: UTCDateTime) -> Stream:
        net, sta = sid.split(".")
        return sim.waveforms(net, sta, a, b)

    return [e for w in windows_between(settings, origin - 60, origin + 60)
            for e in process_window(ctx, w, source=src).events]


def _strip(inventory: Inventory, keep_sensitivity: bool) -> Inventory:
    inv = copy.deepcopy(inventory)
    for net in inv:
        for sta in net:
            for ch in sta:
                if keep_sensitivity:
                    ch.response.response_stages = []
                else:
                    ch.response = None
    return inv


def test_no_responses_at_all_is_said_once_and_the_event_still_alerts(
    settings: Settings, inventory: Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        events = _events(settings, _strip(inventory, keep_sensitivity=False))
    said = [r for r in caplog.records if "lack a usable instrument response" in r.getMessage()]
    assert len(said) == 1
    n = len(inventory.get_contents()["channels"])
    assert f"{n} of {n} channels" in said[0].getMessage()
    assert "NO ML and NO intensity" in said[0].getMessage()
    assert sum("response" in r.getMessage() for r in caplog.records) == 1  # no per-window flood
    (ev,) = events
    assert ev.magnitude is None and ev.max_intensity is None
    decision = evaluate(ev, settings.alerts.rules, settings.network.region)
    assert decision.oncall  # an event with no magnitude is still an event


def test_stated_sensitivity_stands_in_for_a_missing_full_response(
    settings: Settings, inventory: Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        events = _events(settings, _strip(inventory, keep_sensitivity=True))
    said = [r.getMessage() for r in caplog.records
            if "lack a usable instrument response" in r.getMessage()]
    n = len(inventory.get_contents()["channels"])
    assert len(said) == 1 and f"{n} use their stated sensitivity" in said[0]
    (ev,) = events
    assert ev.magnitude is not None and abs(ev.magnitude - 3.0) < 0.5
    assert ev.max_intensity is not None
    assert evaluate(ev, settings.alerts.rules, settings.network.region).oncall


def test_stray_rate_record_drops_only_itself(
    settings: Settings, tmp_path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    """A 50 Hz record inside a 100 Hz SDS day file: only that record is lost, with a warning."""
    from obspy import read

    from seismo.io.feeds import fetch_window
    from seismo.io.sds import write_sds
    from seismo.shells.window_context import Window
    from seismo.shells.window_stations import process_station

    ref = UTCDateTime("2026-01-15T03:00:00")  # felt_m3_city: origin at ref + 120 s
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario="felt_m3_city")
    write_sds(sim, tmp_path, ref + 60, ref + 240)
    ctx = Context.from_settings(settings)
    sid = next(k for k, v in sorted(ctx.stations.items())
               if {"HHZ", "HHN", "HHE"} <= {c.channel for c in v.channels})
    (path,) = [p for p in tmp_path.rglob(f"{sid}.*HHZ.D.*") if p.is_file()]
    st = read(str(path))
    stray = st[0].copy().trim(ref + 100, ref + 110)
    stray.data = stray.data[::2].copy()
    stray.stats.sampling_rate = 50.0
    (st + Stream([stray])).write(str(path), format="MSEED", reclen=512)

    w = Window(ref + 120, ref + 180, settings.pipeline.preroll_s, settings.pipeline.postroll_s)
    got = fetch_window(settings.feeds, ctx.inventory, w.data_start, w.data_end,
                       feed_url=f"sds://{tmp_path}", stations=[sid])[sid]
    assert {tr.stats.sampling_rate for tr in got.stream.select(channel="HHZ")} == {50.0, 100.0}
    with caplog.at_level(logging.WARNING):
        res = process_station(ctx, sid, w, stream=got.stream)
    assert res.error is None
    assert {c.split(".")[-1] for c in res.channels} >= {"HHZ", "HHN", "HHE"}
    assert res.amplitudes is not None and res.picks
    text = caplog.text
    assert "HHZ: dropped 1 segment(s) (501 samples) at 50 Hz; the channel is 100 Hz" in text
    assert "mixes sampling rates" not in text and "cannot merge" not in text
