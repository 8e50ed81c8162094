"""Settings of the event stage: ``[associate]``, ``[locate]``, ``[magnitude]`` and
``[intensity]`` (sources of the defaults: each field's description and docs/location.md,
docs/consistency.md, docs/references.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from seismo.config.base import (
    DelayS,
    DepthKm,
    DistanceKm,
    GridKm,
    Magnitude,
    NonNegFloat,
    PosFloat,
    PosInt,
    StrictModel,
    TimeoutS,
)
from seismo.station.settings import MotionBandConfig

__all__ = [
    "AssociateConfig", "IntensityConfig", "LocateConfig", "MagnitudeConfig", "RegionalConfig",
]


class RegionalConfig(StrictModel):
    """Distant events (``[associate.regional]``; seismo.event.planewave, distant,
    depthphase and trains, docs/location.md "Distant events", docs/consistency.md): the
    plane-wave detector, the far-event evidence and the wave trains of distant events."""

    enabled: bool = Field(True, description="detect distant events by their P plane wave")
    min_velocity_kms: Annotated[float, Field(gt=1, le=30)] = Field(
        7.0,
        description="slowest P apparent velocity of a distant event's plane wave (km/s): Pn "
        "travels at 7.8-8.2 km/s under continents and oceans (iasp91 8.04, ak135 8.04; "
        "Kennett & Engdahl 1991, Kennett et al. 1995), so 7.0 leaves room for pick errors and "
        "a dipping Moho; crustal Pg (~6 km/s) is slower",
    )
    min_station_fraction: Annotated[float, Field(ge=0, le=1)] = Field(
        0.5, description="a plane wave needs P at this fraction of the live stations (and at "
        "[associate] far_min_p_stations): a distant event large enough to matter is picked "
        "across the network",
    )
    slowness_model_fraction: Annotated[float, Field(ge=0, le=0.5)] = Field(
        0.05, description="model error of a predicted slowness (fraction), added to 3 sigma of "
        "the observed one when the apparent velocity is compared with the predicted phase: a "
        "1-D model is good to a few per cent in velocity",
    )
    max_ellipse_fraction: Annotated[float, Field(gt=0, le=10)] = Field(
        0.25, description="a distant event whose 90 % ellipse semi-major axis exceeds this "
        "fraction of its distance from the network is 'unconstrained': stored and shown for "
        "review, never alerted, no magnitude (issue: the ellipse comparable to the distance)",
    )
    max_gap_deg: Annotated[float, Field(gt=180, le=360)] = Field(
        300.0, description="beyond this azimuthal gap an event whose distance no S-P time "
        "constrains is 'unconstrained' (its distance rests on the wavefront curvature alone)",
    )
    min_sp_stations: Annotated[int, Field(ge=1)] = Field(
        2, description="S-P times (S-labelled picks) that must agree for a distant event's "
        "distance; with fewer the earliest S-P time alone gives it (distant.first_sp)",
    )
    train_surface_velocity_kms: Annotated[float, Field(gt=0.5, le=10)] = Field(
        2.5, description="a distant event's wave train lasts at least until its slowest "
        "surface waves of interest pass (group velocity, km/s; Rayleigh waves at 3-60 s "
        "periods travel at 2.5-4 km/s, IASPEI 2013 Ms_BB window)",
    )
    train_tail_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        240.0, description="and its coda this long after them (s; design choice: the coda "
        "of an M6-7 at 3-5 deg lasts minutes, Herrmann 1975 duration magnitude)",
    )
    train_min_p_stations: Annotated[int, Field(ge=3)] = Field(
        3, description="a local event inside a distant event's wave train needs clean P "
        "onsets (P polarisation, not explained by the distant event) at this many stations",
    )
    depth_phase_min_stations: Annotated[int, Field(ge=3)] = Field(
        4, description="a depth phase (pP/sP) is a second plane wave of the same slowness at "
        "this many stations (and half of the P stations)",
    )
    max_depth_km: Annotated[float, Field(gt=0, le=700)] = Field(
        300.0, description="deepest source a depth phase may indicate (km)",
    )


class AssociateConfig(StrictModel):
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
        1000.0, description="largest extent of the association grid (km; Manila Trench "
        "~700-900 km); the network sets a smaller one (seismo.event.geometry)"
    )
    grid_spacing_km: GridKm = Field(
        3.0, description="largest inner grid step (km) near the network; the network sets a "
        "finer one: half its station spacing (seismo.event.geometry)"
    )
    grid_margin_km: Annotated[float, Field(ge=0, le=1000)] = Field(
        30.0, description="largest inner grid zone beyond the network (km); the network sets "
        "one aperture when smaller (seismo.event.geometry)"
    )
    azimuth_step_deg: Annotated[float, Field(ge=0.1, le=90)] = Field(
        4.0, description="outer polar grid azimuth step (deg)"
    )
    depths_km: tuple[Annotated[float, Field(ge=-11, le=700)], ...] | None = Field(
        None, description="trial depths of the grid (km below sea level); unset: from the "
        "highest station down to [locate] depth_max_km (seismo.event.geometry)"
    )
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
        4, description="simultaneous picks at this many stations are a glitch when the onset "
        "rate around them cannot explain them (seismo.event.associate.remove_glitches; 0: off)"
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
    regional: RegionalConfig = Field(default_factory=RegionalConfig)

    @property
    def s_minus_p_tolerance_s(self) -> float:
        """How far an S-P time may differ from the predicted one (s): the P and the S
        association tolerances at zero travel time (docs/consistency.md, check 2)."""
        return 2 * self.residual_floor_s

    @property
    def moveout_tolerance_s(self) -> float:
        """P travel-time spread below which the moveout is not judged (half of it, s;
        docs/consistency.md, check 3)."""
        return self.residual_floor_s


class LocateConfig(StrictModel):
    """Grid search (polar, coarse-to-fine) + Levenberg-Marquardt (docs/location.md)."""

    grid_spacing_km: GridKm = Field(
        5.0, description="largest coarse grid step (km) near the network; the network sets "
        "its station spacing when smaller (seismo.event.geometry)"
    )
    grid_margin_km: Annotated[float, Field(ge=0, le=1000)] = Field(
        30.0, description="largest constant-step zone beyond the network (km; the network: "
        "one aperture when smaller)"
    )
    max_distance_km: DistanceKm = Field(
        1000.0, description="largest search radius (km; covers the Manila Trench and Taiwan); "
        "the network sets a smaller one (seismo.event.geometry)"
    )
    depth_min_km: Annotated[float, Field(ge=-11, le=700)] | None = Field(
        None, description="shallowest depth (km below sea level); unset: the highest station "
        "(the velocity model's datum, seismo.event.geometry)"
    )
    depth_max_km: Annotated[float, Field(gt=0, le=700)] = 40.0
    depth_step_km: GridKm = Field(
        5.0, description="largest coarse depth step (km); the network: its coarse grid step"
    )
    max_iterations: Annotated[int, Field(gt=0, le=1000)] = 20
    pick_sigma_s: PosFloat = Field(0.1, description="floor of the pick standard error (s)")
    s_sigma_factor: Annotated[float, Field(ge=1)] = Field(
        2.0, description="S floor = factor x pick_sigma_s: S onsets in the P coda are ~2x less "
        "precise than P (Diehl et al. 2009 pick-quality classes [3P])"
    )
    fixed_depth_km: DepthKm = Field(
        10.0, description="the region's default depth (km below sea level) used when the depth "
        "is unconstrained (NEIC's 10 km for crustal events; ISC: regional default depths, "
        "Bondar & Storchak 2011 [3P]); a network of small aperture sets a shallower one "
        "(seismo.event.geometry)"
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


class MagnitudeConfig(StrictModel):
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
    ms_max_ml_difference: Annotated[float, Field(gt=0, le=5)] = Field(
        1.0, description="an Ms_BB, Mwp or Mwpd this far from a complete, unsaturated ML "
        "(below ms_ml_saturation) and confirmed by no magnitude from independent data is held "
        "for review (issue 22: noise through a geophone read as surface waves)",
    )
    ms_ml_saturation: Magnitude = Field(
        5.5, description="from this ML on, ML may saturate (Kanamori 1983 [3P]): a larger "
        "moment-type magnitude is then not held",
    )
    ms_other_event_margin: Annotated[float, Field(ge=0, le=10)] = Field(
        1.5, description="another event's picks in a station's surface-wave window leave "
        "the station out unless that event is known to be this much smaller (its waves "
        "then stand far below the surface waves at 3-60 s)",
    )
    # Mwp and Mwpd from the P displacement (seismo.event.moment): Tsuboi et al. (1995),
    # Lomax & Michelini (2009) [3P]
    mwp: bool = True
    mwp_min_deg: Annotated[float, Field(ge=0, le=30)] = Field(
        0.3, description="nearest station distance (deg): the P window before S must hold "
        "a few seconds (S-P 4 s at 0.3 deg)")
    mwp_max_deg: Annotated[float, Field(gt=0, le=30)] = Field(
        10.0, description="farthest station (deg): beyond, the whole-space spreading of the "
        "regional form departs further from Pn (docs/magnitude_intensity.md)")
    mwp_pre_event_s: Annotated[int, Field(ge=2, le=600)] = Field(
        20, description="pre-event seconds whose mean velocity is the baseline (Boore 2001)")
    mwp_max_window_s: Annotated[int, Field(ge=5, le=600)] = Field(
        120, description="longest P window integrated (s); the window ends before S anyway")
    mwp_min_snr: Annotated[float, Field(gt=0, le=100)] = Field(
        3.0, description="P displacement / pre-event displacement needed")
    mwp_min_stations: Annotated[int, Field(ge=1, le=1000)] = Field(
        3, description="stations an Mwp needs (their median; one or two decide nothing)")
    mwp_min_station_fraction: Annotated[float, Field(ge=0, le=1)] = Field(
        0.5, description="share of the stations with a long-period P window that must see "
        "the P displacement above the noise (seismo.event.moment)")
    mwp_min_magnitude: Magnitude = Field(
        5.0, description="Mwp and Mwpd below this are not reported (module docstring)")
    mwp_moho_km: DepthKm = Field(
        30.0, description="sources above use crustal rho and alpha, below Tsuboi's mantle")
    mwp_t0_level: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.5, description="T0: where the 1-5 Hz envelope last stands at this share of its "
        "peak (Lomax & Michelini 2009 read 0.9-0.2 levels [3P]; 0.5 keeps the regional P "
        "coda out)")
    prefer_mwp_from: Magnitude = Field(
        5.5, description="Mwp replaces a complete ML from here (ML saturates, Kanamori 1983)")
    mwpd_prefer_from: Magnitude = Field(
        7.5, description="Mwpd replaces a smaller preferred magnitude from here (great and "
        "slow ruptures; Early-est prefers Mwpd from 7.5-8 [3P])")
    # Mpd, the P-wave magnitude of the first seconds (seismo.event.pwave): Wu & Zhao (2006)
    mpd: bool = True
    pd_window_s: Annotated[float, Field(gt=0, le=10)] = Field(
        3.0, description="seconds of P read for Pd (Wu & Zhao 2006: the first 3 s)")
    pd_min_window_s: Annotated[float, Field(gt=0, le=10)] = Field(
        1.0, description="fewest seconds of P before a station counts (ElarmS-style "
        "growing window; design choice)")
    pd_max_distance_km: DistanceKm = Field(
        100.0, description="farthest station for Pd (hypocentral km; the relation's "
        "data are near-source records, design choice)")


class IntensityConfig(MotionBandConfig):
    """PGA/PGV processing and intensity prediction (see seismo/event/intensity.py for sources).

    ``freqmin``/``freqmax`` (the PGA/PGV band) come from
    :class:`~seismo.station.settings.MotionBandConfig`, which the station stage reads.
    """

    relation: Literal["bssa14", "yu2013"] = Field(
        "bssa14",
        description="predicted site intensity: 'bssa14' (default) PGA and PGV of Boore et al. "
        "(2014) with its China/Turkey term, conditioned on the observations, through the GB/T "
        "17742-2020 formulas (one instrumental basis with the observations); 'yu2013' the "
        "macroseismic relation of GB 18306-2015 (Yu, Li & Xiao 2013), from Ms 4.5 only",
    )
    macroseismic_region: Literal["moderate_strong", "eastern_strong"] = Field(
        "moderate_strong",
        description="zone of the Yu, Li & Xiao (2013) relation: South China and the Pearl "
        "River Delta lie in the moderate-to-strong earthquake region (docs/magnitude_intensity.md)",
    )
    reference_vs30: Annotated[float, Field(gt=50, le=3000)] = Field(
        500.0,
        description="Vs30 (m/s) assumed for a site or station that states none (design "
        "choice: the stiff-soil / soft-rock boundary, GB 50011 site class II upper bound [3P]); "
        "the macroseismic relation's average site",
    )
    china_axis: Literal["mean", "long"] = Field(
        "mean", description="China ellipse relation: mean of long/short axis, or long (upper)"
    )
    window_s: TimeoutS = Field(60.0, description="PGA/PGV window after the S arrival, s")
    max_anchor_correction: NonNegFloat = Field(
        1.5, description="macroseismic basis: bound on the observed-minus-predicted shift"
    )
    min_anchor_stations: PosInt = Field(
        2, description="macroseismic basis: observations needed before predictions shift"
    )
