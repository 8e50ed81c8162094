"""External authoritative solutions: a loopback FDSN event service and a QuakeML folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fdsn_server import FDSNEventServer
from obspy import UTCDateTime
from obspy.core.event import (
    Catalog,
    CreationInfo,
)
from obspy.core.event import (
    Event as QEvent,
)
from obspy.core.event import (
    Magnitude as QMagnitude,
)
from obspy.core.event import (
    Origin as QOrigin,
)

from seismo.alerts.rules import evaluate
from seismo.alerts.service import AlertService
from seismo.alerts.settings import AlertsConfig
from seismo.config import DEFAULT_CONFIG, load_settings
from seismo.io.external import ExternalSource, fetch_fdsn, match, read_quakeml_dir
from seismo.io.settings import ExternalConfig
from seismo.model import Arrival, Event, Magnitude

T0 = UTCDateTime("2026-01-15T05:01:00")


def _qevent(t: UTCDateTime, lat: float, lon: float, mag: float, mtype: str, agency: str) -> QEvent:
    o = QOrigin(time=t, latitude=lat, longitude=lon, depth=20000.0)
    m = QMagnitude(mag=mag, magnitude_type=mtype, creation_info=CreationInfo(agency_id=agency))
    ev = QEvent(origins=[o], magnitudes=[m])
    ev.preferred_origin_id, ev.preferred_magnitude_id = o.resource_id, m.resource_id
    return ev


def _own_event() -> Event:
    """seismo's own view of a Manila Trench M7.5: P only, saturated ML, 650 km along the ray."""
    arr = (Arrival("p1", "SZ", "KUIC", "HHZ", "P", T0 + 90, 690.0, 300.0, 0.1),)
    return Event(
        id="sz-test", time=T0 + 12.0, latitude=19.8, longitude=119.4, depth_km=10.0, rms_s=0.3,
        azimuthal_gap_deg=320.0, n_phases=20, n_stations=20, horizontal_uncertainty_km=150.0,
        vertical_uncertainty_km=20.0, outside_network=True, arrivals=arr, depth_fixed=True,
        magnitude=5.9, magnitude_type="ML", magnitudes=(Magnitude("ML", 5.9, 0.2, 17),),
    )


@pytest.mark.network
def test_fdsn_event_service_polled_and_matched(tmp_path: Path) -> None:
    events = [
        _qevent(T0, 19.5, 119.8, 7.6, "Mww", "us"),
        _qevent(T0 + 3600, 24.0, 121.7, 6.1, "Mw", "CWA"),  # another event, an hour later
    ]
    with FDSNEventServer(events) as srv:
        sols = fetch_fdsn(srv.url, T0 - 120, T0 + 120, min_magnitude=4.0, timeout_s=5.0)
        assert [(s.agency, s.magnitude, s.magnitude_type) for s in sols] == [("us", 7.6, "Mww")]
        assert fetch_fdsn(srv.url, T0 + 7200, T0 + 7300, min_magnitude=4.0, timeout_s=5.0) == []
        cfg = ExternalConfig(fdsn_url=srv.url)
        own = _own_event()
        assert match(own, sols, cfg) == (sols[0],)
        far_in_time = dataclasses.replace(own, time=T0 + 600)
        assert match(far_in_time, sols, cfg) == ()
        # the tsunami rule uses the authoritative magnitude
        attached = ExternalSource(cfg).attach([own])[0]
        assert srv.requests and "/fdsnws/event/1/query" in srv.requests[-1]
    # the agency's moment magnitude supersedes seismo's own as the preferred one
    assert (attached.magnitude, attached.magnitude_type) == (7.6, "Mww")
    assert [m.label() for m in attached.magnitudes] == ["ML 5.9 ± 0.2 (17 stations)",
                                                        "Mww 7.6 (us)"]
    s = load_settings(DEFAULT_CONFIG)
    alerts = AlertsConfig.model_validate(
        {**s.alerts.model_dump(), "outbox_dir": str(tmp_path / "outbox"), "channels": {},
         "groups": {}}
    )
    s = s.model_copy(update={"alerts": alerts})
    d = evaluate(attached, s.alerts.rules, s.network.region)
    assert d.tsunami and d.tsunami_magnitude == 7.6 and d.tsunami_magnitude_type == "Mww (us)"
    svc = AlertService.from_settings(s.alerts, s.network, exercise=True, alert_dir=tmp_path / "cap")
    svc.process_events([attached])
    svc.deliver_due()
    xml = next((tmp_path / "cap").glob("*tsunami*.xml")).read_text(encoding="utf-8")
    assert "Mww (us)" in xml and "7.6" in xml


@pytest.mark.network
def test_unreachable_service_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with FDSNEventServer([]) as srv:
        url = srv.url
    src = ExternalSource(ExternalConfig(fdsn_url=url, timeout_s=1.0))  # server closed
    own = _own_event()
    assert src.attach([own]) == [own]
    assert any("external solutions" in r.message for r in caplog.records)


def test_quakeml_dropped_in_a_directory(tmp_path: Path) -> None:
    Catalog(events=[_qevent(T0 + 5, 19.6, 119.7, 7.4, "Mww", "GFZ")]).write(
        str(tmp_path / "gfz.xml"), format="QUAKEML"
    )
    (tmp_path / "broken.xml").write_text("<not quakeml", encoding="utf-8")
    sols = read_quakeml_dir(tmp_path)
    assert [(s.agency, s.magnitude) for s in sols] == [("GFZ", 7.4)]
    assert (tmp_path / "broken.xml").exists()  # a bad file is left where it is
    ev = ExternalSource(ExternalConfig(quakeml_dir=tmp_path)).attach([_own_event()])[0]
    assert ev.external and ev.external[0].agency == "GFZ"
