"""Settings of the station-health checks, ``[health]`` (sources: seismo/health/metrics.py
and docs/health.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from seismo.config.base import NonNegFloat, PosFloat, StrictModel, require_order

__all__ = ["HealthConfig"]


class HealthConfig(StrictModel):
    window_s: Annotated[float, Field(ge=60, le=86400)] = 600.0
    warn_latency_s: Annotated[float, Field(gt=0, le=86400)] = 60.0
    fail_latency_s: Annotated[float, Field(gt=0, le=86400)] = 600.0
    warn_availability_pct: Annotated[float, Field(ge=0, le=100)] = 98.0
    fail_availability_pct: Annotated[float, Field(ge=0, le=100)] = 80.0
    spike_threshold: PosFloat = 20.0
    flat_std_counts: NonNegFloat = 0.5
    # design choice: a channel without a noise baseline yet is noisy 10 dB above Peterson's
    # NHNM; cultural noise at urban sites commonly exceeds the NHNM at 1-10 Hz by a few dB
    # (McNamara & Buland 2004), which is their normal, not a fault (docs/health.md)
    psd_warn_db_above_nhnm: Annotated[float, Field(ge=-50, le=100)] = 10.0
    # --- added for seismo.health (sources in seismo/health/metrics.py and docs/health.md)
    warn_clip_pct: NonNegFloat = Field(0.0, description="WARN when clipped samples % > this")
    fail_clip_pct: NonNegFloat = Field(1.0, description="FAIL when clipped samples % > this")
    flat_run_s: PosFloat = Field(10.0, description="FAIL when identical values last this long, s")
    spike_context_s: PosFloat = Field(0.5, description="A spike is isolated within +-this, s")
    warn_spikes: Annotated[int, Field(ge=0)] = Field(0, description="WARN when spikes > this")
    fail_spikes: Annotated[int, Field(ge=0)] = Field(50, description="FAIL when spikes > this")
    warn_overlaps: Annotated[int, Field(ge=0)] = Field(0, description="WARN when overlaps > this")
    warn_offset_pct_fs: Annotated[float, Field(ge=0, le=100)] = Field(
        10.0, description="WARN when |mean| exceeds this % of [instrument] full scale"
    )
    warn_timing_quality: Annotated[float, Field(ge=0, le=100)] = Field(
        80.0, description="WARN when miniSEED blockette 1001 timing quality (%) is below this"
    )
    rate_tolerance: PosFloat = Field(
        1e-4, description="FAIL when |rate/StationXML rate - 1| exceeds this"
    )
    psd_length_s: Annotated[float, Field(ge=10, le=86400)] = Field(
        300.0, description="PPSD segment length, s (<= window)"
    )
    psd_bands_s: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.1, 1.0), (1.0, 10.0)],
        description="Period bands (s) compared with Peterson's NLNM/NHNM",
    )
    psd_warn_db_below_nlnm: float = Field(
        0.0, description="WARN when the band-mean PSD is this many dB below NLNM"
    )
    # the channel's own noise baseline (station deviation, Ringler et al. 2015 DQA): the
    # median of its last psd_baseline_runs band levels, used from psd_baseline_min_runs on
    psd_baseline_runs: Annotated[int, Field(ge=1, le=10000)] = Field(
        144, description="Band levels kept per channel for its noise baseline (144: a day "
        "of 10-minute runs)")
    psd_baseline_min_runs: Annotated[int, Field(ge=1, le=10000)] = Field(
        6, description="Runs before a channel's baseline replaces the NHNM reference")
    # design choice: more than the day/night swing of cultural noise at 1-10 Hz (about
    # 10 dB, McNamara & Buland 2004), less than a failing sensor or a loose mass (20-40 dB)
    psd_warn_db_above_baseline: Annotated[float, Field(gt=0, le=100)] = Field(
        15.0, description="WARN when the band level exceeds the channel's baseline by this (dB)")
    psd_warn_db_below_baseline: Annotated[float, Field(gt=0, le=100)] = Field(
        15.0, description="WARN when the band level is this much below the baseline (dB)")
    psd_nhnm_allowance_db: dict[str, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=dict, description="NET.STA -> dB added to psd_warn_db_above_nhnm "
        "for a station known to be noisier (until it has a baseline)")
    state_file: Path = Field(
        Path("../var/health_state.json"), description="Last status per station (change alerts)"
    )
    notify_group: str = Field("engineers", description="Alerts group told of status changes")

    @model_validator(mode="after")
    def _check_health(self) -> HealthConfig:
        require_order(self, "fail_latency_s", "must be >=", "warn_latency_s")
        require_order(self, "fail_availability_pct", "must be <=", "warn_availability_pct")
        require_order(self, "psd_baseline_min_runs", "exceeds", "psd_baseline_runs")
        for lo, hi in self.psd_bands_s:
            if not 0 < lo < hi:
                raise ValueError(f"psd_bands_s band ({lo}, {hi}) must satisfy 0 < low < high")
        return self
