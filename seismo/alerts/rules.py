"""Alert rules: who is told about an event (on-call seismologist, tsunami centre).

The rules are pure functions of an :class:`~seismo.model.Event`, the configured
thresholds (:class:`~seismo.alerts.settings.AlertRulesConfig`) and the monitored region.
Every threshold and its source is listed in ``docs/alerts.md``.

On-call group ("oncall")
    * a located event with ML >= ``oncall_min_magnitude`` inside the monitored
      region (``settings.network.region``), or
    * observed maximum intensity or any predicted site intensity (GB/T 17742)
      >= ``oncall_min_intensity``, or
    * any event that is ML-saturated or triggers the tsunami rule (the duty
      seismologist always hears about what the tsunami centre hears about), or
    * a located event inside the region with *neither* ML *nor* any intensity
      (``oncall_unmeasured``, on by default): an event with no magnitude is
      still an event. It happens when the stations lack usable instrument
      responses (or their amplitudes are unusable); the message says
      "magnitude unknown", and the seismologist judges it.

Tsunami centre ("tsunami")
    * the epicentre is offshore (GLOBE land mask via ``global-land-mask``, see
      :func:`offshore_decision`): P(at sea), the share of the location's probability
      density (``Event.epicentre_pdf``, the locator's grid-search likelihood) at sea,
      reaches ``offshore_min_sea_fraction``; an event without a density falls back to
      the region rule (the epicentre or its 1-sigma circle; the points sampling its 90 %
      ellipse or the P back-azimuth segment), AND
    * the event may be shallow: a fixed depth is no depth (``Event.depth_fixed``: the
      data did not resolve it; the messages say "depth not resolved"), so it cannot
      exclude a tsunami; a resolved depth (travel times, or a depth phase at regional
      distance) excludes one when depth minus its 1-sigma uncertainty is at least
      ``tsunami_max_depth_km`` (JMA NWPTAC: no tsunami potential for depth >= 100 km
      [V]), AND
    * either a **moment-type magnitude** (:func:`tsunami_magnitude`) reaches
      ``tsunami_min_magnitude`` (JMA NWPTAC advises for M >= 6.5 [V]): the message's
      severity follows that magnitude (:func:`tsunami_severity`);
    * or none is known yet and the ML (or its P-wave lower bound) reaches
      ``saturation_magnitude``, or records clip with no ML: the tsunami centre gets
      "Tsunami information: magnitude being determined" with severity **Unknown**
      (``AlertDecision.tsunami_pending``). A local ML never sets a tsunami severity:
      Wood-Anderson ML departs from Mw only around 6-7 (Kanamori 1983 [3P]), so "ML
      5.7" of an Mw 5.8 is no reason for a Severe message, and an ML that saturates
      for an Mw 7.5 is no measure of it either.

An event the data do not locate (``Event.unconstrained``: a distant event whose ellipse
is comparable to its distance, seismo.event.trains.unconstrained) alerts nobody until a
seismologist confirms it: it is stored, flagged and shown for review.

The tsunami magnitude is a moment-type magnitude only: an authoritative external
moment magnitude (``Event.external``: Mww, Mw, Mwc, ... of an FDSN event service or a
QuakeML bulletin), else the largest of seismo's own Mwp, Mwpd and Ms_BB that is not held
for review (a lower bound counts at its value). When the moment magnitude arrives the
message thread gets an Update with its severity, or, below ``tsunami_min_magnitude``,
one that says the criteria are no longer met.

ML saturation (the ML is only a lower bound)
    The event's ML is *saturated* when it is a P-wave lower bound at or above
    ``saturation_magnitude``, or when at least ``saturation_min_clipped_stations``
    stations clipped and the ML is at or above ``saturation_magnitude`` (or missing).
    Its message says "≥ X (ML saturated)" and the earthquake certainty is lowered one
    step; it informs the tsunami centre (above) but sets no tsunami severity.
    (An earlier rule called every ML >= 5.5 of an event far outside the network
    saturated and sent Severe tsunami messages on it; it is gone: distance does not
    saturate ML.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from seismo.alerts.region import in_region, is_ocean_many, is_offshore, uncertainty_region
from seismo.alerts.settings import AlertRulesConfig
from seismo.event.uncertainty import ellipse_scale
from seismo.geo import destination, distance_km
from seismo.model import Event

ONCALL = "oncall"
TSUNAMI = "tsunami"
ENGINEERS = "engineers"

CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def intensity_degree(intensity: float) -> int:
    """Integer GB/T 17742 degree of an instrumental intensity (round half up, 1..12)."""
    return int(min(12, max(1, math.floor(intensity + 0.5))))


_ROMAN = ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def roman(intensity: float) -> str:
    """Roman numeral of the integer degree of ``intensity`` (e.g. 5.6 -> "VI")."""
    return _ROMAN[intensity_degree(intensity)]


def severity_from_intensity(intensity: float | None) -> str:
    """CAP severity from a GB/T 17742 intensity (documented mapping, docs/alerts.md).

    Degrees after rounding: I-III Minor (not felt to felt by a few indoors), IV-V
    Moderate (felt by many, sleepers woken, no damage), VI-VII Severe (damage to
    some buildings), VIII and above Extreme (heavy damage) [3P: GB/T 17742-2020
    degree descriptions]. None -> "Unknown".
    """
    i = _finite(intensity)
    if i is None:
        return "Unknown"
    d = intensity_degree(i)
    if d < 4:
        return "Minor"
    if d < 6:
        return "Moderate"
    if d < 8:
        return "Severe"
    return "Extreme"


def tsunami_severity(magnitude: float | None) -> str:
    """CAP severity of a tsunami-potential message from its moment-type magnitude.

    Bands follow the magnitude ranges of PTWC threat messages [3P: 6.5-7.0 no
    widespread threat; 7.1-7.5 hazardous waves possible within 300 km; 7.6-7.8
    within 1000 km; >= 7.9 beyond]: Moderate, Severe, Severe, Extreme. No moment-type
    magnitude yet ("magnitude being determined"): Unknown, never Severe on a local ML.
    """
    m = _finite(magnitude)
    if m is None:
        return "Unknown"
    if m >= 7.85:
        return "Extreme"
    if m >= 7.05:
        return "Severe"
    return "Moderate"


def tsunami_radius_km(magnitude: float | None, pending: bool = False) -> float:
    """Radius (km) of the tsunami-potential area: 300 km below M 7.6, else 1000 km [3P,
    PTWC]; 1000 km while the magnitude is being determined."""
    m = _finite(magnitude)
    if pending or m is None or m >= 7.55:
        return 1000.0
    return 300.0


@dataclass(frozen=True)
class AlertDecision:
    """What the rules say about one event.

    ``max_intensity`` is the larger of the observed maximum and the highest
    predicted site intensity (GB/T 17742). ``nearest_station_km`` is the
    epicentral distance to the nearest associated station (km), or to the
    monitored region when the event has no arrivals.
    """

    event_id: str
    oncall: bool
    tsunami: bool
    in_region: bool
    offshore: bool | None  # None: not evaluated (neither big enough nor saturated)
    shallow: bool
    saturated: bool
    max_intensity: float | None
    nearest_station_km: float | None
    reasons: tuple[str, ...] = ()
    tsunami_magnitude: float | None = None  # the moment-type magnitude the tsunami rule used
    tsunami_magnitude_type: str = ""  # its type, "type (agency)" when authoritative
    # the tsunami centre is informed before a moment-type magnitude exists: "Tsunami
    # information: magnitude being determined", severity Unknown
    tsunami_pending: bool = False
    tsunami_severity: str = "Unknown"  # CAP severity of the tsunami message
    sea_fraction: float | None = None  # P(at sea) of the epicentre (or share of its region)
    depth_resolved: bool = True  # False: the depth was fixed, the data did not resolve it

    @property
    def groups(self) -> tuple[str, ...]:
        """Recipient groups to alert, in delivery order."""
        out = []
        if self.oncall:
            out.append(ONCALL)
        if self.tsunami:
            out.append(TSUNAMI)
        return tuple(out)


#: Moment-type magnitudes: the only ones that set a tsunami severity. seismo's own
#: Mwp, Mwpd (from the P wave) and Ms_BB (follows Mw to about 8: IASPEI 2013 / Bormann
#: 2012 NMSOP-2 ch. 3 [3P]); an agency's Mw of any kind (W phase, centroid, body or
#: regional waveform inversion).
MOMENT_TYPES = ("Mwp", "Mwpd", "Ms_BB")
AUTHORITATIVE_MOMENT_PREFIX = "Mw"


def _ml(event: Event) -> tuple[float | None, bool]:
    """The event's ML value and whether it is a P-wave lower bound."""
    for m in event.magnitudes:
        if m.type == "ML" and not m.agency:
            return _finite(m.value), m.lower_bound
    if (event.magnitude_type or "ML") == "ML":
        return _finite(event.magnitude), event.magnitude_lower_bound
    return None, False


