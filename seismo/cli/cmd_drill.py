"""``seismo drill --scenario NAME``: rehearse the alert chain with CAP status Exercise."""

from __future__ import annotations

import argparse
from pathlib import Path

from seismo.cli.common import Subcommands, settings_from_args


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "drill",
        help="run a simulator scenario through the whole chain; alerts carry status Exercise",
    )
    p.add_argument("--scenario", required=True, help="scenario name in the scenario file")
    p.add_argument("--alert-dir", type=Path, help="also write every CAP message into DIR")
    p.add_argument("--store", action="store_true", help="also write the drill's events to InfluxDB")
    p.add_argument("--installation", type=Path, metavar="DIR",
                   help="the drill's own installation directory: its alert record and state "
                   "(default: <[installation] dir>/drills)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from seismo.shells.drill import run_drill

    res = run_drill(
        settings_from_args(args), args.scenario, alert_dir=args.alert_dir, store=args.store,
        installation=args.installation,
    )
    print(f"drill {res.scenario} (scenario reference {res.reference}), status Exercise; "
          f"alert record in {res.installation}")
    print(res.summary.render())
    for eid, groups in res.decisions.items():
        print(f"{eid}: alerted groups: {', '.join(groups) or 'none'}")
        for why in res.silent.get(eid, ()):
            print(f"  why: {why}")
    for n in res.notes:
        print(f"note: {n}")
    return 0 if res.summary.events else 1
