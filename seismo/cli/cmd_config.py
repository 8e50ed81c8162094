"""``seismo config check`` and ``seismo config default``."""

from __future__ import annotations

import argparse

from seismo.cli.common import Subcommands, settings_from_args
from seismo.config import DEFAULT_CONFIG, dump_toml, effective_config


def register(sub: Subcommands) -> None:
    p = sub.add_parser("config", help="validate and print the configuration")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    chk = csub.add_parser(
        "check", help="validate the file and print the effective configuration (secrets masked)"
    )
    chk.set_defaults(func=_check)
    dflt = csub.add_parser("default", help="print the shipped default configuration file")
    dflt.set_defaults(func=_default)


def _check(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    print(f"# {settings.source}: OK")
    print(dump_toml(effective_config(settings)), end="")
    return 0


def _default(args: argparse.Namespace) -> int:
    print(DEFAULT_CONFIG.read_text(encoding="utf-8"), end="")
    return 0
