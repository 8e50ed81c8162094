"""Settings of the input/output edge outside the feeds and the store: ``[external]``
(authoritative external solutions, :mod:`seismo.io.external`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from seismo.config.base import DistanceKm, Magnitude, StrictModel, TimeoutS

__all__ = ["ExternalConfig"]


class ExternalConfig(StrictModel):
    """Authoritative external solutions (seismo.io.external, docs/alerts.md).

    ``fdsn_url``: base URL of an FDSN event web service (``.../fdsnws/event/1/query``
    is appended), polled for the span of the events being published; ``quakeml_dir``:
    a directory where bulletins are dropped as QuakeML files. A solution matches one of
    seismo's events when its origin time is within ``max_time_s`` and its epicentre
    within ``max_distance_km`` (wide: a distant event located by a city network is
    known in direction more than in distance, docs/location.md).
    """

    fdsn_url: str | None = None
    quakeml_dir: Path | None = None
    min_magnitude: Magnitude = 4.0
    timeout_s: TimeoutS = 10.0
    max_time_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    max_distance_km: DistanceKm = 300.0
