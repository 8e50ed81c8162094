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
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seismo.errors import ConfigError

#: Repository root (where ``config/``, ``stations/`` live when running from a clone).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "seismo.toml"
ENV_CONFIG = "SEISMO_CONFIG"

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


class _Model(BaseModel):
    model_config = ConfigDict(
        # defaults are code, checked by the tests; validating them in strict (JSON)
        # mode would refuse the Path objects they are
        extra="forbid", frozen=True, validate_default=False, allow_inf_nan=False
    )


# --------------------------------------------------------------------------- network
class NetworkConfig(_Model):
    """Where the station metadata, velocity model and sites live."""

    inventory: Path = Field(description="StationXML file (or directory of files)")
    velocity_model: Path = Field(description="1-D layered velocity model (TOML)")
    sites: Path = Field(description="Sites for predicted intensity (TOML)")
    name: str = Field("seismo network", description="Human-readable network name")
    region: tuple[float, float, float, float] = Field(
        description="Monitored region: lat_min, lat_max, lon_min, lon_max (degrees)"
    )

    @model_validator(mode="after")
    def _check_region(self) -> NetworkConfig:
        la0, la1, lo0, lo1 = self.region
        if not (-90 <= la0 < la1 <= 90 and -180 <= lo0 < lo1 <= 180):
            raise ValueError(f"region {list(self.region)} must be lat_min<lat_max, lon_min<lon_max")
        return self


# --------------------------------------------------------------------------- feeds
class FeedsConfig(_Model):
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


# --------------------------------------------------------------------------- simulator
class SimulatorPhysicsConfig(_Model):
    """``[simulator.physics]``: the simulator's own Earth and wave physics.

    Kept apart from the locator's settings on purpose: the simulator computes travel
    times with ObsPy TauP through ``earth_model`` (not ``network.velocity_model``), and
    its amplitudes from a Brune source (docs/simulator.md; sources of every default in
    ``seismo.simulate.physics``).
    """

    earth_model: Path | None = Field(
        PROJECT_ROOT / "config" / "earth" / "south_china_coast.toml",
        description="Crust-over-mantle model for TauP (config/earth/*.toml); "
        "[simulator] velocity_model, when set, takes precedence",
    )
    taup_cache: Path | None = Field(
        None, description="Directory of built TauP models (default: ~/.cache/seismo/taup)"
    )
    stress_drop_bar: Annotated[float, Field(gt=0, le=1000)] = 50.0
    kappa_s: Annotated[float, Field(ge=0, le=0.2)] = 0.03
    statics_sigma_s: Annotated[float, Field(ge=0, le=2)] = Field(
        0.05, description="P station static N(0, sigma) fixed per station (S: times Vp/Vs)"
    )
    urban_nhnm_excess_db: Annotated[float, Field(ge=-30, le=30)] = Field(
        3.0, description="Noise of urban stations at 1-20 Hz, dB above Peterson's NHNM"
    )
    coda_q0: Annotated[float, Field(gt=0, le=5000)] = 120.0
    coda_eta: Annotated[float, Field(ge=0, le=1.5)] = 0.8
    coda_level: Annotated[float, Field(ge=0, le=2)] = 0.3
    surface_min_deg: Annotated[float, Field(ge=0, le=180)] = 1.0
    dispersion: Literal["continental", "oceanic"] = "continental"
    depth_phase_min_km: DepthKm = 30.0


class SimulatorConfig(_Model):
    """The built-in simulated network (the embedded default feed)."""

    seed: int = 20261129
    scenarios: Path = Field(description="Scenario catalogue (TOML)")
    scenario: str | None = Field(None, description="Scenario played by sim:// (None: noise only)")
    urban_noise_fraction: Annotated[float, Field(ge=0, le=1)] = 0.55
    rural_noise_fraction: Annotated[float, Field(ge=0, le=1)] = 0.35
    urban_site_marker: str = Field(
        "urban=1", description="A station is urban if its StationXML Site description contains this"
    )
    digitizer_noise_counts: NonNegFloat = Field(
        1.0, description="White digitizer self-noise added to every channel (counts RMS)"
    )
    velocity_model: Path | None = Field(
        None,
        description="1-D model the simulator generates with (default: network.velocity_model); "
        "a different one simulates the locator's model error",
    )
    site_sigma_log10: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0,
        description="per-station site amplification, log10 standard deviation (0: none); "
        "0.15 is typical of between-station site terms (docs/simulator.md [3P])",
    )
    emergent_fraction: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0, description="share of station records with an emergent P onset (0.3-1 s rise)"
    )
    seedlink_host: str = "127.0.0.1"
    seedlink_port: Annotated[int, Field(ge=0, le=65535)] = 18000
    record_seconds: Annotated[float, Field(ge=0.01, le=60)] = Field(
        1.0, description="Seconds of data per SeedLink record"
    )
    physics: SimulatorPhysicsConfig = Field(
        default_factory=lambda: SimulatorPhysicsConfig(),  # type: ignore[call-arg]
        description="Earth model and wave physics of the simulator (docs/simulator.md)",
    )


