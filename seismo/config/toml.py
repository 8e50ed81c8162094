"""TOML files in and out: :func:`read_toml` (a ConfigError naming the file) and
:func:`dump_toml` (nested plain data rendered as TOML, for ``seismo config check``)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from seismo.errors import ConfigError

__all__ = ["dump_toml", "read_toml"]


def read_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """Parse a TOML file; ConfigError naming ``what`` and the file if it is missing or bad."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {p}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {p}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid {what} {p}: not valid TOML: {exc}") from None


def dump_toml(data: dict[str, Any], *, skip_none: bool = False) -> str:
    """Render nested plain data as TOML (enough for :func:`seismo.config.loader.effective_config`).

    ``skip_none`` leaves out None values (for a file to load again); otherwise
    they are shown as ``"<none>"``.
    """
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if v is None:
            return '"<none>"'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'

    def bare(k: str) -> str:
        return k if k and all(c.isalnum() or c in "_-" for c in k) else scalar(k)

    def walk(prefix: str, node: dict[str, Any]) -> None:
        simple = {
            k: v for k, v in node.items()
            if not isinstance(v, dict) and not (skip_none and v is None)
        }
        nested = {k: v for k, v in node.items() if isinstance(v, dict)}
        if prefix and simple:
            lines.append(f"[{prefix}]")
        for k, v in simple.items():
            lines.append(f"{bare(k)} = {scalar(v)}")
        if simple:
            lines.append("")
        for k, v in nested.items():
            key = bare(k)
            walk(f"{prefix}.{key}" if prefix else key, v)

    walk("", data)
    return "\n".join(lines).rstrip() + "\n"
