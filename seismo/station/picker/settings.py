"""Settings of the picker, ``[picker]`` (sources of the defaults: the docstring of
:mod:`seismo.station.picker` and docs/picker.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from seismo.config.base import NonNegFloat, PosFloat, SpanS, StrictModel, TimeoutS, require_order
from seismo.station.settings import BandConfig

__all__ = ["PickerConfig"]


class PickerConfig(StrictModel):
    method: Literal["recursive", "classic"] = "recursive"
    sta_s: Annotated[float, Field(ge=0.01, le=60)] = 0.5
    lta_s: Annotated[float, Field(ge=0.1, le=3600)] = 10.0
    trig_on: Annotated[float, Field(gt=0, le=1000)] = 4.0
    trig_off: Annotated[float, Field(gt=0, le=1000)] = 1.5
    min_trigger_s: SpanS = 0.1
    max_trigger_s: TimeoutS = 60.0
    dead_time_s: SpanS = 5.0
    max_gap_s: SpanS = 0.5
    causal: bool = Field(
        True, description="zero-phase (false) only for prepare_stream; the picker is always "
        "causal (one implementation for windows and real time, docs/picker.md)"
    )
    bands: dict[str, BandConfig] = Field(
        default_factory=lambda: {
            "velocity": BandConfig(freqmin=2.0, freqmax=15.0),
            "acceleration": BandConfig(freqmin=2.0, freqmax=15.0),
        },
        description="Band-pass per channel kind (velocity, acceleration)",
    )
    aic_window_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    s_picks: bool = True
    channel_kinds: list[Literal["velocity", "acceleration"]] = Field(
        default_factory=lambda: ["velocity", "acceleration"],  # type: ignore[arg-type]
        description="Which channel kinds are picked",
    )
    # Data-quality and pick-quality settings (sources: the seismo.station.picker docstring).
    taper_s: SpanS = Field(1.0, description="Cosine taper at segment start (s)")
    flat_std_counts: NonNegFloat = Field(0.5, description="Raw std below this: dead channel")
    spike_mad: NonNegFloat = Field(50.0, description="Isolated-spike threshold (x MAD); 0: off")
    min_snr: NonNegFloat = Field(3.0, description="Reject picks with a lower rms SNR")
    amplitude_window_s: TimeoutS = Field(2.0, description="Peak-amplitude window after onset")
    station_merge_s: PosFloat = Field(1.0, description="P picks of one station this close: one")
    polarity_min_ratio: PosFloat = Field(5.0, description="First motion / noise rms for polarity")
    inner_s: bool = Field(
        True,
        description="look for an S-polarised onset after a P-polarised one inside one onset "
        "cluster (S-P shorter than station_merge_s; seismo.station.picker.split); the network "
        "switches it off at stations whose expected S-P is longer (seismo.event.geometry)",
    )
    s_min_delay_s: PosFloat = Field(0.5, description="Minimum S-P delay for S picks (s)")
    s_aic_fraction: Annotated[float, Field(ge=0, le=0.5)] = Field(
        0.2,
        description="An S trigger's early_onset: the AIC onset in a window starting this "
        "share of the trigger's delay after P before the trigger, when longer than "
        "aic_window_s; a regional S is emergent over a time that grows with distance, and "
        "the distant-event locator reads it (seismo.station.picker.onset)",
    )
    s_max_delay_s: TimeoutS = Field(
        90.0,
        description="S-P delay up to which a station's P guides the S refinement (s); "
        "90 s: S-P of Sg at ~700 km (regional events)",
    )
    # Re-arming in the coda and P/S labels (sources: docstrings of seismo.station.picker.pick
    # and seismo.station.picker.polarization, docs/picker.md).
    coda_sta_s: PosFloat = Field(
        0.25, description="STA of the short-window (coda) detector (s): ~2 cycles at 8 Hz"
    )
    coda_lta_s: PosFloat = Field(
        2.5, description="LTA of the coda detector (s): follows a local coda's decay"
    )
    coda_trig_on: NonNegFloat = Field(
        5.0, description="Coda detector threshold (0: off); above trig_on: fewer samples"
    )
    polarization_window_s: PosFloat = Field(
        0.5, description="Particle-motion window before/after an onset for the P/S label (s)"
    )
    polarization_dip_deg: Annotated[float, Field(gt=0, lt=90)] = Field(
        35.26, description="P when the added motion dips steeper: free-surface S window"
    )
    # Onset refinement and pick uncertainty (sources: docstring of seismo.station.picker.onset,
    # docs/picker.md).
    refine_band: BandConfig = Field(
        default_factory=lambda: BandConfig(freqmin=1.0, freqmax=30.0, corners=2),
        description="Causal band-pass of the AIC onset refinement (wider, less delay than bands)",
    )
    min_uncertainty_samples: PosFloat = Field(2.0, description="Pick uncertainty floor (samples)")
    s_min_uncertainty_s: NonNegFloat = Field(0.05, description="S pick uncertainty floor (s)")
    s_polarization_s: PosFloat = Field(
        1.0, description="P window for the horizontal P direction (transverse S refinement, s)"
    )

    @model_validator(mode="after")
    def _check(self) -> PickerConfig:
        require_order(self, "sta_s", "must be shorter than", "lta_s")
        require_order(self, "trig_off", "must be below", "trig_on")
        require_order(self, "coda_sta_s", "must be shorter than", "coda_lta_s")
        return self
