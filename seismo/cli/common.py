"""Helpers shared by subcommands: config loading, time parsing."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from obspy import UTCDateTime

from seismo.config import Settings, load_settings
from seismo.errors import SeismoError
from seismo.text import table

__all__ = ["Subcommands", "UsageError", "parse_time", "settings_from_args", "table"]


class Subcommands(Protocol):
    """What each ``cmd_*.register`` receives: the set of subcommands of the ``seismo``
    parser (``ArgumentParser.add_subparsers()``; argparse keeps its class private, so
    only the method the subcommands use is named here)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


class UsageError(SeismoError):
    """A command-line argument is malformed."""


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), getattr(args, "overlay", None) or ())


def parse_time(value: str, name: str) -> UTCDateTime:
    """Parse an ISO 8601 time (UTC); raise UsageError naming the option."""
    try:
        return UTCDateTime(value)
    except (TypeError, ValueError):  # what UTCDateTime raises
        raise UsageError(f"{name}: not an ISO 8601 time: {value!r}") from None