def tsunami_magnitude(event: Event) -> tuple[float | None, str, bool]:
    """(magnitude, "type" or "type (agency)", authoritative) for the tsunami rule: a
    moment-type magnitude only (module docstring), (None, "", False) before one exists."""
    ext = [(m, e) for e in event.external
           if (m := _finite(e.magnitude)) is not None
           and (e.magnitude_type or "").startswith(AUTHORITATIVE_MOMENT_PREFIX)]
    if ext:
        m, e = max(ext, key=lambda x: x[0])
        return m, f"{e.magnitude_type} ({e.agency})", True
    own = [m for m in event.magnitudes if m.type in MOMENT_TYPES and m.published
           and (_finite(m.value) is not None)]
    if own:
        best = max(own, key=lambda m: m.value)
        return best.value, best.type, False
    return None, "", False


def max_intensity(event: Event) -> float | None:
    """Highest of the observed max intensity and the predicted site intensities (GB/T 17742)."""
    vals = [_finite(event.max_intensity)]
    vals += [_finite(s.intensity_cn) for s in event.site_intensities]
    present = [v for v in vals if v is not None]
    return max(present) if present else None


def _distance_to_region_km(
    lat: float, lon: float, region: tuple[float, float, float, float]
) -> float:
    la0, la1, lo0, lo1 = region
    return float(distance_km(lat, lon, min(max(lat, la0), la1), min(max(lon, lo0), lo1)))


