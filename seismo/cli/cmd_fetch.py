"""``seismo fetch``: pull one window from the station feeds and report what came back."""

from __future__ import annotations

import argparse

from seismo.cli.common import Subcommands, UsageError, parse_time, settings_from_args, table


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "fetch",
        help="pull a window from the configured feeds (or --feed) and report per station",
    )
    p.add_argument(
        "--feed",
        metavar="URL",
        help="fetch every station from this URL (seedlink://, fdsnws://, http(s)://, "
        "sds:///path, sim://); default: [feeds] of the config",
    )
    p.add_argument("--inventory", help="StationXML file or directory (default: from config)")
    p.add_argument("--start", help="window start, ISO 8601 UTC (default: end - 60 s)")
    p.add_argument("--end", help="window end, ISO 8601 UTC (default: now)")
    p.add_argument(
        "--station",
        action="append",
        metavar="NET.STA",
        help="station to fetch (repeatable; default: every station of the inventory)",
    )
    p.add_argument("--workers", type=int, default=4, help="parallel requests (default: 4)")
    p.add_argument("--channels", action="store_true", help="also list every channel")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from obspy import UTCDateTime

    from seismo.inventory import load_inventory
    from seismo.io.feeds import fetch_window

    settings = settings_from_args(args)
    inventory = load_inventory(args.inventory or settings.network.inventory)
    now = UTCDateTime()
    end = parse_time(args.end, "--end") if args.end else UTCDateTime(int(now.timestamp))
    start = parse_time(args.start, "--start") if args.start else end - 60.0
    if end <= start:
        raise UsageError(f"--end ({end}) must be after --start ({start})")
    if args.workers < 1:
        raise UsageError(f"--workers ({args.workers}) must be at least 1")
    stations = None
    if args.station:
        stations = []
        for s in args.station:
            if s.count(".") != 1:
                raise UsageError(f"--station: expected NET.STA, got {s!r}")
            stations.append(s)

    results = fetch_window(
        settings.feeds,
        inventory,
        start,
        end,
        feed_url=args.feed,
        stations=stations,
        max_workers=args.workers,
        simulator=settings.simulator,
        network=settings.network,
    )
    rows: list[tuple[object, ...]] = []
    for sid, r in results.items():
        last = r.last_sample_end
        latency = f"{now - last:.1f}" if last is not None else "-"
        problem = r.error or "; ".join(r.warnings) or ("no data" if not r.n_samples else "")
        rows.append(
            (
                sid,
                len(r.channel_samples),
                r.n_samples,
                latency,
                f"{r.elapsed_s:.2f}",
                r.feed_url,
                problem,
            )
        )
        if args.channels:
            for cid, n in sorted(r.channel_samples.items()):
                rows.append((f"  {cid}", "", n, "", "", "", ""))
    print(f"window [{start} - {end})")
    print(
        table(["station", "channels", "samples", "latency_s", "elapsed_s", "feed", "error"], rows)
    )
    n_data = sum(1 for r in results.values() if r.n_samples)
    n_err = sum(1 for r in results.values() if r.error)
    print(f"{len(results)} stations: {n_data} with data, {n_err} errors")
    return 0 if n_data else 1
