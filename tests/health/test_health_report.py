"""Station health at the edges: network runs from a real SDS archive, state tracking,
the store (real InfluxStore spooling), the HTML report and the ``seismo health`` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from obspy import Stream, UTCDateTime
from test_health_synth import clean_stream

from seismo.cli.main import main
from seismo.config import settings_to_toml
from seismo.config.tree import relocated
from seismo.errors import DataError, InventoryError
from seismo.health import HealthStateTracker, check_network, run_health
from seismo.health.run import assess_network
from seismo.inventory import stations
from seismo.model import StationHealth

T_END = UTCDateTime(2026, 1, 15, 8, 10, 0)
WIN = 600.0


def _write_sds(root: Path, st: Stream) -> None:
    for tr in st:
        s = tr.stats
        t = s.starttime
        d = root / f"{t.year}" / s.network / s.station / f"{s.channel}.D"
        d.mkdir(parents=True, exist_ok=True)
        name = f"{tr.id}.D.{t.year}.{t.julday:03d}"
        tr.write(str(d / name), format="MSEED", encoding="STEIM2", reclen=512)


@pytest.fixture(scope="module")
def archive(tmp_path_factory, inventory):
    """SDS archive: station A clean, station B with a dead HHZ, station C absent."""
    root = tmp_path_factory.mktemp("sds")
    infos = [s for s in stations(inventory) if len(s.kinds()) == 2][:3]
    a, b, c = infos
    _write_sds(root, clean_stream(inventory, a, T_END - WIN, WIN, seed=11))
    st_b = clean_stream(inventory, b, T_END - WIN, WIN, seed=12)
    for tr in st_b.select(channel="HHZ"):
        tr.data[:] = 0
    _write_sds(root, st_b)
    return {"url": f"sds://{root}", "ids": [a.id, b.id, c.id], "root": root}


def _summaries(results: list[StationHealth]) -> dict[str, StationHealth]:
    return {f"{h.network}.{h.station}": h for h in results if not h.channel}


def test_check_network_from_sds(settings, inventory, archive) -> None:
    res = check_network(
        settings, inventory, T_END, stations=archive["ids"], feed_url=archive["url"]
    )
    summ = _summaries(res)
    a, b, c = archive["ids"]
    assert summ[a].status == "OK", summ[a].reasons
    assert summ[b].status == "FAIL"
    assert summ[b].reasons == ("HHZ: dead channel (std 0.0 counts over 600 s)",)
    assert summ[c].status == "FAIL"
    assert summ[c].reasons[0].startswith("outage")
    assert all(h.time == T_END for h in res)


def test_unknown_station_is_an_inventory_error(settings, inventory, archive) -> None:
    with pytest.raises(InventoryError, match=r"'XX\.NOPE'"):
        check_network(settings, inventory, T_END, stations=["XX.NOPE"], feed_url=archive["url"])


def _h(sid: str, status: str, t: UTCDateTime, channel: str = "") -> StationHealth:
    net, sta = sid.split(".")
    return StationHealth(net, sta, "", channel, t, status, (f"why {status}",) if status != "OK"
                         else ())  # type: ignore[arg-type]


def test_state_tracker_emits_each_change_once(tmp_path) -> None:
    path = tmp_path / "state" / "health.json"
    t = UTCDateTime(2026, 1, 15)
    tr = HealthStateTracker(path)
    assert tr.update([_h("SZ.A", "OK", t), _h("SZ.B", "FAIL", t), _h("SZ.B", "OK", t, "HHZ")]) \
        and [c.station_id for c in tr.update([])] == []
    # First run: only the new FAIL is a change (unknown counts as OK).
    tr2 = HealthStateTracker(path)  # persisted on disk
    assert tr2.status("SZ.B") == "FAIL" and tr2.status("SZ.A") == "OK"
    assert tr2.update([_h("SZ.A", "OK", t + 600), _h("SZ.B", "FAIL", t + 600)]) == []
    changes = tr2.update([_h("SZ.A", "WARN", t + 1200), _h("SZ.B", "OK", t + 1200)])
    assert [(c.station_id, c.old, c.new) for c in changes] == [
        ("SZ.A", "OK", "WARN"), ("SZ.B", "FAIL", "OK")
    ]
    assert changes[0].describe() == "SZ.A: OK -> WARN (why WARN)"
    assert HealthStateTracker(path).update([_h("SZ.A", "WARN", t + 1800)]) == []


def test_state_tracker_first_run_reports_new_failures_only(tmp_path) -> None:
    t = UTCDateTime(2026, 1, 15)
    changes = HealthStateTracker(tmp_path / "s.json").update(
        [_h("SZ.A", "OK", t), _h("SZ.B", "FAIL", t)]
    )
    assert [(c.station_id, c.old, c.new) for c in changes] == [("SZ.B", "OK", "FAIL")]


def test_corrupt_state_file_names_the_file(tmp_path) -> None:
    bad = tmp_path / "state.json"
    bad.write_text('{"stations": {"SZ.A": {"status": "MAYBE"}}}')
    with pytest.raises(DataError, match=re.escape(str(bad))):
        HealthStateTracker(bad)


def test_run_health_stores_every_run_and_tracks_changes(settings, inventory, archive,
                                                        tmp_path) -> None:
    from seismo.io.store import InfluxConnection, InfluxStore
    from seismo.io.store.server import free_port

    # A real store whose server is down: every point must be accepted into the spool.
    conn = InfluxConnection(url=f"http://127.0.0.1:{free_port()}", api="v1", timeout_s=1.0)
    store = InfluxStore(conn, tmp_path / "spool")
    tracker = HealthStateTracker(tmp_path / "state.json")
    kw = dict(stations=archive["ids"], feed_url=archive["url"], store=store, tracker=tracker)
    first = run_health(settings, inventory, T_END, **kw)
    n = len(first.results)
    assert first.write_report.spooled == n and not first.write_report.rejected
    a, b, c = archive["ids"]
    assert sorted((ch.station_id, ch.new) for ch in first.changes) == [(b, "FAIL"), (c, "FAIL")]
    assert not first.notice_sent  # no alerts given
    second = run_health(settings, inventory, T_END, **kw)
    assert second.changes == []
    assert second.write_report.spooled == n  # stored on every run
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["stations"][a]["status"] == "OK"
    store.close()


def test_html_report_offline_with_pngs(settings, inventory, archive, tmp_path) -> None:
    from seismo.health.report import write_report

    run = assess_network(settings, inventory, T_END, stations=archive["ids"],
                         feed_url=archive["url"])
    path = write_report(run, tmp_path / "report")
    doc = path.read_text(encoding="utf-8")
    imgs = re.findall(r"<img src=['\"]([^'\"]+)['\"]", doc)
    assert "availability.png" in imgs
    psd = [i for i in imgs if i.startswith("psd_")]
    # every channel of the two stations with data except the dead one has a PSD
    assert len(psd) == 11
    for name in imgs:
        f = path.parent / name
        assert f.is_file() and f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", doc)  # nothing fetched remotely
    assert "dead channel (std 0.0 counts over 600 s)" in doc


def test_cli_health_table_and_report(settings, archive, capsys, tmp_path) -> None:
    a, b, _ = archive["ids"]
    # an installation of its own: no health state of an earlier run (the shipped
    # configuration's var/health_state.json) carries a station's status over
    config = tmp_path / "seismo.toml"
    config.write_text(settings_to_toml(relocated(settings, tmp_path / "inst")),
                      encoding="utf-8")
    args = ["--config", str(config), "health", "--feed", archive["url"], "--end", str(T_END),
            "--window", "10m",
            "--station", a, "--station", b, "--report", str(tmp_path / "rep")]
    assert main(args) == 2  # a FAIL station: the monitoring check's CRITICAL
    out = capsys.readouterr().out
    assert re.search(rf"^{re.escape(a)}\s+OK", out, re.M)
    assert re.search(rf"^{re.escape(b)}\s+FAIL\s.*HHZ: dead channel", out, re.M)
    assert "2 stations: 1 OK, 0 WARN, 1 FAIL" in out
    assert (tmp_path / "rep" / "index.html").is_file()


def test_run_health_notifies_engineers_once_per_change(settings, inventory, archive,
                                                       tmp_path) -> None:
    from seismo.alerts.service import AlertService

    alerts_cfg = settings.alerts.model_copy(update={"outbox_dir": tmp_path / "outbox"})
    s = settings.model_copy(update={"alerts": alerts_cfg})
    svc = AlertService.from_settings(s.alerts, s.network, alert_dir=tmp_path / "delivered")
    tracker = HealthStateTracker(tmp_path / "state.json")
    kw = dict(stations=archive["ids"], feed_url=archive["url"], alerts=svc, tracker=tracker)
    first = run_health(s, inventory, T_END, **kw)
    assert first.notice_sent and len(first.changes) == 2
    svc.deliver_due()
    files = list((tmp_path / "delivered").glob("*.xml"))
    assert len(files) == 1
    xml = files[0].read_text(encoding="utf-8")
    _, b, c = archive["ids"]
    assert f"{b}: OK -&gt; FAIL" in xml or f"{b}: OK -> FAIL" in xml
    assert c in xml
    second = run_health(s, inventory, T_END, **kw)
    assert second.changes == [] and not second.notice_sent
    svc.deliver_due()
    assert len(list((tmp_path / "delivered").glob("*.xml"))) == 1


def test_simulated_faults_are_found(settings, inventory) -> None:
    """End to end through the simulator: its scenario faults, and nothing else."""
    from seismo.simulate import get_scenario

    scen = get_scenario(settings.simulator.scenarios, "noise_spikes")
    faulty = {f.kind: f.station for f in scen.faults}
    end = scen.reference + 1200.0  # both faults fall inside [end - 600 s, end)
    summ = _summaries(check_network(settings, inventory, end,
                                    feed_url="sim://?scenario=noise_spikes"))
    assert any(re.search(r"\d+ spikes", r) for r in summ[faulty["spikes"]].reasons)
    assert any(re.search(r"1 gap totalling 30\.0 s", r) for r in summ[faulty["gap"]].reasons)
    others = [h for sid, h in summ.items() if sid not in faulty.values()]
    assert len(others) == len(summ) - 2
    # city stations stand a few dB above the NHNM (docs/simulator.md, urban noise): that
    # is their normal, not a fault: every other station is OK
    assert all(h.status == "OK" for h in others), [(h.station, h.reasons) for h in others]


def test_felt_earthquake_is_not_a_fault(settings, inventory) -> None:
    """A felt M3 inside the network: no spikes, no noisy site, every station OK."""
    from seismo.simulate import get_scenario

    scen = get_scenario(settings.simulator.scenarios, "felt_m3_city")
    end = scen.reference + 600.0  # the event (origin +120 s) is inside the window
    ev = scen.events[0]
    near = sorted(stations(inventory),
                  key=lambda s: (s.latitude - ev.latitude) ** 2 + (s.longitude - ev.longitude) ** 2)
    ids = [s.id for s in near[:6]]  # the strongest records
    res = check_network(settings, inventory, end, stations=ids,
                        feed_url="sim://?scenario=felt_m3_city")
    assert len(res) > 6
    # the earthquake is no fault, nor is the city stations' urban noise
    assert all(h.status == "OK" for h in res), [
        (h.station, h.channel, h.reasons) for h in res if h.status != "OK"]