def nearest_station_km(event: Event, region: tuple[float, float, float, float]) -> float | None:
    """Epicentral distance (km) to the nearest contributing station, else to the region."""
    dists = [a.distance_km for a in event.arrivals if math.isfinite(a.distance_km)]
    dists += [
        s.epi_distance_km for s in event.station_intensities if math.isfinite(s.epi_distance_km)
    ]
    if dists:
        return min(dists)
    if math.isfinite(event.latitude) and math.isfinite(event.longitude):
        return _distance_to_region_km(event.latitude, event.longitude, region)
    return None


def is_saturated(
    event: Event, rules: AlertRulesConfig, region: tuple[float, float, float, float]
) -> tuple[bool, list[str]]:
    """Whether the event's ML is only a lower bound (see module docstring), with reasons.

    An ML read on P amplitudes only (S not yet in the data) is a lower bound too
    when it reaches ``saturation_magnitude``. ``region`` is not used any more (the
    distance rule is gone); it stays in the signature for the callers.
    """
    mag, p_only = _ml(event)
    if mag is None and (event.magnitude_type or "ML") != "ML":
        return False, []  # no ML: nothing to saturate
    reasons: list[str] = []
    if p_only and mag is not None and mag >= rules.saturation_magnitude:
        reasons.append(
            f"ML {mag:.1f} >= {rules.saturation_magnitude:g} read on P amplitudes only "
            "(S not yet in the data): a lower bound"
        )
    clipped = event.n_clipped_stations >= rules.saturation_min_clipped_stations
    if clipped and (mag is None or mag >= rules.saturation_magnitude):
        reasons.append(
            f"{event.n_clipped_stations} stations clipped "
            f"(>= {rules.saturation_min_clipped_stations}) with ML "
            f"{'unknown' if mag is None else f'{mag:.1f}'}"
        )
    return bool(reasons), reasons


