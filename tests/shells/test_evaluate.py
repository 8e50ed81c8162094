"""``seismo evaluate``: catalogue readers, matching rules, scores, and the command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from obspy import UTCDateTime

from seismo.cli.main import main
from seismo.errors import DataError
from seismo.io.catalog import CatalogEvent, CatalogPick, read_catalog
from seismo.shells.scoring import (
    MatchRules,
    StationXY,
    distance_outside_km,
    match_events,
    score_events,
    score_picks,
)

T0 = UTCDateTime("2026-01-15T03:02:00")
RING = [StationXY(f"XX.S{i}", 22.6 + dy, 114.0 + dx)
        for i, (dy, dx) in enumerate([(0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1)])]


def _ev(dt: float, lat: float = 22.6, lon: float = 114.0, m: float | None = 2.5,
        **kw: object) -> CatalogEvent:
    return CatalogEvent(time=T0 + dt, latitude=lat, longitude=lon, depth_km=8.0, magnitude=m,
                        magnitude_type="ML", **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- readers
def test_read_json_csv_quakeml_agree(tmp_path: Path) -> None:
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"events": [
        {"time": "2026-01-15T03:02:00Z", "latitude": 22.6, "longitude": 114.0, "depth_km": 8,
         "magnitude": 2.5, "magnitude_type": "Mj"},
        {"origin_time": "2026-01-15T03:01:00Z", "latitude": 22.5, "longitude": 114.1},
    ]}), encoding="utf-8")
    cs = tmp_path / "c.csv"
    cs.write_text("# a comment\nTime,Lat,Lon,Depth,Mag,MagType\n"
                  "2026-01-15T03:02:00,22.6,114.0,8,2.5,Mj\n"
                  "2026-01-15T03:01:00,22.5,114.1,,,\n", encoding="utf-8")
    a, b = read_catalog(js), read_catalog(cs)
    assert [e.time for e in a] == [T0 - 60, T0] == [e.time for e in b]  # sorted by time
    assert a[1].magnitude == b[1].magnitude == 2.5 and a[1].magnitude_type == "Mj"
    assert a[0].depth_km is None and b[0].magnitude is None
    # QuakeML through ObsPy
    from obspy.core import event as qml

    cat = qml.Catalog()
    for e in a:
        ev = qml.Event()
        ev.origins.append(qml.Origin(time=e.time, latitude=e.latitude, longitude=e.longitude,
                                     depth=None if e.depth_km is None else e.depth_km * 1000))
        if e.magnitude is not None:
            ev.magnitudes.append(qml.Magnitude(mag=e.magnitude, magnitude_type="Mj"))
        cat.events.append(ev)
    q = tmp_path / "c.xml"
    cat.write(str(q), format="QUAKEML")
    c = read_catalog(q)
    assert [(e.time, e.latitude, e.magnitude) for e in c] == [
        (e.time, e.latitude, e.magnitude) for e in a]


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"events": [{"latitude": 1, "longitude": 2}]}', "events[0]: no 'time'"),
        ('{"events": [{"time": "x", "latitude": 1, "longitude": 2}]}', "not an ISO 8601 time"),
        ('{"events": [{"time": "2026-01-01", "latitude": "n", "longitude": 2}]}',
         "latitude is not a number"),
        ('{"events": [{"time": "2026-01-01", "latitude": 95, "longitude": 2}]}', "out of range"),
        ('{"nothing": []}', "top-level 'events' list"),
    ],
)
def test_read_catalog_bad_json(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message.replace("[", r"\[").replace("]", r"\]")) as e:
        read_catalog(p)
    assert str(p) in str(e.value)


def test_read_catalog_bad_csv_and_missing(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("when,lat,lon\n2026-01-01,1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="no 'time' column"):
        read_catalog(p)
    p.write_text("time,lat,lon\n2026-01-01,1,east\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2: longitude is not a number"):
        read_catalog(p)
    with pytest.raises(DataError, match="catalogue not found"):
        read_catalog(tmp_path / "none.json")


# --------------------------------------------------------------------------- matching and scores
def test_matching_is_one_to_one_and_takes_the_closest() -> None:
    ref = [_ev(0.0), _ev(10.0)]
    det = [_ev(0.4), _ev(0.2), _ev(9.0, lat=22.65), _ev(30.0)]
    pairs = match_events(ref, det, MatchRules())
    assert pairs == [(0, 1), (1, 2)]  # det 0 is a duplicate: an extra, not a second hit
    # beyond the tolerances: no match
    assert match_events([_ev(0.0)], [_ev(3.5)], MatchRules()) == []
    assert match_events([_ev(0.0)], [_ev(0.0, lat=22.8)], MatchRules()) == []  # 22 km
    # a distant reference event gets a tolerance of 10 % of its distance to the network
    far = _ev(0.0, lat=25.0)  # ~255 km north of the stations
    assert match_events([far], [_ev(0.5, lat=25.2)], MatchRules(), RING) == [(0, 0)]


def test_score_events_extras_templates_phantoms_and_bins() -> None:
    ref = [_ev(0.0, m=2.2), _ev(100.0, m=3.1), _ev(200.0, m=2.4)]
    det = [
        _ev(0.5, lat=22.61, m=2.4, depth_fixed=True),  # hit, depth fixed
        _ev(100.2, lat=22.62, m=3.0),  # hit
        _ev(150.0, m=0.9, picks=(CatalogPick("XX.S0", "P", T0 + 151),)),  # a small real one
        _ev(100.5, m=2.9),  # duplicate of the M3.1: explained by no template
        _ev(300.0, lat=24.0, m=4.3),  # ~150 km outside: a phantom
    ]
    templates = [_ev(0.1), _ev(100.1), _ev(150.3), _ev(200.1)]
    out = score_events(ref, det, MatchRules(), RING, templates)
    assert out["n_matched"] == 2 and out["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert out["recall_by_magnitude"] == {
        "2.0-2.5": {"found": 1, "total": 2}, "3.0-3.5": {"found": 1, "total": 1}}
    assert out["n_extra"] == 3 and out["n_extra_probably_real"] == 1
    assert out["n_extra_unexplained"] == 2 and out["n_phantom"] == 1
    classes = {x["time"][:19]: x["class"] for x in out["extras"]}
    assert classes[str(T0 + 150)[:19]].startswith("probably real")
    assert classes[str(T0 + 100.5)[:19]] == "unexplained"  # the template is the M3.1's own
    extra = next(x for x in out["extras"] if x["picks"])
    assert extra["stations"] == ["XX.S0"] and extra["n_p"] == 1
    assert out["depth_error_km"]["n"] == 1  # the fixed depth is not scored as a solution
    md = out["magnitude_difference"]
    assert md["types"] == "ML - ML" and md["n"] == 2 and md["median"] == pytest.approx(0.15)
    assert [m["time"][:19] for m in out["missed"]] == [str(T0 + 200)[:19]]


def test_distance_outside_network() -> None:
    assert distance_outside_km(22.6, 114.0, RING) == 0.0
    d = distance_outside_km(22.6 + 0.1 + 0.5, 114.0, RING)  # 0.5 deg north of the top station
    assert d == pytest.approx(55.6, abs=0.5)


def test_score_picks_labels_and_residuals() -> None:
    sta = {s.id: s for s in RING}
    ref = [_ev(0.0)]

    def tt(phase: str, sid: str, epi: float, depth: float) -> float:
        return (1.0 if phase == "P" else 2.0) * (epi + depth) / 6.0

    from seismo.geo import distance_km

    def arrival(sid: str, phase: str) -> UTCDateTime:
        s = sta[sid]
        return T0 + tt(phase, sid, float(distance_km(22.6, 114.0, s.latitude, s.longitude)), 8.0)

    picks = [
        CatalogPick("XX.S0", "P", arrival("XX.S0", "P") + 0.05),
        CatalogPick("XX.S0", "S", arrival("XX.S0", "S") - 0.1),
        CatalogPick("XX.S1", "S", arrival("XX.S1", "P")),  # P arrival labelled S
        CatalogPick("XX.S2", "P", arrival("XX.S2", "P") + 5.0),  # on no arrival
    ]
    out = score_picks(ref, picks, sta, tt, MatchRules())
    assert out["P"]["arrivals"] == 4 and out["P"]["picked"] == 2
    assert out["P"]["labelled_right"] == 1 and out["P"]["labelled_S"] == 1
    assert out["S"]["picked"] == 1 and out["S"]["labelled_right"] == 1
    assert out["P"]["residual_s"]["median_signed"] == pytest.approx(0.05, abs=1e-6)
    assert out["S"]["residual_s"]["median_signed"] == pytest.approx(-0.1, abs=1e-6)
    assert out["n_off_arrival"] == 1


# --------------------------------------------------------------------------- the command
def test_evaluate_scenario_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The simulator's truth is the reference: the same command scores both worlds."""
    js, rep, evs = tmp_path / "e.json", tmp_path / "report", tmp_path / "events.json"
    rc = main(["evaluate", "--scenario", "felt_m3_city", "--quiet", "--json", str(js),
               "--report", str(rep), "--events", str(evs)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "recall 1/1" in out and "nothing written to the store" in out
    assert "magnitude ML - Mw" in out  # the simulator's truth is Mw
    data = json.loads(js.read_text())
    e = data["events"]
    assert e["n_matched"] == 1 and e["n_extra"] == 0 and e["n_phantom"] == 0
    assert e["epicentral_error_km"]["median"] < 2.0
    assert abs(e["magnitude_difference"]["median_signed"]) < 0.3
    assert data["picks"]["P"]["picked"] >= 15 and data["wall_s"] > 0
    assert (rep / "index.html").is_file() and (rep / "map.png").stat().st_size > 10_000
    assert (rep / "recall.png").is_file() and "felt_m3_city" in (rep / "index.html").read_text()
    # score the written events again, from the file (no run): the same match
    rc = main(["evaluate", "--scenario", "felt_m3_city", "--detected", str(evs), "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "recall 1/1" in out and "wall time" not in out and "picks of the detected" in out
