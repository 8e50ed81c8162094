"""The installation, ``[installation]``: the one directory under which an installation keeps
its state, shared by every process of it.

Every process of one installation — ``seismo stream``, the Airflow DAGs, ``seismo detect``,
review, the console — reads and writes the same state: above all the **alert record**
(the outbox, ``<dir>/outbox``), which decides whether a solution is an Alert, an Update
or nothing; then the spool, the window ledger, the stream and health state, the event
waveform archive, the reports and the console's users. Each of these paths defaults to a
fixed name under ``[installation] dir`` (:data:`INSTALLATION_PATHS`); a path set
explicitly in the configuration wins.

A demo and a drill are installations of their own
(:func:`seismo.config.tree.relocated`): every state path,
and every directory channel that wrote under the old directory, moves under their own
directory, so they never write into the production installation's record
(docs/alerts.md, "One alert record per installation").
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from pydantic import Field

from seismo.config.base import StrictModel

__all__ = ["INSTALLATION_PATHS", "InstallationConfig", "derive_paths"]

#: (section, key, name under ``[installation] dir``) of every state path of an installation.
INSTALLATION_PATHS: tuple[tuple[str, str, str], ...] = (
    ("alerts", "outbox_dir", "outbox"),
    ("store", "spool_dir", "spool"),
    ("store", "server_data_dir", "influxdb"),
    ("health", "state_file", "health_state.json"),
    ("stream", "state_file", "stream_state.json"),
    ("stream", "event_archive_dir", "event_waveforms"),
    ("airflow", "ledger_dir", "ledger"),
    ("pipeline", "cache_dir", "cache"),
    ("report", "dir", "reports"),
    ("web", "users_db", "web/users.sqlite"),
)


class InstallationConfig(StrictModel):
    """Where the installation keeps its state (module docstring)."""

    dir: Path = Field(
        Path("../var"),
        description="the installation's state directory: the alert record (outbox), spool, "
        "ledger, stream and health state, reports; every process of the installation "
        "shares it",
    )


def derive_paths(data: Any) -> Any:
    """Raw configuration ``data`` with each state path that is not set explicitly filled in
    under ``[installation] dir`` (used by ``Settings`` before validation)."""
    if not isinstance(data, dict):
        return data
    inst = data.get("installation")
    if isinstance(inst, InstallationConfig):
        base: Any = inst.dir
    elif isinstance(inst, dict):
        base = inst.get("dir", InstallationConfig().dir)
    else:
        base = InstallationConfig().dir
    out = dict(data)
    for section, key, name in INSTALLATION_PATHS:
        sec = out.get(section, {})
        if isinstance(sec, dict) and key not in sec:
            out[section] = {**sec, key: str(PurePath(str(base)) / name)}
    return out
