"""``seismo detect``: run the pipeline over any time range, window by window.

The range is cut into the same grid-aligned windows as the minute-by-minute
DAG and each window goes through :func:`seismo.shells.window.process_window`.
Data are read in chunks (``pipeline.chunk_s``) per station and sliced per
window in memory, so long replays do not re-read the archive every minute.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seismo.cli.common import Subcommands, UsageError, parse_time, settings_from_args


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "detect",
        help="detect, locate and characterise events over a time range (replay / backfill)",
        description="Process [--start, --end) from the configured feeds (or --feed) in windows, "
        "exactly as the minute-by-minute pipeline does. Exit code 3: alerts were processed "
        "but some results could not be stored (spool unusable and InfluxDB unreachable); "
        "exit code 4: an alert is still pending on a channel (the outbox retries it).",
    )
    p.add_argument("--start", required=True, help="range start, ISO 8601 UTC")
    p.add_argument("--end", required=True, help="range end, ISO 8601 UTC")
    p.add_argument(
        "--feed",
        help="feed URL for every station (seedlink://, fdsnws://, http(s)://, sds:///, sim://)",
    )
    p.add_argument("--inventory", help="StationXML file or directory (overrides the configuration)")
    p.add_argument("--quakeml", type=Path, help="write the events as QuakeML to this file")
    p.add_argument("--json", type=Path, help="write the events as JSON to this file")
    p.add_argument("--no-store", action="store_true", help="do not write to InfluxDB")
    p.add_argument("--no-alerts", action="store_true", help="do not queue or send alerts")
    p.add_argument(
        "--store",
        action="store_true",
        help="write to the configured store even with another inventory or feed",
    )
    p.add_argument(
        "--alerts",
        action="store_true",
        help="queue alerts even with another inventory or feed",
    )
    p.add_argument("--alert-dir", type=Path, help="also write every alert as a CAP file in DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def store_alert_choice(
    settings: object, args: argparse.Namespace, default_on: bool = True
) -> tuple[bool, bool, list[str]]:
    """(store, alerts, notes): off for another network's data unless --store/--alerts.

    ``default_on=False`` (``seismo evaluate``): off unless asked, whatever the data.
    """
    from seismo.shells.detect import foreign_data

    reasons = foreign_data(settings, args.feed, args.inventory)  # type: ignore[arg-type]
    guard = bool(reasons) or not default_on
    store = not getattr(args, "no_store", False) and (args.store or not guard)
    alerts = not getattr(args, "no_alerts", False) and (args.alerts or not guard)
    notes = []
    if guard and not (args.store and args.alerts):
        why = (
            f"not the configured network's data ({'; '.join(reasons)})"
            if reasons
            else "evaluation run"
        )
        off = [x for x, on in (("nothing written to the store or spool", store),
                               ("no alert queued", alerts)) if not on]
        if off:
            notes.append(
                f"{why}: {' and '.join(off)} "
                "(--store / --alerts to override)"
            )
    return store, alerts, notes


def progress_callback(quiet: bool) -> Callable[[int, int, int], None]:
    """An ``on_window(done, total, n_events)`` that draws a progress bar on stderr."""
    progress: _Progress | None = None

    def on_window(done: int, total: int, n_events: int) -> None:
        nonlocal progress
        if progress is None:
            progress = _Progress(total, not quiet)
        progress.update(done, n_events)

    return on_window


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.t0 = total, enabled and total > 1, time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_pct = -1

    def update(self, done: int, n_events: int) -> None:
        if not self.enabled:
            return
        pct = int(100 * done / self.total)
        el = time.monotonic() - self.t0
        rate = done / el if el > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else 0.0
        bar = "#" * (pct // 4) + "." * (25 - pct // 4)
        line = (
            f"[{bar}] {done}/{self.total} windows, {n_events} events, "
            f"{rate:.1f} windows/s, {_hms(el)} elapsed, ETA {_hms(eta)}"
        )
        if self.tty:
            print("\r" + line, end="" if done < self.total else "\n", file=sys.stderr, flush=True)
        elif pct != self.last_pct or done == self.total:
            print(line, file=sys.stderr, flush=True)
        self.last_pct = pct


def _hms(seconds: float) -> str:
    """``1d02h03m`` / ``2h03m04s`` / ``3m04s`` / ``5s``."""
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d{h:02d}h{m:02d}m"
    if h:
        return f"{h}h{m:02d}m{s:02d}s"
    return f"{m}m{s:02d}s" if m else f"{s}s"


def _run(args: argparse.Namespace) -> int:
    from seismo.shells.detect import detect_range

    start = parse_time(args.start, "--start")
    end = parse_time(args.end, "--end")
    if end <= start:
        raise UsageError(f"--end ({end}) must be after --start ({start})")
    for opt in ("quakeml", "json"):
        path = getattr(args, opt)
        if path is not None and not path.parent.exists():
            raise UsageError(f"--{opt}: directory {path.parent} does not exist")
    settings = settings_from_args(args)
    store, alerts, notes = store_alert_choice(settings, args)
    on_window = progress_callback(args.quiet)

    summary = detect_range(
        settings,
        start,
        end,
        feed_url=args.feed,
        inventory=args.inventory,
        store=store,
        alerts=alerts,
        alert_dir=args.alert_dir,
        on_window=on_window,
    )
    summary.notes.extend(notes)
    if args.quakeml:
        from seismo.io.output import write_quakeml

        write_quakeml(summary.events, args.quakeml)
    if args.json:
        from seismo.io.output import write_json

        write_json(summary.events, args.json)
    print(summary.render())
    if summary.store_errors:
        return 3
    return 4 if summary.alerts_pending else 0  # an alert still pending on a channel
