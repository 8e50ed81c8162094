"""Loading: the file, its ``base`` chain and ``--overlay`` files, validated strictly.

See the module doc of :mod:`seismo.config` for the rules (strict types, bounds, overlays,
relative paths, secrets).
"""

from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from seismo.config.base import validation_problems
from seismo.config.installation import derive_paths
from seismo.config.masking import mask_config
from seismo.config.toml import dump_toml, read_toml
from seismo.config.tree import Settings
from seismo.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "ENV_CONFIG",
    "PROJECT_ROOT",
    "config_path",
    "current_settings",
    "effective_config",
    "load_settings",
    "parse_settings",
    "settings_to_toml",
]

#: Repository root (where ``config/``, ``stations/`` live when running from a clone).
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "seismo.toml"
ENV_CONFIG = "SEISMO_CONFIG"


def _resolve_paths(node: Any, base: Path) -> Any:
    if isinstance(node, BaseModel):
        updates = {}
        for name in type(node).model_fields:
            if name == "source":
                continue
            val = getattr(node, name)
            new = _resolve_paths(val, base)
            if new is not val:
                updates[name] = new
        return node.model_copy(update=updates) if updates else node
    if isinstance(node, Path):
        return node if node.is_absolute() else (base / node).resolve()
    if isinstance(node, dict):
        out = {k: _resolve_paths(v, base) for k, v in node.items()}
        return out if any(out[k] is not node[k] for k in node) else node
    return node


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The configuration file to use: ``path``, else ``$SEISMO_CONFIG``, else the default."""
    if path is not None:
        return Path(path)
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else DEFAULT_CONFIG


def _non_finite(node: Any, key: str = "") -> list[str]:
    """Dotted keys of NaN/infinite numbers in raw configuration data."""
    if isinstance(node, float) and not math.isfinite(node):
        return [f"{key or '<top level>'}: {node} is not a finite number"]
    if isinstance(node, dict):
        return [m for k, v in node.items() for m in _non_finite(v, f"{key}.{k}" if key else k)]
    if isinstance(node, list | tuple):
        return [m for i, v in enumerate(node) for m in _non_finite(v, f"{key}.{i}")]
    return []


def parse_settings(data: dict[str, Any], source: Path, base: Path | None = None) -> Settings:
    """Validate a configuration mapping strictly; relative paths resolve against ``base``;
    the installation's state paths not given derive from ``[installation] dir``.

    Strict means as TOML/JSON types: a string never stands for a number or a
    boolean; NaN and infinities are rejected with the key named.
    """
    bad = _non_finite(data)
    if bad:
        raise ConfigError(f"invalid configuration in {source}: " + "; ".join(bad))
    data = derive_paths(data)  # state paths not set explicitly: under [installation] dir
    try:
        settings = Settings.model_validate_json(json.dumps(data, default=str), strict=True)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid configuration in {source}: " + "; ".join(validation_problems(exc))
        ) from None
    resolved = _resolve_paths(settings, (base or source.parent).resolve())
    return resolved.model_copy(update={"source": source})


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged onto ``base``: tables recursively, every other value replaced.

    A table whose ``kind`` changes (an alert channel of another kind) is replaced: its
    keys belong to another model.
    """
    out = dict(base)
    for key, val in over.items():
        old = out.get(key)
        kind_changes = isinstance(old, dict) and isinstance(val, dict) and \
            "kind" in old and "kind" in val and old["kind"] != val["kind"]
        if isinstance(val, dict) and isinstance(old, dict) and not kind_changes:
            out[key] = _merge(old, val)
        else:
            out[key] = val
    return out


