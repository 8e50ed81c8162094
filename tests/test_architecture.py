"""The import rules of docs/architecture.md, checked on the source tree.

Every ``import`` in ``seismo/`` (module level and inside functions) is read with
:mod:`ast`; a rule broken anywhere fails with the module and the import named.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "seismo"

#: Top-level modules everything may import: configuration, errors, domain
#: results, geodesy, station metadata and text rendering.
FOUNDATION = {"config", "errors", "model", "geo", "inventory", "text"}

#: Which layers each layer may import (its own layer always allowed).
ALLOWED: dict[str, set[str]] = {
    "foundation": set(),
    "station": {"foundation"},
    "event": {"foundation", "station"},
    "simulate": {"foundation", "station", "event"},
    "io": {"foundation", "simulate"},
    "alerts": {"foundation", "event"},
    "health": {"foundation", "station", "io", "alerts"},
    "shells": {"foundation", "station", "event", "simulate", "io", "alerts", "health"},
    "web": {"foundation", "station", "event", "simulate", "io", "alerts", "health", "shells"},
    "cli": {"foundation", "station", "event", "simulate", "io", "alerts", "health", "shells",
            "web"},
}

#: Settings sections owned by a package and imported by ``seismo.config`` to build the
#: whole configuration; each imports nothing from seismo.
SECTION_MODELS = {"seismo.web.settings"}

#: Packages no library module imports.
FORBIDDEN_EXTERNAL = ("airflow", "dags")

#: The one adapter that may import Airflow (lazily, inside its functions); only
#: ``dags/`` imports it, never another library module.
AIRFLOW_ADAPTERS = {"seismo.shells.airflow_connection"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "foundation"  # the package's own __init__
    if parts[1] in FOUNDATION:
        return "foundation"
    if parts[1] in ALLOWED:
        return parts[1]
    raise AssertionError(f"{module}: not in any layer of docs/architecture.md")


def _imports(path: Path, me: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement in ``path`` (module ``me``).

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (``c`` may be a submodule).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = me.split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            out.append((mod, node.lineno))
            out.extend((f"{mod}.{a.name}", node.lineno) for a in node.names)
    return out


SOURCES = sorted(PKG.rglob("*.py"))


def _check(path: Path, me: str) -> list[str]:
    """The import rules broken by one source file (module ``me``)."""
    bad: dict[tuple[int, str], str] = {}  # one message per statement and offended layer
    mine = _layer(me)
    for mod, line in _imports(path, me):
        where = f"{path.name}:{line} ({me})"
        top = mod.split(".")[0]
        if top in FORBIDDEN_EXTERNAL and not (top == "airflow" and me in AIRFLOW_ADAPTERS):
            bad.setdefault((line, top), f"{where}: library module imports {mod}")
        if mod in AIRFLOW_ADAPTERS:
            bad.setdefault((line, mod), f"{where}: only dags/ may import {mod}")
        if top != "seismo" or mod == "seismo":
            continue
        theirs = _layer(mod)
        if me == "seismo.config" and any(mod == m or mod.startswith(m + ".")
                                         for m in SECTION_MODELS):
            continue
        if theirs != mine and theirs not in ALLOWED[mine]:
            bad.setdefault((line, theirs), f"{where}: {mine} module imports {theirs} module {mod}")
    return list(bad.values())


def _violations() -> list[str]:
    return [v for path in SOURCES for v in _check(path, _module_name(path))]


def test_every_library_module_belongs_to_a_layer() -> None:
    for path in SOURCES:
        _layer(_module_name(path))


def test_import_rules_of_the_architecture() -> None:
    assert _violations() == []


def _graph() -> dict[str, set[str]]:
    """Import graph between seismo modules, function-level imports included."""
    known = {_module_name(p) for p in SOURCES}
    g: dict[str, set[str]] = defaultdict(set)
    for path in SOURCES:
        me = _module_name(path)
        g[me].update(t for t, _ in _imports(path, me) if t in known and t != me)
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles() -> None:
    # A package __init__ that re-exports its submodules is not a circle with them.
    g = _graph()
    for m in list(g):
        g[m] = {t for t in g[m] if not (m.startswith(t + ".") or t.startswith(m + "."))}
    assert _cycles(g) == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import airflow\n", "seismo.event.fake", "library module imports airflow"),
        ("from seismo.cli.common import table\n", "seismo.station.fake", "imports cli module"),
        ("from seismo.shells import window\n", "seismo.event.fake", "imports shells module"),
        ("from ..event import locate\n", "seismo.station.fake", "imports event module"),
        ("from seismo.event import locate\n", "seismo.shells.fake", None),
        ("import airflow\n", "seismo.shells.airflow_connection", None),
        ("from seismo.shells import airflow_connection\n", "seismo.shells.fake", "only dags/"),
    ],
)
def test_the_rule_checker_catches_violations(
    tmp_path: Path, source: str, module: str, expected: str | None
) -> None:
    src = tmp_path / "fake.py"
    src.write_text(source)
    found = _check(src, module)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found


def test_section_models_import_nothing_from_seismo() -> None:
    for mod in SECTION_MODELS:
        path = ROOT / (mod.replace(".", "/") + ".py")
        assert [m for m, _ in _imports(path, mod) if m.split(".")[0] == "seismo"] == []