# --------------------------------------------------------------------------- instrument
class InstrumentConfig(_Model):
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


# --------------------------------------------------------------------------- processing / picker
class BandConfig(_Model):
    freqmin: PosFloat
    freqmax: PosFloat
    corners: Annotated[int, Field(ge=1, le=8)] = 4

    @model_validator(mode="after")
    def _order(self) -> BandConfig:
        if self.freqmin >= self.freqmax:
            raise ValueError(f"freqmin ({self.freqmin}) must be below freqmax ({self.freqmax})")
        return self


class PickerConfig(_Model):
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
    s_min_delay_s: PosFloat = Field(0.5, description="Minimum S-P delay for S picks (s)")
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
        if self.sta_s >= self.lta_s:
            raise ValueError(f"sta_s ({self.sta_s}) must be shorter than lta_s ({self.lta_s})")
        if self.trig_off >= self.trig_on:
            raise ValueError(f"trig_off ({self.trig_off}) must be below trig_on ({self.trig_on})")
        if self.coda_sta_s >= self.coda_lta_s:
            raise ValueError(
                f"coda_sta_s ({self.coda_sta_s}) must be shorter than coda_lta_s "
                f"({self.coda_lta_s})"
            )
        return self


# --------------------------------------------------------------------------- events
class AssociateConfig(_Model):
    """Picks -> event candidates by a space-time grid stack (docs/location.md).

    SeisComP scautoloc defaults (minPhaseCount 6, maxRMS 3.5 s, maxResidual 7 s)
    are teleseismic-oriented; a local network with ~0.1 s picks and a 1-D model
    good to a few tenths of a second uses tighter residuals (HYPOINVERSE-style
    local practice: residuals above ~1 s mark a wrong pick).
    """

    min_stations: Annotated[int, Field(ge=3)] = 4
    min_phases: Annotated[int, Field(ge=4)] = Field(
        6,
        description="4 unknowns (x, y, z, t0) + 2 redundant phases: the fewest with which one "
        "wrong pick stands out from the rest (with 1, any pick fits); docs/consistency.md",
    )
    max_residual_s: PosFloat = Field(1.5, description="cap of the residual tolerance (s)")
    residual_floor_s: PosFloat = Field(
        0.5, description="residual tolerance at zero travel time (s): ~3-5 x a local pick error"
    )
    residual_fraction: NonNegFloat = Field(
        0.05, description="tolerance growth per second of travel time: 1-D model ~5 % in velocity"
    )
    max_rms_s: PosFloat = Field(
        0.5, description="local events with a 1-D model locate with RMS ~0.1-0.3 s (HYPOINVERSE)"
    )
    max_distance_km: DistanceKm = Field(
        1000.0, description="extent of the association grid (km); Manila Trench ~700-900 km"
    )
    grid_spacing_km: GridKm = Field(3.0, description="inner grid step (km) near the network")
    grid_margin_km: Annotated[float, Field(ge=0, le=1000)] = Field(
        30.0, description="inner grid beyond the network (km)"
    )
    azimuth_step_deg: Annotated[float, Field(ge=0.1, le=90)] = Field(
        4.0, description="outer polar grid azimuth step (deg)"
    )
    depths_km: tuple[float, ...] = (2.0, 6.0, 10.0, 15.0, 22.0, 30.0)
    stack_window_s: Annotated[float, Field(gt=0, le=60)] = Field(
        1.5, description="origin-time bin width of the stack (s)"
    )
    relabel_phases: bool = Field(
        True,
        description="an onset whose polarisation label does not fit may become the other "
        "phase of an event at a station lacking that phase (its fit to the event)",
    )
    min_station_ratio: Annotated[float, Field(ge=0, le=1)] = Field(
        0.5, description="associated / stations closer than the farthest associated one"
    )
    max_attempts: PosInt = Field(20, description="stack peaks tried per call (bounds run time)")
    glitch_min_stations: Annotated[int, Field(ge=0)] = Field(
        4, description="simultaneous picks at this many stations are a glitch (0: off)"
    )
    glitch_window_s: NonNegFloat = Field(
        0.02, description="'simultaneous' for glitches: 2 samples at 100 Hz (s)"
    )
    # Consistency check of every event (seismo.event.consistency, docs/consistency.md).
    min_p_phases: Annotated[int, Field(ge=0)] = Field(
        1, description="P picks an event needs: S-only groups are what an S coda produces"
    )
    far_km: NonNegFloat = Field(
        30.0, description="beyond this distance outside the network an event needs far-event "
        "evidence (km; the grid margin)"
    )
    far_min_p_stations: Annotated[int, Field(ge=3)] = Field(
        4, description="P picks a far event needs: a plane wave (3 unknowns) + 1 redundant"
    )
    far_max_azimuth_deg: Annotated[float, Field(gt=0, le=180)] = Field(
        30.0, description="largest misfit between the P plane-wave direction and the epicentre"
    )


