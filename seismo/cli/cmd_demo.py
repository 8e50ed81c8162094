"""``seismo demo``: the whole chain once, on the embedded default (README's main command)."""

from __future__ import annotations

import argparse
from pathlib import Path

from seismo.cli.common import settings_from_args


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo",
        help="run the whole chain once: InfluxDB, simulated SeedLink network in real time, "
        "seismo stream (alert in seconds), then the Airflow DAG (the authoritative solution)",
    )
    p.add_argument("--scenario", help="simulator scenario (default: [simulator] scenario)")
    p.add_argument("--work-dir", type=Path, help="where the demo writes (default: var/demo)")
    p.add_argument("--no-web", action="store_true",
                   help="end after the run instead of serving the console (and InfluxDB) until "
                   "Ctrl-C")
    p.set_defaults(func=_run)


def _console(result, settings) -> None:  # type: ignore[no-untyped-def]
    """Serve the console on the demo's data until Ctrl-C or SIGTERM (a generated key and a
    demo login; the users file is under the demo's work directory)."""
    import secrets
    import signal
    import threading

    from seismo.shells.demo import render
    from seismo.web.server import BackgroundConsole
    from seismo.web.users import UserStore

    print(render(result), flush=True)
    password = secrets.token_urlsafe(9)
    UserStore(settings.web.users_db).add("demo", "seismologist", password, replace=True)
    web = BackgroundConsole(settings, secret_key=secrets.token_hex(32)).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"\nConsole: {web.url}/  login: demo / {password}\n"
          "InfluxDB and the console keep running; `seismo events` works meanwhile. "
          "Ctrl-C stops both.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()


def _run(args: argparse.Namespace) -> int:
    from seismo.shells.demo import render, run_demo

    result = run_demo(settings_from_args(args), scenario=args.scenario, work_dir=args.work_dir,
                      after=None if args.no_web else _console)
    if args.no_web:
        print(render(result))
    return 0 if result.events and result.dag_state == "success" else 1
