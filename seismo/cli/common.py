"""Helpers shared by subcommands: config loading, time parsing, tables."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from obspy import UTCDateTime

from seismo.config import Settings, load_settings
from seismo.errors import SeismoError


class UsageError(SeismoError):
    """A command-line argument is malformed."""


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), getattr(args, "overlay", None) or ())


def parse_time(value: str, name: str) -> UTCDateTime:
    """Parse an ISO 8601 time (UTC); raise UsageError naming the option."""
    try:
        return UTCDateTime(value)
    except Exception:
        raise UsageError(f"{name}: not an ISO 8601 time: {value!r}") from None


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