class LocateConfig(_Model):
    """Grid search (polar, coarse-to-fine) + Levenberg-Marquardt (docs/location.md)."""

    grid_spacing_km: GridKm = Field(5.0, description="coarse grid step (km) near the network")
    grid_margin_km: Annotated[float, Field(ge=0, le=1000)] = Field(
        30.0, description="constant-step zone beyond the network"
    )
    max_distance_km: DistanceKm = Field(
        1000.0, description="search radius (km); covers the Manila Trench and Taiwan"
    )
    depth_min_km: DepthKm = 0.0
    depth_max_km: Annotated[float, Field(gt=0, le=700)] = 40.0
    depth_step_km: GridKm = Field(5.0, description="coarse depth step (km)")
    max_iterations: Annotated[int, Field(gt=0, le=1000)] = 20
    pick_sigma_s: PosFloat = Field(0.1, description="floor of the pick standard error (s)")
    s_sigma_factor: Annotated[float, Field(ge=1)] = Field(
        2.0, description="S floor = factor x pick_sigma_s: S onsets in the P coda are ~2x less "
        "precise than P (Diehl et al. 2009 pick-quality classes [3P])"
    )
    fixed_depth_km: DepthKm = Field(
        10.0, description="depth used when depth is unconstrained (NEIC-style 10 km default)"
    )
    max_depth_sigma_km: PosFloat = Field(
        15.0, description="free-depth 1-sigma above which the depth is fixed"
    )
    fix_depth_beyond_km: PosFloat = Field(
        100.0, description="fix the depth when the nearest station is farther (km)"
    )
    depth_distance_ratio: Annotated[float, Field(gt=0, le=1000)] = Field(
        2.0,
        description="fix the depth when the nearest station is farther than this times the "
        "depth (the larger of the free and the fixed depth): depth needs a station within about "
        "one to two focal depths (Gomberg et al. 1990; mloc 'Depth Constraint' [3P])",
    )
    model_error_fraction: Annotated[float, Field(ge=0, le=0.5)] = Field(
        0.03,
        description="travel-time model error, standard deviation as a fraction of the travel "
        "time, added in quadrature to the pick error (NonLinLoc LOCGAU2-style travel-time "
        "dependent error, Lomax et al. 2000 [3P]; 3 %: a 1-D model good to a few % in velocity)",
    )
    model_error_corr_km: Annotated[float, Field(ge=0, le=1000)] = Field(
        20.0,
        description="correlation length of the model errors between stations (km; NonLinLoc "
        "LOCGAU CorrLen [3P]); 0: independent errors",
    )
    elevation_correction: bool = Field(True, description="vertical-ray station elevation delay")


class MagnitudeConfig(_Model):
    """ML calibration: ML = log10(A[nm]) + a*log10(R) + b*R + c (IASPEI defaults)."""

    a: float = 1.11
    b: float = 0.00189
    c: float = -2.09
    min_distance_km: NonNegFloat = 0.0
    # IASPEI (2013) ML: the -log A0 term is defined for hypocentral distances up to
    # ~1000 km (Hutton & Boore 1987 data reach ~700 km) [3P]; beyond it ML is not used.
    max_distance_km: DistanceKm = 1000.0
    outlier_mad: Annotated[float, Field(gt=0, le=100)] = 3.0
    amplitude_window_s: TimeoutS = 30.0
    # Broadband surface-wave magnitude Ms_BB (seismo.event.surface, IASPEI 2013 [3P]):
    # 2-160 degrees, depth < 60 km; the preferred magnitude when ML is missing, a P-only
    # lower bound, or Ms_BB >= prefer_ms_bb_from (ML saturates towards ~7, Kanamori 1983 [3P])
    ms_bb: bool = True
    ms_max_depth_km: DepthKm = 60.0
    ms_group_velocity_kms: tuple[
        Annotated[float, Field(gt=0.5, le=10)], Annotated[float, Field(gt=0.5, le=10)]
    ] = (4.0, 2.5)
    ms_window_pad_s: DelayS = 30.0
    ms_noise_s: TimeoutS = 20.0
    ms_min_snr: Annotated[float, Field(gt=0, le=100)] = 3.0
    prefer_ms_bb_from: Magnitude = 5.5


