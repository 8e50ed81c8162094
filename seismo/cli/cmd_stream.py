"""``seismo stream``: the real-time detector (SeedLink in, CAP alerts out in seconds)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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
    p.add_argument("--role", choices=("pickers", "associator"),
                   help="run one part of the split stream (docs/streaming.md, 'Split'): "
                   "the pickers of --part K/N publishing to Redis ([stream.broker]), or "
                   "the associator reading them; default: everything in this process")
    p.add_argument("--part", metavar="K/N",
                   help="with --role pickers: this process picks the stations of part K of N")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from seismo.cli.common import settings_from_args
    from seismo.errors import ConfigError
    from seismo.shells.stream import StreamService

    settings = settings_from_args(args)
    service: Any
    if args.role == "pickers":
        from seismo.shells.stream_part import PickerPart, parse_part

        if not args.part:
            raise ConfigError("--role pickers needs --part K/N (e.g. --part 1/2)")
        if args.alert_dir or args.exercise or args.no_alerts:
            raise ConfigError("--alert-dir, --exercise and --no-alerts belong to the "
                              "associator (--role associator), not to a picker part")
        part, parts = parse_part(args.part)
        service = PickerPart(settings, part, parts, feed=args.feed, inventory=args.inventory,
                             store=not args.no_store, state_file=args.state_file)
    else:
        if args.part:
            raise ConfigError("--part goes with --role pickers")
        kwargs = dict(inventory=args.inventory, alert_dir=args.alert_dir,
                      store=not args.no_store, alerts=not args.no_alerts,
                      exercise=args.exercise, state_file=args.state_file)
        if args.role == "associator":
            from seismo.shells.stream_split import AssociatorService

            if args.feed:
                raise ConfigError("--feed goes with the pickers (--role pickers), not "
                                  "with the associator")
            service = AssociatorService(settings, **kwargs)
        else:
            service = StreamService(settings, feed=args.feed, **kwargs)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return service.run(stop)
