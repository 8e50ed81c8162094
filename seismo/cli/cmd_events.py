"""``seismo events``: a table of the events stored in InfluxDB.

Structure (for extension, e.g. review subcommands): :func:`register` builds the
parser, :func:`fetch_events` reads from the store, :func:`format_events` renders.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from seismo.cli.common import Subcommands, parse_time, settings_from_args, table

if TYPE_CHECKING:
    from seismo.model import Event

STATUSES = ("automatic", "confirmed", "rejected")


def register(sub: Subcommands) -> None:
    p = sub.add_parser("events", help="list events stored in InfluxDB")
    add_filter_arguments(p)
    p.set_defaults(func=_run)


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    """The time and filter options (shared with future ``events`` subcommands)."""
    p.add_argument("--since", help="origin time from (ISO 8601, UTC; default: 24 h ago)")
    p.add_argument("--until", help="origin time until (ISO 8601, UTC; default: now)")
    p.add_argument("--min-magnitude", type=float, help="only events with ML >= this")
    p.add_argument("--status", choices=STATUSES, help="only events with this review status")
    p.add_argument("--region", metavar="LAT_MIN,LAT_MAX,LON_MIN,LON_MAX",
                   help="only epicentres inside this box (degrees)")


def parse_region(value: str) -> tuple[float, float, float, float]:
    """``lat_min,lat_max,lon_min,lon_max`` (degrees) -> tuple; UsageError if malformed."""
    from seismo.cli.common import UsageError

    try:
        la0, la1, lo0, lo1 = (float(v) for v in value.split(","))
    except ValueError:
        raise UsageError(f"--region: need lat_min,lat_max,lon_min,lon_max, got {value!r}") from None
    if not (-90 <= la0 < la1 <= 90 and -180 <= lo0 < lo1 <= 180):
        raise UsageError(f"--region {value!r}: need lat_min < lat_max and lon_min < lon_max")
    return la0, la1, lo0, lo1


def fetch_events(args: argparse.Namespace) -> list[Event]:
    """Events matching ``args`` (latest version per event id), oldest first."""
    from obspy import UTCDateTime

    from seismo.io.store import InfluxStore

    until = parse_time(args.until, "--until") if args.until else UTCDateTime()
    since = parse_time(args.since, "--since") if args.since else until - 86400.0
    region = parse_region(args.region) if getattr(args, "region", None) else None
    settings = settings_from_args(args)
    with InfluxStore.from_settings(settings.store) as store:
        events = store.query_events(since, until, status=args.status,
                                    min_magnitude=args.min_magnitude)
    if region is not None:
        la0, la1, lo0, lo1 = region
        events = [e for e in events if la0 <= e.latitude <= la1 and lo0 <= e.longitude <= lo1]
    return events


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_events(events: list[Event]) -> str:
    """The events as a plain-text table."""
    rows = [
        (e.time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-4], e.id, f"{e.latitude:.4f}",
         f"{e.longitude:.4f}", f"{e.depth_km:.1f}", _num(e.magnitude, ".1f"),
         _num(e.max_intensity, ".1f"), e.status, e.n_stations, e.version)
        for e in events
    ]
    head = ["time (UTC)", "id", "lat", "lon", "depth_km", "ML", "max_int", "status",
            "n_sta", "ver"]
    return table(head, rows)


def _run(args: argparse.Namespace) -> int:
    events = fetch_events(args)
    print(format_events(events))
    print(f"{len(events)} events")
    return 0