class IntensityConfig(_Model):
    """PGA/PGV processing and intensity prediction (see seismo/event/intensity.py for sources)."""

    freqmin: PosFloat = 0.1  # Hz, Song et al. (2021), GB/T 17742-2020 processing
    freqmax: PosFloat = 10.0  # Hz, same source
    relation: Literal["atkinson_wald_2007", "china_east_2015"] = Field(
        "china_east_2015",
        description="predicted site intensity: the eastern-China relation of GB 18306-2015 "
        "(Chinese scale directly; default) or Atkinson & Wald 2007 (California MMI)",
    )
    reference_vs30: Annotated[float, Field(gt=50, le=3000)] = Field(
        500.0,
        description="Vs30 (m/s) of the relation's average site; sites with another vs30 in "
        "sites.toml get a Borcherdt (1994) term (design choice: the stiff-soil / soft-rock "
        "boundary, GB 50011 site class II upper bound [3P])",
    )
    china_axis: Literal["mean", "long"] = Field(
        "mean", description="China ellipse relation: mean of long/short axis, or long (upper)"
    )
    window_s: TimeoutS = Field(60.0, description="PGA/PGV window after the S arrival, s")
    max_anchor_correction: NonNegFloat = Field(
        1.5, description="Bound on the observed-minus-predicted shift applied at sites"
    )
    min_anchor_stations: PosInt = Field(
        2, description="Observations needed before predictions are shifted"
    )


class PipelineConfig(_Model):
    window_s: Annotated[float, Field(ge=10, le=3600)] = Field(
        60.0, description="processing window (s); below 10 s the pre-/post-roll read for every "
        "window multiplies the work without lowering latency"
    )
    preroll_s: SpanS = 30.0
    postroll_s: SpanS = 60.0
    safety_margin_s: SpanS = 30.0
    window_offset_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        0.0, description="windows end at times that are this many seconds past a multiple "
        "of window_s (s): with a run every window_s on the minute, postroll_s + "
        "safety_margin_s before the next minute, so a run processes a window that has just "
        "become complete (docs/streaming.md, DAG latency)"
    )
    event_id_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,15}$")] = "seismo"
    chunk_s: Annotated[float, Field(ge=10, le=86400)] = Field(
        1800.0, description="seismo detect reads this much data at once (s, <= one day); a "
        "worker holds its stations' raw data for one chunk (design choice: 30 min keeps 24 h "
        "of 20 stations under 1 GB with 2 workers, benchmarks/README.md)"
    )
    # Event identity (seismo.event.identity, docs/reliability.md): a new solution is
    # the same event as a known one when both its origin time and its epicentre are
    # this close. Design choice: losing or regaining the nearest station of a city
    # network moves the origin by ~0.1-2 s and the epicentre by a few km (more
    # outside the network); two real events this close in time and space cannot be
    # told apart by the associator either (stack_window_s).
    event_match_time_s: Annotated[float, Field(gt=0, le=60)] = Field(
        5.0, description="origin-time tolerance for matching a solution to a known event (s)"
    )
    event_match_distance_km: Annotated[float, Field(gt=0, le=200)] = Field(
        30.0, description="epicentre tolerance for matching a solution to a known event (km)"
    )
    processes: Annotated[int, Field(ge=0, le=256)] = Field(
        0, description="seismo detect worker processes (0: one per core; 1: in-process)"
    )
    cache_dir: Path | None = Field(
        Path("../var/cache"),
        description="travel-time tables computed once and reused by every process (none: "
        "each process computes them)",
    )

    @model_validator(mode="after")
    def _chunk(self) -> PipelineConfig:
        if self.chunk_s < self.window_s:
            raise ValueError(f"chunk_s ({self.chunk_s}) must be >= window_s ({self.window_s})")
        if self.window_offset_s >= self.window_s:
            raise ValueError(
                f"window_offset_s ({self.window_offset_s}) must be below window_s "
                f"({self.window_s})"
            )
        return self


