"""``seismo config check`` and ``seismo config default``."""

from __future__ import annotations

import argparse
import sys

from seismo.cli.common import Subcommands, settings_from_args
from seismo.config import DEFAULT_CONFIG, Settings, dump_toml, effective_config
from seismo.errors import ConfigError, FeedError


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
    """Validate, then fail (exit 1) on settings that would switch alerting off silently."""
    from seismo.shells.checks import alerting_problems

    settings = settings_from_args(args)
    _check_feed_urls(settings)
    problems, warnings = alerting_problems(settings)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if problems:
        for p in problems:
            print(f"ALERTING SWITCHED OFF: {p}", file=sys.stderr)
        return 1
    print(f"# {settings.source}: OK")
    print(dump_toml(effective_config(settings)), end="")
    return 0


def _default(args: argparse.Namespace) -> int:
    print(DEFAULT_CONFIG.read_text(encoding="utf-8"), end="")
    return 0


def _check_feed_urls(settings: Settings) -> None:
    """Every configured feed URL parsed by its backend's model (feeds open them only when
    they fetch, so that a bad URL fails its stations only; the check finds it at once)."""
    from seismo.io.feeds.factory import parse_feed_url

    urls = {"feeds.default": settings.feeds.default}
    urls.update({f"feeds.overrides.{sid}": url for sid, url in settings.feeds.overrides.items()})
    if settings.stream.feed is not None:
        urls["stream.feed"] = settings.stream.feed
    for key, url in urls.items():
        try:
            parse_feed_url(url)
        except FeedError as exc:
            # the message shows the URL without credentials (parse_feed_url)
            raise ConfigError(f"invalid configuration in {settings.source}: {key}: {exc}") from None
