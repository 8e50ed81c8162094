"""``seismo stack``: the production stack (``scripts/stack.sh``, docs/production.md).

``up``, ``status``, ``check``, ``down``, ``backup``, ``restore`` and ``hold`` are for
operators; ``supervise``, ``provision`` and ``feed`` are the command lines of the
supervisor and of two units (deploy/).
"""

from __future__ import annotations

import argparse

from seismo.cli.common import Subcommands


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "stack", help="the production stack: up, status, check, down, backup, restore",
        description="Airflow (PostgreSQL, CeleryExecutor, Redis), InfluxDB, seismo stream and "
        "the console as supervised services on loopback (docs/production.md). State, logs "
        "and the environment file live in var/stack (SEISMO_STACK_STATE moves it).",
    )
    ssub = p.add_subparsers(dest="stack_command", metavar="ACTION", required=True)
    ssub.add_parser("up", help="start the stack (idempotent) and wait until it is healthy")
    ssub.add_parser("status", help="every service: PID, state, health, log")
    c = ssub.add_parser("check", help="a scenario earthquake through the running stack")
    c.add_argument("--scenario", help="scenario (default: [simulator] scenario)")
    c.add_argument("--timeout", type=float, default=420.0,
                   help="seconds to wait for every alert (default 420)")
    ssub.add_parser("down", help="stop every service (the data stay)")
    b = ssub.add_parser("backup", help="pg_dump of Airflow's database and influxd backup")
    b.add_argument("--name", help="backup name (default: the time)")
    r = ssub.add_parser("restore", help="restore a backup (default: the newest)")
    r.add_argument("--name", help="backup name (default: the newest)")
    h = ssub.add_parser("hold", help="stop a service for SECONDS (planned outage)")
    h.add_argument("service")
    h.add_argument("seconds", type=float, help="0 releases the hold")
    ssub.add_parser("supervise", help="(the supervisor itself: started by `up`)")
    ssub.add_parser("provision", help="(unit seismo-provision) databases and users")
    f = ssub.add_parser("feed", help="(unit seismo-drill-feed) the simulated network")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--drills", required=True, help="directory of scheduled drills")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from seismo.deploy.layout import Layout

    layout = Layout.from_env()
    echo = _echo
    action = args.stack_command
    if action == "up":
        from seismo.deploy.stack import up

        return up(layout, echo)
    if action == "status":
        from seismo.deploy.stack import status

        return status(layout, echo)
    if action == "down":
        from seismo.deploy.stack import down

        return down(layout, echo)
    if action == "hold":
        from seismo.deploy.stack import hold

        f = hold(layout, args.service, args.seconds)
        echo(f"hold: {f.name} " + (f"for {args.seconds:.0f} s" if args.seconds > 0 else
                                   "released"))
        return 0
    if action == "check":
        from seismo.deploy.check import run_check

        return run_check(layout, echo, scenario=args.scenario, timeout_s=args.timeout)
    if action in ("backup", "restore"):
        from seismo.deploy import backup

        fn = backup.backup if action == "backup" else backup.restore
        return fn(layout, echo, args.name)
    if action == "supervise":
        return _supervise(layout)
    if action == "provision":
        return _provision(layout)
    return _feed(args)


def _echo(text: str) -> None:
    print(text, flush=True)


def _supervise(layout) -> int:  # type: ignore[no-untyped-def]
    import logging
    import os
    import signal
    import threading

    from seismo.deploy.layout import read_env
    from seismo.deploy.stack import supervisor_pid
    from seismo.deploy.supervisor import Supervisor
    from seismo.deploy.units import load_services

    logging.getLogger().setLevel(logging.INFO)
    other = supervisor_pid(layout)
    if other is not None and other != os.getpid():
        print(f"seismo stack supervise: already running (pid {other})", flush=True)
        return 1
    env = read_env(layout.env_file)
    services = load_services(layout, env)
    base = {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
            or k.startswith("OPENBLAS_")}
    venv_bin = str(layout.root / ".venv" / "bin")
    base["PATH"] = venv_bin + os.pathsep + base.get("PATH", "/usr/bin:/bin")
    services = [_with_base(s, base) for s in services]
    layout.run.mkdir(parents=True, exist_ok=True)
    layout.pid_file.write_text(f"{os.getpid()}\n")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        Supervisor(layout, services).run(stop)
    finally:
        layout.pid_file.unlink(missing_ok=True)
    return 0


def _with_base(service, base):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(service, env={**base, **service.env})


def _provision(layout) -> int:  # type: ignore[no-untyped-def]
    import os

    from seismo.deploy.layout import read_env
    from seismo.deploy.provision import provision

    env = {**os.environ, **read_env(layout.env_file)}
    for what in provision(layout, env):
        print(f"provision: {what}", flush=True)
    return 0


def _feed(args: argparse.Namespace) -> int:
    from pathlib import Path

    from seismo.cli.common import settings_from_args
    from seismo.deploy.feed import serve_drills

    s = settings_from_args(args)
    server = serve_drills(s.simulator, s.network, Path(args.drills), args.host, args.port)
    print(f"drill network on seedlink://{args.host}:{args.port} (drills in {args.drills})",
          flush=True)
    server.serve_forever()
    return 0
