"""What a message says: the notation, the place, the thread's hysteresis, the final Update,
the tsunami area, bilingual notices (docs/alerts.md, "What a message says")."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from test_alerts import (
    MANILA,
    NS,
    T0,
    assert_valid,
    field,
    infos,
    make_event,
    make_settings,
    params,
    service,
    site,
)

from seismo.alerts.gazetteer import NamedSite, place_name, sea_area
from seismo.alerts.notation import intensity_text, magnitude_text
from seismo.alerts.outbox import QueuedMessage
from seismo.alerts.rules import AlertDecision
from seismo.alerts.thread import tsunami_radius
from seismo.model import Magnitude

FUTIAN = NamedSite("Futian District", "福田区", "district", 22.541, 114.055)


# --------------------------------------------------------------------------- notation
def test_one_notation_for_intensity_and_any_magnitude_type() -> None:
    assert intensity_text(5.6) == "GB/T 17742 VI"
    assert intensity_text(5.4, "mmi") == "MMI V"
    assert intensity_text(1.0) == "GB/T 17742 I (not felt)"
    assert intensity_text(1.2, "cn", "zh") == "GB/T 17742 I度（无感）"
    assert intensity_text(None) == "unknown"
    for mtype in ("Mpd", "Mwp", "Mwpd", "Ms_BB", "Mww"):  # any type, as it is named
        assert magnitude_text(6.84, mtype) == f"{mtype} 6.8"
    assert magnitude_text(None, "ML") == "magnitude being determined"
    assert magnitude_text(None, "ML", "zh") == "震级测定中"


def test_message_renders_a_p_wave_magnitude_type_it_does_not_know(tmp_path: Path) -> None:
    """A magnitude type added later (a P-wave Mpd, a moment Mwp) is written by its name."""
    ev = dataclasses.replace(make_event(mag=3.1), magnitude_type="Mpd",
                             magnitudes=(Magnitude("Mpd", 3.1, 0.3, 4),),
                             magnitude_uncertainty=0.3, n_magnitude_stations=4)
    [msg] = service(make_settings(tmp_path)).process_events([ev], now=T0 + 5)
    assert_valid(msg.xml)
    zh, en = infos(msg.xml)
    assert field(en, "c:headline").startswith("Mpd 3.1 earthquake, ")
    assert "Mpd3.1" in field(zh, "c:headline")
    assert "Mpd 3.1 ± 0.3" in field(en, "c:description")
    p = params(en)
    assert p["magnitude_type"] == "Mpd" and p["magnitude_uncertainty"] == "0.3"
    assert p["magnitude_stations"] == "4"


def test_station_counts_read_as_numbers_of_stations(tmp_path: Path) -> None:
    """A first real-time version whose magnitude rests on one station says so in the
    singular, as the magnitudes parameter does ("1 station")."""
    for n, words in ((1, "magnitude from 1 station."), (4, "magnitude from 4 stations.")):
        ev = dataclasses.replace(make_event(mag=2.8), magnitudes=(Magnitude("ML", 2.8, 0.3, n),),
                                 n_magnitude_stations=n)
        [msg] = service(make_settings(tmp_path / str(n))).process_events([ev], now=T0 + 5)
        zh, en = infos(msg.xml)
        assert words in field(en, "c:description")
        assert f"震级由{n}个台站测定" in field(zh, "c:description")


# --------------------------------------------------------------------------- places
def test_place_names_from_the_offline_gazetteer() -> None:
    home = place_name(22.60, 114.10, [FUTIAN])
    assert home.en == "8 km NE of Futian District" and home.zh == "福田区东北8千米"
    assert place_name(22.542, 114.056, [FUTIAN]).en == "Futian District"
    manila = place_name(*MANILA, [FUTIAN])
    assert manila.en == "South China Sea (Philippine Islands region)"
    assert manila.zh == "南海（菲律宾群岛地区）"
    nanao = place_name(23.3, 117.5, [FUTIAN])  # the Nan'ao M7.3 (1918) area, offshore
    assert nanao.en.startswith("Taiwan Strait") and nanao.zh.startswith("台湾海峡")
    assert place_name(35.0, 100.0, [FUTIAN]).en == "Qinghai, China"  # FE region, inland
    assert sea_area(22.62, 114.08) is None  # Shenzhen itself is no sea


def test_far_event_headline_names_the_region_not_coordinates(tmp_path: Path) -> None:
    ev = make_event(*MANILA, depth=20.0, mag=6.1, outside=True, station_km=690.0, hunc=80.0)
    msgs = service(make_settings(tmp_path)).process_events([ev], now=T0 + 60)
    for m in msgs:
        assert_valid(m.xml)
        en = infos(m.xml)[1]
        assert "South China Sea (Philippine Islands region)" in field(en, "c:headline")
        assert "°N" not in field(en, "c:headline")
        assert params(en)["region"] == "South China Sea (Philippine Islands region)"
        assert "epicentre outside the network" in field(en, "c:description")


# --------------------------------------------------------------------------- contradictions
def test_not_felt_event_has_no_felt_area(tmp_path: Path) -> None:
    """Observed "not felt": the first area is the epicentre and its uncertainty, not a
    "felt area" that the observations contradict."""
    ev = make_event(mag=2.6, imax=1.2)
    [msg] = service(make_settings(tmp_path)).process_events([ev], now=T0 + 5)
    assert_valid(msg.xml)
    en = infos(msg.xml)[1]
    desc = field(en.find("c:area", NS), "c:areaDesc")  # type: ignore[arg-type]
    assert desc.startswith("Epicentre and its uncertainty")
    assert "GB/T 17742 I (not felt)" in field(en, "c:description")
    assert "MMI" not in msg.xml and "felt area" not in msg.xml.lower()


def test_depth_not_resolved_is_said_not_a_number(tmp_path: Path) -> None:
    ev = dataclasses.replace(make_event(mag=3.0), depth_fixed=True)
    [msg] = service(make_settings(tmp_path)).process_events([ev], now=T0 + 5)
    zh, en = infos(msg.xml)
    assert "depth not resolved" in field(en, "c:description")
    assert "震源深度未能测定" in field(zh, "c:description")
    assert params(en)["depth_km"] == "not resolved"


# --------------------------------------------------------------------------- thread
def _with_intensity(ev, value: float, **kw):  # type: ignore[no-untyped-def]
    return dataclasses.replace(ev, max_intensity=value, **kw)


def test_updates_escalate_at_once_and_downgrade_after_the_hold(tmp_path: Path) -> None:
    """Hysteresis (issue 23 item 3): a higher intensity degree goes out at once; a lower
    one only when it has held ``update_downgrade_hold_s`` or a complete solution says so."""
    svc = service(make_settings(tmp_path))
    hold = svc.rules.update_downgrade_hold_s
    base = dataclasses.replace(make_event(mag=3.0), solution="stream")
    [a] = svc.process_events([_with_intensity(base, 3.4)], now=T0 + 5)  # III
    [up] = svc.process_events([_with_intensity(base, 4.6, version=2)], now=T0 + 6)  # V: at once
    assert up.msg_type == "Update" and up.intensity == 4.6
    # IV from a real-time version: held, not sent
    assert svc.process_events([_with_intensity(base, 3.6, version=3)], now=T0 + 8) == []
    assert svc.process_events([_with_intensity(base, 3.6, version=4)],
                              now=T0 + 8 + hold / 2) == []
    [down] = svc.process_events([_with_intensity(base, 3.6, version=5)], now=T0 + 8 + hold)
    assert down.msg_type == "Update" and down.intensity == 3.6
    assert a.seq == 1 and up.seq == 2 and down.seq == 3


def test_a_complete_solution_confirms_a_downgrade_at_once(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    base = make_event(mag=3.0)
    svc.process_events([_with_intensity(base, 4.6, solution="stream")], now=T0 + 5)
    [down] = svc.process_events([_with_intensity(base, 3.4, solution="window", version=2)],
                                now=T0 + 7)
    assert down.msg_type == "Update" and down.intensity == 3.4


def test_final_update_once_when_the_complete_solution_confirms(tmp_path: Path) -> None:
    """The stream's Alert, then the DAG's solution with nothing material changed: one
    Update says the solution is final; a reprocessing adds nothing."""
    svc = service(make_settings(tmp_path))
    ev = make_event(mag=3.2, imax=3.4)
    [a] = svc.process_events([dataclasses.replace(ev, solution="stream")], now=T0 + 5)
    window = dataclasses.replace(ev, solution="window", version=2)
    [fin] = svc.process_events([window], now=T0 + 80)
    assert fin.msg_type == "Update" and fin.final and fin.seq == 2
    assert_valid(fin.xml)
    zh, en = infos(fin.xml)
    assert field(en, "c:headline").startswith("Final: ML 3.2 earthquake")
    assert field(en, "c:description").startswith("Reviewed automatic solution, final")
    assert params(en)["solution_status"] == "final"
    assert field(en, "c:responseType") == "Monitor"
    assert field(zh, "c:headline").startswith("最终结果")
    assert svc.process_events([window], now=T0 + 140) == []  # once per thread
    assert a.seq == 1


def test_review_confirmation_is_an_update(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    ev = make_event(mag=3.2)
    svc.process_events([ev], now=T0 + 60)
    [rev] = svc.process_events([dataclasses.replace(ev, status="confirmed", version=2)],
                               now=T0 + 600)
    en = infos(rev.xml)[1]
    assert params(en)["solution_status"] == "reviewed"
    assert field(en, "c:certainty") == "Observed"


def _decision(mag: float) -> AlertDecision:
    return AlertDecision("e", True, True, False, True, True, False, None, 690.0, (),
                         tsunami_magnitude=mag, tsunami_magnitude_type="Ms_BB")


def test_tsunami_area_never_shrinks_while_the_magnitude_grows() -> None:
    """A saturated ML's 1000 km circle stays when a larger moment magnitude replaces it
    (whose own band would be 300 km); it may shrink only when the magnitude falls."""
    ev = make_event(*MANILA, mag=7.2)
    last = QueuedMessage("k", "t", 1, "i", "s", "2026-11-29T12:01:00+00:00", "Actual", "Alert",
                         "e", "tsunami", (), "", "", "", 0.0, tsunami_magnitude=6.1,
                         tsunami_radius_km=1000.0)
    assert tsunami_radius([last], ev, _decision(7.2)) == 1000.0
    assert tsunami_radius([last], ev, _decision(5.9)) == 300.0


def test_saturated_then_moment_magnitude_keeps_the_wider_area(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    first = make_event(*MANILA, depth=20.0, mag=6.1, outside=True, station_km=690.0, hunc=80.0)
    msgs = svc.process_events([first], now=T0 + 60)
    tsu = next(m for m in msgs if m.group == "tsunami")
    assert tsu.tsunami_radius_km == 1000.0
    grown = dataclasses.replace(first, version=2, magnitudes=(
        Magnitude("ML", 6.1, None, 5), Magnitude("Ms_BB", 7.2, 0.2, 8)))
    later = [m for m in svc.process_events([grown], now=T0 + 240) if m.group == "tsunami"]
    for m in later:
        assert m.tsunami_radius_km == 1000.0
        en = infos(m.xml)[1]
        assert field(en.find("c:area", NS), "c:circle").endswith(" 1000.0")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- notices
def test_notices_are_bilingual_and_valid(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    [n] = svc.send_notice("engineers", "Station XX.AAA FAIL", "dead channel", "k1",
                          subject_zh="台站XX.AAA故障", text_zh="通道无信号", now=T0)
    assert_valid(n.xml)
    zh, en = infos(n.xml)
    assert field(zh, "c:language") == "zh-CN" and field(zh, "c:headline") == "台站XX.AAA故障"
    assert field(en, "c:headline") == "Station XX.AAA FAIL"
    assert "通道无信号" in n.text and "dead channel" in n.text


def test_site_area_uses_the_scale_notation(tmp_path: Path) -> None:
    ev = make_event(mag=3.4, imax=3.6, sites=(site("Futian District", 22.541, 114.055, 3.6),))
    [msg] = service(make_settings(tmp_path)).process_events([ev], now=T0 + 5)
    zh = infos(msg.xml)[0]
    assert field(zh.findall("c:area", NS)[1], "c:areaDesc") == "福田区：预测烈度 GB/T 17742 IV度"
