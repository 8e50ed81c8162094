"""Package attributes imported on first use (PEP 562).

A package whose ``__init__`` re-exports its public names lazily stays cheap to import:
a settings module inside it (``seismo/alerts/settings.py``) can be read by the
configuration loader without importing the package's pipeline code, and the loader
itself can be re-exported by :mod:`seismo.config` although the settings modules
import its validation helpers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a name to its module.

    Usage in a package ``__init__``: ``__getattr__ = lazy_exports(__name__, {...})``
    (with the same names imported under ``TYPE_CHECKING`` for type checkers).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    return __getattr__
