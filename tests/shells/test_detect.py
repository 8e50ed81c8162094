"""``seismo detect`` and ``seismo drill`` end to end (SDS archive / sim:// feed)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from obspy import UTCDateTime, read_events

from seismo.cli.main import main
from seismo.config import DEFAULT_CONFIG, load_settings
from seismo.io.sds import write_sds
from seismo.simulate import Simulator

REF = UTCDateTime("2026-01-15T03:00:00")  # felt_m3_city reference; origin at +120 s


@pytest.fixture(scope="module")
def sds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sds")
    s = load_settings(DEFAULT_CONFIG)
    sim = Simulator.from_settings(s.simulator, s.network, scenario="felt_m3_city")
    write_sds(sim, root, REF, REF + 300)
    return root


def test_detect_from_sds_writes_json_and_quakeml(
    sds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    js, qml = tmp_path / "ev.json", tmp_path / "ev.xml"
    rc = main(
        [
            "detect",
            "--start",
            str(REF + 60),
            "--end",
            str(REF + 240),
            "--feed",
            f"sds://{sds}",
            "--no-store",
            "--no-alerts",
            "--quiet",
            "--json",
            str(js),
            "--quakeml",
            str(qml),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "1 events" in out
    data = json.loads(js.read_text())
    assert list(data) == ["events"] and len(data["events"]) == 1
    ev = data["events"][0]
    for key in (
        "id",
        "origin_time",
        "latitude",
        "longitude",
        "depth_km",
        "magnitude",
        "magnitude_type",
        "n_stations",
        "rms_s",
        "azimuthal_gap_deg",
        "max_intensity",
        "picks",
    ):
        assert key in ev, key
    assert (
        ev["origin_time"].endswith("Z") and abs(UTCDateTime(ev["origin_time"]) - (REF + 120)) < 0.5
    )
    assert abs(ev["magnitude"] - 3.0) < 0.3 and ev["magnitude_type"] == "ML"
    assert {"station", "channel", "phase", "time"} <= set(ev["picks"][0])
    cat = read_events(str(qml))
    assert len(cat) == 1 and cat[0].origins[0].evaluation_mode == "automatic"
    assert cat[0].magnitudes[0].magnitude_type == "ML"


@pytest.mark.network
def test_detect_exits_non_zero_while_an_alert_is_pending(
    sds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The on-call webhook is down: the Alert stays pending on its channel after the range,
    so ``seismo detect`` says so and exits 4 (not 0: nobody has been alerted yet)."""
    import socket

    from seismo.alerts.settings import AlertsConfig
    from seismo.config import settings_to_toml

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = load_settings(DEFAULT_CONFIG)
    hook = {"kind": "webhook", "url": f"http://127.0.0.1:{port}/cap", "timeout_s": 1.0}
    alerts = AlertsConfig.model_validate({
        **s.alerts.model_dump(), "outbox_dir": str(tmp_path / "outbox"),
        "channels": {"pager": hook},
        "groups": {"oncall": ["pager"], "tsunami": ["pager"], "engineers": ["pager"]},
    })
    cfg = tmp_path / "seismo.toml"
    cfg.write_text(settings_to_toml(s.model_copy(update={"alerts": alerts})), encoding="utf-8")
    rc = main(["--config", str(cfg), "detect", "--start", str(REF + 60), "--end",
               str(REF + 240), "--feed", f"sds://{sds}", "--no-store", "--quiet", "--alerts"])
    out = capsys.readouterr().out
    assert rc == 4, out
    assert "ALERTS PENDING: 1 deliveries not done yet" in out


