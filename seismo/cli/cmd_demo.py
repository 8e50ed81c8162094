"""``seismo demo``: the whole chain once, on the embedded default (README's main command).

After the run the console serves the demo's data, with InfluxDB, until Ctrl-C or
SIGTERM when standard input is a terminal; ``--web-for SECONDS`` serves it that long
(with or without a terminal); without a terminal and without ``--web-for`` the demo
ends after the run (a script or CI never waits for a Ctrl-C that cannot come).
``--no-web`` never serves it. SIGTERM stops the demo at any point as Ctrl-C does.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
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
    web = p.add_mutually_exclusive_group()
    web.add_argument("--no-web", action="store_true",
                     help="end after the run instead of serving the console (and InfluxDB)")
    web.add_argument("--web-for", type=float, metavar="SECONDS",
                     help="serve the console this long after the run, then stop (default: "
                     "until Ctrl-C when standard input is a terminal, else not at all)")
    p.set_defaults(func=_run)


def _console(result, settings, serve_s: float | None) -> None:  # type: ignore[no-untyped-def]
    """Serve the console on the demo's data for ``serve_s`` seconds (None: until Ctrl-C
    or SIGTERM), with a generated key and a demo login (users under the work directory)."""
    import secrets

    from seismo.shells.demo import render
    from seismo.web.server import BackgroundConsole
    from seismo.web.users import UserStore

    print(render(result), flush=True)
    password = secrets.token_urlsafe(9)
    UserStore(settings.web.users_db).add("demo", "seismologist", password, replace=True)
    port = settings.web.port
    if _answers(settings.web.host, port):  # another console (or anything) has the port
        from seismo.io.store.server import free_port

        port = free_port()
        print(f"port {settings.web.port} is taken: the console uses {port}", flush=True)
    web = BackgroundConsole(settings, port=port, secret_key=secrets.token_hex(32)).start()
    until = "Ctrl-C or SIGTERM" if serve_s is None else \
        f"{serve_s:.0f} s have passed (or Ctrl-C / SIGTERM)"
    print(f"\nConsole: {web.url}/  login: demo / {password}\n"
          f"InfluxDB and the console keep running until {until}; `seismo events` works "
          "meanwhile. seismo stream was stopped after the earthquake, so the station page "
          "shows the real-time stream as down.", flush=True)
    t_end = None if serve_s is None else time.monotonic() + serve_s
    try:
        while t_end is None or time.monotonic() < t_end:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopping the console and InfluxDB", flush=True)
    finally:
        web.stop()


def _answers(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _run(args: argparse.Namespace) -> int:
    from seismo.shells.demo import render, run_demo

    # SIGTERM ends the demo as Ctrl-C does: every finally block stops what it started
    # (SIGINT too, even when the demo was started with it ignored, as `cmd &` in a script)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    serve_s = args.web_for
    web = not args.no_web
    if web and serve_s is None and not sys.stdin.isatty():
        print("standard input is not a terminal: the console is not kept running after the "
              "run (give --web-for SECONDS to keep it)", flush=True)
        web = False
    try:
        result = run_demo(settings_from_args(args), scenario=args.scenario,
                          work_dir=args.work_dir,
                          after=(lambda r, s: _console(r, s, serve_s)) if web else None)
    except KeyboardInterrupt:
        print("demo interrupted: seismo stream, the SeedLink server, the Airflow run and "
              "InfluxDB are stopped",
              file=sys.stderr)
        return 130
    if not web:
        print(render(result))
    return 0 if result.events and result.dag_state == "success" else 1
