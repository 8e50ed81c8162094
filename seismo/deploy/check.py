"""``seismo stack check``: one scenario earthquake through the running stack.

1. Every service must be healthy (``status``).
2. A drill is scheduled on the drill network (:mod:`seismo.deploy.feed`): the
   scenario's earthquake :data:`LEAD_S` seconds ahead, so ``seismo stream`` and the
   detection DAG see it in their ordinary data.
3. The check waits for, in any order:

   - the **streaming Alert**: a CAP file with msgType Alert for an event whose
     origin is within the event-matching tolerance of the scenario's;
   - the **scheduled** ``seismo_detect`` run's solution of the same event in InfluxDB:
     a version made by the DAG (solution other than ``stream``) later than the
     stream's versions, from a window that a run with a ``scheduled__`` id planned
     (the window ledger records the runs);
   - the CAP files of that event in the alert directory.

4. It prints origin -> each of them with timings, and checks that the event has
   exactly one Alert (never two messages announcing one event).

Exit 0 when all of it is there; 1 with the reason otherwise.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from obspy import UTCDateTime

from seismo.config import Settings, load_settings
from seismo.deploy.feed import write_drill
from seismo.deploy.layout import Layout
from seismo.deploy.stack import Echo, health, render_health
from seismo.errors import SeismoError
from seismo.io.store import InfluxStore
from seismo.model import Event

#: Seconds from scheduling the drill to the origin: the drill file is read within a
#: record length; the stream is warm already (it runs all the time).
LEAD_S = 30.0

CAP_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"


@dataclass
class CapFile:
    path: Path
    msg_type: str
    written: float  # epoch s

    @classmethod
    def read(cls, path: Path) -> CapFile | None:
        try:
            root = ET.parse(path).getroot()
            return cls(path, root.findtext(f"{CAP_NS}msgType") or "?", path.stat().st_mtime)
        except (OSError, ET.ParseError):
            return None


@dataclass
class Observed:
    """What the check has seen so far."""

    event: Event | None = None  # the stream's first version (once versions are read)
    dag: Event | None = None  # the DAG's version
    dag_run: str = ""
    caps: list[CapFile] = field(default_factory=list)

    @property
    def alerts(self) -> list[CapFile]:
        return [c for c in self.caps if c.msg_type == "Alert"]


def _matching(events: list[Event], origin: UTCDateTime, s: Settings) -> Event | None:
    near = [e for e in events if abs(float(e.time - origin)) <= s.pipeline.event_match_time_s]
    return min(near, key=lambda e: abs(float(e.time - origin))) if near else None


def _scheduled_run(s: Settings, origin: UTCDateTime) -> str:
    """The id of a ``scheduled__`` run that planned and completed a window holding the
    event (window ledger), or ""."""
    root = s.airflow.ledger_dir
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            planned = json.loads((d / "planned.json").read_text())
        except (OSError, ValueError):
            continue
        w = planned.get("window", {})
        start, end = UTCDateTime(w["start"]), UTCDateTime(w["end"])
        if not (d / "done.json").exists() or not (start - 30 <= origin < end):
            continue
        runs = [r.get("run", "") for r in planned.get("runs", [])]
        sched = [r for r in runs if r.startswith("scheduled__")]
        if sched:
            return sched[0]
    return ""


def observe(s: Settings, layout: Layout, origin: UTCDateTime, since: float, seen: Observed
            ) -> None:
    """Update ``seen`` from InfluxDB, the alert directory and the window ledger: the event
    whose origin matches ``origin``, its DAG version, its CAP files written after ``since``
    (epoch s) and the scheduled run that completed its window."""
    with InfluxStore.from_settings(s.store) as store:
        if seen.event is None:
            seen.event = _matching(store.query_events(origin - 60, origin + 60), origin, s)
        if seen.event is not None:
            versions = store.query_event_versions(seen.event.id)
            first = [v for v in versions if v.solution == "stream"]
            if first:
                seen.event = min(first, key=lambda v: v.version)
            stream_v = max((v.version for v in versions if v.solution == "stream"), default=0)
            dag = [v for v in versions if v.solution != "stream" and v.version > stream_v]
            if dag and seen.dag is None:
                seen.dag = min(dag, key=lambda v: v.version)
    if seen.event is not None:
        files = sorted(layout.alerts.glob(f"*.{seen.event.id}.*"))
        seen.caps = sorted(
            (c for c in map(CapFile.read, files) if c is not None and c.written >= since),
            key=lambda c: c.written)
    if seen.dag is not None and not seen.dag_run:
        seen.dag_run = _scheduled_run(s, origin)


def run_check(layout: Layout, echo: Echo, scenario: str | None = None,
              timeout_s: float = 420.0) -> int:
    rows = health(layout)
    bad = [h for h in rows if not h.ok]
    if bad:
        echo(render_health(rows))
        echo("check: FAILED: not every service is healthy: " + ", ".join(h.name for h in bad))
        return 1
    s = load_settings(layout.config)
    name = scenario or s.simulator.scenario
    if not name:
        raise SeismoError("no scenario: give --scenario or set [simulator] scenario")
    since = time.time()
    origin = UTCDateTime(round(since + LEAD_S, 2))
    drill = write_drill(layout.drills, name, origin)
    echo(f"check: scenario {name!r} scheduled on the drill network: earthquake at {origin} "
         f"(in {LEAD_S:.0f} s; {drill.name})")
    seen = Observed()
    deadline = time.time() + LEAD_S + timeout_s
    reported: set[str] = set()
    while time.time() < deadline:
        observe(s, layout, origin, since, seen)
        if seen.alerts and "alert" not in reported:
            echo(f"  streaming Alert {seen.alerts[0].written - float(origin):6.1f} s after the "
                 f"origin: {seen.alerts[0].path.name}")
            reported.add("alert")
        if seen.dag is not None and "dag" not in reported:
            echo(f"  DAG solution v{seen.dag.version} in InfluxDB (made "
                 f"{_after(seen.dag.creation_time, origin)} s after the origin)")
            reported.add("dag")
        if seen.alerts and seen.dag is not None and seen.dag_run:
            break
        time.sleep(2.0)
    time.sleep(3.0)  # the DAG run's own CAP message (an Update, or none) follows its store
    observe(s, layout, origin, since, seen)
    return _report(seen, origin, echo)


def _after(t: UTCDateTime | None, origin: UTCDateTime) -> str:
    return "?" if t is None else f"{float(t - origin):.1f}"


def _report(seen: Observed, origin: UTCDateTime, echo: Echo) -> int:
    echo(f"origin {origin}")
    if seen.event is not None:
        e = seen.event
        echo(f"  -> stream solution v{e.version} {_after(e.creation_time, origin)} s "
             f"(event {e.id}, ML {e.magnitude}, {e.n_stations} stations)")
    for c in seen.caps:
        echo(f"  -> CAP {c.msg_type:<6} {c.written - float(origin):6.1f} s  {c.path}")
    if seen.dag is not None:
        d = seen.dag
        echo(f"  -> DAG solution v{d.version} ({d.solution}) {_after(d.creation_time, origin)} s "
             f"(run {seen.dag_run or '?'}, ML {d.magnitude}, {d.n_stations} stations)")
    problems = []
    if not seen.alerts:
        problems.append("no streaming CAP Alert for the earthquake")
    if len(seen.alerts) > 1:
        problems.append(f"{len(seen.alerts)} CAP Alerts for one event")
    if seen.dag is None:
        problems.append("no solution of the DAG as a later version of the event in InfluxDB")
    elif not seen.dag_run:
        problems.append("the DAG's solution does not come from a scheduled run (window ledger)")
    if problems:
        echo("check: FAILED: " + "; ".join(problems))
        return 1
    echo("check: OK")
    return 0
