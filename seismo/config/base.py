"""Validation helpers every settings model uses: the strict base model and bounded types.

A section's model lives next to the package that uses it (``seismo/<package>/settings.py``)
and derives from :class:`StrictModel`; :mod:`seismo.config.tree` composes them into
:class:`~seismo.config.tree.Settings`. This module imports pydantic only, so that a
settings module stays cheap to import (the DAG files read their schedules through it).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "PRINTABLE",
    "DelayS",
    "DepthKm",
    "DistanceKm",
    "GridKm",
    "Intensity",
    "Magnitude",
    "NonNegFloat",
    "PosFloat",
    "PosInt",
    "SpanS",
    "StrictModel",
    "TimeoutS",
    "require_order",
    "validation_problems",
]

#: A text without control characters (CR, LF, TAB, ...): names and texts that end up in
#: e-mail headers, CAP elements and InfluxDB line protocol, where a CR/LF breaks them all.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]

# Sane bounds (design choices, listed in docs/reliability.md): each excludes only
# values that cannot be meant, such as a 1 µs window or a 10-year timeout.
#: A network/HTTP timeout or retry delay: at most one hour.
TimeoutS = Annotated[float, Field(gt=0, le=3600)]
DelayS = Annotated[float, Field(ge=0, le=3600)]
#: A span of data around a window (pre-/post-roll, margins): at most one hour.
SpanS = Annotated[float, Field(ge=0, le=3600)]
#: A distance on or in the Earth: at most half its circumference.
DistanceKm = Annotated[float, Field(gt=0, le=20038)]
#: Earthquake depth: the deepest known earthquakes are at ~700 km.
DepthKm = Annotated[float, Field(ge=0, le=700)]
#: A magnitude on any local/moment scale in use: -2 .. 10.
Magnitude = Annotated[float, Field(ge=-2, le=10)]
#: A macroseismic intensity (GB/T 17742-2020 and MMI both run I-XII).
Intensity = Annotated[float, Field(ge=1, le=12)]
#: A grid step: below 0.1 km the grids grow without a gain in accuracy.
GridKm = Annotated[float, Field(ge=0.1, le=100)]


class StrictModel(BaseModel):
    """Frozen, unknown keys forbidden, no NaN or infinity (the module doc of seismo.config)."""

    model_config = ConfigDict(
        # defaults are code, checked by the tests; validating them in strict (JSON)
        # mode would refuse the Path objects they are
        extra="forbid", frozen=True, validate_default=False, allow_inf_nan=False
    )


#: How two settings must compare, by the words of the message that says they do not
#: ("exceeds" names the fault itself: the first may not exceed the second).
ORDERS: dict[str, Callable[[Any, Any], bool]] = {
    "must be below": operator.lt,
    "must be shorter than": operator.lt,
    "must be <=": operator.le,
    "must be >=": operator.ge,
    "must exceed": operator.gt,
    "exceeds": operator.le,
}


def require_order(model: BaseModel, first: str, words: str, second: str, why: str = "") -> None:
    """Raise ValueError ``"<first> (<value>) <words> <second> (<value>)<why>"`` unless the
    settings ``first`` and ``second`` of ``model`` compare as ``words`` says
    (:data:`ORDERS`); for a model validator."""
    a, b = getattr(model, first), getattr(model, second)
    if not ORDERS[words](a, b):
        raise ValueError(f"{first} ({a}) {words} {second} ({b}){why}")


def validation_problems(err: ValidationError, *, indexed: bool = False) -> list[str]:
    """One ``key: message (got value)`` per error of ``err`` for a message that names the
    key; list positions as ``[i]`` when ``indexed``, else dotted like the other keys."""
    out = []
    for e in err.errors():
        key = ""
        for p in e["loc"]:
            key += f"[{p}]" if indexed and isinstance(p, int) else (f".{p}" if key else str(p))
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        got = "" if e["type"] in ("missing", "extra_forbidden") else f" (got {e.get('input')!r})"
        out.append(f"{key or '<top level>'}: {msg}{got}")
    return out
