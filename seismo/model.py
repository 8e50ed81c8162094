"""Domain results: small frozen dataclasses that flow between pipeline stages.

Times are ObsPy :class:`~obspy.UTCDateTime` (UTC). Every class round-trips
through plain JSON-able dicts (``to_dict`` / ``from_dict``) so that results can
cross process boundaries (Airflow XCom, files) without pickling.

Units are in the field names or docstrings: seconds, km, degrees, nm, m/s, m/s².
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Self, TypeVar

from obspy import UTCDateTime

Phase = Literal["P", "S"]
#: An arrival's phase: the first arrival of its family, or an explicit crustal (g) or
#: mantle head-wave (n) phase of the 1-D model (seismo.event.velocity).
ArrivalPhase = Literal["P", "S", "Pg", "Pn", "Sg", "Sn"]
Polarity = Literal["positive", "negative"]
ChannelKind = Literal["velocity", "acceleration"]
ReviewStatus = Literal["automatic", "confirmed", "rejected"]
#: Which path made an event version: the minute-by-minute window pass (the DAG,
#: ``seismo detect``; authoritative) or the real-time detector (``seismo stream``).
Solution = Literal["window", "stream"]
HealthStatus = Literal["OK", "WARN", "FAIL"]

T = TypeVar("T")

#: Tolerance when deciding whether a sample lies inside a span, in samples.
SAMPLE_EDGE_TOL = 1e-4


def half_open_range(
    t0: UTCDateTime, sampling_rate: float, npts: int, start: UTCDateTime, end: UTCDateTime
) -> tuple[int, int]:
    """Sample indices ``[i0, i1)`` of a trace (first sample at ``t0``) whose times lie in
    ``[start, end)``; ``i1 <= i0`` when none do.

    The one rule by which the feeds cut windows (:func:`seismo.io.feeds.base.trim_half_open`)
    and the station processing cuts a longer record into windows, so both hold the
    same samples.
    """
    if sampling_rate <= 0 or npts <= 0:
        return 0, 0
    i0 = max(0, math.ceil((start - t0) * sampling_rate - SAMPLE_EDGE_TOL))
    i1 = min(npts, math.ceil((end - t0) * sampling_rate - SAMPLE_EDGE_TOL))
    return i0, i1


def _enc(v: Any) -> Any:
    if isinstance(v, UTCDateTime):
        return {"__utc__": v.isoformat() + "Z"}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _enc(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, list | tuple):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {k: _enc(x) for k, x in v.items()}
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _dec(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"__utc__"}:
            return UTCDateTime(v["__utc__"])
        return {k: _dec(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


class _Serial:
    def to_dict(self) -> dict[str, Any]:
        out = _enc(self)
        assert isinstance(out, dict)
        return out

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        kwargs: dict[str, Any] = {}
        hints = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for name, value in data.items():
            if name not in hints:
                continue
            nested = _NESTED.get((cls.__name__, name))
            default = hints[name].default
            if value is None and isinstance(default, float) and math.isnan(default):
                kwargs[name] = default  # a NaN field is written as null (JSON has no NaN)
            elif nested is not None and value is not None:
                kwargs[name] = tuple(nested.from_dict(x) for x in value)
            else:
                val = _dec(value)
                kwargs[name] = tuple(val) if isinstance(val, list) else val
        return cls(**kwargs)


def seed_id(network: str, station: str, location: str, channel: str) -> str:
    """The SEED identifier ``NET.STA.LOC.CHA``."""
    return f"{network}.{station}.{location}.{channel}"


@dataclass(frozen=True)
class Pick(_Serial):
    """A phase onset on one channel.

    ``id`` is stable: it depends only on the channel, phase and the onset time
    rounded to 10 ms, so a pick seen in overlapping windows has one identity.
    """

    id: str
    network: str
    station: str
    location: str
    channel: str
    phase: Phase
    time: UTCDateTime
    uncertainty_s: float
    snr: float
    amplitude: float  # peak absolute amplitude of the filtered trace after onset (counts)
    polarity: Polarity | None = None
    kind: ChannelKind = "velocity"
    trigger_on: UTCDateTime | None = None
    trigger_off: UTCDateTime | None = None
    #: S only: the onset of an emergent S in a long P coda, from an AIC window a share
    #: of S-P wide (:func:`seismo.station.picker.onset.s_aic_lead_s`); None where it is
    #: ``time``. Read by the distant-event locator only (:mod:`seismo.event.distant`).
    early_onset: UTCDateTime | None = None

    @property
    def station_id(self) -> str:
        return f"{self.network}.{self.station}"

    @property
    def seed_id(self) -> str:
        return seed_id(self.network, self.station, self.location, self.channel)

    @staticmethod
    def make_id(sid: str, phase: str, time: UTCDateTime) -> str:
        # 10 ms resolution: centiseconds since epoch, as an integer.
        cs = round(float(time.timestamp) * 100.0)
        return f"{sid}.{phase}.{cs}"


@dataclass(frozen=True)
class AmplitudeSeries(_Serial):
    """Per-second peak amplitudes of one station, for magnitude and intensity.

    Element ``i`` covers ``[start + i*step_s, start + (i+1)*step_s)``. NaN (None
    in JSON) marks seconds without data. ``clipped`` lists the indices of
    seconds where a channel of the station touched digitizer full scale.
    """

    network: str
    station: str
    start: UTCDateTime
    step_s: float
    wa_n_nm: tuple[float | None, ...] = ()  # Wood-Anderson (gain 1) |disp| peak, north, nm
    wa_e_nm: tuple[float | None, ...] = ()  # same, east
    pga_ms2: tuple[float | None, ...] = ()  # 3-component vector-sum peak acceleration, m/s²
    pgv_ms: tuple[float | None, ...] = ()  # 3-component vector-sum peak velocity, m/s
    # larger horizontal peak of unfiltered (instrument-corrected) motion, for MMI (Worden 2012)
    pga_h_ms2: tuple[float | None, ...] = ()  # m/s²
    pgv_h_ms: tuple[float | None, ...] = ()  # m/s
    # vertical ground velocity in the Ms_BB band (flat 3-60 s), |peak| per step, nm/s (IASPEI
    # 2013), on a sensor usable at long periods (seismo.station.response.long_period_usable)
    lp_z_nms: tuple[float | None, ...] = ()
    # the same sensor's broadband vertical displacement (velocity high-passed at 0.005 Hz,
    # summed), the *mean* of each step, nm (signed, offset arbitrary): its sum over the steps
    # of a P window is the displacement integral of Mwp and Mwpd
    dz_nm: tuple[float | None, ...] = ()
    # vertical velocity 1-5 Hz, |peak| per step, nm/s: the envelope of the P duration T0
    hf_z_nms: tuple[float | None, ...] = ()
    # vertical displacement high-passed at 0.075 Hz, |peak| per step, nm: Pd (Wu & Zhao 2006)
    pd_z_nm: tuple[float | None, ...] = ()
    clipped: tuple[int, ...] = ()
    # "LOC.CHA" of the channels behind wa_n_nm, wa_e_nm (e.g. ("00.HHN", "00.HHE")) and behind
    # pga_ms2/pgv_ms (e.g. ("10.HNZ", "10.HNN", "10.HNE")); behind lp_z_nms/dz_nm and
    # behind hf_z_nms/pd_z_nm (one vertical each)
    wa_channels: tuple[str, ...] = ()
    motion_channels: tuple[str, ...] = ()
    lp_channels: tuple[str, ...] = ()
    z_channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class StationResult(_Serial):
    """What one station contributes to one window (no waveforms)."""

    network: str
    station: str
    picks: tuple[Pick, ...] = ()
    amplitudes: AmplitudeSeries | None = None
    error: str | None = None  # the feed or processing error, if any
    n_samples: int = 0
    channels: tuple[str, ...] = ()

    @property
    def station_id(self) -> str:
        return f"{self.network}.{self.station}"


@dataclass(frozen=True)
class Arrival(_Serial):
    pick_id: str
    network: str
    station: str
    channel: str
    phase: ArrivalPhase
    time: UTCDateTime
    distance_km: float  # epicentral
    azimuth_deg: float  # source to station
    residual_s: float
    weight: float = 1.0


@dataclass(frozen=True)
class StationMagnitude(_Serial):
    network: str
    station: str
    channel: str  # component used, e.g. "HHN"
    amplitude_nm: float  # zero-to-peak Wood-Anderson amplitude, gain 1, nm
    hypo_distance_km: float
    ml: float
    used: bool = True


@dataclass(frozen=True)
class Magnitude(_Serial):
    """One network magnitude of an event, with its type (ML, Ms_BB, Mw, ...).

    ``lower_bound`` marks a value that is only a lower limit (an ML read on P
    amplitudes before S reached the stations, an Mwp whose rupture outlasted the P
    window); such a value is never reported as a plain magnitude. ``agency`` is empty
    for seismo's own magnitudes and names the author of an external (authoritative)
    one. ``duration_s``: the apparent source duration T0 behind a P-wave moment
    magnitude (Mwp, Mwpd), s. ``held``: why the value is held for review and not
    published (empty: published); a held magnitude is stored and shown to review, never
    preferred, alerted or written into a message.
    """

    type: str
    value: float
    uncertainty: float | None = None
    n_stations: int = 0
    lower_bound: bool = False
    agency: str = ""
    duration_s: float | None = None
    held: str = ""

    @property
    def published(self) -> bool:
        """Whether the value may be published (not held for review)."""
        return not self.held

    def label(self) -> str:
        """The magnitude for people: type, value, uncertainty and station count, e.g.
        "Mwp 7.2 ± 0.2 (8 stations)", "ML ≥ 4.3 (3 stations)", "Mww 7.4 (USGS)"."""
        sign = " ≥ " if self.lower_bound else " "
        unc = "" if self.uncertainty is None else f" ± {self.uncertainty:.1f}"
        who = [f"{self.n_stations} station{'s' if self.n_stations != 1 else ''}"] \
            if self.n_stations else []
        if self.agency:
            who.append(self.agency)
        extra = f" ({', '.join(who)})" if who else ""
        return f"{self.type}{sign}{self.value:.1f}{unc}{extra}"


@dataclass(frozen=True)
class ExternalSolution(_Serial):
    """An authoritative solution of the same earthquake (FDSN event service or QuakeML file).

    ``source`` says where it came from (a URL or a file path); ``public_id`` is the
    QuakeML resource id. Times UTC, depth km, magnitude with its type.
    """

    agency: str
    public_id: str
    time: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float | None
    magnitude: float | None
    magnitude_type: str | None
    source: str = ""


@dataclass(frozen=True)
class StationIntensity(_Serial):
    network: str
    station: str
    latitude: float
    longitude: float
    pga_ms2: float
    pgv_ms: float
    intensity_cn: float  # GB/T 17742-2020 instrumental intensity, one decimal
    mmi: float  # Worden et al. (2012), from the larger horizontal peak (unfiltered)
    epi_distance_km: float = float("nan")
    # the record reached past the S arrival (False: P waves only, a lower bound)
    complete: bool = True


@dataclass(frozen=True)
class SiteIntensity(_Serial):
    """A predicted intensity at a site. ``sigma_cn``: its standard deviation on the Chinese
    scale (degrees; None: not known); ``basis``: "instrumental" (a ground-motion model's
    PGA and PGV through the GB/T 17742-2020 formulas, conditioned on the observations) or
    "macroseismic" (an isoseismal relation, valid from Ms 4.5)."""

    name: str
    kind: str  # district, nuclear_plant, shelter, ...
    latitude: float
    longitude: float
    distance_km: float  # hypocentral
    intensity_cn: float
    mmi: float
    sigma_cn: float | None = None
    basis: str = "instrumental"


@dataclass(frozen=True)
class Event(_Serial):
    """A located event. ``id`` depends only on its earliest pick (stable across windows)."""

    id: str
    time: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float
    rms_s: float
    azimuthal_gap_deg: float
    n_phases: int
    n_stations: int
    horizontal_uncertainty_km: float
    vertical_uncertainty_km: float
    outside_network: bool
    arrivals: tuple[Arrival, ...] = ()
    picks: tuple[Pick, ...] = ()
    depth_fixed: bool = False  # the data did not resolve depth: depth_km was fixed, not solved
    magnitude: float | None = None
    magnitude_type: str = "ML"
    magnitude_uncertainty: float | None = None
    # the preferred magnitude is only a lower bound (ML on P amplitudes only: S not yet in)
    magnitude_lower_bound: bool = False
    magnitudes: tuple[Magnitude, ...] = ()  # every network magnitude, the preferred one included
    # epicentral confidence ellipses (2-D marginal, docs/location.md): semi-axes km, azimuth
    # of the major axis in degrees from north; NaN when not computed
    ellipse_68_major_km: float = float("nan")
    ellipse_68_minor_km: float = float("nan")
    ellipse_90_major_km: float = float("nan")
    ellipse_90_minor_km: float = float("nan")
    ellipse_azimuth_deg: float = float("nan")
    backazimuth_deg: float | None = None  # plane-wave fit of the P picks (towards the source)
    # the epicentre's probability density on a grid, ((lat, lon, p), ...), p summing to 1
    # (seismo.event.uncertainty.epicentre_pdf): P(at sea) is taken from it
    epicentre_pdf: tuple[tuple[float, float, float], ...] = ()
    external: tuple[ExternalSolution, ...] = ()  # matched authoritative solutions
    n_magnitude_stations: int = 0
    station_magnitudes: tuple[StationMagnitude, ...] = ()
    station_intensities: tuple[StationIntensity, ...] = ()
    site_intensities: tuple[SiteIntensity, ...] = ()
    max_intensity: float | None = None  # highest observed GB/T 17742-2020 intensity
    max_mmi: float | None = None
    # why predicted site intensities exceed the observations, when they do (seismo.event.intensity)
    intensity_note: str = ""
    n_clipped_stations: int = 0
    # why this solution is doubtful, each reason in words (consistency checks that flag
    # rather than drop, docs/consistency.md; why it is unconstrained): shown by review, the
    # console and CAP
    flags: tuple[str, ...] = ()
    # the data do not constrain the location (a distant event whose 90 % ellipse is
    # comparable to its distance, seismo.event.trains.unconstrained): stored, flagged and
    # shown for review; no magnitude, never alerted
    unconstrained: bool = False
    # how the depth is known: "" travel times (depth_fixed False) or fixed (depth_fixed);
    # "depth phase": a pP/sP delay at regional distance (seismo.event.depthphase)
    depth_method: str = ""
    status: ReviewStatus = "automatic"
    version: int = 1
    creation_time: UTCDateTime | None = None  # when this version was made (UTC)
    solution: Solution = "window"
    # announced late: its data reached the real-time detector long after the origin (a
    # backlog); its messages say so (seismo.shells.stream_events)
    late: bool = False
    # review (seismo.shells.review): who, when (UTC) and why; None for automatic versions
    reviewer: str | None = None
    review_time: UTCDateTime | None = None
    review_comment: str | None = None


@dataclass(frozen=True)
class EventSummary(_Serial):
    """What every list of events says about each: id, origin and size.

    The one summary type of the project: the registry of known events reads it from
    the store, the outbox and the stream state (:mod:`seismo.shells.registry`); the
    outbox records it as the event alerted (:class:`seismo.alerts.outbox.QueuedMessage`);
    a reference catalogue extends it (:class:`seismo.io.catalog.CatalogEvent`).

    Origin time UTC, degrees, km. ``depth_km`` and ``magnitude`` may be unknown;
    ``version`` 0 means "not known" (e.g. an outbox entry, which records no version).
    """

    id: str
    time: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float | None = None
    magnitude: float | None = None
    version: int = 0
    magnitude_type: str | None = None

    @classmethod
    def of(cls, e: Event, **more: Any) -> Self:
        """The summary of an event version (``more``: the fields a subclass adds, e.g.
        a :class:`~seismo.io.catalog.CatalogEvent`'s picks)."""
        return cls(id=e.id, time=e.time, latitude=e.latitude, longitude=e.longitude,
                   depth_km=e.depth_km, magnitude=e.magnitude, version=e.version,
                   magnitude_type=e.magnitude_type if e.magnitude is not None else None,
                   **more)


@dataclass(frozen=True)
class StationHealth(_Serial):
    """Health of one channel (or station when ``channel`` is "") over a window."""

    network: str
    station: str
    location: str
    channel: str
    time: UTCDateTime  # end of the assessed window
    status: HealthStatus
    reasons: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)


_NESTED: dict[tuple[str, str], type[_Serial]] = {
    ("StationResult", "picks"): Pick,
    ("Event", "arrivals"): Arrival,
    ("Event", "picks"): Pick,
    ("Event", "station_magnitudes"): StationMagnitude,
    ("Event", "station_intensities"): StationIntensity,
    ("Event", "site_intensities"): SiteIntensity,
    ("Event", "magnitudes"): Magnitude,
    ("Event", "external"): ExternalSolution,
}


def station_result_from_dict(data: dict[str, Any]) -> StationResult:
    """Decode a :class:`StationResult` including its nested amplitude series."""
    res = StationResult.from_dict({k: v for k, v in data.items() if k != "amplitudes"})
    amp = data.get("amplitudes")
    return dataclasses.replace(res, amplitudes=AmplitudeSeries.from_dict(amp) if amp else None)
