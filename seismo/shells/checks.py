"""Settings that would switch alerting off without an error: ``seismo config check`` fails
on them (docs/reliability.md, "Settings that cannot switch safety off").

Each section validates itself when the configuration loads (bounds, patterns: an
``expire_s`` under a minute, a CAP sender with a space, a CR/LF in a name). What needs more
than one section, or another file, is checked here: the recipient groups the rules send to
have channels, the health notices' group has channels, the sites file loads.
"""

from __future__ import annotations

from seismo.alerts.rules import ONCALL, TSUNAMI
from seismo.config import Settings, secret
from seismo.errors import ConfigError
from seismo.event.sites import load_sites


def alerting_problems(settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, warnings): problems switch alerting off without an error; warnings may be
    meant (alerts turned off on purpose, a secret set only in the service's environment)."""
    problems: list[str] = []
    warnings: list[str] = []
    a = settings.alerts
    src = settings.source
    if not a.enabled:
        warnings.append(f"{src}: alerts.enabled = false: no earthquake alert is sent")
    else:
        for group in (ONCALL, TSUNAMI):
            if not a.groups.get(group):
                problems.append(
                    f"{src}: alerts.groups.{group} has no channel: its alerts would be recorded "
                    "but never delivered")
        notify = settings.health.notify_group
        if not a.groups.get(notify):
            problems.append(
                f"{src}: health.notify_group '{notify}' has no channel in alerts.groups: "
                "station-health notices would never be delivered")
    try:
        load_sites(settings.network.sites)
    except ConfigError as exc:
        problems.append(f"{exc} (every message names places from it)")
    for name, ch in a.channels.items():
        for key in ("token_env", "password_env"):
            env = getattr(ch, key, None)
            if env and secret(env) is None:
                warnings.append(
                    f"{src}: alerts.channels.{name}.{key}: environment variable {env} is not "
                    "set here: deliveries fail unless the service's environment sets it")
    return problems, warnings
