"""Package attributes imported on first use (PEP 562), and plug-in modules found by name.

A package whose ``__init__`` re-exports its public names lazily stays cheap to import:
a settings module inside it (``seismo/alerts/settings.py``) can be read by the
configuration loader without importing the package's pipeline code, and the loader
itself can be re-exported by :mod:`seismo.config` although the settings modules
import its validation helpers.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["import_modules", "lazy_exports"]

_imported: set[str] = set()
_lock = threading.RLock()  # a module being imported may ask again: it gets what is loaded


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


def import_modules(package: str) -> None:
    """Import every module of ``package`` once (found by name, like the CLI's subcommands),
    so that those which register themselves (feed backends, alert channel kinds) have."""
    with _lock:
        if package in _imported:
            return
        _imported.add(package)
        path = importlib.import_module(package).__path__
        for mod in pkgutil.iter_modules(path):
            importlib.import_module(f"{package}.{mod.name}")
