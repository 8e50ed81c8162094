"""``seismo bulletin --date YYYY-MM-DD [--out DIR]``: the daily bulletin (HTML, QuakeML, PNG)."""

from __future__ import annotations

import argparse
from pathlib import Path

from seismo.cli.common import Subcommands, UsageError, settings_from_args


def register(sub: Subcommands) -> None:
    p = sub.add_parser("bulletin", help="write the daily bulletin of one UTC day")
    p.add_argument("--date", help="the UTC day, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--out", type=Path,
                   help="output directory (default: YYYY-MM-DD in the [report] dir setting)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import datetime as dt

    from obspy import UTCDateTime

    from seismo.shells.report import write_bulletin

    if args.date:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            raise UsageError(f"--date: not a date YYYY-MM-DD: {args.date!r}") from None
    else:
        day = (UTCDateTime() - 86400).date
    for path in write_bulletin(settings_from_args(args), day, out_dir=args.out):
        print(path)
    return 0