# --------------------------------------------------------------------------- stream
class StreamConfig(_Model):
    """``seismo stream``, the real-time detector (docs/streaming.md; every default's
    reasoning there)."""

    feed: str | None = Field(
        None, description="SeedLink URL (seedlink://host:port) of every station; default: the "
        "station's feed ([feeds] default/overrides) when that is a seedlink:// URL"
    )
    state_file: Path = Field(
        Path("../var/stream_state.json"),
        description="Where the stream keeps its sequence numbers, recent picks and open events",
    )
    pool_s: Annotated[float, Field(ge=30, le=3600)] = Field(
        120.0, description="picks this recent take part in association (s); regional S-P "
        "delays reach ~90 s"
    )
    close_after_s: Annotated[float, Field(ge=5, le=3600)] = Field(
        60.0, description="an event is closed after this long without new picks or amplitudes (s)"
    )
    cancel_after_s: Annotated[float, Field(ge=1, le=3600)] = Field(
        20.0, description="an announced event no association run has found for this long is "
        "cancelled (s)"
    )
    associate_every_s: Annotated[float, Field(gt=0, le=60)] = Field(
        0.5, description="shortest interval between two association runs (s)"
    )
    heartbeat_s: Annotated[float, Field(ge=1, le=600)] = Field(
        10.0, description="heartbeat point to InfluxDB every this often (s)"
    )
    heartbeat_down_s: Annotated[float, Field(ge=10, le=86400)] = Field(
        60.0, description="the health check reports the stream down when its newest "
        "heartbeat is older than this (s)"
    )
    monitored: bool = Field(
        True, description="the station-health check watches the heartbeat (a deployment "
        "without seismo stream sets false)"
    )
    warmup_s: SpanS = Field(
        30.0, description="data re-read before the resume point after a restart, to warm up "
        "the filters (s; 3 x the LTA)"
    )
    retention_s: Annotated[float, Field(ge=30, le=3600)] = Field(
        120.0, description="samples kept per channel (s): S refinement reads back to the P, "
        "picker.s_max_delay_s"
    )
    amplitude_keep_s: Annotated[float, Field(ge=60, le=86400)] = Field(
        900.0, description="per-second amplitude peaks kept per station (s)"
    )
    lag_s: Annotated[float, Field(gt=0, le=600)] = Field(
        10.0, description="a channel this far behind its station's newest is not waited for (s)"
    )
    live_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        30.0, description="a station whose newest sample is older counts as not delivering "
        "(who should have picked an event) (s)"
    )
    keepalive_s: TimeoutS = Field(10.0, description="SeedLink keepalive when nothing comes (s)")
    idle_timeout_s: TimeoutS = Field(
        30.0, description="SeedLink link given up (reconnect) after this long without a packet"
    )
    reconnect_max_s: TimeoutS = Field(30.0, description="longest delay between reconnections")
    shutdown_s: TimeoutS = Field(
        20.0, description="on SIGTERM, time allowed to flush the spool and deliver the outbox"
    )
    dag_cancels: bool = Field(
        True, description="a window pass with every station's data that finds no event "
        "where the stream announced one cancels the stream's alert (the complete pass is "
        "the authority)"
    )


# --------------------------------------------------------------------------- store
class StoreConfig(_Model):
    enabled: bool = True
    url: str = "http://127.0.0.1:18086"
    api: Literal["auto", "v1", "v2"] = "auto"
    database: str = "seismo"
    bucket: str = "seismo"
    org: str = "seismo"
    username: str | None = None
    password_env: str = "SEISMO_INFLUX_PASSWORD"
    token_env: str = "SEISMO_INFLUX_TOKEN"
    timeout_s: TimeoutS = 10.0
    batch_size: Annotated[int, Field(gt=0, le=100_000)] = 5000
    spool_dir: Path = Path("../var/spool")
    airflow_conn_id: str | None = Field(
        None, description="Airflow Connection (influxdb type) supplying url/token under Airflow"
    )
    server_data_dir: Path = Path("../var/influxdb")
    retry_interval_s: DelayS = Field(
        30.0, description="After a failed write, seconds during which writes only spool"
    )


# --------------------------------------------------------------------------- alerts
class ChannelConfig(_Model):
    kind: Literal["webhook", "smtp", "directory"]
    url: str | None = None
    token_env: str | None = None
    host: str | None = None
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str | None = None
    recipients: list[str] = Field(default_factory=list)
    path: Path | None = None
    timeout_s: Annotated[float, Field(gt=0, le=300)] = Field(
        10.0, description="total deadline of one delivery attempt (s)"
    )
    format: Literal["cap", "json"] = Field(
        "cap", description="webhook body: CAP XML (application/cap+xml) or a JSON wrapper"
    )

    @model_validator(mode="after")
    def _needs(self) -> ChannelConfig:
        need = {"webhook": ["url"], "smtp": ["host", "sender", "recipients"], "directory": ["path"]}
        for key in need[self.kind]:
            if not getattr(self, key):
                raise ValueError(f"a {self.kind} channel needs '{key}'")
        return self


