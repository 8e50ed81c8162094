"""The scoreboard: seismo against references, on real data and on the simulator.

One command regenerates it::

    python benchmarks/scoreboard.py   # benchmarks/scoreboard.md and .json; the READMEs' tables

The tables between ``<!-- scoreboard:start -->`` and ``<!-- scoreboard:end -->`` in
``README.md`` and ``benchmarks/README.md`` are replaced by the new ones.

Rows (each scored by ``seismo evaluate``'s rules, docs/evaluation.md):

1. **Real data**: 33 min of NIED Hi-net, Aizu 2012 (``../shared/data/hinet-aizu-2012``;
   skipped when absent), shipped configuration, against the JMA catalogue (templates
   of the Match&Locate detections tell "probably real" extras from unexplained ones):
   * ``seismo`` (picker + associator + locator + ML);
   * ``ObsPy coincidence trigger`` (what a seismologist scripts with ObsPy alone:
     2-15 Hz on the verticals, recursive STA/LTA 0.5/10 s, on 4.0 / off 1.5, >= 4
     stations). It has no location: a catalogue event counts as found when a trigger
     starts 0-10 s after its origin (one-to-one);
   * ``PyOcto`` (``benchmarks/pyocto_assoc.py``) on seismo's picks, located by seismo.
2. **Simulator with model mismatch**: the simulator generates with a 1-D model 4 %
   faster than the locator's (``[simulator] velocity_model`` in a small overlay; its
   layers over ak135 through TauP, with the simulator's Brune source, fixed station
   statics and site terms and urban noise, docs/simulator.md), a
   30-minute scenario of 14 events in and around the network (ML 1.5-3.5, 5-15 km,
   two of them 15 s and 30 s into the coda of a larger one; fixed seed); the same
   three rows.

PyOcto rows need PyOcto importable (see ``benchmarks/pyocto_assoc.py``); without it they
are marked "not run".
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# ../shared beside the repository (CI); from a nested work tree, the nearest ancestor's
HINET = next(
    (p / "shared" / "data" / "hinet-aizu-2012" for p in ROOT.parents
     if (p / "shared" / "data" / "hinet-aizu-2012").is_dir()),
    ROOT.parent / "shared" / "data" / "hinet-aizu-2012",
)
HINET_RANGE = ("2012-09-01T18:20:00", "2012-09-01T18:53:20")
SIM_REF = "2026-03-01T00:00:00"
SPEEDUP = 1.04  # simulator model velocity / locator model velocity

log = logging.getLogger("scoreboard")


# --------------------------------------------------------------------------- ObsPy baseline
def obspy_triggers(sds: Path, inventory: Any, start: Any, end: Any) -> tuple[list[Any], float]:
    """Coincidence-trigger times over ``[start, end)`` (``bench_detect``'s ObsPy baseline)
    and the wall time (s)."""
    from bench_detect import coincidence_triggers
    from obspy import Stream
    from obspy.clients.filesystem.sds import Client

    from seismo.inventory import stations

    t0 = time.perf_counter()
    client = Client(str(sds))
    st = Stream()
    for s in stations(inventory):
        st += client.get_waveforms(s.network, s.station, "*", "??Z", start - 30, end)
    trig = [t for t in coincidence_triggers(st) if start <= t < end]
    return trig, time.perf_counter() - t0


def score_triggers(reference: list[Any], triggers: list[Any],
                   templates: list[Any] | None) -> dict[str, Any]:
    """One-to-one: a reference event is found by a trigger 0-10 s after its origin."""

    def match(ref: list[Any], trig: list[Any]) -> list[tuple[int, int]]:
        pairs = sorted((float(t - r.time), i, j) for i, r in enumerate(ref)
                       for j, t in enumerate(trig) if 0.0 <= float(t - r.time) <= 10.0)
        ur: set[int] = set()
        ut: set[int] = set()
        out = []
        for _, i, j in pairs:
            if i not in ur and j not in ut:
                ur.add(i)
                ut.add(j)
                out.append((i, j))
        return out

    hits = match(reference, triggers)
    used = {j for _, j in hits}
    extra = [t for j, t in enumerate(triggers) if j not in used]
    real = 0
    if templates:
        from seismo.shells.scoring import MatchRules, match_events

        own = {k for k, _ in match_events(templates, reference, MatchRules())}
        rest = [t for k, t in enumerate(templates) if k not in own]
        real = len(match(rest, extra))
    return {"n_reference": len(reference), "n_matched": len(hits), "n_extra": len(extra),
            "n_extra_probably_real": real, "n_extra_unexplained": len(extra) - real}


# --------------------------------------------------------------------------- rows
def _row(name: str, ev: dict[str, Any], wall: float | None, span: float) -> dict[str, Any]:
    e = ev
    md = e.get("magnitude_difference") or {}
    return {
        "tool": name,
        "found": f"{e['n_matched']}/{e['n_reference']}",
        "extras": e["n_extra"],
        "probably_real": e.get("n_extra_probably_real"),
        "unexplained": e.get("n_extra_unexplained"),
        "phantoms": e.get("n_phantom", "-"),
        "epi_median_km": (e.get("epicentral_error_km") or {}).get("median"),
        "epi_p90_km": (e.get("epicentral_error_km") or {}).get("p90"),
        "depth_median_km": (e.get("depth_error_km") or {}).get("median"),
        "ot_median_s": (e.get("origin_time_error_s") or {}).get("median"),
        "mag_types": md.get("types"),
        "mag_median": md.get("median"),
        "mag_max": md.get("max"),
        "wall_s": None if wall is None else round(wall, 1),
        "span_s": span,
    }


def _pyocto_row(name: str, run: Any, settings: Any, inv: Any, reference: list[Any],
                templates: list[Any] | None, start: Any, end: Any) -> dict[str, Any]:
    import pyocto_assoc

    from seismo.event.velocity import load_velocity_model
    from seismo.inventory import station_map
    from seismo.shells.evaluate import evaluate

    if not pyocto_assoc.available():
        return {"tool": name, "found": "not run (PyOcto not importable)"}
    stations = station_map(inv)
    model = load_velocity_model(settings.network.velocity_model)
    events, wall = pyocto_assoc.run(run.raw_picks, stations, model, settings)
    ev = evaluate(settings, reference, label=name, detected=events, templates=templates,
                  inventory=inv, start=start, end=end)
    row = _row(name, ev.events, wall, float(end - start))
    row["wall_s"] = f"{wall:.1f} (association only)"
    return row


def hinet(results: dict[str, Any]) -> list[dict[str, Any]]:
    from obspy import UTCDateTime

    from seismo.config import load_settings
    from seismo.inventory import load_inventory
    from seismo.io.catalog import read_catalog
    from seismo.shells.evaluate import evaluate, run_detection

    if not HINET.is_dir():
        return [{"tool": "seismo", "found": f"not run ({HINET} missing)"}]
    s = load_settings()
    inv = load_inventory(HINET / "inventory.xml")
    start, end = (UTCDateTime(t) for t in HINET_RANGE)
    ref = read_catalog(HINET / "catalog.json")
    tpl = read_catalog(HINET / "catalog_ml_detections.json")
    run = run_detection(s, start, end, feed_url=f"sds://{HINET / 'sds'}", inventory=inv)
    ev = evaluate(s, ref, label="Hi-net Aizu 2012", templates=tpl, inventory=inv, start=start,
                  end=end, run=run)
    results["hinet_seismo"] = ev.to_dict()
    rows = [_row("seismo", ev.events, run.wall_s, run.span_s)]
    trig, wall = obspy_triggers(HINET / "sds", inv, start, end)
    sc = score_triggers([r for r in ref if start <= r.time < end], trig, tpl)
    results["hinet_obspy"] = sc
    rows.append({"tool": "ObsPy coincidence trigger", "found":
                 f"{sc['n_matched']}/{sc['n_reference']}", "extras": sc["n_extra"],
                 "probably_real": sc["n_extra_probably_real"],
                 "unexplained": sc["n_extra_unexplained"], "wall_s": round(wall, 1)})
    rows.append(_pyocto_row("PyOcto on seismo's picks", run, s, inv, ref, tpl, start, end))
    return rows


def mismatch_scenario(settings: Any, inventory: Any) -> Any:
    """14 events in and around the network, two in the coda of a larger one (fixed seed)."""
    from obspy import UTCDateTime

    from seismo.geo import destination
    from seismo.inventory import stations
    from seismo.simulate import Scenario, ScenarioEvent

    sta = stations(inventory)
    lat0 = float(np.mean([s.latitude for s in sta]))
    lon0 = float(np.mean([s.longitude for s in sta]))
    rng = np.random.default_rng(13)
    ref = UTCDateTime(SIM_REF)
    events = []
    for k in range(12):
        lat, lon = destination(lat0, lon0, float(rng.uniform(0, 360)), float(rng.uniform(0, 50)))
        events.append(ScenarioEvent(ref + 90 + 140 * k + float(rng.uniform(0, 40)), lat, lon,
                                    float(rng.uniform(5, 15)), round(float(rng.uniform(1.5,
                                                                                       3.5)), 1)))
    # coda events: 15 s and 30 s after the two largest, 0.8 units smaller, 5 km away
    for big, delay in zip(sorted(events, key=lambda e: -e.magnitude)[:2], (15.0, 30.0),
                          strict=True):
        lat, lon = destination(big.latitude, big.longitude, 45.0, 5.0)
        events.append(ScenarioEvent(big.origin + delay, lat, lon, big.depth_km,
                                    round(big.magnitude - 0.8, 1)))
    events.sort(key=lambda e: e.origin)
    return Scenario(name="mismatch", reference=ref, description="scoreboard, model mismatch",
                    events=tuple(events))


def write_overlay(settings: Any, scen: Any, work: Path) -> Path:
    """Scenario file, a 4 % faster model and the overlay that points the simulator at them."""
    import tomllib

    src = tomllib.loads(Path(settings.network.velocity_model).read_text(encoding="utf-8"))
    lines = [f'name = "{src.get("name", "model")} x {SPEEDUP}"',
             f"vp_vs = {src.get('vp_vs', 1.73)}"]
    for layer in src["layers"]:
        lines += ["[[layers]]", f"top_km = {layer['top_km']}",
                  f"vp = {round(layer['vp'] * SPEEDUP, 4)}"]
    (work / "faster.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ev_lines = [f"[{scen.name}]", f'description = "{scen.description}"',
                f'reference = "{str(scen.reference)[:19]}"']
    for e in scen.events:
        ev_lines += [f"[[{scen.name}.events]]", f"origin_s = {float(e.origin - scen.reference)}",
                     f"latitude = {e.latitude}", f"longitude = {e.longitude}",
                     f"depth_km = {e.depth_km}", f"magnitude = {e.magnitude}"]
    (work / "scenarios.toml").write_text("\n".join(ev_lines) + "\n", encoding="utf-8")
    ov = work / "mismatch.toml"
    ov.write_text(f'base = "{settings.source}"\n[simulator]\nscenarios = "scenarios.toml"\n'
                  f'scenario = "{scen.name}"\nvelocity_model = "faster.toml"\n', encoding="utf-8")
    return ov


def simulator(results: dict[str, Any], work: Path) -> list[dict[str, Any]]:
    from seismo.config import load_settings
    from seismo.inventory import load_inventory
    from seismo.io.sds import write_sds
    from seismo.shells.evaluate import evaluate, run_detection, scenario_reference
    from seismo.simulate import Simulator

    base = load_settings()
    inv = load_inventory(base.network.inventory)
    scen = mismatch_scenario(base, inv)
    s = load_settings(write_overlay(base, scen, work))
    ref, start, end = scenario_reference(s, scen.name)
    run = run_detection(s, start, end, feed_url=f"sim://?scenario={scen.name}")
    ev = evaluate(s, ref, label="simulator, model 4 % faster", start=start, end=end, run=run)
    results["sim_seismo"] = ev.to_dict()
    rows = [_row("seismo", ev.events, run.wall_s, run.span_s)]
    sds = work / "sds"
    write_sds(Simulator.from_settings(s.simulator, s.network, scenario=scen.name), sds, start - 60,
              end)
    trig, wall = obspy_triggers(sds, inv, start, end)
    sc = score_triggers(ref, trig, None)
    results["sim_obspy"] = sc
    rows.append({"tool": "ObsPy coincidence trigger", "found":
                 f"{sc['n_matched']}/{sc['n_reference']}", "extras": sc["n_extra"],
                 "wall_s": round(wall, 1)})
    rows.append(_pyocto_row("PyOcto on seismo's picks", run, s, inv, ref, None, start, end))
    return rows


# --------------------------------------------------------------------------- output
COLS = [("tool", "tool"), ("found", "found"), ("extras", "extras"),
        ("probably_real", "probably real"), ("unexplained", "unexplained"),
        ("phantoms", "phantoms (>50 km out)"), ("epi_median_km", "epicentre median km"),
        ("epi_p90_km", "p90 km"), ("depth_median_km", "depth median km"),
        ("ot_median_s", "origin time median s"), ("mag_median", "|dM| median"),
        ("mag_max", "|dM| max"), ("wall_s", "wall s")]


def markdown(title: str, rows: list[dict[str, Any]], note: str) -> str:
    head = "| " + " | ".join(c for _, c in COLS) + " |"
    sep = "|" + "---|" * len(COLS)
    body = ["| " + " | ".join("-" if r.get(k) is None else str(r.get(k, "-")) for k, _ in COLS)
            + " |" for r in rows]
    return "\n".join([f"### {title}", "", note, "", head, sep, *body, ""])


START, END = "<!-- scoreboard:start -->", "<!-- scoreboard:end -->"


def update_readme(path: Path, text: str) -> None:
    """Replace the marked scoreboard section of ``path`` (nothing if it has no markers)."""
    doc = path.read_text(encoding="utf-8")
    if START not in doc or END not in doc:
        return
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    body = text.replace("### ", "#### ")
    path.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "scoreboard.md")
    ap.add_argument("--skip-sim", action="store_true")
    ap.add_argument("--skip-hinet", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results: dict[str, Any] = {}
    parts = [f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
             "`python benchmarks/scoreboard.py` (rules: docs/evaluation.md).", ""]
    if not args.skip_hinet:
        rows = hinet(results)
        md = results.get("hinet_seismo", {}).get("events", {}).get("magnitude_difference", {})
        parts.append(markdown(
            "Real data: Hi-net, Aizu 2012 (7 stations, 33 min, 14 JMA events Mj 2.1-3.2)", rows,
            f"Shipped configuration. Magnitudes: {md.get('types', '-')}. Extras are 'probably "
            "real' when they match a template-matching detection. The ObsPy baseline only "
            "detects (no location or magnitude)."))
    if not args.skip_sim:
        with tempfile.TemporaryDirectory(prefix="scoreboard-") as tmp:
            rows = simulator(results, Path(tmp))
        parts.append(markdown(
            "Simulator with model mismatch (20 stations, 14 events, simulator model 4 % faster)",
            rows, "Shipped configuration and network; the simulator generates with a 1-D "
            "model 4 % faster than the locator's (through TauP); magnitudes: ML - Mw "
            "(simulator input)."))
    text = "\n".join(parts)
    args.out.write_text(text, encoding="utf-8")
    if not (args.skip_sim or args.skip_hinet):
        for readme in (ROOT / "README.md", ROOT / "benchmarks" / "README.md"):
            update_readme(readme, text)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n",
                                             encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