def test_detect_with_alert_dir_writes_cap(
    sds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = load_settings(DEFAULT_CONFIG)
    cfg = tmp_path / "seismo.toml"
    from seismo.alerts.settings import AlertsConfig
    from seismo.config import settings_to_toml

    alerts = AlertsConfig.model_validate(
        {
            **s.alerts.model_dump(),
            "outbox_dir": str(tmp_path / "outbox"),
            "channels": {},
            "groups": {},
        }
    )
    cfg.write_text(settings_to_toml(s.model_copy(update={"alerts": alerts})), encoding="utf-8")
    adir = tmp_path / "alerts"
    rc = main(
        [
            "--config",
            str(cfg),
            "detect",
            "--start",
            str(REF + 60),
            "--end",
            str(REF + 240),
            "--feed",
            f"sds://{sds}",
            "--no-store",
            "--quiet",
            "--alerts",  # the archive is not a configured feed: alerts only when asked
            "--alert-dir",
            str(adir),
        ]
    )
    assert rc == 0
    files = sorted(adir.glob("*.xml"))
    assert len(files) == 1 and "oncall" in files[0].name
    from seismo.alerts.cap import validate_cap

    assert validate_cap(files[0].read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["--start", "yesterday", "--end", "2026-01-15T03:05:00"], "--start: not an ISO 8601 time"),
        (
            ["--start", "2026-01-15T03:05:00", "--end", "2026-01-15T03:00:00"],
            "must be after --start",
        ),
        (
            [
                "--start",
                "2026-01-15T03:00:00",
                "--end",
                "2026-01-15T03:02:00",
                "--inventory",
                "/nonexistent/inv.xml",
            ],
            "inventory not found: /nonexistent/inv.xml",
        ),
    ],
)
def test_detect_bad_input(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", *args, "--no-store", "--no-alerts", "--quiet"]) != 0
    assert message in capsys.readouterr().err


def test_detect_empty_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    rc = main(
        [
            "detect",
            "--start",
            "2026-01-15T03:00:00",
            "--end",
            "2026-01-15T03:02:00",
            "--feed",
            f"sds://{tmp_path / 'empty'}",
            "--no-store",
            "--no-alerts",
            "--quiet",
        ]
    )
    assert rc != 0
    assert "no data between" in capsys.readouterr().err


def test_detect_inventory_not_matching_archive(
    sds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An inventory of other stations than the archive's: a clear error, not silence."""
    from obspy import read_inventory

    inv = read_inventory(str(load_settings(DEFAULT_CONFIG).network.inventory))
    for net in inv:
        net.code = "XX"
    other = tmp_path / "other.xml"
    inv.write(str(other), format="STATIONXML")
    rc = main(
        [
            "detect",
            "--start",
            str(REF + 60),
            "--end",
            str(REF + 180),
            "--feed",
            f"sds://{sds}",
            "--inventory",
            str(other),
            "--no-store",
            "--no-alerts",
            "--quiet",
        ]
    )
    assert rc != 0
    err = capsys.readouterr().err
    assert "does not describe the stations" in err and "XX." in err


CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@pytest.mark.parametrize(
    ("scenario", "mw"),
    [
        ("m75_manila_trench", 7.5),
        ("m73_nanao", 7.3),
    ],
)
def test_drill_far_offshore_event_reaches_tsunami_centre(
    tmp_path: Path, scenario: str, mw: float
) -> None:
    """Manila Trench M7.5 (~700 km) and Nan'ao-type M7.3 (~335 km ENE): located outside
    the network, the tsunami centre is told, and a tsunami message carries a moment-type
    magnitude that does not saturate (Mwp from the P wave, Ms_BB once the surface waves
    are in the data, Mwpd).

    The simulator generates with its own crust through TauP and a Brune source whose
    Wood-Anderson ML saturates by itself (docs/simulator.md), so the ML alone would
    under-report."""
    from seismo.alerts.cap import validate_cap
    from seismo.alerts.rules import MOMENT_TYPES
    from seismo.shells.drill import run_drill

    s = load_settings(DEFAULT_CONFIG)
    from seismo.alerts.settings import AlertsConfig

    alerts = AlertsConfig.model_validate(
        {
            **s.alerts.model_dump(),
            "outbox_dir": str(tmp_path / "outbox"),
            "channels": {},
            "groups": {},
        }
    )
    s = s.model_copy(update={"alerts": alerts})
    # a drill is an installation of its own: here under tmp_path, never the repository's var/
    # (a second run in the same installation rightly sends nothing new for the same event)
    res = run_drill(s, scenario, alert_dir=tmp_path / "cap", installation=tmp_path / "inst",
                    now=UTCDateTime("2026-03-01T00:00:00"))
    assert len(res.summary.events) == 1
    ev = res.summary.events[0]
    assert ev.outside_network
    assert "tsunami" in res.decisions[ev.id]
    ml = next(m for m in ev.magnitudes if m.type == "ML")
    # the simulated ML saturates: below Mw, so the tsunami message must carry a moment-type
    # magnitude (Manila: ML 7.3 located from S-P within ~20 km; 7.0 when ~200 km off)
    assert ml.value < mw
    assert ev.magnitude_type in MOMENT_TYPES and abs(ev.magnitude - mw) < 0.5
    files = sorted((tmp_path / "cap").glob("*.xml"))
    tsunami = [f for f in files if ".tsunami." in f.name]
    assert tsunami, ([f.name for f in files], res.decisions)
    texts = [f.read_text(encoding="utf-8") for f in tsunami]
    for xml in texts:
        assert validate_cap(xml) == [] and "<status>Exercise</status>" in xml
    types = set()
    for xml in texts:
        root = ET.fromstring(xml)
        for p in root.iter(f"{CAP}parameter"):
            if p.findtext(f"{CAP}valueName") == "tsunami_magnitude_type":
                types.add(p.findtext(f"{CAP}value"))
    assert types & set(MOMENT_TYPES), types
    assert any(f"{t} 7." in xml for xml in texts for t in MOMENT_TYPES)
    # never a Severe tsunami message on an ML (issue 23)
    for xml in texts:
        root = ET.fromstring(xml)
        for info in root.iter(f"{CAP}info"):
            sev = info.findtext(f"{CAP}severity")
            tm = {p.findtext(f"{CAP}valueName"): p.findtext(f"{CAP}value")
                  for p in info.iter(f"{CAP}parameter")}
            if info.findtext(f"{CAP}event") == "Tsunami" and sev in ("Severe", "Extreme"):
                assert tm.get("tsunami_magnitude_type") in MOMENT_TYPES, tm


def test_long_range_windows_are_made_lazily() -> None:
    """A 10-year range: the first chunk exists at once, the rest only when reached."""
    import itertools
    import tracemalloc

    from seismo.shells.detect import count_windows, iter_chunks

    s = load_settings(DEFAULT_CONFIG)
    # the unshifted grid (windows on whole minutes) keeps the counts below readable
    s = s.model_copy(update={"pipeline": s.pipeline.model_copy(update={"window_offset_s": 0.0})})
    start, end = UTCDateTime("2016-01-01T00:00:30"), UTCDateTime("2026-01-01T00:00:00")
    step = s.pipeline.window_s
    expected = int((end - UTCDateTime("2016-01-01")) // step)
    assert count_windows(s, start, end) == expected
    tracemalloc.start()
    chunks = iter_chunks(s, start, end)
    first = next(chunks)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2_000_000  # one chunk, not 5 million windows (~1.7 GB)
    per_chunk = int(s.pipeline.chunk_s // step)
    assert len(first) == per_chunk and first[0].start == UTCDateTime("2016-01-01")
    following = list(itertools.islice(chunks, 2))
    windows = first + [w for c in following for w in c]
    assert all(b.start == a.end for a, b in itertools.pairwise(windows))
    # the last chunk ends exactly at the end of the range
    short = list(iter_chunks(s, start, start + 2.5 * s.pipeline.chunk_s))
    assert sum(len(c) for c in short) == count_windows(s, start, start + 2.5 * s.pipeline.chunk_s)
    assert short[-1][-1].end >= start + 2.5 * s.pipeline.chunk_s


def test_detect_progress_shows_rate_and_eta(
    sds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from seismo.shells.detect import count_windows

    rc = main(["detect", "--start", str(REF + 60), "--end", str(REF + 240),
               "--feed", f"sds://{sds}", "--no-store", "--no-alerts"])
    assert rc == 0
    err = capsys.readouterr().err
    n = count_windows(load_settings(DEFAULT_CONFIG), REF + 60, REF + 240)  # 3 min: 3 or 4
    assert n in (3, 4)
    assert f"{n}/{n} windows" in err and "windows/s" in err and "ETA" in err


def test_detect_on_unconfigured_feed_writes_nothing_unless_asked(
    sds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another feed than the configured one: no store writes, no spool, no alert, said so."""
    from seismo.alerts.settings import AlertsConfig
    from seismo.config import settings_to_toml
    from seismo.io.store.settings import StoreConfig

    s = load_settings(DEFAULT_CONFIG)
    spool, outbox = tmp_path / "spool", tmp_path / "outbox"
    store = StoreConfig.model_validate(
        {**s.store.model_dump(), "url": "http://127.0.0.1:9", "spool_dir": str(spool),
         "retry_interval_s": 0.0}
    )
    alerts = AlertsConfig.model_validate(
        {**s.alerts.model_dump(), "outbox_dir": str(outbox), "channels": {}, "groups": {}}
    )
    cfg = tmp_path / "seismo.toml"
    cfg.write_text(
        settings_to_toml(s.model_copy(update={"store": store, "alerts": alerts})), encoding="utf-8"
    )
    args = ["--config", str(cfg), "detect", "--start", str(REF + 60), "--end", str(REF + 240),
            "--feed", f"sds://{sds}", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 events" in out and "store: off" in out and "alerts: off" in out
    assert "is not a configured feed" in out and "--store / --alerts" in out
    assert not spool.exists() or not any(spool.rglob("*"))
    assert not outbox.exists() or not any(outbox.rglob("*.xml"))
    # asked for: the (unreachable) store spools the results, alerts are queued
    assert main([*args, "--store", "--alerts"]) == 0
    out = capsys.readouterr().out
    assert "spooled" in out and "store: off" not in out
    assert any(spool.rglob("*")) and any(outbox.rglob("*"))


def test_foreign_data_reasons() -> None:
    from seismo.shells.detect import foreign_data

    s = load_settings(DEFAULT_CONFIG)
    assert foreign_data(s, None, None) == []
    assert foreign_data(s, s.feeds.default, str(s.network.inventory)) == []
    why = foreign_data(s, "sds:///elsewhere", "/other/inventory.xml")
    assert len(why) == 2 and "inventory /other/inventory.xml" in why[0]
