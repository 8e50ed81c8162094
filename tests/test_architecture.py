"""The import rules of docs/architecture.md, checked on the source tree.

Every ``import`` in ``seismo/`` (module level and inside functions) is read with
:mod:`ast`; a rule broken anywhere fails with the module and the import named.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "seismo"

#: Top-level modules everything may import: configuration, errors, domain
#: results, geodesy, station metadata, the ``[network]`` section, text rendering, lazy
#: package exports, durable state files and the error boundary.
FOUNDATION = {
    "config", "errors", "model", "geo", "inventory", "network", "text", "lazy", "durable",
    "boundary",
}

#: The composition root: the one foundation module that imports the settings modules of
#: every layer to build the ``Settings`` tree.
COMPOSITION = "seismo.config.tree"

#: The whole configuration and its loader: only shells hold them. A stage or an edge
#: receives the sections it reads.
WHOLE_SETTINGS = {
    "seismo.config.tree", "seismo.config.loader",
    *(f"seismo.config.{n}" for n in (
        "Settings", "load_settings", "current_settings", "parse_settings", "config_path",
        "settings_to_toml", "effective_config", "DEFAULT_CONFIG", "PROJECT_ROOT", "ENV_CONFIG",
    )),
}
SHELL_LAYERS = {"shells", "cli", "web", "deploy"}

#: Registries whose members validate tables of a section (a channel's ``kind`` picks its
#: model): a settings module may import them, so their modules import nothing heavy at
#: module level (test_loading_the_configuration_imports_no_pipeline_code).
REGISTRIES = {"seismo.alerts.channels"}

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
    "deploy": {"foundation", "station", "event", "simulate", "io", "alerts", "health", "shells",
               "web"},
    "cli": {"foundation", "station", "event", "simulate", "io", "alerts", "health", "shells",
            "web", "deploy"},
}


def _reach(layer: str) -> set[str]:
    """The layers ``layer`` depends on, directly or through others."""
    out: set[str] = set()
    todo = [layer]
    while todo:
        for dep in ALLOWED[todo.pop()] - out:
            out.add(dep)
            todo.append(dep)
    return out


#: A settings module is data: a layer may read the sections of every layer it depends
#: on through others (health reads ``[simulator]``, which its feeds need).
REACH = {layer: _reach(layer) for layer in ALLOWED}

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


def _is_settings(module: str) -> bool:
    """A settings module: a section's model next to its owner (``seismo/<pkg>/settings.py``)."""
    return module.split(".")[-1] == "settings" or module == "seismo.network"


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
            out.extend(_imports_of(node, path, me))
    return out


def _imports_of(node: ast.ImportFrom, path: Path, me: str) -> list[tuple[str, int]]:
    """``from a.b import c`` in ``path`` (module ``me``): ``a.b`` first, then ``a.b.c``;
    a relative import is resolved against the module's package."""
    if node.level:
        base = me.split(".")
        base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
        mod = ".".join([*base, node.module] if node.module else base)
    else:
        mod = node.module or ""
    return [(mod, node.lineno), *((f"{mod}.{a.name}", node.lineno) for a in node.names)]


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
        if me == COMPOSITION and _in_settings(mod):
            continue  # the composition root reads every section's model
        allowed = REACH[mine] if _in_settings(mod) else ALLOWED[mine]
        if theirs != mine and theirs not in allowed:
            bad.setdefault((line, theirs), f"{where}: {mine} module imports {theirs} module {mod}")
        elif (_is_settings(me) and theirs != "foundation" and not _in_settings(mod)
              and mod not in REGISTRIES and mod.rpartition(".")[0] not in REGISTRIES):
            bad.setdefault((line, "settings"), f"{where}: settings module imports {mod}")
        if (mod in WHOLE_SETTINGS and mine not in SHELL_LAYERS
                and not me.startswith("seismo.config")):
            bad.setdefault((line, "whole"), f"{where}: {mine} module imports the whole "
                                            f"configuration ({mod}); pass it its sections")
    return list(bad.values())


def _in_settings(mod: str) -> bool:
    """``mod`` is a settings module or a name imported from one."""
    return _is_settings(mod) or _is_settings(mod.rpartition(".")[0])


def _violations() -> list[str]:
    return [v for path in SOURCES for v in _check(path, _module_name(path))]


def test_every_library_module_belongs_to_a_layer() -> None:
    for path in SOURCES:
        _layer(_module_name(path))


def test_import_rules_of_the_architecture() -> None:
    assert _violations() == []


# --------------------------------------------------------------------------- private members
#: Every module of seismo, by dotted name.
KNOWN = {_module_name(p): p for p in SOURCES}


