"""``seismo demo``: the whole chain once, on the embedded default (README's main command)."""

from __future__ import annotations

import argparse
from pathlib import Path

from seismo.cli.common import Subcommands, settings_from_args


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole chain once: InfluxDB, simulated SeedLink network in real time, "
        "seismo stream (alert in seconds), then the Airflow DAG (the authoritative solution)",
    )
    p.add_argument("--scenario", help="simulator scenario (default: [simulator] scenario)")
    p.add_argument("--work-dir", type=Path, help="where the demo writes (default: var/demo)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from seismo.shells.demo import render, run_demo

    result = run_demo(settings_from_args(args), scenario=args.scenario, work_dir=args.work_dir)
    print(render(result))
    return 0 if result.events and result.dag_state == "success" else 1
