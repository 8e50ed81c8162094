"""``seismo event show|plot|review|relocate ID``: review one stored event.

* ``show``: origin with uncertainties, arrivals with residuals, station
  magnitudes and intensities, site intensities, alerts sent, versions.
* ``plot``: record section and map PNGs (waveforms from the configured feed or
  ``--feed``).
* ``review --status confirmed|rejected``: store a reviewed version; rejecting an
  alerted event sends CAP Cancel messages.
* ``relocate``: drop/add picks, relocate, store as a confirmed (manual) version.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seismo.cli.common import Subcommands, settings_from_args


def register(sub: Subcommands) -> None:
    p = sub.add_parser("event", help="show, plot, review or relocate one stored event")
    esub = p.add_subparsers(dest="event_command", metavar="ACTION", required=True)

    s = esub.add_parser("show", help="the event's origin, arrivals, magnitudes, intensities, "
                                     "alerts")
    s.add_argument("event_id", metavar="ID")
    s.set_defaults(func=_show)

    pl = esub.add_parser("plot", help="record section and map (PNG)")
    pl.add_argument("event_id", metavar="ID")
    pl.add_argument("--out", type=Path,
                    help="output directory (default: events/ID in the [report] dir setting)")
    pl.add_argument("--feed", help="waveform feed URL (default: the configured feeds)")
    pl.set_defaults(func=_plot)

    r = esub.add_parser("review", help="confirm or reject the event (stores a new version)")
    r.add_argument("event_id", metavar="ID")
    r.add_argument("--status", required=True, choices=("confirmed", "rejected"))
    r.add_argument("--comment", help="free text stored with the review")
    r.add_argument("--reviewer", help="reviewer name (default: $USER)")
    r.add_argument("--no-alerts", action="store_true", help="do not send Cancel/Update alerts")
    r.set_defaults(func=_review)

    rl = esub.add_parser("relocate", help="relocate from edited picks (stored as confirmed)")
    rl.add_argument("event_id", metavar="ID")
    rl.add_argument("--drop-pick", action="append", default=[], metavar="PICK_ID",
                    help="leave this pick out (repeatable)")
    rl.add_argument("--pick", action="append", default=[], metavar="STATION:PHASE:ISO",
                    help="add a manual pick, e.g. BUJI:P:2026-01-15T03:02:01.55 (repeatable)")
    rl.add_argument("--comment", help="free text stored with the review")
    rl.add_argument("--reviewer", help="reviewer name (default: $USER)")
    rl.add_argument("--no-alerts", action="store_true", help="do not send Update alerts")
    rl.set_defaults(func=_relocate)


def _show(args: argparse.Namespace) -> int:
    from seismo.io.store import InfluxStore
    from seismo.shells.review import alert_records, event_versions, format_event, outbox_messages

    settings = settings_from_args(args)
    with InfluxStore.from_settings(settings.store) as store:
        versions = event_versions(store, args.event_id)
        if not versions:
            from seismo.errors import DataError

            raise DataError(f"event {args.event_id!r} not found in the store "
                            f"({store.connection.describe()})")
        alerts = alert_records(store, args.event_id)
    source = "store"
    if not alerts:
        alerts = outbox_messages(settings, args.event_id)
        source = "local outbox" if alerts else "store"
    print(format_event(versions[-1], alerts, versions, alerts_source=source))
    return 0


def _plot(args: argparse.Namespace) -> int:
    from seismo.io.store import InfluxStore
    from seismo.shells.report import plot_event, reports_root
    from seismo.shells.review import load_event

    settings = settings_from_args(args)
    with InfluxStore.from_settings(settings.store) as store:
        event = load_event(store, args.event_id)
    out = args.out or reports_root(settings) / "events" / event.id
    for path in plot_event(settings, event, out, feed_url=args.feed):
        print(path)
    return 0


def _review(args: argparse.Namespace) -> int:
    from seismo.shells.review import review_event

    res = review_event(settings_from_args(args), args.event_id, args.status,
                       comment=args.comment, reviewer=args.reviewer, alerts=not args.no_alerts)
    print(res.render())
    return 1 if res.alert_error else 0


def _relocate(args: argparse.Namespace) -> int:
    from seismo.shells.review import relocate_event

    res = relocate_event(settings_from_args(args), args.event_id, drop_picks=args.drop_pick,
                         add_picks=args.pick, comment=args.comment, reviewer=args.reviewer,
                         alerts=not args.no_alerts)
    e, p = res.event, res.previous
    print(res.render())
    print(f"origin {str(p.time)[:22]} {p.latitude:.4f} {p.longitude:.4f} {p.depth_km:.1f} km "
          f"-> {str(e.time)[:22]} {e.latitude:.4f} {e.longitude:.4f} {e.depth_km:.1f} km; "
          f"rms {p.rms_s:.3f} -> {e.rms_s:.3f} s; ML {p.magnitude} -> {e.magnitude}")
    return 1 if res.alert_error else 0
