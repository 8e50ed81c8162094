"""Event review against a real influxd: a stored simulated scenario, then the CLI.

One module-scoped fixture starts influxd, writes a configuration into tmp_path
and runs detect_range over the "felt_m3_city" scenario (store on, alerts to a
directory channel). The review workflow (confirm -> relocate -> reject -> re-run
detection) is one test, so that its steps cannot run out of order.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from obspy import UTCDateTime

from seismo.config import DEFAULT_CONFIG, Settings, dump_toml, load_settings
from seismo.errors import DataError
from seismo.model import Event

REF = UTCDateTime("2026-01-15T03:00:00")  # scenario felt_m3_city reference; origin at +120 s
TRUTH = (22.625, 114.075, 8.0, 3.0)  # lat, lon, depth_km, magnitude (config/scenarios.toml)
CAP_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"


# --------------------------------------------------------------------------- helpers
def write_config(tmp: Path, influx_url: str, database: str) -> Path:
    """The shipped configuration with absolute data paths and everything writable in tmp."""
    data: dict[str, Any] = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    base = DEFAULT_CONFIG.parent
    for key in ("inventory", "velocity_model", "sites"):
        data["network"][key] = str((base / data["network"][key]).resolve())
    for key in ("scenarios", "velocity_model"):
        if key in data["simulator"]:
            data["simulator"][key] = str((base / data["simulator"][key]).resolve())
    data["simulator"]["scenario"] = "felt_m3_city"
    data["feeds"] = {"default": "sim://", "timeout_s": 10.0, "retries": 0}
    data["store"] = {"enabled": True, "url": influx_url, "api": "auto", "database": database,
                     "spool_dir": "var/spool", "server_data_dir": "var/influxdb",
                     "retry_interval_s": 0.0}
    alerts = data.setdefault("alerts", {})
    alerts.update({"enabled": True, "outbox_dir": "var/outbox",
                   "channels": {"audit": {"kind": "directory", "path": "alerts"}},
                   "groups": {"oncall": ["audit"], "tsunami": ["audit"],
                              "engineers": ["audit"]}})
    data.setdefault("health", {})["state_file"] = "var/health_state.json"
    data["report"] = {"dir": "var/reports"}
    path = tmp / "seismo.toml"
    path.write_text(dump_toml(data), encoding="utf-8")
    return path


@dataclasses.dataclass
class Scenario:
    settings: Settings
    config: Path
    root: Path
    alert_dir: Path
    event: Event


def stored_scenario(tmp: Path, influx_url: str, database: str) -> Scenario:
    """Configure, run detection with store and alerts on, return the detected event."""
    from seismo.shells.detect import detect_range

    config = write_config(tmp, influx_url, database)
    settings = load_settings(config)
    summary = detect_range(settings, REF + 60, REF + 240, store=True, alerts=True)
    assert len(summary.events) == 1, summary.render()
    assert summary.written > 0 and summary.spooled == 0
    return Scenario(settings, config, tmp, tmp / "alerts", summary.events[0])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from seismo.io.store.server import InfluxServer, free_port

    tmp = tmp_path_factory.mktemp("review")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("SEISMO_INFLUX_URL", "SEISMO_INFLUX_DATABASE", "SEISMO_CONFIG"):
            mp.delenv(var, raising=False)
        with InfluxServer(tmp / "influxdb", free_port()) as srv:
            sc = stored_scenario(tmp, srv.url, "review")
            mp.setenv("SEISMO_CONFIG", str(sc.config))
            yield sc


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from seismo.cli.main import main

    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def cap_files(alert_dir: Path) -> dict[str, ET.Element]:
    return {p.name: ET.parse(p).getroot() for p in sorted(alert_dir.glob("*.cap.xml"))}


def cap_text(root: ET.Element, tag: str) -> str:
    el = root.find(f"{CAP_NS}{tag}")
    return "" if el is None or el.text is None else el.text


def is_png(path: Path) -> tuple[int, int]:
    """(height, width) of a valid PNG; fails the test otherwise."""
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert float(img[..., :3].std()) > 0.01  # not a blank canvas
    return int(img.shape[0]), int(img.shape[1])


# --------------------------------------------------------------------------- pure helpers
def test_manual_pick_and_edit(inventory: Any) -> None:
    from seismo.inventory import station_map
    from seismo.shells.review import MANUAL_PICK_UNCERTAINTY_S, edit_picks, parse_manual_pick

    stations = station_map(inventory)
    sid = sorted(stations)[0]
    net, sta = sid.split(".")
    p = parse_manual_pick(f"{sta}:p:2026-01-15T03:02:01.55", stations)
    assert (p.network, p.station, p.phase) == (net, sta, "P")
    assert p.channel.endswith("Z") and p.uncertainty_s == MANUAL_PICK_UNCERTAINTY_S
    s = parse_manual_pick(f"{sid}:S:2026-01-15T03:02:03", stations)
    assert s.channel[-1] in "NE12" and s.time == UTCDateTime("2026-01-15T03:02:03")
    for bad, word in ((f"{sta}:X:2026-01-15T03:02:01", "phase"),
                      ("NOPE:P:2026-01-15T03:02", "NOPE"),
                      (f"{sta}:P:yesterday", "yesterday"), (f"{sta}:P", "STATION:PHASE")):
        with pytest.raises(DataError, match=word):
            parse_manual_pick(bad, stations)
    auto = dataclasses.replace(p, id="auto-p", time=p.time + 0.3, uncertainty_s=0.01)
    other = dataclasses.replace(s, id="auto-s")
    assert edit_picks([auto, other], [], [p]) == [p, other]  # manual P replaces automatic P
    assert edit_picks([auto, other], ["auto-s"], []) == [auto]
    with pytest.raises(DataError, match="not-a-pick"):
        edit_picks([auto], ["not-a-pick"], [])


# --------------------------------------------------------------------------- store + CLI


@pytest.mark.influx
def test_events_command_filters(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    ev = scenario.event
    since, until = str(REF), str(REF + 600)
    rc, out, _ = run_cli(capsys, "events", "--since", since, "--until", until)
    assert rc == 0 and ev.id in out and "1 events" in out
    rc, out, _ = run_cli(capsys, "events", "--since", since, "--until", until,
                         "--region", "22.5,22.8,113.9,114.2", "--min-magnitude", "2.5")
    assert rc == 0 and ev.id in out
    rc, out, _ = run_cli(capsys, "events", "--since", since, "--until", until,
                         "--region", "20,21,110,111")
    assert rc == 0 and ev.id not in out and "0 events" in out
    rc, _, err = run_cli(capsys, "events", "--since", since, "--region", "22,21,1")
    assert rc == 1 and "--region" in err


@pytest.mark.influx
def test_event_show(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    from seismo.io.store import InfluxStore
    from seismo.shells.review import load_event

    with InfluxStore.from_settings(scenario.settings.store) as store:  # reviewed or not
        ev = load_event(store, scenario.event.id)
    rc, out, _ = run_cli(capsys, "event", "show", ev.id)
    assert rc == 0, out
    assert f"Event {ev.id}" in out and "horizontal uncertainty" in out
    for section in ("Arrivals", "Station magnitudes", "Station intensities",
                    "Site intensities", "Alerts sent", "Versions"):
        assert section in out
    a = ev.arrivals[0]
    assert f"{a.network}.{a.station}" in out and f"{a.residual_s:+.3f}" in out
    assert ev.site_intensities and ev.site_intensities[0].name in out
    m = ev.station_magnitudes[0]
    assert f"{m.amplitude_nm:.1f}" in out
    # the automatic alert was recorded in the `alerts` measurement by the runner
    alerts = [line for line in out.splitlines() if ".oncall.v1" in line]
    assert alerts and "Alert" in alerts[0] and "source: store" in out
    rc, _, err = run_cli(capsys, "event", "show", "sz20260115T03000000")
    assert rc == 1 and "not found" in err


@pytest.mark.influx
def test_event_plot(scenario: Scenario, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str]) -> None:
    ev = scenario.event
    rc, out, err = run_cli(capsys, "event", "plot", ev.id, "--out", str(tmp_path / "fig"))
    assert rc == 0, err
    paths = [Path(line) for line in out.split()]
    assert {p.name for p in paths} == {f"{ev.id}_record_section.png", f"{ev.id}_map.png"}
    for p in paths:
        is_png(p)
    # an explicit feed that plays no earthquake still draws (noise) traces
    rc, out, err = run_cli(capsys, "event", "plot", ev.id, "--out", str(tmp_path / "noise"),
                           "--feed", "sim://?scenario=")
    assert rc == 0, err
    assert (tmp_path / "noise" / f"{ev.id}_record_section.png").exists()


@pytest.mark.influx
def test_event_traces_cover_picks(scenario: Scenario) -> None:
    """Record-section data: every station, span origin-10 s .. last S + 30 s, normalised."""
    from seismo.shells.report import RECORD_POST_S, RECORD_PRE_S, event_traces
    from seismo.shells.window_context import Context

    ctx = Context.from_settings(scenario.settings)
    ev = scenario.event
    traces, errors, band = event_traces(scenario.settings, ctx, ev)
    assert not errors and len(traces) == ev.n_stations
    far = max(traces, key=lambda t: t.distance_km)
    last_s = float(ctx.velocity.travel_time("S", far.distance_km, ev.depth_km))
    assert far.times_s[0] == pytest.approx(-RECORD_PRE_S, abs=0.02)
    assert far.times_s[-1] == pytest.approx(last_s + RECORD_POST_S, abs=0.05)
    for t in traces:
        assert abs(float(abs(t.values).max()) - 1.0) < 1e-9
    # the filtered P energy arrives at the P pick: peak after it on the nearest station
    near = min(traces, key=lambda t: t.distance_km)
    p_pick = next(p for p in ev.picks if p.station_id == near.station_id and p.phase == "P")
    t_peak = float(near.times_s[abs(near.values).argmax()])
    assert t_peak >= float(p_pick.time - ev.time) - 0.1
    assert band == (scenario.settings.picker.bands["velocity"].freqmin,
                    scenario.settings.picker.bands["velocity"].freqmax)


@pytest.mark.influx
def test_review_workflow(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    """confirm -> relocate -> reject (one CAP Cancel) -> re-run detection keeps the review."""
    from seismo.io.store import InfluxStore
    from seismo.shells.detect import detect_range
    from seismo.shells.review import alert_records, default_reviewer, event_versions

    ev = scenario.event
    before = cap_files(scenario.alert_dir)
    alerts0 = [r for r in before.values()
               if cap_text(r, "msgType") == "Alert" and ev.id in cap_text(r, "identifier")]
    assert len(alerts0) == 1, sorted(before)  # felt M3 in the city: one on-call alert
    alert_id = cap_text(alerts0[0], "identifier")

    # confirm: version 2, one Update saying the solution is reviewed (nothing else changed)
    rc, out, err = run_cli(capsys, "event", "review", ev.id, "--status", "confirmed",
                           "--comment", "clear P and S", "--reviewer", "duty-seismologist")
    assert rc == 0, err
    assert "version 2 (confirmed)" in out and "alert queued: Update" in out
    with InfluxStore.from_settings(scenario.settings.store) as store:
        latest = event_versions(store, ev.id)[-1]
    assert (latest.version, latest.status, latest.reviewer) == (2, "confirmed", "duty-seismologist")
    assert latest.review_comment == "clear P and S" and latest.review_time is not None
    assert latest.arrivals == ev.arrivals and latest.magnitude == ev.magnitude
    confirmed = {k: v for k, v in cap_files(scenario.alert_dir).items() if k not in before}
    assert len(confirmed) == 1, sorted(confirmed)
    upd = next(iter(confirmed.values()))
    assert cap_text(upd, "msgType") == "Update" and alert_id in cap_text(upd, "references")
    assert "reviewed by a seismologist" in ET.tostring(upd, encoding="unicode")
    before = cap_files(scenario.alert_dir)
    rc, out, _ = run_cli(capsys, "events", "--since", str(REF), "--until", str(REF + 600),
                         "--status", "confirmed")
    assert ev.id in out

    # relocate without the nearest station's picks, with a manual P replacing another
    near = min(ev.arrivals, key=lambda a: a.distance_km)
    dropped = [p.id for p in ev.picks if p.station == near.station]
    other = sorted(ev.arrivals, key=lambda a: a.distance_km)[3]
    manual_t = other.time + 0.02
    rc, out, err = run_cli(capsys, "event", "relocate", ev.id,
                           *[a for d in dropped for a in ("--drop-pick", d)],
                           "--pick", f"{other.network}.{other.station}:P:{manual_t}",
                           "--reviewer", "duty-seismologist", "--no-alerts")
    assert rc == 0, err
    with InfluxStore.from_settings(scenario.settings.store) as store:
        reloc = event_versions(store, ev.id)[-1]
        manual_stored = store.query_picks(manual_t - 0.01, manual_t + 0.01,
                                          station=other.station)
    assert (reloc.version, reloc.status) == (3, "confirmed")
    assert "relocated" in (reloc.review_comment or "") and dropped[0] in reloc.review_comment
    assert near.station not in {p.station for p in reloc.picks}
    assert not set(dropped) & {a.pick_id for a in reloc.arrivals}
    assert any(p.time == manual_t and p.uncertainty_s == 0.05 for p in reloc.picks)
    assert [p.time for p in manual_stored] == [manual_t]
    assert abs(reloc.latitude - TRUTH[0]) < 0.03 and abs(reloc.longitude - TRUTH[1]) < 0.03
    assert reloc.magnitude is not None and abs(reloc.magnitude - TRUTH[3]) < 0.4
    assert reloc.n_stations == ev.n_stations - 1
    assert reloc.station_magnitudes[0].hypo_distance_km != pytest.approx(
        next(m.hypo_distance_km for m in ev.station_magnitudes
             if m.station == reloc.station_magnitudes[0].station
             and m.channel == reloc.station_magnitudes[0].channel), abs=1e-6)
    rc, _, err = run_cli(capsys, "event", "relocate", ev.id, "--drop-pick", "no-such-pick")
    assert rc == 1 and "no-such-pick" in err

    # reject: version 4, exactly one CAP Cancel referencing the alert
    rc, out, err = run_cli(capsys, "event", "review", ev.id, "--status", "rejected",
                           "--comment", "quarry blast", "--reviewer", "duty-seismologist")
    assert rc == 0, err
    assert "version 4 (rejected)" in out and "Cancel" in out
    after = cap_files(scenario.alert_dir)
    new = {k: v for k, v in after.items() if k not in before and ev.id in k}
    assert len(new) == 1, sorted(new)
    cancel = next(iter(new.values()))
    assert cap_text(cancel, "msgType") == "Cancel"
    refs = cap_text(cancel, "references").split()
    assert any(r.split(",")[1] == alert_id for r in refs)
    assert "quarry blast" in ET.tostring(cancel, encoding="unicode")
    with InfluxStore.from_settings(scenario.settings.store) as store:
        recs = alert_records(store, ev.id)
    assert [r["msg_type"] for r in recs].count("Cancel") == 1
    # rejecting again sends nothing new
    rc, out, _ = run_cli(capsys, "event", "review", ev.id, "--status", "rejected")
    assert rc == 0 and "version 5 (rejected)" in out
    assert cap_files(scenario.alert_dir).keys() == after.keys()

    # the automatic pipeline re-run over the same range leaves the review in place
    summary = detect_range(scenario.settings, REF + 60, REF + 240, store=True, alerts=True)
    assert [e.id for e in summary.events] == [ev.id]
    with InfluxStore.from_settings(scenario.settings.store) as store:
        latest = store.query_events(REF, REF + 600)
        versions = event_versions(store, ev.id)
    assert [(e.id, e.status, e.version) for e in latest] == [(ev.id, "rejected", 5)]
    assert {v.status for v in versions} == {"automatic", "confirmed", "rejected"}
    assert cap_files(scenario.alert_dir).keys() == after.keys()  # no new alert either
    rc, out, _ = run_cli(capsys, "event", "show", ev.id)
    assert "status rejected" in out and f"reviewed by {default_reviewer()} at" in out
    assert re.search(r"Cancel\s+oncall", out)


@pytest.mark.influx
def test_confirm_sends_update_when_changed(scenario: Scenario,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """An alerted event whose stored ML has since moved by >= 0.3: confirming sends an Update."""
    from seismo.alerts.service import AlertService
    from seismo.io.store import InfluxStore
    from seismo.shells.review import review_event

    base = dataclasses.replace(scenario.event, id="sz20260115T03320150",
                               time=UTCDateTime("2026-01-15T03:32:00"))
    svc = AlertService.from_settings(scenario.settings.alerts, scenario.settings.network)
    first = svc.process_events([base])
    svc.deliver_due()
    assert [q.msg_type for q in first] == ["Alert"]
    revised = dataclasses.replace(base, magnitude=(base.magnitude or 0.0) + 0.5)
    with InfluxStore.from_settings(scenario.settings.store) as store:
        assert store.write_events([revised]).ok
    res = review_event(scenario.settings, base.id, "confirmed", reviewer="t")
    assert res.event.version == 2 and res.alert_error is None
    assert [m for m, _ in res.alerts] == ["Update"] and res.delivered == 1
    files = {k: v for k, v in cap_files(scenario.alert_dir).items() if base.id in k}
    assert sorted(cap_text(r, "msgType") for r in files.values()) == ["Alert", "Update"]
    # confirming again with nothing changed sends nothing
    assert review_event(scenario.settings, base.id, "confirmed", reviewer="t").alerts == []
