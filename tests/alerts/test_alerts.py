"""Alerts without network: geography, rules, CAP building/validation, outbox, directory channel."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cap_schema import assert_cap_valid
from obspy import UTCDateTime

from seismo.alerts import region as geo
from seismo.alerts.cap import (
    CAP_NS,
    CapAlert,
    CapArea,
    CapInfo,
    cap_datetime,
    make_identifier,
    to_xml,
    validate_cap,
)
from seismo.alerts.outbox import DeliveryItem, Outbox, QueuedMessage
from seismo.alerts.rules import (
    evaluate,
    is_saturated,
    severity_from_intensity,
    tsunami_severity,
)
from seismo.alerts.service import AlertService
from seismo.alerts.settings import AlertRulesConfig
from seismo.config import DEFAULT_CONFIG, Settings, parse_settings
from seismo.errors import AlertError, ConfigError
from seismo.event.attenuation import mmi_atkinson_wald_2007
from seismo.event.settings import MagnitudeConfig
from seismo.model import Arrival, Event, ExternalSolution, Magnitude, SiteIntensity

NS = {"c": CAP_NS}
T0 = UTCDateTime("2026-11-29T12:00:00")
REGION = (22.2, 23.1, 113.5, 114.9)
RULES = AlertRulesConfig()
# The Manila Trench case: M7.5 at 19.5N 119.8E, depth 20 km, ~690 km from Shenzhen.
MANILA = (19.5, 119.8)
DAYA_BAY_SEA = (22.45, 114.70)  # offshore (ocean in the land mask)
SHENZHEN_LAND = (22.62, 114.08)  # onshore


def make_event(
    lat: float = 22.55,
    lon: float = 114.10,
    depth: float = 10.0,
    mag: float | None = 3.4,
    *,
    eid: str = "SZ.2026ABC",
    outside: bool = False,
    clipped: int = 0,
    imax: float | None = None,
    station_km: float | None = None,
    sites: tuple[SiteIntensity, ...] = (),
    status: str = "automatic",
    hunc: float = 2.0,
    vunc: float = 4.0,
    version: int = 1,
) -> Event:
    arrivals: tuple[Arrival, ...] = ()
    if station_km is not None:
        arrivals = (
            Arrival("p1", "XX", "AAA", "HHZ", "P", T0 + 10, station_km, 300.0, 0.1),
            Arrival("p2", "XX", "BBB", "HHZ", "P", T0 + 11, station_km + 20, 305.0, -0.1),
        )
    return Event(
        id=eid,
        time=T0,
        latitude=lat,
        longitude=lon,
        depth_km=depth,
        rms_s=0.3,
        azimuthal_gap_deg=300.0 if outside else 90.0,
        n_phases=20,
        n_stations=12,
        horizontal_uncertainty_km=hunc,
        vertical_uncertainty_km=vunc,
        outside_network=outside,
        arrivals=arrivals,
        magnitude=mag,
        max_intensity=imax,
        site_intensities=sites,
        n_clipped_stations=clipped,
        status=status,  # type: ignore[arg-type]
        version=version,
    )


def site(name: str, lat: float, lon: float, intensity: float) -> SiteIntensity:
    return SiteIntensity(name, "district", lat, lon, 15.0, intensity, intensity + 0.3)


def make_settings(tmp_path: Path, alerts: dict[str, Any] | None = None) -> Settings:
    data = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["alerts"] = alerts or {
        "sender": "seismo@test.example",
        "outbox_dir": str(tmp_path / "outbox"),
        "backoff_initial_s": 1.0,
        "backoff_max_s": 8.0,
        "expire_s": 3600.0,
        "channels": {"audit": {"kind": "directory", "path": str(tmp_path / "audit")}},
        "groups": {"oncall": ["audit"], "tsunami": ["audit"], "engineers": ["audit"]},
    }
    return parse_settings(data, DEFAULT_CONFIG)


def service(settings: Settings, **kw: Any) -> AlertService:
    """The alert service of ``settings`` (its ``[alerts]`` and ``[network]``)."""
    return AlertService.from_settings(settings.alerts, settings.network, **kw)


def infos(xml: str) -> list[ET.Element]:
    return ET.fromstring(xml).findall("c:info", NS)


def field(el: ET.Element, path: str) -> str:
    found = el.find(path, NS)
    assert found is not None, path
    return found.text or ""


def params(info: ET.Element) -> dict[str, str]:
    out = {}
    for p in info.findall("c:parameter", NS):
        out[field(p, "c:valueName")] = field(p, "c:value")
    return out


def assert_valid(xml: str) -> None:
    assert_cap_valid(xml)  # the OASIS XSD and seismo's own checks


# --------------------------------------------------------------------------- geography
def test_land_mask_points() -> None:
    assert geo.is_ocean(*DAYA_BAY_SEA)
    assert not geo.is_ocean(*SHENZHEN_LAND)
    assert geo.is_ocean(*MANILA)
    # the uncertainty circle reaches the sea from a coastal land point
    assert not geo.is_offshore(*SHENZHEN_LAND, 2.0)
    assert geo.is_offshore(*SHENZHEN_LAND, 30.0)


@pytest.mark.slow
def test_land_mask_reader_matches_globe() -> None:
    """The streaming reader answers exactly as globe.is_ocean (which loads ~1 GB)."""
    from global_land_mask import globe

    rng = np.random.default_rng(20261129)
    coast = np.column_stack([rng.uniform(18.0, 25.0, 300), rng.uniform(108.0, 122.0, 300)])
    world = np.column_stack([rng.uniform(-89.9, 89.9, 40), rng.uniform(-180.0, 179.99, 40)])
    pts = [(float(a), float(b)) for a, b in np.vstack([coast, world])]
    pts += [DAYA_BAY_SEA, SHENZHEN_LAND, MANILA, (90.0, 0.0), (-90.0, 179.999)]
    mask = geo.LandMask(geo._land_mask().path)  # type: ignore[union-attr]
    mask.MAX_ROWS = mask.MAX_SPAN  # exercise eviction too
    got = mask.is_ocean_many(pts)
    assert got == [bool(globe.is_ocean(a, b)) for a, b in pts]
    assert 0.2 < np.mean(got) < 0.8  # both land and sea were sampled


def test_felt_radius_grows_with_magnitude() -> None:
    radii = [geo.felt_radius_km(m, 10.0) for m in (3.0, 5.0, 6.0, 7.0, 8.0)]
    assert radii == sorted(radii) and radii[0] < radii[-1]
    assert geo.felt_radius_km(None, 10.0) == 100.0
    # the radius is where AW07 reaches MMI III
    r = geo.felt_radius_km(6.0, 10.0)
    assert (
        mmi_atkinson_wald_2007(6.0, math.hypot(r - 1, 10.0))
        >= 3.0
        > mmi_atkinson_wald_2007(6.0, math.hypot(r + 1, 10.0))
    )


def test_bad_coordinates_are_named() -> None:
    with pytest.raises(AlertError, match="latitude 95"):
        geo.is_ocean(95.0, 114.0)


# --------------------------------------------------------------------------- rules
def test_small_city_event_alerts_oncall_only() -> None:
    d = evaluate(make_event(mag=3.0), RULES, REGION)
    assert d.groups == ("oncall",) and d.in_region
    assert d.offshore is None  # the land mask is not consulted for small events


def test_below_threshold_event_alerts_nobody() -> None:
    d = evaluate(make_event(mag=2.0, imax=2.1), RULES, REGION)
    assert d.groups == ()


def test_location_only_event_in_region_alerts_oncall(tmp_path: Path) -> None:
    """No ML, no intensity (stations without responses): still an event, still an alert."""
    ev = make_event(mag=None, imax=None)
    d = evaluate(ev, RULES, REGION)
    assert d.groups == ("oncall",)
    assert any("magnitude and intensity unknown" in r for r in d.reasons)
    svc = service(make_settings(tmp_path))
    (msg,) = svc.process_events([ev], now=T0 + 60)
    assert msg.msg_type == "Alert" and msg.group == "oncall"
    assert_valid(msg.xml)
    # no headline without a magnitude: "magnitude being determined", in both languages
    assert "magnitude being determined" in msg.text and "震级测定中" in msg.text
    zh, en = infos(msg.xml)
    assert "magnitude being determined" in field(en, "c:headline")
    assert "震级测定中" in field(zh, "c:headline")
    assert "None" not in msg.xml
    # outside the region, or switched off: no alert on a location alone
    assert evaluate(make_event(lat=25.0, mag=None), RULES, REGION).groups == ()
    off = AlertRulesConfig(oncall_unmeasured=False)
    assert evaluate(ev, off, REGION).groups == ()
    # an event with a measured small ML is not alerted by this rule
    assert evaluate(make_event(mag=1.0), RULES, REGION).groups == ()


def test_intensity_alerts_oncall_outside_region() -> None:
    far = make_event(23.5, 113.0, mag=4.0, outside=True, station_km=60.0)
    assert evaluate(far, RULES, REGION).groups == ()
    felt = make_event(
        23.5, 113.0, mag=4.0, outside=True, station_km=60.0,
        sites=(site("Futian District", 22.541, 114.055, 3.4),),
    )  # fmt: skip
    assert evaluate(felt, RULES, REGION).groups == ("oncall",)


def with_moment(ev: Event, value: float, kind: str = "Mwp", **kw: Any) -> Event:
    """``ev`` with a moment-type magnitude (Mwp, Mwpd, Ms_BB) beside its ML, the preferred
    one chosen as the measurement stage does."""
    from seismo.event.measure import with_magnitudes

    ml = [Magnitude("ML", ev.magnitude, None, 5)] if ev.magnitude is not None else []
    return with_magnitudes(ev, [*ml, Magnitude(kind, value, 0.2, 6, **kw)], MagnitudeConfig())


def test_offshore_shallow_m68_alerts_tsunami() -> None:
    d = evaluate(with_moment(make_event(*DAYA_BAY_SEA, depth=10.0, mag=6.3), 6.8), RULES, REGION)
    assert d.offshore and d.shallow and not d.saturated
    assert d.groups == ("oncall", "tsunami")
    assert d.tsunami_magnitude_type == "Mwp" and d.tsunami_severity == "Moderate"
    assert not d.tsunami_pending


def test_tsunami_severity_never_from_ml() -> None:
    """Only an ML (6.8, not yet a moment magnitude): the tsunami centre is told that the
    magnitude is being determined, severity Unknown, never Severe on ML (issue 23)."""
    d = evaluate(make_event(*DAYA_BAY_SEA, depth=10.0, mag=6.8), RULES, REGION)
    assert d.tsunami and d.tsunami_pending and d.tsunami_severity == "Unknown"
    assert d.tsunami_magnitude is None
    # a saturated ML (clipped records) is no severity either
    d2 = evaluate(make_event(*DAYA_BAY_SEA, depth=15.0, mag=6.9, clipped=6), RULES, REGION)
    assert d2.saturated and d2.tsunami_pending and d2.tsunami_severity == "Unknown"
    # below the saturation threshold an ML says nothing of a tsunami
    assert not evaluate(make_event(*DAYA_BAY_SEA, depth=10.0, mag=5.2), RULES, REGION).tsunami


def test_onshore_m7_is_not_a_tsunami() -> None:
    d = evaluate(make_event(*SHENZHEN_LAND, depth=10.0, mag=7.0, hunc=1.0), RULES, REGION)
    assert d.offshore is False
    assert d.groups == ("oncall",)


def test_offshore_m6_below_tsunami_threshold() -> None:
    d = evaluate(with_moment(make_event(*DAYA_BAY_SEA, depth=10.0, mag=6.0), 6.0), RULES, REGION)
    assert d.groups == ("oncall",) and not d.tsunami_pending


@pytest.mark.parametrize(("mw", "dist_km"), [(5.8, 270.0), (6.2, 550.0)])
def test_moderate_offshore_events_send_no_severe_tsunami_message(mw: float, dist_km: float) -> None:
    """Mw 5.8 and 6.2 offshore at 250-600 km (issue 23): their ML reads 5.7 or so and may
    be called saturated (clipped records); before a moment magnitude the tsunami centre
    hears "magnitude being determined" (Unknown), after it nothing, never Severe."""
    from seismo.geo import destination

    lat, lon = destination(*SZ_CENTRE, 150.0, dist_km)
    for ml in (5.7, 6.1):
        first = make_event(lat, lon, depth=15.0, mag=ml, outside=True, station_km=dist_km,
                           hunc=20.0, clipped=4)
        d = evaluate(first, RULES, REGION)
        assert d.tsunami_severity not in ("Severe", "Extreme")
        assert not d.tsunami or d.tsunami_pending
        for kind in ("Mwp", "Ms_BB", "Mwpd"):
            later = evaluate(with_moment(first, mw, kind), RULES, REGION)
            assert not later.tsunami and later.tsunami_severity == "Unknown"


def test_deep_offshore_m7_no_tsunami() -> None:
    ev = with_moment(make_event(*DAYA_BAY_SEA, depth=150.0, mag=6.5, vunc=10.0), 7.0)
    d = evaluate(ev, RULES, REGION)
    assert d.offshore and not d.shallow and not d.tsunami
    # within one sigma of 100 km the rule errs toward alerting
    near = with_moment(make_event(*DAYA_BAY_SEA, depth=105.0, mag=6.5, vunc=10.0), 7.0)
    assert evaluate(near, RULES, REGION).tsunami


def test_manila_trench_ml_informs_the_tsunami_centre() -> None:
    # A 20-station city network ~690 km away reports an unreliable ML 6.1 for an M7.5:
    # not "saturated" by distance any more, but large enough to tell the tsunami centre
    # that the magnitude is being determined; its Mwp then decides the severity.
    ev = make_event(*MANILA, depth=20.0, mag=6.1, outside=True, station_km=690.0, hunc=80.0)
    d = evaluate(ev, RULES, REGION)
    assert not d.saturated and d.offshore and d.tsunami and d.tsunami_pending
    assert d.groups == ("oncall", "tsunami") and d.tsunami_severity == "Unknown"
    d2 = evaluate(with_moment(ev, 7.5), RULES, REGION)
    assert d2.tsunami and not d2.tsunami_pending and d2.tsunami_severity == "Severe"


def test_mislocated_great_event_at_grid_edge_still_alerts() -> None:
    # The locator may pin a distant event at its grid edge ~150 km away with a low ML.
    ev = make_event(21.3, 115.6, depth=10.0, mag=5.6, outside=True, station_km=150.0)
    assert evaluate(ev, RULES, REGION).tsunami_pending


def test_clipped_records_saturate() -> None:
    ev = make_event(*DAYA_BAY_SEA, depth=15.0, mag=5.8, clipped=6)
    d = evaluate(ev, RULES, REGION)
    assert d.saturated and d.tsunami and d.tsunami_pending
    # magnitude unknown but many clipped records: still told
    d2 = evaluate(make_event(*DAYA_BAY_SEA, depth=15.0, mag=None, clipped=6), RULES, REGION)
    assert d2.saturated and d2.tsunami and d2.tsunami_severity == "Unknown"
    # a small event clipping nearby broadband sensors is not a tsunami
    d3 = evaluate(make_event(*DAYA_BAY_SEA, depth=15.0, mag=4.0, clipped=6), RULES, REGION)
    assert not d3.saturated and not d3.tsunami


def test_moderate_far_offshore_event_is_not_saturated() -> None:
    ev = make_event(21.0, 116.5, depth=10.0, mag=4.8, outside=True, station_km=250.0)
    d = evaluate(ev, RULES, REGION)
    assert not d.saturated and d.groups == ()


def test_held_or_ml_magnitudes_never_set_the_tsunami_magnitude() -> None:
    import dataclasses

    ev = with_moment(make_event(*DAYA_BAY_SEA, depth=10.0, mag=4.0), 7.2, "Ms_BB",
                     held="differs from ML")
    d = evaluate(ev, RULES, REGION)
    assert d.tsunami_magnitude is None and not d.tsunami
    # an agency's body-wave magnitude is no moment magnitude
    ext = ExternalSolution("USGS", "x", T0, *DAYA_BAY_SEA, 10.0, 7.0, "mb", "fdsn")
    with_mb = dataclasses.replace(ev, external=(ext,))
    assert evaluate(with_mb, RULES, REGION).tsunami_magnitude is None


def test_rejected_event_alerts_nobody() -> None:
    d = evaluate(make_event(*DAYA_BAY_SEA, mag=7.0, status="rejected"), RULES, REGION)
    assert d.groups == ()


@pytest.mark.parametrize(
    ("intensity", "severity"),
    [
        (None, "Unknown"), (2.0, "Minor"), (3.4, "Minor"), (3.5, "Moderate"), (5.4, "Moderate"),
        (5.5, "Severe"), (7.4, "Severe"), (7.5, "Extreme"), (10.0, "Extreme"),
    ],
)  # fmt: skip
def test_severity_from_intensity(intensity: float | None, severity: str) -> None:
    assert severity_from_intensity(intensity) == severity


def test_tsunami_severity_bands() -> None:
    assert tsunami_severity(6.6) == "Moderate"
    assert tsunami_severity(7.3) == "Severe"
    assert tsunami_severity(8.0) == "Extreme"
    assert tsunami_severity(None) == "Unknown"


# --------------------------------------------------------------------------- CAP
def _minimal(**kw: Any) -> str:
    base: dict[str, Any] = dict(
        identifier="a.b.1",
        sender="s@x",
        sent="2026-11-29T12:00:00+00:00",
        status="Actual",
        msg_type="Alert",
        scope="Public",
        infos=(
            CapInfo(
                "en-US", "Geo", "Earthquake", "Immediate", "Minor", "Likely",
                areas=(CapArea("here", ("22.5,114.0 10",)),),
            ),
        ),
    )  # fmt: skip
    base.update(kw)
    return to_xml(CapAlert(**base))


def test_cap_datetime_format() -> None:
    assert cap_datetime(UTCDateTime("2026-11-29T12:00:00.987")) == "2026-11-29T12:00:00+00:00"
    with pytest.raises(AlertError, match="naive"):
        cap_datetime(dt.datetime(2026, 1, 1))


def test_identifier_is_deterministic() -> None:
    a = make_identifier("s@x", "EV 1,2", "oncall", 2, "Actual")
    assert a == make_identifier("s@x", "EV 1,2", "oncall", 2, "Actual")
    assert a == "s@x.EV_1_2.oncall.v2"
    assert make_identifier("s@x", "EV", "oncall", 1, "Exercise").endswith(".exercise")


def test_validator_accepts_minimal_and_root_namespace() -> None:
    xml = _minimal()
    assert_valid(xml)
    assert ET.fromstring(xml).tag == f"{{{CAP_NS}}}alert"


@pytest.mark.parametrize(
    ("kw", "problem"),
    [
        ({"identifier": ""}, "identifier is missing"),
        ({"identifier": "a b"}, "contains a space"),
        ({"status": "Real"}, "alert/status 'Real'"),
        ({"msg_type": "Notice"}, "alert/msgType"),
        ({"scope": "World"}, "alert/scope"),
        ({"scope": "Restricted"}, "restriction is required"),
        ({"sent": "2026-11-29T12:00:00Z"}, "explicit offset"),
        ({"sent": "2026-11-29T12:00:00.5+00:00"}, "explicit offset"),
        ({"msg_type": "Update"}, "references is required"),
        ({"msg_type": "Cancel", "references": ("s@x,a.b.0",)}, "sender,identifier,sent"),
        ({"msg_type": "Update", "references": ("s@x,a.b.0,2026-11-29T11:00:00",)}, "offset"),
        (
            {"infos": (CapInfo("en", "Quake", "E", "Now", "Big", "Sure"),)},
            "category 'Quake'",
        ),
        (
            {"infos": (CapInfo("en", "Geo", "E", "Now", "Minor", "Likely"),)},
            "urgency 'Now'",
        ),
        (
            {"infos": (CapInfo("en", "Geo", "E", "Past", "Big", "Likely"),)},
            "severity 'Big'",
        ),
        (
            {"infos": (CapInfo("en", "Geo", "E", "Past", "Minor", "Sure"),)},
            "certainty 'Sure'",
        ),
        (
            {"infos": (CapInfo("en", "Geo", "", "Past", "Minor", "Likely"),)},
            "event is missing",
        ),
        (
            {
                "infos": (
                    CapInfo("en", "Geo", "E", "Past", "Minor", "Likely", areas=(CapArea(""),)),
                )
            },
            "areaDesc is missing",
        ),
        (
            {
                "infos": (
                    CapInfo(
                        "en", "Geo", "E", "Past", "Minor", "Likely",
                        areas=(CapArea("x", ("22.5 114.0 10",)),),
                    ),
                )
            },
            "not 'lat,lon radius'",
        ),
    ],
)  # fmt: skip
def test_validator_rejects(kw: dict[str, Any], problem: str) -> None:
    errors = validate_cap(_minimal(**kw))
    assert any(problem in e for e in errors), errors


def test_validator_rejects_garbage_and_wrong_namespace() -> None:
    assert "not well-formed" in validate_cap("<alert>")[0]
    assert "expected" in validate_cap("<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>")[0]
    bare = _minimal().replace(f' xmlns="{CAP_NS}"', "")
    assert validate_cap(bare)


# --------------------------------------------------------------------------- service (offline)
def test_alert_message_content(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    ev = make_event(
        22.55, 114.10, mag=3.4, imax=4.6,
        sites=(site("Futian District", 22.541, 114.055, 4.8), site("Dapeng New District",
               22.588, 114.478, 2.1)),
    )  # fmt: skip
    [msg] = svc.process_events([ev], now=T0 + 30)
    assert_valid(msg.xml)
    root = ET.fromstring(msg.xml)
    assert field(root, "c:identifier") == "seismo@test.example.SZ.2026ABC.oncall.v1"
    assert field(root, "c:sent") == "2026-11-29T12:00:30+00:00"
    assert field(root, "c:status") == "Actual" and field(root, "c:msgType") == "Alert"
    assert field(root, "c:scope") == "Restricted" and field(root, "c:restriction")
    zh, en = infos(msg.xml)
    assert field(zh, "c:language") == "zh-CN" and field(en, "c:language") == "en-US"
    assert field(en, "c:event") == "Earthquake" and field(en, "c:category") == "Geo"
    assert field(en, "c:severity") == "Moderate"  # max(4.6 observed, 4.8 predicted) -> V
    assert field(en, "c:certainty") == "Likely"
    p = params(en)
    assert p["magnitude"] == "3.4" and p["depth_km"] == "10.0"
    assert p["magnitude_type"] == "ML" and p["n_stations"] == str(ev.n_stations)
    # one notation for intensity: the Roman degree with the scale's name
    assert p["max_intensity"] == "GB/T 17742 V" and p["max_observed_intensity"] == "GB/T 17742 V"
    assert p["event_id"] == "SZ.2026ABC" and p["origin_time"] == "2026-11-29T12:00:00+00:00"
    assert p["location_uncertainty_km"].endswith("(1σ)") and p["depth_uncertainty_km"] != ""
    assert p["region"] == "3 km W of Luohu District"
    for b in (zh, en):  # what a recipient needs beside the headline
        assert field(b, "c:responseType") == "Assess"
        assert field(b, "c:expires") == "2026-11-29T18:00:30+00:00"  # sent + 6 h
        assert field(b, "c:contact")
    assert "GB/T 17742 V" in field(en, "c:description")
    assert "4.6" not in field(en, "c:description")  # no decimals of an intensity
    areas = en.findall("c:area", NS)
    # felt area + Futian (4.8 >= 3.0); Dapeng (2.1) is below the area threshold
    assert len(areas) == 2
    assert field(areas[0], "c:circle").startswith("22.5500,114.1000 ")
    assert field(areas[1], "c:areaDesc") == "Futian District: predicted intensity GB/T 17742 V"
    assert "福田区" in field(zh.findall("c:area", NS)[1], "c:areaDesc")
    assert msg.subject == "ML 3.4 earthquake, 3 km W of Luohu District"
    assert "罗湖区西3千米" in field(zh, "c:headline")
    assert "ML3.4" in msg.text and "ML 3.4" in msg.text and len(msg.text) < 400


def test_manila_trench_message_says_magnitude_being_determined(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    ev = make_event(*MANILA, depth=20.0, mag=6.1, outside=True, station_km=690.0, hunc=80.0,
                    clipped=5)
    msgs = svc.process_events([ev], now=T0 + 60)
    assert [m.group for m in msgs] == ["oncall", "tsunami"]
    oncall, tsu = msgs
    assert_valid(tsu.xml)
    blocks = infos(tsu.xml)
    # one document per audience, one severity per document
    assert [field(b, "c:event") for b in blocks] == ["海啸", "Tsunami"]
    assert len({field(b, "c:severity") for b in blocks}) == 1
    assert [field(b, "c:event") for b in infos(oncall.xml)] == ["地震", "Earthquake"]
    tsu_en = blocks[1]
    assert "ML ≥ 6.1" in field(tsu_en, "c:headline")
    assert "South China Sea" in field(tsu_en, "c:headline")  # the place, not coordinates
    assert "南海" in field(blocks[0], "c:headline") and "ML≥6.1" in field(blocks[0], "c:headline")
    assert "ML ≥ 6.1 (saturated)" in field(tsu_en, "c:description")
    assert field(tsu_en, "c:certainty") == "Possible"
    assert field(tsu_en, "c:severity") == "Unknown"  # never Severe on ML
    assert field(tsu_en, "c:headline").startswith(
        "Tsunami information, magnitude being determined")
    assert field(blocks[0], "c:headline").startswith("海啸信息（震级测定中）")
    eq_en = infos(oncall.xml)[1]
    assert field(eq_en, "c:certainty") == "Possible"  # Likely lowered one step
    p = params(tsu_en)
    assert p["magnitude_lower_bound"] == "true"  # "≥" and the flag agree
    assert p["location_uncertainty_km"] == "80.0 (1σ)"
    assert p["latitude"] == "19.5"  # rounded to what an 80 km uncertainty supports
    assert field(tsu_en.find("c:area", NS), "c:circle").endswith(" 1000.0")  # type: ignore[arg-type]
    assert "ML ≥ 6.1" in tsu.subject
    # the moment magnitude decides: an Update with its severity
    import dataclasses

    later = dataclasses.replace(with_moment(ev, 7.5), version=2)
    upd = svc.process_events([later], now=T0 + 150)
    tsu2 = next(m for m in upd if m.group == "tsunami")
    assert tsu2.msg_type == "Update"
    en2 = infos(tsu2.xml)[1]
    assert field(en2, "c:severity") == "Severe" and "7.5" in field(en2, "c:headline")


def test_update_on_magnitude_change_and_cancel(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    [a] = svc.process_events([make_event(mag=3.4)], now=T0 + 20)
    assert svc.process_events([make_event(mag=3.6)], now=T0 + 40) == []  # |dM| 0.2 < 0.3
    [u] = svc.process_events([make_event(mag=3.7, version=2)], now=T0 + 60)  # |dM| = 0.3
    assert u.msg_type == "Update" and u.seq == 2
    assert_valid(u.xml)
    root = ET.fromstring(u.xml)
    assert field(root, "c:references") == a.reference
    assert a.reference == f"seismo@test.example,{a.identifier},2026-11-29T12:00:20+00:00"
    assert params(infos(u.xml)[1])["magnitude"] == "3.7"
    # location change of ~12 km -> second update referencing both
    [u2] = svc.process_events([make_event(22.55, 114.217, mag=3.7)], now=T0 + 80)
    assert field(ET.fromstring(u2.xml), "c:references") == f"{a.reference} {u.reference}"
    [c] = svc.cancel(make_event(), "quarry blast", now=T0 + 100)
    assert c.msg_type == "Cancel" and c.seq == 4
    assert_valid(c.xml)
    assert field(ET.fromstring(c.xml), "c:references").split() == [
        a.reference, u.reference, u2.reference,
    ]  # fmt: skip
    assert "quarry blast" in c.xml
    # cancelled: no more messages for this event, and a second cancel is a no-op
    assert svc.process_events([make_event(mag=4.5)], now=T0 + 120) == []
    assert svc.cancel(make_event(), "again", now=T0 + 130) == []
    report = svc.deliver_due(now=T0 + 140)
    assert report.delivered == 4 and report.pending == 0
    assert len(list((tmp_path / "audit").glob("*.cap.xml"))) == 4


def test_tsunami_update_when_revised_below_criteria(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    first = svc.process_events([with_moment(make_event(*DAYA_BAY_SEA, mag=6.2), 6.7)], now=T0)
    assert [m.group for m in first] == ["oncall", "tsunami"]
    revised = svc.process_events(
        [with_moment(make_event(*DAYA_BAY_SEA, mag=5.2, version=2), 6.1)], now=T0 + 60)
    assert [(m.group, m.msg_type) for m in revised] == [
        ("oncall", "Update"), ("tsunami", "Update"),
    ]  # fmt: skip
    tsu = revised[1]
    assert_valid(tsu.xml)
    en = infos(tsu.xml)[1]
    assert field(en, "c:headline").startswith("Revised: tsunami criteria no longer met")
    assert field(en, "c:certainty") == "Unlikely"
    assert params(en)["tsunami_criteria_met"] == "false"


def test_deliver_lock_makes_second_deliverer_wait(tmp_path: Path) -> None:
    import fcntl
    import os

    svc = service(make_settings(tmp_path))
    svc.process_events([make_event()], now=T0)
    fd = os.open(tmp_path / "outbox" / ".deliver.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert svc.deliver_due(now=T0 + 1).busy
    finally:
        os.close(fd)
    assert svc.deliver_due(now=T0 + 1).delivered == 1


def test_rejected_event_in_batch_cancels(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    svc.process_events([make_event(*DAYA_BAY_SEA, mag=6.9)], now=T0)
    out = svc.process_events([make_event(*DAYA_BAY_SEA, mag=6.9, status="rejected")], now=T0 + 5)
    assert sorted((m.group, m.msg_type) for m in out) == [
        ("oncall", "Cancel"), ("tsunami", "Cancel"),
    ]  # fmt: skip
    for m in out:
        assert_valid(m.xml)


def test_reprocessing_and_restart_deliver_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    events = [make_event(eid="E1", mag=3.0), make_event(eid="E2", mag=2.0)]
    first = AlertService.from_settings(settings.alerts, settings.network)
    assert [m.subject_id for m in first.process_events(events, now=T0)] == ["E1"]
    del first  # "killed" after queuing, before any delivery
    second = AlertService.from_settings(settings.alerts, settings.network)
    assert second.process_events(events, now=T0 + 10) == []  # reprocessing: nothing new
    assert second.deliver_due(now=T0 + 11).delivered == 1
    assert second.process_events(events, now=T0 + 12) == []
    assert second.deliver_due(now=T0 + 13).delivered == 0
    assert second.outbox.counts() == {"pending": 0, "delivered": 1, "dead": 0}
    assert len(list((tmp_path / "audit").glob("*.cap.xml"))) == 1


def test_lost_delivery_item_is_recreated(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    svc.process_events([make_event()], now=T0)
    # crash between recording the message and writing its item
    for p in svc.outbox.pending.glob("*.json"):
        p.unlink()
    assert svc.process_events([make_event()], now=T0 + 1) == []
    assert svc.outbox.counts()["pending"] == 1
    assert svc.deliver_due(now=T0 + 2).delivered == 1


def test_interrupted_mark_finishes_without_resend(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    svc.process_events([make_event()], now=T0)
    [pending] = list(svc.outbox.pending.glob("*.json"))
    saved = pending.read_bytes()
    assert svc.deliver_due(now=T0 + 1).delivered == 1
    # killed between writing the delivered marker and removing the pending item
    pending.write_bytes(saved)
    written = next((tmp_path / "audit").glob("*.cap.xml"))
    written.unlink()
    report = svc.deliver_due(now=T0 + 2)
    assert report.delivered == 0 and not pending.exists() and not written.exists()


def test_unreadable_delivery_item_goes_to_dead_and_the_rest_is_delivered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = make_settings(tmp_path)
    svc = AlertService.from_settings(s.alerts, s.network)
    svc.process_events([make_event()], now=T0)
    bad = svc.outbox.pending / "actual__x__oncall__1__Alert__audit.json"
    bad.write_text('["valid JSON", "but no delivery item"]')
    with caplog.at_level(logging.ERROR, logger="seismo.durable"):
        report = svc.deliver_due(now=T0 + 1)
    assert report.delivered == 1 and report.expired == 1
    assert (svc.outbox.dead / bad.name).exists() and not bad.exists()
    assert "OUTBOX" in caplog.text and bad.name in caplog.text


def test_killed_after_send_before_mark_is_at_least_once(tmp_path: Path) -> None:
    """The documented window: sent, but no marker on disk -> sent again, same identifier."""
    svc = service(make_settings(tmp_path))
    [m] = svc.process_events([make_event()], now=T0)
    [pending] = list(svc.outbox.pending.glob("*.json"))
    item = DeliveryItem.from_dict(json.loads(pending.read_text()))
    svc.channels["audit"].send(item)  # the send succeeded, then the process died
    assert svc.deliver_due(now=T0 + 1).delivered == 1  # sent again...
    files = list((tmp_path / "audit").glob("*.cap.xml"))
    assert len(files) == 1 and m.identifier in files[0].read_text()  # ...same identifier


def test_backoff_and_expiry(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    alerts = {
        "sender": "seismo@test.example",
        "outbox_dir": str(tmp_path / "outbox"),
        "backoff_initial_s": 1.0,
        "backoff_max_s": 3.0,
        "expire_s": 60.0,  # the least that config accepts
        "channels": {"bad": {"kind": "directory", "path": str(blocker)}},
        "groups": {"oncall": ["bad"]},
    }
    svc = service(make_settings(tmp_path, alerts))
    svc.process_events([make_event()], now=T0)
    [path] = list(svc.outbox.pending.glob("*.json"))
    delays = []
    t = T0
    for _ in range(4):
        r = svc.deliver_due(now=t)
        assert r.failed == 1 and r.pending == 1
        item = DeliveryItem.from_dict(json.loads(path.read_text()))
        delays.append(item.next_attempt - float(t.timestamp))
        assert "not-a-dir" in (item.last_error or "")
        assert svc.deliver_due(now=t).failed == 0  # not due again yet
        t = UTCDateTime(item.next_attempt)
    assert delays == [1.0, 2.0, 3.0, 3.0]  # exponential, capped at backoff_max_s
    with caplog.at_level(logging.ERROR, logger="seismo.alerts.outbox"):
        r = svc.deliver_due(now=T0 + 60)
    assert r.expired == 1 and r.pending == 0
    assert svc.outbox.counts() == {"pending": 0, "delivered": 0, "dead": 1}
    assert "EXPIRED UNDELIVERED" in caplog.text


def test_exercise_is_separate_from_actual(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    real = AlertService.from_settings(settings.alerts, settings.network)
    drill = AlertService.from_settings(settings.alerts, settings.network, exercise=True)
    [r] = real.process_events([make_event()], now=T0)
    [d] = drill.process_events([make_event()], now=T0)
    assert field(ET.fromstring(d.xml), "c:status") == "Exercise"
    assert d.identifier.endswith(".exercise") and d.identifier != r.identifier
    assert d.subject.startswith("[EXERCISE]") and d.text.startswith("[EXERCISE]")
    assert_valid(d.xml)


def test_send_notice_dedupes_by_key(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    text = "XX.AAA changed OK -> FAIL: latency 900 s"
    [n] = svc.send_notice("engineers", "Station XX.AAA FAIL", text, "XX.AAA.FAIL.1", now=T0)
    assert svc.send_notice("engineers", "Station XX.AAA FAIL", text, "XX.AAA.FAIL.1") == []
    assert_valid(n.xml)
    info = infos(n.xml)[0]
    assert field(info, "c:category") == "Infra" and text in field(info, "c:description")
    assert svc.deliver_due(now=T0 + 1).delivered == 1


def test_alert_dir_adds_directory_channel(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path), alert_dir=tmp_path / "run")
    [m] = svc.process_events([make_event()], now=T0)
    assert m.channels == ("audit", "alert-dir")
    assert svc.deliver_due(now=T0 + 1).delivered == 2
    [f] = list((tmp_path / "run").glob("*.cap.xml"))
    assert f.read_text() == m.xml


def test_disabled_alerts_queue_nothing(tmp_path: Path) -> None:
    alerts = {"enabled": False, "outbox_dir": str(tmp_path / "outbox")}
    svc = service(make_settings(tmp_path, alerts))
    assert svc.process_events([make_event(*DAYA_BAY_SEA, mag=7.0)], now=T0) == []


def test_group_without_channels_is_recorded_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = {
        "outbox_dir": str(tmp_path / "outbox"),
        "channels": {"audit": {"kind": "directory", "path": str(tmp_path / "audit")}},
        "groups": {"oncall": ["audit"]},
    }
    svc = service(make_settings(tmp_path, alerts))
    with caplog.at_level(logging.ERROR):
        msgs = svc.process_events([make_event(*DAYA_BAY_SEA, mag=7.0)], now=T0)
    assert [(m.group, m.channels) for m in msgs] == [("oncall", ("audit",)), ("tsunami", ())]
    assert "HAS NO CHANNELS" in caplog.text


def test_config_rejects_unknown_channel_and_bad_backoff(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown channel 'nope'"):
        make_settings(tmp_path, {"groups": {"oncall": ["nope"]}})
    with pytest.raises(ConfigError, match="backoff_initial_s"):
        make_settings(tmp_path, {"backoff_initial_s": 10.0, "backoff_max_s": 5.0})
    with pytest.raises(ConfigError, match="needs 'url'"):
        make_settings(tmp_path, {"channels": {"w": {"kind": "webhook"}}})


def test_one_bad_event_does_not_stop_others(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    bad = make_event(eid="BAD", lat=123.0, mag=5.0)  # impossible latitude
    out = svc.process_events([bad, make_event(eid="GOOD")], now=T0)
    assert [m.subject_id for m in out] == ["GOOD"]


def test_queued_message_round_trip(tmp_path: Path) -> None:
    svc = service(make_settings(tmp_path))
    [m] = svc.process_events([make_event()], now=T0)
    again = Outbox(tmp_path / "outbox").history(m.thread)
    assert again == [m]
    assert QueuedMessage.from_dict(json.loads(json.dumps(m.to_dict()))) == m


# --------------------------------------------------------------------------- issue 14: tsunami path
SZ_CENTRE = (22.6, 114.1)


def _far_event(
    lat: float, lon: float, *, mags: tuple[Magnitude, ...], a90: float, b90: float, az: float,
    depth_fixed: bool = True, baz: float | None = None, station_km: float = 300.0,
    external: tuple[ExternalSolution, ...] = (),
) -> Event:
    import dataclasses

    from seismo.event.measure import with_magnitudes

    ev = make_event(lat, lon, depth=10.0, mag=None, outside=True, station_km=station_km,
                    hunc=a90 / 2.146, vunc=20.0)
    ev = dataclasses.replace(
        ev, depth_fixed=depth_fixed, ellipse_90_major_km=a90, ellipse_90_minor_km=b90,
        ellipse_azimuth_deg=az, backazimuth_deg=baz, external=external,
    )
    return with_magnitudes(ev, list(mags), MagnitudeConfig())


def test_nanao_type_p_only_location_on_land_counts_offshore() -> None:
    """1918 Nan'ao type: M7.3 ~335 km ENE offshore, located from P alone along the
    back-azimuth (220 km), on land, with a 90 % ellipse stretched along it (depth fixed)."""
    from seismo.alerts.region import is_offshore
    from seismo.alerts.rules import offshore_decision
    from seismo.geo import azimuth_deg, destination

    baz = float(azimuth_deg(*SZ_CENTRE, 23.5, 117.2))  # ~72 deg
    lat, lon = destination(*SZ_CENTRE, baz, 220.0)
    assert not is_offshore(lat, lon, 30.0)  # the old rule: epicentre and 30 km circle on land
    mags = (Magnitude("ML", 6.6, 0.2, 18), Magnitude("Ms_BB", 7.2, 0.1, 6))
    ev = _far_event(lat, lon, mags=mags, a90=170.0, b90=25.0, az=baz, baz=baz)
    off, frac, _ = offshore_decision(ev, RULES)
    assert off and frac is not None and frac >= RULES.offshore_min_sea_fraction
    d = evaluate(ev, RULES, REGION)
    assert d.tsunami and d.tsunami_magnitude_type == "Ms_BB"
    assert d.tsunami_magnitude == pytest.approx(7.2)
    # a well-located event on land with a small ellipse stays on land
    small = _far_event(lat, lon, mags=mags, a90=8.0, b90=5.0, az=baz, depth_fixed=False)
    assert not evaluate(small, RULES, REGION).tsunami


def test_manila_trench_p_only_region_along_backazimuth() -> None:
    """Manila Trench M7.5, P only: no ellipse orientation (plane wave), the region is the
    back-azimuth segment; Ms_BB decides, not the saturated ML."""
    from seismo.alerts.rules import offshore_decision
    from seismo.geo import azimuth_deg, destination

    baz = float(azimuth_deg(*SZ_CENTRE, *MANILA))
    lat, lon = destination(*SZ_CENTRE, baz, 650.0)
    mags = (Magnitude("ML", 5.9, 0.2, 17), Magnitude("Ms_BB", 7.4, 0.1, 5))
    ev = _far_event(lat, lon, mags=mags, a90=1000.0, b90=1000.0, az=float("nan"), baz=baz,
                    station_km=640.0)
    off, frac, how = offshore_decision(ev, RULES)
    assert off and frac is not None and frac > 0.5, how
    d = evaluate(ev, RULES, REGION)
    assert d.tsunami and d.tsunami_magnitude_type == "Ms_BB" and d.tsunami_severity == "Severe"
    # a moment magnitude below the threshold decides, whatever the ML
    low = _far_event(lat, lon, mags=(Magnitude("ML", 5.9, 0.2, 17), Magnitude("Ms_BB", 6.0)),
                     a90=1000.0, b90=1000.0, az=float("nan"), baz=baz, station_km=640.0)
    assert not evaluate(low, RULES, REGION).tsunami


def test_authoritative_magnitude_decides_tsunami() -> None:
    ext = ExternalSolution("USGS", "us7000abcd", T0, 19.4, 119.9, 25.0, 7.6, "Mww", "fdsn")
    mags = (Magnitude("ML", 5.9, 0.2, 17),)
    ev = _far_event(*MANILA, mags=mags, a90=40.0, b90=20.0, az=120.0, external=(ext,),
                    depth_fixed=False)
    d = evaluate(ev, RULES, REGION)
    assert d.tsunami and d.tsunami_magnitude == 7.6 and d.tsunami_magnitude_type == "Mww (USGS)"
    small = dataclasses_replace_ext(ev, magnitude=6.0)
    assert not evaluate(small, RULES, REGION).tsunami


def dataclasses_replace_ext(ev: Event, **kw: object) -> Event:
    import dataclasses

    return dataclasses.replace(ev, external=(dataclasses.replace(ev.external[0], **kw),))


def test_p_only_ml_is_a_lower_bound_never_plain() -> None:
    import dataclasses

    from seismo.alerts.messages import magnitude_text

    ev = make_event(mag=4.3)
    ev = dataclasses.replace(ev, magnitude_lower_bound=True,
                             magnitudes=(Magnitude("ML", 4.3, None, 5, lower_bound=True),))
    assert magnitude_text(ev, False, "en") == "ML ≥ 4.3 (P waves only)"
    assert "≥" in magnitude_text(ev, False, "zh")
    # a P-only ML at or above the saturation threshold counts as saturated
    big = dataclasses.replace(ev, magnitude=6.0, magnitudes=(Magnitude("ML", 6.0, None, 5, True),))
    sat, why = is_saturated(big, RULES, REGION)
    assert sat and "P amplitudes only" in why[0]
