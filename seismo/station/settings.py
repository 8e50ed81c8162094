"""Settings the station stage reads besides the picker's: the digitizer (``[instrument]``),
band-pass specifications, and the PGA/PGV band of the amplitude series.

:class:`MotionBandConfig` holds the two keys of ``[intensity]`` that the station stage
uses (the band-pass of PGA and PGV); the event stage's
:class:`seismo.event.settings.IntensityConfig` extends it with the intensity
prediction, so the TOML section stays one table.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from seismo.config.base import PosFloat, StrictModel, require_order

__all__ = ["BandConfig", "InstrumentConfig", "MotionBandConfig"]


class InstrumentConfig(StrictModel):
    """The digitizer: one setting read by every stage that needs it.

    The picker (clipped samples, dead channels), the amplitudes (the ML "used"
    flag and ``Event.n_clipped_stations``, which drives the saturation alert) and
    station health (``clip_pct``, the offset check) all read these two values.
    A sample is clipped when ``|counts| >= clip_fraction * full_scale_counts``.
    """

    full_scale_counts: PosFloat = Field(
        2.0**23,
        description="Digitizer full scale, counts (24-bit: 2**23; stations/build_inventory.py)",
    )
    clip_fraction: Annotated[float, Field(gt=0, le=1)] = Field(
        0.98,
        description="Fraction of full scale that counts as clipping (design choice: the "
        "last 2 % of the range, where the analogue front end saturates)",
    )

    @property
    def clip_level_counts(self) -> float:
        """``clip_fraction * full_scale_counts``: a sample at or beyond it is clipped."""
        return self.clip_fraction * self.full_scale_counts


class BandConfig(StrictModel):
    freqmin: PosFloat
    freqmax: PosFloat
    corners: Annotated[int, Field(ge=1, le=8)] = 4

    @model_validator(mode="after")
    def _order(self) -> BandConfig:
        require_order(self, "freqmin", "must be below", "freqmax")
        return self


class MotionBandConfig(StrictModel):
    """The band-pass of PGA/PGV (``[intensity] freqmin``/``freqmax``, Hz)."""

    freqmin: PosFloat = 0.1  # Hz, Song et al. (2021), GB/T 17742-2020 processing
    freqmax: PosFloat = 10.0  # Hz, same source
