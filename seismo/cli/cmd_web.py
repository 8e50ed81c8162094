"""``seismo web [--host H] [--port P]``: the operations console (docs/web.md).

Binds ``[web] host`` (127.0.0.1 by default); refuses to start without the session
key named by ``[web] secret_env``.
"""

from __future__ import annotations

import argparse

from seismo.cli.common import Subcommands, settings_from_args


def register(sub: Subcommands) -> None:
    p = sub.add_parser("web", help="the operations console (events, review, stations, alerts)")
    p.add_argument("--host", help="address to bind (default: [web] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [web] port)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from seismo.web.auth import session_secret
    from seismo.web.server import serve

    settings = settings_from_args(args)
    session_secret(settings)  # refuse to start without the key, before binding
    print(f"seismo web: http://{args.host or settings.web.host}:"
          f"{args.port or settings.web.port}/ (Ctrl-C stops)", flush=True)
    return serve(settings, host=args.host, port=args.port)
