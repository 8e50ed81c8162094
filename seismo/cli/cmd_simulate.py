"""``seismo simulate``: write a scenario to an SDS archive, or serve it over SeedLink."""

from __future__ import annotations

import argparse
import sys

from seismo.cli.common import Subcommands
from seismo.io.sds import write_sds


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulated network: write a scenario to SDS or serve it over SeedLink",
        description=(
            "Play a scenario of the simulated network. With --sds, write it to an SDS archive "
            "(default range: the scenario reference to reference + 10 min). With --serve, "
            "serve it live over SeedLink. --list shows the scenarios."
        ),
    )
    p.add_argument("--scenario", help="scenario name (default: simulator.scenario of the config)")
    p.add_argument("--noise-only", action="store_true", help="no scenario: ambient noise only")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--sds", metavar="DIR", help="write an SDS archive under DIR")
    p.add_argument("--start", help="start time (ISO 8601, UTC) of the SDS range")
    p.add_argument("--end", help="end time (ISO 8601, UTC) of the SDS range")
    p.add_argument("--stations", help="comma-separated NET.STA to write (default: all)")
    p.add_argument("--inventory", help="StationXML file or directory (default: from config)")
    p.add_argument("--seed", type=int, help="random seed (default: simulator.seed of the config)")
    p.add_argument("--reference", help="rebase the scenario to this time: 'now' or ISO 8601")
    p.add_argument("--serve", action="store_true", help="serve the scenario over SeedLink")
    p.add_argument("--host", help="SeedLink bind address (default: simulator.seedlink_host)")
    p.add_argument("--port", type=int, help="SeedLink port (default: simulator.seedlink_port)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from obspy import UTCDateTime

    from seismo.cli.common import UsageError, parse_time, settings_from_args, table
    from seismo.simulate import Simulator, load_scenarios

    settings = settings_from_args(args)
    if args.seed is not None:
        sim_cfg = settings.simulator.model_copy(update={"seed": args.seed})
        settings = settings.model_copy(update={"simulator": sim_cfg})
    if args.list:
        scenarios = load_scenarios(settings.simulator.scenarios)
        rows = [
            (name, str(s.reference)[:19], len(s.events), len(s.faults), s.description)
            for name, s in scenarios.items()
        ]
        print(table(["scenario", "reference", "events", "faults", "description"], rows))
        return 0
    if args.serve == bool(args.sds):
        raise UsageError("give exactly one of --sds DIR or --serve (or --list)")
    scenario = None if args.noise_only else (args.scenario or settings.simulator.scenario)
    reference = None
    if args.reference:
        now = args.reference == "now"
        reference = UTCDateTime() if now else parse_time(args.reference, "--reference")

    if args.serve:
        return _serve(settings, scenario, reference, args)

    inventory = None
    if args.inventory:
        from seismo.inventory import load_inventory

        inventory = load_inventory(args.inventory)
    sim = Simulator.from_settings(settings.simulator, settings.network, scenario,
                                  reference=reference, inventory=inventory)
    base = sim.scenario.reference if sim.scenario is not None else None
    if args.start:
        start = parse_time(args.start, "--start")
    elif base is not None:
        start = base
    else:
        raise UsageError("--start is needed without a scenario")
    end = parse_time(args.end, "--end") if args.end else start + 600.0
    if end <= start:
        raise UsageError(f"--end ({end}) must be after --start ({start})")
    stations = None
    if args.stations:
        stations = [s.strip() for s in args.stations.split(",") if s.strip()]
        for sid in stations:
            sim.station(sid)  # SimulationError naming an unknown station
    n = write_sds(sim, args.sds, start, end, stations)
    name = sim.scenario.name if sim.scenario is not None else "noise only"
    print(f"wrote {n} day files for {start} - {end} ({name}) under {args.sds}")
    for ev in sim.truth(peaks=False):
        print(
            f"event {ev.origin} lat {ev.latitude:.3f} lon {ev.longitude:.3f} "
            f"depth {ev.depth_km:.1f} km ML {ev.magnitude:.1f}"
        )
    return 0


def _serve(settings, scenario, reference, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Hand over to :func:`seismo.io.seedlink.serve_simulation`."""
    from seismo.io.seedlink import serve_simulation

    host = args.host or settings.simulator.seedlink_host
    port = args.port if args.port is not None else settings.simulator.seedlink_port
    print(f"serving the simulation on seedlink://{host}:{port} (Ctrl-C stops)", file=sys.stderr)
    server = serve_simulation(
        settings.simulator, settings.network, scenario=scenario, reference=reference, host=host,
        port=port,
    )
    server.serve_forever()  # serve_simulation returns a started server: block until Ctrl-C
    return 0
