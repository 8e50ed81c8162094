"""systemd unit files read into the commands the supervisor runs.

The subset of systemd.service(5) and systemd.unit(5) that ``deploy/`` uses:

- ``[Unit] After=`` (start order; the supervisor waits for those services' health),
  ``Requires=`` (treated like ``After=``);
- ``[Service] Type=simple|oneshot``, ``ExecStart=``, ``WorkingDirectory=``,
  ``Environment=``, ``EnvironmentFile=`` (a leading ``-``: optional), ``User=``,
  ``Restart=always|on-failure|no``, ``RestartSec=``, ``KillSignal=``,
  ``TimeoutStopSec=``, ``TimeoutStartSec=``;
- ``X-Seismo-Health=`` (ignored by systemd, like every ``X-`` key): the health probe
  (:mod:`seismo.deploy.probes`).

Expansion as systemd does it: the specifiers ``%i`` (instance of a template
``name@.service``), ``%H`` (host name) and ``%%`` everywhere; ``${VAR}`` from the
environment in ``ExecStart=`` arguments. Other keys (sandboxing, ``MemoryMax=``,
``[Install]``) are systemd's business and ignored here.
"""

from __future__ import annotations

import re
import shlex
import signal
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

from seismo.deploy.layout import Layout, read_env
from seismo.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Service:
    """One service (a unit, or one instance of a template unit), ready to run."""

    name: str  # "seismo-celery-worker@1"
    description: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(hash=False)
    cwd: Path | None = None
    user: str | None = None
    oneshot: bool = False
    restart: str = "always"  # always | on-failure | no
    restart_s: float = 5.0
    kill_signal: int = signal.SIGTERM
    stop_timeout_s: float = 90.0
    start_timeout_s: float = 90.0
    after: tuple[str, ...] = ()
    health: str = ""  # X-Seismo-Health (expanded)

    @property
    def short(self) -> str:
        """The name without the ``seismo-`` prefix (``celery-worker@1``)."""
        return self.name.removeprefix("seismo-")


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """``[Section] Key=value`` lines -> {section: {key: [values in order]}}; continuation
    lines (a trailing backslash) are joined."""
    out: dict[str, dict[str, list[str]]] = {}
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            out.setdefault(section, {})
            continue
        key, sep, value = line.partition("=")
        if sep:
            out.setdefault(section, {}).setdefault(key.strip(), []).append(value.strip())
    return out


def _specifiers(text: str, instance: str) -> str:
    host = socket.gethostname()
    return re.sub(r"%([%iHn])", lambda m: {"%": "%", "i": instance, "H": host,
                                           "n": ""}[m.group(1)], text)


def _expand(text: str, env: dict[str, str], where: str) -> str:
    def var(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            raise ConfigError(f"{where}: ${{{m.group(1)}}} is not set (environment file)")
        return env[m.group(1)]

    return _VAR.sub(var, text)


def _seconds(value: str, where: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|sec|min|ms)?", value)
    if not m:
        raise ConfigError(f"{where}: {value!r} is not a time span (e.g. 5, 5s, 2min)")
    scale = {"ms": 0.001, "min": 60.0}.get(m.group(2) or "s", 1.0)
    return float(m.group(1)) * scale


def load_service(name: str, layout: Layout, base_env: dict[str, str]) -> Service:
    """The service ``name`` (``seismo-redis`` or ``seismo-celery-worker@2``) from its unit
    file in ``layout.units``, with paths mapped (:meth:`Layout.map_path`) and the
    environment of its ``EnvironmentFile=`` and ``Environment=`` lines over ``base_env``.

    Raises:
        ConfigError: no such unit, no ``ExecStart=``, an unset ``${VAR}``.
    """
    stem, at, instance = name.partition("@")
    path = layout.units / (f"{stem}@.service" if at else f"{name}.service")
    if not path.is_file():
        raise ConfigError(f"service {name}: no unit file {path}")
    unit = parse_unit(_specifiers(path.read_text(encoding="utf-8"), instance))
    svc, meta = unit.get("Service", {}), unit.get("Unit", {})
    where = str(path)

    def one(key: str, default: str = "") -> str:
        vals = svc.get(key)
        return vals[-1] if vals else default

    env = dict(base_env)
    for f in svc.get("EnvironmentFile", []):
        optional = f.startswith("-")
        p = Path(layout.map_path(f.lstrip("-")))
        if p.is_file():
            env.update(read_env(p))
        elif not optional:
            raise ConfigError(f"{where}: EnvironmentFile {p} does not exist (run `up` first)")
    for line in svc.get("Environment", []):
        for item in shlex.split(line):
            k, _, v = item.partition("=")
            env[k] = v
    exec_start = one("ExecStart")
    if not exec_start:
        raise ConfigError(f"{where}: no ExecStart=")
    argv = tuple(_expand(layout.map_path(a), env, where) for a in shlex.split(exec_start))
    after = tuple(
        d.removesuffix(".service")
        for key in ("After", "Requires")
        for line in meta.get(key, [])
        for d in line.split()
        if d.startswith("seismo-")
    )
    cwd = one("WorkingDirectory")
    kill = one("KillSignal", "SIGTERM")
    try:
        kill_signal = int(getattr(signal, kill))
    except AttributeError:
        raise ConfigError(f"{where}: KillSignal={kill} is not a signal") from None
    return Service(
        name=name,
        description=(meta.get("Description") or [name])[-1],
        argv=argv,
        env=env,
        cwd=Path(layout.map_path(cwd)) if cwd else None,
        user=one("User") or None,
        oneshot=one("Type", "simple") == "oneshot",
        restart=one("Restart", "no"),
        restart_s=_seconds(one("RestartSec", "0.1"), where),
        kill_signal=kill_signal,
        stop_timeout_s=_seconds(one("TimeoutStopSec", "90"), where),
        start_timeout_s=_seconds(one("TimeoutStartSec", "90"), where),
        after=tuple(dict.fromkeys(after)),
        health=_expand(layout.map_path(one("X-Seismo-Health")), env, where),
    )


def load_services(layout: Layout, env: dict[str, str]) -> list[Service]:
    """The services named by ``SEISMO_STACK_SERVICES`` in the environment file, in order."""
    names = env.get("SEISMO_STACK_SERVICES", "").split()
    if not names:
        raise ConfigError(f"{layout.env_file}: SEISMO_STACK_SERVICES is empty")
    services = [load_service(n, layout, {}) for n in names]
    known = {s.name for s in services} | {s.name.partition("@")[0] for s in services}
    # a dependency that is not part of this stack (e.g. an external PostgreSQL) is dropped
    return [replace(s, after=tuple(d for d in s.after if d in known)) for s in services]
