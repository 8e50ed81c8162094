"""``seismo health``: station QC of one window, as a table and optionally an HTML report.

The exit code is the worst station status, as monitoring checks expect (the Nagios
plugin convention, which Icinga, Zabbix and Prometheus' blackbox checks follow): 0 all
OK, 1 a WARN, 2 a FAIL, 3 the check itself could not run (bad configuration, no
inventory). Noise is judged against each channel's baseline in the installation's health
state (read, never written: the health DAG keeps it).
"""

from __future__ import annotations

import argparse
import re
import sys

from seismo.cli.common import Subcommands, UsageError, parse_time, settings_from_args, table

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str, name: str = "--window") -> float:
    """Seconds from "600", "90s", "10m", "1h", "1.5h" or "1d"; UsageError otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", value.lower())
    if not m:
        raise UsageError(
            f"{name}: not a duration: {value!r} (use e.g. 600, 90s, 10m, 1h, 1d)"
        )
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise UsageError(f"{name}: duration must be positive: {value!r}")
    return seconds


def _brief(reasons: tuple[str, ...], keep: int = 3) -> str:
    """The first ``keep`` reasons, then "(+N more)" (the HTML report lists them all)."""
    text = "; ".join(reasons[:keep])
    return text + (f" (+{len(reasons) - keep} more)" if len(reasons) > keep else "")


def register(sub: Subcommands) -> None:
    p = sub.add_parser("health", help="station health (QC metrics, OK/WARN/FAIL) of one window")
    p.add_argument("--station", action="append", metavar="S",
                   help="NET.STA or station code (repeatable; default: all stations)")
    p.add_argument("--window", help="window length, e.g. 600, 10m, 1h (default: from config)")
    p.add_argument("--end", help="window end, ISO 8601 UTC (default: now)")
    p.add_argument("--feed", metavar="URL", help="fetch every station from this feed URL")
    p.add_argument("--report", metavar="DIR", help="write an offline HTML report into DIR")
    p.add_argument("--channels", action="store_true", help="also list every channel")
    p.set_defaults(func=_run)


#: Exit codes (Nagios plugin guidelines): OK, WARNING, CRITICAL, UNKNOWN.
EXIT = {"OK": 0, "WARN": 1, "FAIL": 2}
EXIT_UNKNOWN = 3


def _run(args: argparse.Namespace) -> int:
    from seismo.errors import SeismoError

    try:
        return _check(args)
    except (SeismoError, OSError) as exc:
        print(f"seismo health: UNKNOWN: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN


def _tracker(settings):  # type: ignore[no-untyped-def]
    """The installation's health state (noise baselines), or None when unreadable."""
    from seismo.errors import SeismoError
    from seismo.health.state import HealthStateTracker

    try:
        return HealthStateTracker(settings.health.state_file)
    except SeismoError as exc:
        print(f"health state unreadable, noise judged against the NHNM only: {exc}",
              file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.window:
        health = settings.health.model_copy(update={"window_s": parse_duration(args.window)})
        settings = settings.model_copy(update={"health": health})
    end = parse_time(args.end, "--end") if args.end else None

    from seismo.health.run import assess_network

    run = assess_network(settings, end=end, stations=args.station, feed_url=args.feed,
                         tracker=_tracker(settings))
    rows = []
    for h in run.results:
        if h.channel and not args.channels:
            continue
        m = h.metrics
        lat = m.get("latency")
        name = f"{h.network}.{h.station}" + (f".{h.location}.{h.channel}" if h.channel else "")
        rows.append((
            name, h.status, f"{m.get('availability', 0.0):.1f}",
            "-" if lat is None else f"{max(lat, 0.0):.0f}",
            _brief(h.reasons),
        ))
    print(f"window {run.start} - {run.end} (latency at {run.now})")
    print(table(["station", "status", "avail_%", "latency_s", "reasons"], rows))
    summ = run.summaries()
    counts = {s: sum(1 for h in summ if h.status == s) for s in ("OK", "WARN", "FAIL")}
    print(f"{len(summ)} stations: {counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL")
    if args.report:
        from seismo.health.report import write_report

        path = write_report(run, args.report)
        print(f"report: {path}")
    from seismo.health.status import worst

    return EXIT[worst([h.status for h in summ])]
