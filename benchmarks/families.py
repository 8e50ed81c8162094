"""Scenario families: the current pipeline scored on every simulated network family.

    python benchmarks/families.py            # every family, full spans: families.md/.json
    python benchmarks/families.py --quick    # first minutes of each family (smoke run)
    python benchmarks/families.py --only micro coastal16

Each family (``config/families/*.toml``, :mod:`seismo.simulate.families`) is written to a
temporary directory (inventory, scenario, truth catalogue, configuration overlay on the
shipped configuration) and scored by ``seismo evaluate``'s functions
(``seismo.shells.evaluate``; rules in docs/evaluation.md) on ``sim://`` of the family.
The simulator generates with its own Earth model and physics (docs/simulator.md), the
pipeline runs as shipped.

Columns beyond ``seismo evaluate``'s: *in distant train*: detected events located
inside the network's region whose origin falls in the wave train of a distant
(> 150 km) event of Mw >= 5.5 of the truth (from its P arrival to Delta/2.5 km/s +
240 s), matched or not; *outside span*: origins more than 60 s outside the processed
span; *messages*: what the alert rules (``seismo.alerts.rules.evaluate``) decide for
each final solution: on-call alerts and tsunami messages with their CAP severity and
the magnitude they rest on.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("families")


def _train_windows(truth: list[Any], center: tuple[float, float]) -> list[tuple[Any, Any, str]]:
    """(start, end, label) of the wave trains of distant large events of the truth."""
    from seismo.geo import distance_km

    out = []
    for t in truth:
        d = float(distance_km(t.latitude, t.longitude, center[0], center[1]))
        if t.magnitude >= 5.5 and d > 150.0:
            out.append((t.time + d / 8.5, t.time + d / 2.5 + 240.0, f"Mw {t.magnitude}"))
    return out


#: An extra is a truth event the scoring missed, located beyond the matching rule, when
#: that missed event is its nearest truth in time and lies within this many times the
#: rule's time and distance tolerances (docs/evaluation.md); it is still counted as an
#: extra and, far out, as a phantom: the column says how many of those are such events.
MISLOCATED_FACTOR = 4.0


def _nearest(
    x: dict[str, Any], ref: list[Any], labels: list[str], missed: set[int],
    sta: list[tuple[float, float]],
) -> tuple[str, bool]:
    """The truth event nearest in time to an extra (what it probably is), and whether it
    is a missed truth event located beyond the matching rule (:data:`MISLOCATED_FACTOR`)."""
    from obspy import UTCDateTime

    from seismo.geo import distance_km
    from seismo.shells.scoring import MatchRules, StationXY

    if not ref:
        return "no truth event", False
    t = UTCDateTime(x["time"])
    k = min(range(len(ref)), key=lambda i: abs(float(ref[i].time - t)))
    r = ref[k]
    d = float(distance_km(r.latitude, r.longitude, x.get("latitude", 0), x.get("longitude", 0)))
    lab = labels[k] if k < len(labels) else ""
    rules = MatchRules()  # what seismo evaluate matched with (its default)
    dmax = rules.distance_limit_km(r, [StationXY("", a, b) for a, b in sta])
    mislocated = (k in missed and abs(float(t - r.time)) <= MISLOCATED_FACTOR * rules.max_time_s
                  and d <= MISLOCATED_FACTOR * dmax)
    what = f" (the missed truth event, mislocated: the rule allows {dmax:.0f} km and " \
           f"{rules.max_time_s:g} s)" if mislocated else ""
    return f"nearest truth: {lab} ({float(t - r.time):+.1f} s, {d:.0f} km away){what}", mislocated


def messages(events: list[Any], settings: Any) -> tuple[int, list[str]]:
    """(on-call alerts, tsunami messages as 'Severity (M type)') of the final solutions."""
    from seismo.alerts.rules import evaluate

    oncall, tsunami = 0, []
    for ev in events:
        d = evaluate(ev, settings.alerts.rules, settings.network.region)
        oncall += int(d.oncall)
        if d.tsunami:
            if d.tsunami_pending:
                tsunami.append(f"{d.tsunami_severity} (magnitude being determined, "
                               f"{ev.magnitude_type} {ev.magnitude})")
                continue
            mag = "-" if d.tsunami_magnitude is None else f"{d.tsunami_magnitude:.1f}"
            tsunami.append(f"{d.tsunami_severity} ({d.tsunami_magnitude_type or 'M'} {mag})")
    return oncall, tsunami


def run_family(name: str, work: Path, quick: bool) -> dict[str, Any]:
    from seismo.config import DEFAULT_CONFIG, load_settings
    from seismo.geo import inside_hull, local_xy
    from seismo.io.catalog import read_catalog
    from seismo.shells.evaluate import evaluate, run_detection
    from seismo.simulate.families import load_family, write_family

    t0 = time.perf_counter()
    fam = load_family(name, quick=quick)
    overlay = write_family(fam, work / name, DEFAULT_CONFIG)
    s = load_settings(overlay)
    start, end = fam.span
    ref = read_catalog(work / name / "catalog.json")
    run = run_detection(s, start, end, feed_url=f"sim://?scenario={fam.name}")
    ev = evaluate(s, ref, label=f"family {name}", start=start, end=end, run=run)
    e = ev.events
    sta = [(st.latitude, st.longitude) for n in fam.inventory for st in n]
    lat0 = sum(a for a, _ in sta) / len(sta)
    lon0 = sum(b for _, b in sta) / len(sta)
    sx, sy = local_xy(lat0, lon0, [a for a, _ in sta], [b for _, b in sta])
    trains = _train_windows(ref, (lat0, lon0))
    in_train = []
    for d in run.raw_events:
        x, y = local_xy(lat0, lon0, [d.latitude], [d.longitude])
        inside = len(sta) >= 3 and inside_hull(float(x[0]), float(y[0]), sx, sy)
        for a, b, lab in trains:
            if inside and a <= d.time <= b:
                in_train.append(
                    f"{str(d.time)[11:19]} {d.magnitude_type or ''} "
                    f"{'-' if d.magnitude is None else f'{d.magnitude:.1f}'} in {lab}"
                )
                break
    outside = [d for d in run.raw_events if d.time < start - 60 or d.time > end + 60]
    oncall, tsunami = messages(run.raw_events, s)
    md = e.get("magnitude_difference") or {}
    epi = e.get("epicentral_error_km") or {}
    per_event = []
    matched = {m["reference_time"]: m for m in e.get("matched", [])}
    for k, r in enumerate(ref):
        m = matched.get(str(r.time))
        lab = fam.labels[k] if k < len(fam.labels) else ""
        if m is None:
            per_event.append(f"{str(r.time)[11:19]} {lab}: MISSED")
        else:
            per_event.append(
                f"{str(r.time)[11:19]} {lab}: {m['magnitude_type'] or '-'} "
                f"{'-' if m['magnitude'] is None else m['magnitude']}, epicentre off "
                f"{m['epicentral_error_km']} km"
            )
    extras = []
    missed = {k for k, r in enumerate(ref) if str(r.time) not in matched}
    n_mislocated = 0
    for x in e.get("extras", []):
        mag = "-" if x.get("magnitude") is None else x["magnitude"]
        far = (
            f" (phantom, {x.get('outside_network_km', 0):.0f} km outside the network)"
            if x.get("phantom")
            else ""
        )
        nearest, mislocated = _nearest(x, ref, fam.labels, missed, sta)
        n_mislocated += int(mislocated and bool(x.get("phantom")))
        extras.append(
            f"{x['time'][11:19]} {x.get('latitude', 0):.2f},{x.get('longitude', 0):.2f} "
            f"{x.get('magnitude_type') or ''} {mag}{far}; {nearest}"
        )
    return {
        "family": name,
        "span_s": float(end - start),
        "found": f"{e['n_matched']}/{e['n_reference']}",
        "extras": e["n_extra"],
        "phantoms": e.get("n_phantom"),
        "phantoms_mislocated": n_mislocated,
        "in_train": len(in_train),
        "outside_span": len(outside),
        "epi_median_km": epi.get("median"),
        "epi_p90_km": epi.get("p90"),
        "dm_median": md.get("median"),
        "dm_max": md.get("max"),
        "mag_types": md.get("types"),
        "oncall": oncall,
        "tsunami": tsunami,
        "wall_s": round(time.perf_counter() - t0, 1),
        "detect_wall_s": round(run.wall_s, 1),
        "events": per_event,
        "extras_list": extras,
        "in_train_list": in_train,
        "description": fam.description,
    }


COLS = [
    ("family", "family"),
    ("found", "found"),
    ("extras", "extras"),
    ("phantoms", "phantoms >50 km"),
    ("phantoms_mislocated", "of them a missed truth event, mislocated"),
    ("in_train", "local in distant train"),
    ("outside_span", "origin outside span"),
    ("epi_median_km", "epi. median km"),
    ("epi_p90_km", "p90 km"),
    ("dm_median", "dM median (abs)"),
    ("dm_max", "dM max (abs)"),
    ("mag_types", "magnitudes"),
    ("oncall", "on-call alerts"),
    ("tsunami", "tsunami messages"),
    ("wall_s", "wall s"),
]


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return "; ".join(v) if v else "none"
    return str(v)


def markdown(rows: list[dict[str, Any]], quick: bool) -> str:
    head = "| " + " | ".join(c for _, c in COLS) + " |"
    sep = "|" + "---|" * len(COLS)
    body = ["| " + " | ".join(_cell(r.get(k)) for k, _ in COLS) + " |" for r in rows]
    out = [
        "# Scenario families on the current pipeline",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
        f"`python benchmarks/families.py{' --quick' if quick else ''}` (families: "
        "config/families/*.toml; simulator physics: docs/simulator.md; scoring: "
        "docs/evaluation.md). Reference magnitudes are the simulator's Mw.",
        "",
        head,
        sep,
        *body,
        "",
    ]
    for r in rows:
        out += [f"## {r['family']}", "", r.get("description", ""), ""]
        out += ["Truth events:", ""] + [f"* {x}" for x in r.get("events", [])] + [""]
        if r.get("extras_list"):
            out += ["Extras:", ""] + [f"* {x}" for x in r["extras_list"]] + [""]
        if r.get("in_train_list"):
            out += ["Local events during a distant quake's wave train:", ""]
            out += [f"* {x}" for x in r["in_train_list"]] + [""]
    return "\n".join(out)


def main() -> None:
    from seismo.simulate.families import family_names

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="first minutes of each family only")
    ap.add_argument("--only", nargs="*", help="family names (default: all)")
    ap.add_argument("--out", type=Path, default=None, help="markdown output (JSON beside it)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    names = args.only or family_names()
    out = args.out or ROOT / "benchmarks" / ("families_quick.md" if args.quick else "families.md")
    rows = []
    with tempfile.TemporaryDirectory(prefix="families-") as tmp:
        for name in names:
            rows.append(run_family(name, Path(tmp), args.quick))
            print(
                f"{name}: {rows[-1]['found']} found, {rows[-1]['extras']} extras, "
                f"{rows[-1]['wall_s']} s",
                flush=True,
            )
    text = markdown(rows, args.quick)
    out.write_text(text + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps(rows, indent=1, default=str) + "\n", encoding="utf-8"
    )
    print(text)


if __name__ == "__main__":
    main()
