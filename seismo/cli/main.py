"""Entry point of the ``seismo`` command.

Each subcommand lives in its own module ``seismo/cli/cmd_<name>.py`` exposing
``register(subparsers) -> None``; the parser it adds sets ``func(args) -> int``.
Heavy imports stay inside ``func`` so that ``seismo --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import seismo.cli
from seismo.errors import SeismoError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seismo",
        description="seismo: the data pipeline of a city seismic monitoring network.",
    )
    parser.add_argument(
        "--config", help="configuration file (default: $SEISMO_CONFIG or config/seismo.toml)"
    )
    parser.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="FILE",
        help="TOML file of settings merged onto the configuration (repeatable; README: "
        "'Another network')",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(seismo.cli.__path__), key=lambda m: m.name):
        if mod.name.startswith("cmd_"):
            module = importlib.import_module(f"seismo.cli.{mod.name}")
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SeismoError as exc:
        print(f"seismo {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