def evaluate(
    event: Event, rules: AlertRulesConfig, region: tuple[float, float, float, float]
) -> AlertDecision:
    """Apply the alert rules to one event. A rejected event alerts nobody."""
    reasons: list[str] = []
    mag = _finite(event.magnitude)
    imax = max_intensity(event)
    located = math.isfinite(event.latitude) and math.isfinite(event.longitude)
    inside = located and in_region(event.latitude, event.longitude, region)
    dist = nearest_station_km(event, region)
    if event.status == "rejected" or not located or (
            event.unconstrained and event.status != "confirmed"):
        why = ("rejected by review" if event.status == "rejected" else "not located"
               if not located else "location not constrained by the data (stored for "
               "review, not alerted): " + "; ".join(event.flags))
        return AlertDecision(
            event.id, False, False, inside, False, False, False, imax, dist, (why,),
            depth_resolved=not event.depth_fixed,
        )

    saturated, sat_reasons = is_saturated(event, rules, region)
    reasons += [f"ML saturated: {r}" for r in sat_reasons]

    depth = _finite(event.depth_km)
    vunc = _finite(event.vertical_uncertainty_km) or 0.0
    # a fixed depth is no depth: the data did not resolve it, so the event may be shallow
    # (and the messages say "depth not resolved"), whatever the fixed value
    resolved = depth is not None and not event.depth_fixed
    shallowest = max(0.0, depth - max(0.0, vunc)) if resolved and depth is not None else None
    shallow = shallowest is None or shallowest < rules.tsunami_max_depth_km

    tmag, ttype, _authoritative = tsunami_magnitude(event)
    big = tmag is not None and tmag >= rules.tsunami_min_magnitude
    ml, _ = _ml(event)
    # before a moment-type magnitude: a possibly large event informs the tsunami centre,
    # "magnitude being determined", severity Unknown (never a severity on ML)
    pending = tmag is None and (
        saturated or (ml is not None and ml >= rules.saturation_magnitude)
    )
    offshore: bool | None = None  # the land mask costs ~1-2 s: asked only when it matters
    frac: float | None = None
    where = ""
    if big or pending:
        offshore, frac, where = offshore_decision(event, rules)
        for ext in event.external:  # an authoritative epicentre at sea counts too
            known = math.isfinite(ext.latitude) and math.isfinite(ext.longitude)
            if not offshore and known and is_offshore(ext.latitude, ext.longitude):
                offshore, where = True, f"epicentre of {ext.agency} at sea"
    tsunami = bool(offshore) and shallow and (big or pending)
    severity = tsunami_severity(tmag if big else None)
    if tsunami:
        why = (
            f"{ttype} {tmag:.1f} >= {rules.tsunami_min_magnitude:g}"
            if big and tmag is not None
            else "no moment magnitude yet (magnitude being determined), ML "
            + ("unknown" if ml is None else f"{ml:.1f}")
        )
        reasons.append(
            f"tsunami: offshore ({where}), "
            + ("depth not resolved" if shallowest is None else
               f"shallowest depth {shallowest:.0f} km < {rules.tsunami_max_depth_km:g} km")
            + f", {why}"
        )
    elif (big or pending) and offshore and not shallow:
        reasons.append(
            f"no tsunami: the depth ({depth:.0f} +- {vunc:.0f} km"
            f"{', ' + event.depth_method if event.depth_method else ''}) is at least "
            f"{rules.tsunami_max_depth_km:g} km"
        )

    oncall = False
    if inside and mag is not None and mag >= rules.oncall_min_magnitude:
        oncall = True
        reasons.append(f"oncall: ML {mag:.1f} >= {rules.oncall_min_magnitude:g} in region")
    if imax is not None and imax >= rules.oncall_min_intensity:
        oncall = True
        reasons.append(f"oncall: intensity {imax:.1f} >= {rules.oncall_min_intensity:g}")
    if saturated or tsunami:
        oncall = True
    if (rules.oncall_unmeasured and inside and mag is None and imax is None
            and not oncall):
        oncall = True
        reasons.append("oncall: located in region, magnitude and intensity unknown "
                       "(no usable amplitudes)")
    return AlertDecision(
        event_id=event.id,
        oncall=oncall,
        tsunami=tsunami,
        in_region=inside,
        offshore=offshore,
        shallow=shallow,
        saturated=saturated,
        max_intensity=imax,
        nearest_station_km=dist,
        reasons=tuple(reasons),
        tsunami_magnitude=tmag,
        tsunami_magnitude_type=ttype,
        sea_fraction=frac,
        tsunami_pending=tsunami and not big,
        tsunami_severity=severity,
        depth_resolved=resolved,
    )


