"""``seismo stream``: the real-time detector (SeedLink in, CAP alerts out in seconds)."""

from __future__ import annotations

import argparse
from pathlib import Path

from seismo.cli.common import Subcommands


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "stream",
        help="real-time detection: SeedLink records -> picks -> events -> alerts in seconds",
        description=(
            "Run the real-time detector beside the minute-by-minute DAG: keep SeedLink "
            "connections open, pick and associate as records arrive, alert on each event "
            "version (Alert, Update, Cancel), store picks, events and a heartbeat in InfluxDB. "
            "Runs until SIGTERM or Ctrl-C (then flushes the spool and the outbox). "
            "docs/streaming.md."
        ),
    )
    p.add_argument("--feed", help="SeedLink URL of every station (default: [stream] feed, "
                   "else the stations' [feeds])")
    p.add_argument("--inventory", help="StationXML file or directory (default: from config)")
    p.add_argument("--alert-dir", type=Path, help="also write every CAP message to DIR")
    p.add_argument("--no-store", action="store_true", help="do not write to InfluxDB")
    p.add_argument("--no-alerts", action="store_true", help="do not queue or deliver alerts")
    p.add_argument("--state-file", type=Path, help="default: [stream] state_file")
    p.add_argument("--exercise", action="store_true",
                   help="CAP status Exercise (drills), separate alert threads")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from seismo.cli.common import settings_from_args
    from seismo.shells.stream import StreamService

    settings = settings_from_args(args)
    service = StreamService(
        settings,
        feed=args.feed,
        inventory=args.inventory,
        alert_dir=args.alert_dir,
        store=not args.no_store,
        alerts=not args.no_alerts,
        exercise=args.exercise,
        state_file=args.state_file,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return service.run(stop)