def _package(module: str) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    path = KNOWN.get(module)
    if path is not None and path.name == "__init__.py":
        return module
    return module.rpartition(".")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_uses(path: Path, me: str) -> list[str]:
    """Private (``_name``) members of another package that ``path`` (module ``me``) imports
    (``from pkg.mod import _name``) or reaches through an imported module
    (``mod._name``, ``argparse._SubParsersAction``). Members of the module's own
    package are its own business."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    mine = _package(me) if path.name != "__init__.py" else me
    aliases: dict[str, str] = {}  # local name -> module it stands for
    bad: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:  # "import a.b" binds "a"; "import a.b as c" binds "c"
                top = a.name.split(".")[0]
                aliases[a.asname or top] = a.name if a.asname else top
        elif isinstance(node, ast.ImportFrom):
            mod = _imports_of(node, path, me)[0][0]
            for a in node.names:
                if f"{mod}.{a.name}" in KNOWN:
                    aliases[a.asname or a.name] = f"{mod}.{a.name}"
                if _private(a.name) and _package(mod) != mine:
                    bad.append(f"{path.name}:{node.lineno} ({me}): imports {a.name} from {mod}")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        chain: list[str] = []
        value = node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in aliases:
            owner = ".".join([aliases[value.id], *reversed(chain)])
            if _package(owner) != mine:
                bad.append(f"{path.name}:{node.lineno} ({me}): uses {owner}.{node.attr}")
    return bad


def test_no_module_uses_private_members_of_another_package() -> None:
    assert [v for path in SOURCES for v in _private_uses(path, _module_name(path))] == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from seismo.io.store.points import _escape\n", "seismo.shells.fake", "imports _escape"),
        ("from obspy.io.mseed.headers import _x\n", "seismo.io.fake", "imports _x"),
        ("from ..store import _spool\n", "seismo.io.feeds.fake", "from seismo.io.store"),
        ("import argparse\nA = argparse._SubParsersAction\n", "seismo.cli.fake",
         "uses argparse._SubParsersAction"),
        ("import seismo.io.mseed as m\nm._LOCK\n", "seismo.shells.fake", "seismo.io.mseed._LOCK"),
        ("from seismo.io import mseed\nmseed._LOCK\n", "seismo.io.feeds.fake", "mseed._LOCK"),
        ("from seismo.station.picker.onset import _slice\n", "seismo.station.picker.fake", None),
        ("from .onset import _slice\n", "seismo.station.picker.fake", None),
        ("from seismo.io import mseed\nmseed._LOCK\n", "seismo.io.fake", None),
        ("from __future__ import annotations\nx = self._cache\n", "seismo.io.fake", None),
    ],
)
def test_the_private_member_rule_catches_violations(
    tmp_path: Path, source: str, module: str, expected: str | None
) -> None:
    _assert_verdict(_private_uses, tmp_path, source, module, expected)


def _assert_verdict(
    checker: Callable[[Path, str], list[str]], tmp_path: Path, source: str, module: str,
    expected: str | None,
) -> None:
    """``checker`` on ``source`` as module ``module``: no finding when ``expected`` is
    None, else exactly one, which contains ``expected``."""
    src = tmp_path / "fake.py"
    src.write_text(source)
    found = checker(src, module)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found


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


#: Libraries the configuration never imports: loading it must stay cheap (the DAG
#: files read their schedules through it, every time Airflow parses them).
HEAVY = ("obspy", "numpy", "scipy", "matplotlib", "influxdb_client", "lxml", "airflow")


def test_loading_the_configuration_imports_no_pipeline_code() -> None:
    code = (
        "import sys\n"
        "from seismo.config import current_settings\n"
        "current_settings()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


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
        ("from seismo.alerts.settings import AlertsConfig\n", "seismo.config.tree", None),
        ("from seismo.alerts.service import AlertService\n", "seismo.config.tree",
         "imports alerts"),
        ("from seismo.alerts.settings import AlertsConfig\n", "seismo.config.fake",
         "imports alerts"),
        ("from seismo.station.settings import BandConfig\n", "seismo.event.settings", None),
        ("from seismo.station.processing import bandpass\n", "seismo.event.settings",
         "settings module imports"),
        ("from seismo.config import Settings\n", "seismo.io.fake", "whole configuration"),
        ("from seismo.config import load_settings\n", "seismo.event.fake", "whole configuration"),
        ("from seismo.config import mask_url, read_toml\n", "seismo.io.fake", None),
        ("from seismo.config import Settings\n", "seismo.shells.fake", None),
        ("from seismo.simulate.settings import SimulatorConfig\n", "seismo.health.fake", None),
        ("from seismo.simulate import Simulator\n", "seismo.health.fake", "imports simulate"),
        ("from seismo.io.settings import ExternalConfig\n", "seismo.event.fake", "imports io"),
        ("from seismo.alerts.channels import ChannelConfig\n", "seismo.alerts.settings", None),
        ("from seismo.alerts.service import AlertService\n", "seismo.alerts.settings",
         "settings module imports"),
    ],
)
def test_the_rule_checker_catches_violations(
    tmp_path: Path, source: str, module: str, expected: str | None
) -> None:
    _assert_verdict(_check, tmp_path, source, module, expected)