class AlertRulesConfig(_Model):
    """Alert thresholds. Sources of every default: docs/alerts.md and seismo/alerts/rules.py."""

    # design choice: ML 2.5 is about the threshold of being felt in a city (see docs/alerts.md)
    oncall_min_magnitude: Magnitude = 2.5
    # GB/T 17742-2020 degree III: felt indoors by a few people at rest [3P]
    oncall_min_intensity: Intensity = 3.0
    # design choice: a located event in the region without ML or intensity (missing
    # responses) goes to on-call; an event with no magnitude is still an event
    oncall_unmeasured: bool = True
    # JMA NWPTAC advises for M >= 6.5 in its area incl. the South China Sea [V]
    tsunami_min_magnitude: Magnitude = 6.5
    # JMA NWPTAC: no tsunami potential for depth >= 100 km [V]
    tsunami_max_depth_km: Annotated[float, Field(gt=0, le=700)] = 100.0
    # design choice: a local ML >= 5.5 from far away or with clipped records is a lower bound
    saturation_magnitude: Magnitude = 5.5
    saturation_min_clipped_stations: PosInt = 3
    # design choice: beyond ~2x a city network's aperture its location and ML are unreliable
    saturation_far_distance_km: DistanceKm = 100.0
    # design choice: the offshore test also probes the epicentre's uncertainty circle (capped)
    offshore_uncertainty_max_km: Annotated[float, Field(ge=0, le=1000)] = 30.0
    # the whole uncertainty region counts beyond this 90 % semi-major axis (km) or with a
    # fixed depth; offshore when this share of it is sea (design choices, docs/alerts.md)
    offshore_region_min_km: Annotated[float, Field(gt=0, le=1000)] = 30.0
    offshore_min_sea_fraction: Annotated[float, Field(gt=0, le=1)] = 0.25
    # Update thresholds (issue "Alerts"): |dML| >= 0.3 or hypocentre moved >= 10 km
    update_min_magnitude_change: Annotated[float, Field(gt=0, le=2)] = 0.3
    update_min_location_change_km: Annotated[float, Field(gt=0, le=1000)] = 10.0
    # one CAP <area> per site whose predicted intensity reaches this (GB/T 17742 degree III)
    area_min_site_intensity: Intensity = 3.0
    area_site_radius_km: Annotated[float, Field(ge=0, le=1000)] = 5.0


class AlertsConfig(_Model):
    enabled: bool = True
    sender: str = "seismo@example.invalid"
    outbox_dir: Path = Path("../var/outbox")
    expire_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 3600.0
    backoff_initial_s: Annotated[float, Field(gt=0, le=3600)] = 2.0
    backoff_max_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    rules: AlertRulesConfig = Field(default_factory=AlertRulesConfig)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Recipient group -> channel names"
    )
    public_groups: list[str] = Field(
        default_factory=list, description="Groups whose CAP scope is Public (else Restricted)"
    )
    restriction: str = Field(
        "seismic network duty staff and designated agencies only",
        description="CAP <restriction> text for Restricted messages",
    )

    @model_validator(mode="after")
    def _groups_known(self) -> AlertsConfig:
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError(
                f"backoff_initial_s ({self.backoff_initial_s}) exceeds backoff_max_s "
                f"({self.backoff_max_s})"
            )
        for group, names in self.groups.items():
            for name in names:
                if name not in self.channels:
                    raise ValueError(f"group '{group}' names unknown channel '{name}'")
        return self


# --------------------------------------------------------------------------- health
class HealthConfig(_Model):
    window_s: Annotated[float, Field(ge=60, le=86400)] = 600.0
    warn_latency_s: Annotated[float, Field(gt=0, le=86400)] = 60.0
    fail_latency_s: Annotated[float, Field(gt=0, le=86400)] = 600.0
    warn_availability_pct: Annotated[float, Field(ge=0, le=100)] = 98.0
    fail_availability_pct: Annotated[float, Field(ge=0, le=100)] = 80.0
    spike_threshold: PosFloat = 20.0
    flat_std_counts: NonNegFloat = 0.5
    psd_warn_db_above_nhnm: float = 0.0
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
    state_file: Path = Field(
        Path("../var/health_state.json"), description="Last status per station (change alerts)"
    )
    notify_group: str = Field("engineers", description="Alerts group told of status changes")

    @model_validator(mode="after")
    def _check_health(self) -> HealthConfig:
        if self.fail_latency_s < self.warn_latency_s:
            raise ValueError(
                f"fail_latency_s ({self.fail_latency_s}) must be >= warn_latency_s "
                f"({self.warn_latency_s})"
            )
        if self.fail_availability_pct > self.warn_availability_pct:
            raise ValueError(
                f"fail_availability_pct ({self.fail_availability_pct}) must be <= "
                f"warn_availability_pct ({self.warn_availability_pct})"
            )
        for lo, hi in self.psd_bands_s:
            if not 0 < lo < hi:
                raise ValueError(f"psd_bands_s band ({lo}, {hi}) must satisfy 0 < low < high")
        return self


