"""Typed, strict configuration.

The configuration is one TOML file (``config/seismo.toml`` by default, or the
file named by ``SEISMO_CONFIG``). It is loaded into frozen pydantic models with
``extra="forbid"``: an unknown key, a wrong type or an out-of-range value raises
:class:`~seismo.errors.ConfigError` with one message naming the file and the
dotted key.

Types are strict: a quoted number or boolean (``seedlink_port = "18000"``,
``enabled = "yes"``) is an error, never coerced. NaN and infinite numbers are
rejected (``oncall_min_magnitude = nan`` would switch alerts off). Every time,
distance and size has sane bounds (``docs/reliability.md`` lists them): a
setting that can only be a typo (``window_s = 1e-6``) is an error.

Secrets never live in the file. The file names the *environment variable* that
holds each secret (``token_env = "SEISMO_INFLUX_TOKEN"``) and :func:`secret`
reads it on use. Dumps (``seismo config check``) show only whether a secret is
set.

Relative paths in the file are resolved against the directory of the file.

Credentials written into URLs (``http://user:password@host``, ``?apikey=…``) are
masked by :func:`mask_url` / :func:`mask_secrets` in every dump and message.

Overlays: a file may start with ``base = "PATH"`` (relative to the file). The base
file is loaded first (itself possibly an overlay), and the tables of this file
are merged onto it key by key, so adapting to another network needs only the
settings that differ (velocity model, region, event-id prefix; see README,
"Another network"). ``load_settings(path, overlays=[...])`` (CLI ``--overlay``)
merges further files on top in the same way. The merged result is validated as
strictly as one file: an unknown key is named with the file that brought it.
Relative paths resolve against the directory of the file that set them.

Package layout: :mod:`~seismo.config.base` (the strict base model and bounded types
that every section model uses), :mod:`~seismo.config.masking` (secrets, masked URLs),
:mod:`~seismo.config.toml` (TOML in and out), :mod:`~seismo.config.tree` (the
:class:`Settings` tree, composed of the sections' models, each of which lives next to
the package that uses it: ``seismo/<package>/settings.py``, docs/architecture.md) and
:mod:`~seismo.config.loader` (files, overlays, validation, :func:`current_settings`).
The loader's names are imported on first use, so that a settings module can import the
validation helpers of this package while the tree imports the settings modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seismo.config.masking import MASK, mask_secrets, mask_url, secret, url_origin
from seismo.config.toml import dump_toml, read_toml
from seismo.lazy import lazy_exports

if TYPE_CHECKING:
    from seismo.config.loader import (
        DEFAULT_CONFIG,
        ENV_CONFIG,
        PROJECT_ROOT,
        config_path,
        current_settings,
        effective_config,
        load_settings,
        parse_settings,
        settings_to_toml,
    )
    from seismo.config.tree import Settings

__all__ = [
    "DEFAULT_CONFIG",
    "ENV_CONFIG",
    "MASK",
    "PROJECT_ROOT",
    "Settings",
    "config_path",
    "current_settings",
    "dump_toml",
    "effective_config",
    "load_settings",
    "mask_secrets",
    "mask_url",
    "parse_settings",
    "read_toml",
    "secret",
    "settings_to_toml",
    "url_origin",
]

_LOADER = "seismo.config.loader"
__getattr__ = lazy_exports(__name__, {
    "DEFAULT_CONFIG": _LOADER,
    "ENV_CONFIG": _LOADER,
    "PROJECT_ROOT": _LOADER,
    "Settings": "seismo.config.tree",
    "config_path": _LOADER,
    "current_settings": _LOADER,
    "effective_config": _LOADER,
    "load_settings": _LOADER,
    "parse_settings": _LOADER,
    "settings_to_toml": _LOADER,
})
