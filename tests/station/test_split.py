"""A P and an S inside one onset cluster (seismo.station.picker.split): S-P shorter than
the station merge span, as at a micro-network, on synthetic three-component onsets
through a real instrument response."""

from __future__ import annotations

import pytest
from test_picker import INSTRUMENT, T0, synth_station  # shared synthetic-station helpers

from seismo.station.picker import pick_stream
from seismo.station.picker.settings import PickerConfig


@pytest.mark.parametrize("s_minus_p", [0.35, 0.5, 0.7])
def test_p_and_s_inside_one_cluster(inventory, s_minus_p: float) -> None:  # type: ignore[no-untyped-def]
    cfg = PickerConfig()
    assert s_minus_p < cfg.station_merge_s
    st = synth_station(inventory, p_time=45.0, snr=80, seed=11, s_time=45.0 + s_minus_p)
    picks = pick_stream(st, inventory, cfg, instrument=INSTRUMENT)
    ps = [p for p in picks if p.phase == "P"]
    ss = [p for p in picks if p.phase == "S"]
    assert len(ps) == 1 and len(ss) == 1, picks
    assert abs(float(ps[0].time - (T0 + 45.0))) < 0.05
    assert ss[0].channel[-1] in "NE"
    assert abs(float(ss[0].time - (T0 + 45.0 + s_minus_p))) < 0.1
    # switched off (a station whose S-P the network expects beyond the merge span): the
    # cluster is one pick, as before
    off = pick_stream(st, inventory, cfg.model_copy(update={"inner_s": False}),
                      instrument=INSTRUMENT)
    assert len([p for p in off if abs(float(p.time - (T0 + 45.0))) < 1.0]) == 1


def test_an_s_alone_is_not_split(inventory) -> None:  # type: ignore[no-untyped-def]
    """An S onset without a P before it inside its cluster stays one S pick: a split needs
    a P-polarised first onset."""
    st = synth_station(inventory, p_time=None, snr=80, seed=12, s_time=50.0)
    picks = [p for p in pick_stream(st, inventory, PickerConfig(), instrument=INSTRUMENT)
             if abs(float(p.time - (T0 + 50.0))) < 1.0]
    assert [p.phase for p in picks] == ["S"]


def test_a_lone_p_is_not_split(inventory) -> None:  # type: ignore[no-untyped-def]
    st = synth_station(inventory, p_time=45.0, snr=80, seed=13)
    picks = [p for p in pick_stream(st, inventory, PickerConfig(), instrument=INSTRUMENT)
             if abs(float(p.time - (T0 + 45.0))) < 1.0]
    assert [p.phase for p in picks] == ["P"]
