"""One alert record per installation: demo -> review -> detect -> drill in one installation,
and no CAP identifier used for two different messages (issue: the demo's Alert re-sent by
``seismo event review`` under its identifier, overwriting the audit file).

A real influxd, the real demo (``run_demo``: the simulated network served over loopback
SeedLink, ``seismo stream`` as a subprocess), a short run: the earthquake 30 s after the
start, no Airflow run and no health run (the ``seismo detect`` step is the window pass).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from cap_schema import xsd_errors

from seismo.config import DEFAULT_CONFIG, dump_toml, load_settings

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def _config(tmp: Path, influx_url: str) -> Path:
    """The shipped configuration as an installation under ``tmp/var`` (no state path set:
    each derives from ``[installation] dir``), its store the test's influxd."""
    data: dict[str, Any] = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    base = DEFAULT_CONFIG.parent
    for key in ("inventory", "velocity_model", "sites"):
        data["network"][key] = str((base / data["network"][key]).resolve())
    data["simulator"]["scenarios"] = str((base / data["simulator"]["scenarios"]).resolve())
    data["simulator"]["scenario"] = "felt_m3_city"
    data["installation"] = {"dir": str(tmp / "var")}
    data["store"] = {"enabled": True, "url": influx_url, "api": "auto",
                     "database": "onerecord", "retry_interval_s": 0.0}
    audit = {"kind": "directory", "path": str(tmp / "var" / "alerts")}
    data["alerts"]["channels"] = {"audit": audit}
    data["web"] = {"public_url": "https://seismo.example.org"}
    path = tmp / "seismo.toml"
    path.write_text(dump_toml(data), encoding="utf-8")
    return path


def _messages(root: Path, store_rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    """identifier -> the distinct contents it was used for: every CAP file and every
    outbox record under ``root`` (XML), every store record (its sent time)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for f in root.rglob("*.cap.xml"):
        xml = f.read_bytes()
        assert xsd_errors(xml) == [], (f, xsd_errors(xml))
        ident = ET.fromstring(xml).findtext(f"{CAP}identifier") or ""
        seen[ident].add(hashlib.sha1(xml).hexdigest())
    for f in root.rglob("messages/*.json"):
        rec = json.loads(f.read_text(encoding="utf-8"))
        if rec.get("xml"):  # a record copied from the store has none
            seen[rec["identifier"]].add(hashlib.sha1(rec["xml"].encode()).hexdigest())
    sent: dict[str, set[str]] = defaultdict(set)
    for r in store_rows:
        sent[r["identifier"]].add(str(r["time"]))
    for ident, times in sent.items():
        assert len(times) == 1, (ident, times)  # one sent time per identifier in the store
    return seen


@pytest.mark.slow
@pytest.mark.influx
@pytest.mark.network
def test_demo_review_detect_drill_never_reuse_an_identifier(influx_server, tmp_path) -> None:
    from seismo.io.store import InfluxStore
    from seismo.shells.demo import run_demo
    from seismo.shells.detect import detect_range
    from seismo.shells.drill import run_drill
    from seismo.shells.review import review_event

    settings = load_settings(_config(tmp_path, influx_server.url))  # type: ignore[attr-defined]
    var = tmp_path / "var"
    assert settings.alerts.outbox_dir == var / "outbox"  # derived from [installation] dir

    # 1. the demo: an installation of its own under var/demo
    demo = run_demo(settings, lead_s=30.0, dag=False, health=False, echo=lambda *a: None)
    assert demo.stream_alert_s is not None, demo
    assert not (var / "outbox").exists() and not (var / "alerts").exists()  # production untouched
    demo_files = sorted((var / "demo" / "alerts").glob("*.cap.xml"))
    assert demo_files
    event_id = demo.events[0].id
    first = ET.parse(demo_files[0]).getroot()

    # 2. review in the production installation: the store's record says v1 is taken
    res = review_event(settings, event_id, "confirmed", reviewer="duty")
    assert res.alert_error is None
    assert [t for t, _ in res.alerts] == ["Update"], res.alerts
    assert not any(i.endswith(".oncall.v1") for _, i in res.alerts)
    upd = ET.parse(next((var / "alerts").glob("*.cap.xml"))).getroot()
    assert first.findtext(f"{CAP}identifier") in (upd.findtext(f"{CAP}references") or "")

    # 3. the window pass over the event, in the same installation: the reviewed event stays
    summary = detect_range(settings, demo.window.start - 60, demo.window.end + 60,
                           feed_url=demo.feed, store=True, alerts=True)
    assert event_id in {e.id for e in summary.events}

    # 4. a drill: its own installation (var/drills), Exercise identifiers
    drill = run_drill(settings, "felt_m3_city")
    assert drill.installation == var / "drills"
    assert drill.summary.events and drill.summary.alerts_queued >= 1
    drill_files = sorted((var / "drills" / "alerts").glob("*.cap.xml"))
    assert drill_files and all(f.name.endswith(".exercise.cap.xml") for f in drill_files)

    with InfluxStore.from_settings(settings.store) as store:
        rows = store.query_alerts()
    seen = _messages(tmp_path, rows)
    reused = {i: c for i, c in seen.items() if len(c) > 1}
    assert not reused, reused
    assert len(seen) >= 3  # the demo's Alert, the review's Update, the drill's