def offshore_probability(event: Event, rules: AlertRulesConfig) -> tuple[bool, float, str]:
    """(offshore, P(at sea), how) from the location's probability density.

    P(at sea) = sum of p over the samples of ``Event.epicentre_pdf`` (the grid-search
    likelihood of the locator, :func:`seismo.event.uncertainty.epicentre_pdf`) that lie
    at sea (GLOBE 1 km land mask); the event is offshore when it reaches
    ``offshore_min_sea_fraction`` (a tsunami message must not be lost to a coastal
    location error: a quarter of the probability at sea is already material;
    docs/alerts.md).
    """
    pts = [(la, lo) for la, lo, _ in event.epicentre_pdf]
    sea = is_ocean_many(pts)
    prob = float(sum(p for (_, _, p), s in zip(event.epicentre_pdf, sea, strict=True) if s))
    prob = min(max(prob, 0.0), 1.0)
    off = prob >= rules.offshore_min_sea_fraction
    return off, round(prob, 3), f"P(at sea) {100 * prob:.0f} % from the location's density"


def offshore_decision(
    event: Event, rules: AlertRulesConfig
) -> tuple[bool, float | None, str]:
    """(offshore, P(at sea) or sea fraction of the region or None, how it was decided).

    With the location's probability density (``Event.epicentre_pdf``, every event the
    pipeline locates): :func:`offshore_probability`. Without it (an event stored before
    the density was kept, an external-only solution), the region rule below.

    A well-constrained epicentre (depth free and 90 % semi-major axis <=
    ``offshore_region_min_km``) is offshore when it, or one of eight points on
    its 1-sigma circle (capped at ``offshore_uncertainty_max_km``), is sea.
    Otherwise the whole uncertainty region counts
    (:func:`seismo.alerts.region.uncertainty_region`: the 90 % ellipse, or the
    back-azimuth segment when the ellipse has no orientation): the event is
    offshore when the epicentre is sea or at least ``offshore_min_sea_fraction``
    of the region's points are. docs/alerts.md explains the rule.
    """
    if event.epicentre_pdf:
        return offshore_probability(event, rules)
    lat, lon = event.latitude, event.longitude
    a90 = _finite(event.ellipse_90_major_km)
    b90 = _finite(event.ellipse_90_minor_km)
    unc = _finite(event.horizontal_uncertainty_km) or 0.0
    if a90 is None and unc > 0.0:
        a90 = unc * ellipse_scale(0.90)  # no ellipse: a circle of the 90 % radius
    wide = a90 is not None and a90 > rules.offshore_region_min_km
    if not (event.depth_fixed or wide):
        probe = min(max(unc, 0.0), rules.offshore_uncertainty_max_km)
        off = is_offshore(lat, lon, probe)
        return off, None, "epicentre" + (f" or its {probe:.0f} km circle" if probe else "")
    major = a90 if a90 is not None else rules.offshore_uncertainty_max_km
    baz = None
    if event.backazimuth_deg is not None and event.arrivals:
        # the ray starts at the nearest station that picked the event
        k = int(np.argmin([a.distance_km for a in event.arrivals]))
        near = event.arrivals[k]
        nla, nlo = destination(lat, lon, near.azimuth_deg, near.distance_km)
        baz = (nla, nlo, float(event.backazimuth_deg))
    pts = uncertainty_region(
        lat, lon, major, b90 if b90 is not None else major,
        event.ellipse_azimuth_deg, backazimuth=baz,
    )
    sea = is_ocean_many(pts)
    frac = sum(sea) / len(sea)
    off = bool(sea[0]) or frac >= rules.offshore_min_sea_fraction
    return off, round(frac, 3), (
        f"{100 * frac:.0f} % of the {major:.0f} km uncertainty region at sea"
        + (", epicentre at sea" if sea[0] else "")
    )


def earthquake_certainty(event: Event, saturated: bool) -> str:
    """CAP certainty of the earthquake parameters.

    Confirmed by review -> Observed; automatic -> Likely; saturated lowers one
    step (Observed -> Likely, Likely -> Possible) because the magnitude is a
    lower bound.
    """
    base = "Observed" if event.status == "confirmed" else "Likely"
    if saturated:
        base = CERTAINTIES[CERTAINTIES.index(base) + 1]
    return base


#: CAP certainty of a tsunami-potential message. seismo forecasts a *potential*,
#: never observes a wave. It is not lowered further for a saturated ML: the true
#: magnitude is at least the reported one, so lowering it would under-report.
TSUNAMI_CERTAINTY = "Possible"
