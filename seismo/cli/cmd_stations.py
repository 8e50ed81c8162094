"""``seismo stations``: a table of the stations and channels of the inventory."""

from __future__ import annotations

import argparse

from seismo.cli.common import Subcommands, settings_from_args, table


def register(sub: Subcommands) -> None:
    p = sub.add_parser("stations", help="list the stations and channels of the inventory")
    p.add_argument("--inventory", help="StationXML file or directory (default: from config)")
    p.add_argument("--channels", action="store_true", help="one row per channel")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from seismo.inventory import load_inventory, stations

    path = args.inventory or settings_from_args(args).network.inventory
    stas = stations(load_inventory(path))
    rows: list[tuple[object, ...]]
    if args.channels:
        rows = [
            (c.seed_id, f"{c.latitude:.4f}", f"{c.longitude:.4f}", c.sampling_rate, c.kind or "?",
             f"{c.sensitivity:.4g}" if c.sensitivity else "-")
            for s in stas for c in s.channels
        ]
        print(table(["channel", "lat", "lon", "rate_hz", "kind", "sensitivity"], rows))
    else:
        rows = [
            (s.id, f"{s.latitude:.4f}", f"{s.longitude:.4f}", f"{s.elevation_m:.0f}",
             ",".join(sorted(s.kinds())), " ".join(c.channel for c in s.channels), s.site_name)
            for s in stas
        ]
        print(table(["station", "lat", "lon", "elev_m", "kinds", "channels", "site"], rows))
    print(f"{len(stas)} stations, {sum(len(s.channels) for s in stas)} channels")
    return 0