# --------------------------------------------------------------------------- reports
class ReportConfig(_Model):
    """Where reports are written: daily bulletins (``<dir>/YYYY-MM-DD``) and event plots
    (``<dir>/events/<id>``), by ``seismo bulletin``, ``seismo event plot`` and the daily
    report DAG (docs/review.md)."""

    dir: Path = Field(Path("../var/reports"), description="Root directory of the reports")


# --------------------------------------------------------------------------- airflow
def available_cores() -> int:
    """The cores this process may run on: what a setting of 0 processes or tasks means."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class AirflowConfig(_Model):
    """The detection DAG's run: sizing and time budget (docs/airflow.md).

    ``max_active_tasks`` and ``station_group_size`` bound how many task processes a
    run starts (each one imports the pipeline and loads the inventory: ~1-2 s of CPU
    on this class of machine); ``finish_margin_s`` is the part of ``run_timeout_s``
    kept for associating, storing and alerting after the stations; windows a run
    could not finish are taken up by the next runs for ``backlog_s`` (design choices,
    measured in benchmarks/README.md).
    """

    detect_schedule: str = "* * * * *"
    health_schedule: str = "*/10 * * * *"
    report_schedule: str = "@daily"
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_delay_s: DelayS = 5.0
    run_timeout_s: Annotated[float, Field(gt=0, le=86400)] = 50.0
    max_active_tasks: Annotated[int, Field(ge=0, le=1024)] = Field(
        0, description="tasks of one detection run at a time (0: one per core)"
    )
    station_group_size: Annotated[int, Field(ge=0, le=100000)] = Field(
        0, description="stations per mapped station task (1: one task per station; 0: as "
        "many groups as max_active_tasks)"
    )
    finish_margin_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        15.0, description="seconds of the run timeout kept for events, store and alerts: "
        "station tasks start no station after run start + run_timeout_s - this"
    )
    max_windows_per_run: Annotated[int, Field(ge=1, le=60)] = Field(
        3, description="windows one run processes: its own and missed ones"
    )
    backlog_s: Annotated[float, Field(ge=0, le=7 * 86400)] = Field(
        3600.0, description="missed windows this old are still taken up; older ones are "
        "reported as not processed (ERROR) for seismo detect to backfill"
    )
    ledger_dir: Path = Field(
        Path("../var/ledger"),
        description="the detection runs' record of planned, partly done and done windows",
    )

    def active_tasks(self) -> int:
        """``max_active_tasks``, 0 meaning one per core."""
        return self.max_active_tasks or available_cores()

    @model_validator(mode="after")
    def _margin(self) -> AirflowConfig:
        if self.finish_margin_s >= self.run_timeout_s:
            raise ValueError(
                f"finish_margin_s ({self.finish_margin_s}) must be below run_timeout_s "
                f"({self.run_timeout_s})"
            )
        return self


class ExternalConfig(_Model):
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


class Settings(_Model):
    """The whole configuration. ``source`` is the file it came from."""

    network: NetworkConfig
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    simulator: SimulatorConfig
    instrument: InstrumentConfig = Field(default_factory=InstrumentConfig)
    picker: PickerConfig = Field(default_factory=PickerConfig)
    associate: AssociateConfig = Field(default_factory=AssociateConfig)
    locate: LocateConfig = Field(default_factory=LocateConfig)
    magnitude: MagnitudeConfig = Field(default_factory=MagnitudeConfig)
    intensity: IntensityConfig = Field(default_factory=IntensityConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    airflow: AirflowConfig = Field(default_factory=AirflowConfig)
    stream: StreamConfig = Field(default_factory=StreamConfig)
    external: ExternalConfig = Field(default_factory=ExternalConfig)
    source: Path = Field(Path("<memory>"), exclude=True)


# --------------------------------------------------------------------------- loading
def _format_error(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<top level>"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        got = e.get("input")
        got_s = "" if e["type"] in ("missing", "extra_forbidden") else f" (got {got!r})"
        lines.append(f"{key}: {msg}{got_s}")
    return f"invalid configuration in {path}: " + "; ".join(lines)


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
    """Validate a configuration mapping strictly; relative paths resolve against ``base``.

    Strict means as TOML/JSON types: a string never stands for a number or a
    boolean; NaN and infinities are rejected with the key named.
    """
    bad = _non_finite(data)
    if bad:
        raise ConfigError(f"invalid configuration in {source}: " + "; ".join(bad))
    try:
        settings = Settings.model_validate_json(json.dumps(data, default=str), strict=True)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from None
    resolved = _resolve_paths(settings, (base or source.parent).resolve())
    return resolved.model_copy(update={"source": source})


def read_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """Parse a TOML file; ConfigError naming ``what`` and the file if it is missing or bad."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {p}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {p}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid {what} {p}: not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged onto ``base``: tables recursively, every other value replaced."""
    out = dict(base)
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], val)
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
        elif _dict_of_models(ann) is not None and isinstance(val, dict):
            sub = _dict_of_models(ann)
            out[key] = {
                k: _absolute_paths(v, sub, base) if isinstance(v, dict) else v  # type: ignore[arg-type]
                for k, v in val.items()
            }
        elif isinstance(val, str) and _is_path_field(ann) and not Path(val).is_absolute():
            out[key] = str((base / val).resolve())
    return out


