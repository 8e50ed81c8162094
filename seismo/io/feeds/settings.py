"""Settings of the station feeds, ``[feeds]``: the default feed URL, per-station
overrides, and the deadline and retries of every request (docs/architecture.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from seismo.config.base import DelayS, StrictModel, TimeoutS

__all__ = ["FeedsConfig"]


class FeedsConfig(StrictModel):
    """Station feeds. ``default`` is a URL: seedlink://, fdsnws://, http(s)://, sds:///, sim://."""

    default: str = "sim://"
    overrides: dict[str, str] = Field(
        default_factory=dict, description="Per-station feed URL, keyed 'NET.STA'"
    )
    timeout_s: TimeoutS = Field(
        10.0, description="Whole-request deadline per station and attempt, every feed kind (s)"
    )
    retries: Annotated[int, Field(ge=0, le=20)] = 2
    retry_delay_s: DelayS = 1.0
