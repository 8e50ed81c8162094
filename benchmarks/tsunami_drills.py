"""The large-event drills: moment magnitudes against the simulator's Mw, and what the
tsunami centre hears, when, on which magnitude.

    python benchmarks/tsunami_drills.py                  # city20 and coastal16
    python benchmarks/tsunami_drills.py --only coastal16

For every event of the family's truth with Mw >= 5.5 it reports the final ML, Mpd, Mwp,
Mwpd and Ms_BB of the matched detection, and every version the window path produced
(``seismo detect``'s windows and the late magnitudes of the following windows,
:class:`seismo.shells.window.LateMagnitudes`) as the alert rules judge it
(:func:`seismo.alerts.rules.evaluate`): the first tsunami message (its data time after
the origin: the end of the window's data, to which a DAG run adds ``safety_margin_s``),
its severity and magnitude type, the first one set by a moment-type magnitude, and
whether any version was Severe or Extreme. Output: ``benchmarks/tsunami_drills.md``.

The simulator proves consistency, not skill (docs/simulator.md): its P pulse carries the
moment Tsuboi's Mwp inverts, its Rayleigh waves Ms(Mw); the numbers test the chain
(responses, windows, clipping, stitching, the rules), not the relations.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_family(name: str, work: Path) -> dict[str, Any]:
    from seismo.alerts.rules import evaluate
    from seismo.config import DEFAULT_CONFIG, load_settings
    from seismo.geo import distance_km
    from seismo.io.catalog import read_catalog
    from seismo.shells.window import LateMagnitudes
    from seismo.shells.window_context import Context
    from seismo.simulate.families import load_family, write_family

    fam = load_family(name)
    overlay = write_family(fam, work / name, DEFAULT_CONFIG)
    with open(overlay, "a", encoding="utf-8") as f:  # a busy machine: let the feed take time
        f.write("\n[feeds]\ntimeout_s = 600.0\n")
    s = load_settings(overlay)
    start, end = fam.span
    ref = read_catalog(work / name / "catalog.json")
    ctx = Context.from_settings(s, check_responses=False)
    late = LateMagnitudes(ctx)
    versions: dict[str, list[tuple[float, Any]]] = {}

    def keep(res: Any) -> None:
        t = res.window.data_end
        for e in res.events:
            versions.setdefault(e.id, []).append((t, e))
        for e in late.add(res):
            versions.setdefault(e.id, []).append((t, e))

    from seismo.shells.detect import detect_range

    t0 = time.perf_counter()
    detect_range(s, start, end, feed_url=f"sim://?scenario={fam.name}", store=False,
                 alerts=False, on_result=keep)
    wall = time.perf_counter() - t0
    rows = []
    for truth, label in zip(ref, fam.labels, strict=False):
        if truth.magnitude is None or truth.magnitude < 5.5:
            continue
        cands = [(eid, v) for eid, v in versions.items()
                 if abs(float(v[0][1].time - truth.time)) < 60.0
                 and float(distance_km(v[0][1].latitude, v[0][1].longitude, truth.latitude,
                                       truth.longitude)) < 400.0]
        if not cands:
            rows.append({"label": label, "mw": truth.magnitude, "found": False})
            continue
        _eid, vs = min(cands, key=lambda c: abs(float(c[1][0][1].time - truth.time)))
        final = vs[-1][1]
        mags = {m.type: m for m in final.magnitudes}
        first = first_moment = None
        severe = False
        for t, ev in vs:
            d = evaluate(ev, s.alerts.rules, s.network.region)
            if d.tsunami and first is None:
                first = (float(t - truth.time), d.tsunami_severity,
                         d.tsunami_magnitude_type or f"being determined ({ev.magnitude_type})")
            if d.tsunami and not d.tsunami_pending and first_moment is None:
                first_moment = (float(t - truth.time), d.tsunami_severity,
                                d.tsunami_magnitude_type)
            severe |= d.tsunami and d.tsunami_severity in ("Severe", "Extreme")
        rows.append({
            "label": label, "mw": truth.magnitude, "found": True,
            "mags": {k: (m.value, m.lower_bound, bool(m.held), m.n_stations)
                     for k, m in mags.items()},
            "first": first, "first_moment": first_moment, "severe": severe,
            "versions": len(vs),
        })
    return {"family": name, "rows": rows, "wall_s": round(wall, 1)}


def _m(mags: dict[str, Any], k: str) -> str:
    if k not in mags:
        return "-"
    v, bound, held, n = mags[k]
    return f"{'≥' if bound else ''}{v:.2f}{' held' if held else ''} ({n})"


def markdown(results: list[dict[str, Any]]) -> str:
    out = ["# Large-event drills: moment magnitudes and tsunami messages", "",
           f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
           "`python benchmarks/tsunami_drills.py` (module docstring: what the columns mean). "
           "Times are data time after the origin (window data end; a DAG run adds "
           "`safety_margin_s`).", ""]
    for r in results:
        out += [f"## {r['family']} (wall {r['wall_s']} s)", "",
                "| truth | Mw | ML | Mpd | Mwp | Mwpd | Ms_BB | first tsunami message | "
                "first on a moment magnitude | Severe/Extreme ever |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for x in r["rows"]:
            if not x["found"]:
                out.append(f"| {x['label']} | {x['mw']} | not detected | | | | | | | |")
                continue
            m = x["mags"]
            f = x["first"]
            fm = x["first_moment"]
            out.append(
                f"| {x['label']} | {x['mw']} | {_m(m, 'ML')} | {_m(m, 'Mpd')} | {_m(m, 'Mwp')} "
                f"| {_m(m, 'Mwpd')} | {_m(m, 'Ms_BB')} | "
                f"{'none' if f is None else f'+{f[0]:.0f} s, {f[1]}, {f[2]}'} | "
                f"{'none' if fm is None else f'+{fm[0]:.0f} s, {fm[1]}, {fm[2]}'} | "
                f"{'yes' if x['severe'] else 'no'} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=["city20", "coastal16"])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "tsunami_drills.md")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = []
    with tempfile.TemporaryDirectory(prefix="drills-") as tmp:
        for name in args.only:
            results.append(run_family(name, Path(tmp)))
            print(f"{name}: {results[-1]['wall_s']} s", flush=True)
    text = markdown(results)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