def _unknown_keys(data: Any, model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted keys of ``data`` that ``model`` does not define (overlays are checked alone)."""
    if not isinstance(data, dict):
        return []
    out = []
    for key, val in data.items():
        field = model.model_fields.get(key)
        if field is None:
            out.append(f"{prefix}{key}")
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.extend(_unknown_keys(val, ann, f"{prefix}{key}."))
    return out


def _load_layer(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], list[Path]]:
    """Raw data of ``path`` with its ``base`` chain merged in, and the files involved.

    Relative paths are made absolute against the directory of the file that
    sets them, so that a merged mapping no longer depends on where files sit.
    """
    real = path.resolve()
    if real in seen:
        chain = " -> ".join(str(p) for p in (*seen, real))
        raise ConfigError(f"configuration base chain loops: {chain}")
    data = read_toml(path, "configuration file")
    base_ref = data.pop("base", None)
    bad = _unknown_keys(data, Settings)
    if bad:
        raise ConfigError(f"invalid configuration in {path}: " + "; ".join(
            f"{k}: unknown key" for k in bad))
    data = _absolute_paths(data, Settings, path.parent.resolve())
    if base_ref is None:
        return data, [path]
    if not isinstance(base_ref, str) or not base_ref:
        raise ConfigError(f"invalid configuration in {path}: base: must be a file path")
    base_path = Path(base_ref)
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    base_data, files = _load_layer(base_path, (*seen, real))
    return _merge(base_data, data), [*files, path]


def _absolute_paths(data: dict[str, Any], model: type[BaseModel], base: Path) -> dict[str, Any]:
    """Relative values of Path-typed fields of ``data`` resolved against ``base``."""
    out = dict(data)
    for key, val in data.items():
        field = model.model_fields.get(key)
        if field is None:
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel) and isinstance(val, dict):
            out[key] = _absolute_paths(val, ann, base)
        elif (sub := _dict_of_models(ann)) is not None and isinstance(val, dict):
            out[key] = {
                k: _absolute_paths(v, _model_for(sub, v), base) if isinstance(v, dict) else v
                for k, v in val.items()
            }
        elif isinstance(val, str) and _is_path_field(ann) and not Path(val).is_absolute():
            out[key] = str((base / val).resolve())
    return out


def _dict_of_models(ann: Any) -> type[BaseModel] | None:
    args: tuple[Any, ...] = get_args(ann)
    if get_origin(ann) is dict and len(args) == 2:
        val = args[-1]
        if get_origin(val) is Annotated:  # e.g. SerializeAsAny[Model]
            val = get_args(val)[0]
        if isinstance(val, type) and issubclass(val, BaseModel):
            return val
    return None


def _model_for(model: type[BaseModel], data: dict[str, Any]) -> type[BaseModel]:
    """The model that validates ``data``: a family's member chosen by a tag
    (``ChannelConfig.model_for``), else ``model``."""
    choose = getattr(model, "model_for", None)
    return choose(data) if choose is not None else model


def _is_path_field(ann: Any) -> bool:
    if ann is Path:
        return True
    return Path in getattr(ann, "__args__", ())


def load_settings(
    path: str | os.PathLike[str] | None = None,
    overlays: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...] = (),
) -> Settings:
    """Load and validate the configuration file, with its ``base`` chain and ``overlays``.

    Raises:
        ConfigError: a file is missing, is not TOML, or fails validation. The
            message names the file and the offending key.
    """
    p = config_path(path)
    data, files = _load_layer(p, ())
    for ov in overlays:
        extra, more = _load_layer(Path(ov), ())
        data = _merge(data, extra)
        files.extend(more)
    source = files[-1]
    return parse_settings(data, source)


@lru_cache(maxsize=4)
def _settings_of(path: str, mtime: float) -> Settings:
    return load_settings(path)


def current_settings() -> Settings:
    """The configuration named by ``SEISMO_CONFIG`` (or the default), cached per file version.

    Long-lived processes (Airflow workers, the DAG processor) re-read the file
    when its modification time changes. Cheap to import: the DAG files read their
    schedules through it without importing the pipeline.
    """
    p = config_path()
    return _settings_of(str(p), p.stat().st_mtime if p.exists() else 0.0)



def settings_to_toml(settings: Settings) -> str:
    """A loadable TOML file of ``settings`` (absolute paths, env var names, no secrets)."""
    return dump_toml(settings.model_dump(mode="json"), skip_none=True)


def effective_config(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets reduced to set/unset."""
    return mask_config(settings.model_dump(mode="python"))

