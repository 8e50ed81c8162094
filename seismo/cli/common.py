"""Helpers shared by subcommands: config loading, time parsing."""

from __future__ import annotations

import argparse

from obspy import UTCDateTime

from seismo.config import Settings, load_settings
from seismo.errors import SeismoError
from seismo.text import table

__all__ = ["UsageError", "parse_time", "settings_from_args", "table"]


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
