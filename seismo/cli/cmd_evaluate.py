"""``seismo evaluate``: score automatic solutions against a reference catalogue.

Rules and outputs: docs/evaluation.md. Detection runs with nothing stored and
no alert queued unless ``--store`` / ``--alerts`` ask for it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seismo.cli.common import Subcommands, UsageError, parse_time, settings_from_args


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score detection against a reference catalogue (or a simulator scenario's truth)",
        description="Run detection over [--start, --end) (or read --detected FILE) and compare "
        "it with --catalog (QuakeML, JSON or CSV) or with --scenario's truth: recall, "
        "extras, location/magnitude errors, pick residuals, wall time. Rules: "
        "docs/evaluation.md.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--catalog", type=Path, help="reference catalogue (QuakeML, JSON, CSV)")
    src.add_argument(
        "--scenario", help="simulator scenario whose truth is the reference (feed sim://)"
    )
    p.add_argument("--start", help="range start, ISO 8601 UTC (scenario: its reference time)")
    p.add_argument("--end", help="range end, ISO 8601 UTC (scenario: last origin + 120 s)")
    p.add_argument("--feed", help="feed URL for every station (default: the configured feeds)")
    p.add_argument("--inventory", help="StationXML file or directory (default: the configured)")
    p.add_argument("--detected", type=Path, help="score this event file instead of running")
    p.add_argument(
        "--templates", type=Path,
        help="template-matching detections: extras matching one are 'probably real'",
    )
    p.add_argument("--json", type=Path, help="write the evaluation as JSON to this file")
    p.add_argument("--events", type=Path, help="write the detected events as seismo JSON here")
    p.add_argument("--report", type=Path, help="write an HTML report (map, recall) into DIR")
    p.add_argument("--label", help="name of this evaluation in the outputs")
    p.add_argument("--match-time", type=float, default=3.0, help="origin-time tolerance (s)")
    p.add_argument("--match-distance", type=float, default=15.0,
                   help="epicentre tolerance (km; grows to 10 %% of the distance to the network)")
    p.add_argument("--store", action="store_true", help="write results to the configured store")
    p.add_argument("--alerts", action="store_true", help="queue alerts for detected events")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from seismo.cli.cmd_detect import progress_callback, store_alert_choice
    from seismo.io.catalog import read_catalog
    from seismo.shells.evaluate import evaluate, render, scenario_reference
    from seismo.shells.scoring import MatchRules

    settings = settings_from_args(args)
    for opt in ("json", "events"):
        path = getattr(args, opt)
        if path is not None and not path.parent.exists():
            raise UsageError(f"--{opt}: directory {path.parent} does not exist")
    feed = args.feed
    if args.scenario is not None:
        reference, s0, e0 = scenario_reference(settings, args.scenario)
        start = parse_time(args.start, "--start") if args.start else s0
        end = parse_time(args.end, "--end") if args.end else e0
        if feed is None:
            feed = f"sim://?scenario={args.scenario}"
        label = args.label or f"simulator scenario {args.scenario}"
    else:
        if not (args.start and args.end) and args.detected is None:
            raise UsageError("--start and --end are needed to run detection")
        reference = read_catalog(args.catalog)
        start = parse_time(args.start, "--start") if args.start else None
        end = parse_time(args.end, "--end") if args.end else None
        label = args.label or f"{args.catalog.name}"
    if start is not None and end is not None and end <= start:
        raise UsageError(f"--end ({end}) must be after --start ({start})")
    detected = read_catalog(args.detected) if args.detected else None
    templates = read_catalog(args.templates) if args.templates else None
    # sim:// of a scenario is the simulator, never another network's data
    guard_args = argparse.Namespace(**{**vars(args), "feed": None if args.scenario else feed})
    store, alerts, notes = store_alert_choice(settings, guard_args, default_on=False)
    on_window = progress_callback(args.quiet)

    rules = MatchRules(max_time_s=args.match_time, max_distance_km=args.match_distance)
    ev = evaluate(
        settings, reference, label=label, start=start, end=end, feed_url=feed,
        inventory=args.inventory, detected=detected, templates=templates, rules=rules,
        store=store, alerts=alerts, on_window=on_window,
    )
    if detected is None:
        ev.notes = notes + [n for n in ev.notes if n not in notes]
    text = render(ev)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(ev.to_dict(), indent=1) + "\n", encoding="utf-8")
    if args.events and ev.raw_events:
        from seismo.io.output import write_json

        write_json(ev.raw_events, args.events)
    if args.report:
        from seismo.inventory import load_inventory, station_map
        from seismo.shells.evaluate_report import write_report
        from seismo.shells.scoring import StationXY

        stations = station_map(load_inventory(args.inventory or settings.network.inventory))
        xy = [StationXY(k, s.latitude, s.longitude) for k, s in sorted(stations.items())]
        index = write_report(ev, text, xy, args.report)
        print(f"report: {index}")
    return 0