def _dict_of_models(ann: Any) -> type[BaseModel] | None:
    args: tuple[Any, ...] = tuple(getattr(ann, "__args__", ()))
    if getattr(ann, "__origin__", None) is dict and len(args) == 2:
        val = args[-1]
        if isinstance(val, type) and issubclass(val, BaseModel):
            return val
    return None


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


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment variable ``env_name`` (None if unset)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None


#: Query parameters whose value is a credential (``?apikey=…``, ``&token=…``).
_SECRET_PARAM = re.compile(r"key|token|secret|pass|pwd|auth|sig|credential", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with credentials masked: ``user:password@`` and secret query values.

    ``http://ops:pw@h/x?apikey=abc&db=s`` -> ``http://***@h/x?apikey=***&db=s``.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    secret_query = any(_SECRET_PARAM.search(k) for k, _ in parse_qsl(parts.query))
    if "@" not in netloc and not secret_query:
        return url  # nothing to mask: the URL as written (``sim://`` stays ``sim://``)
    if "@" in netloc:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{MASK}@{host}" + (f":{port}" if port is not None else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs],
                              safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_secrets(text: str) -> str:
    """``text`` with every URL in it passed through :func:`mask_url`."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def _mask(node: Any) -> Any:
    if isinstance(node, str):
        return mask_secrets(node)
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if isinstance(k, str) and k.endswith("_env") and isinstance(v, str):
                out[k] = f"{v} ({'set' if secret(v) else 'unset'})"
            else:
                out[k] = _mask(v)
        return out
    if isinstance(node, list | tuple):
        return [_mask(v) for v in node]
    if isinstance(node, Path):
        return mask_secrets(str(node))
    return node


def settings_to_toml(settings: Settings) -> str:
    """A loadable TOML file of ``settings`` (absolute paths, env var names, no secrets)."""
    return dump_toml(settings.model_dump(mode="json"), skip_none=True)


def effective_config(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets reduced to set/unset."""
    return _mask(settings.model_dump(mode="python"))


def dump_toml(data: dict[str, Any], *, skip_none: bool = False) -> str:
    """Render nested plain data as TOML (enough for :func:`effective_config`).

    ``skip_none`` leaves out None values (for a file to load again); otherwise
    they are shown as ``"<none>"``.
    """
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if v is None:
            return '"<none>"'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'

    def bare(k: str) -> str:
        return k if k and all(c.isalnum() or c in "_-" for c in k) else scalar(k)

    def walk(prefix: str, node: dict[str, Any]) -> None:
        simple = {
            k: v for k, v in node.items()
            if not isinstance(v, dict) and not (skip_none and v is None)
        }
        nested = {k: v for k, v in node.items() if isinstance(v, dict)}
        if prefix and simple:
            lines.append(f"[{prefix}]")
        for k, v in simple.items():
            lines.append(f"{bare(k)} = {scalar(v)}")
        if simple:
            lines.append("")
        for k, v in nested.items():
            key = bare(k)
            walk(f"{prefix}.{key}" if prefix else key, v)

    walk("", data)
    return "\n".join(lines).rstrip() + "\n"
