"""Alert rules: who is told about an event (on-call seismologist, tsunami centre).

The rules are pure functions of an :class:`~seismo.model.Event`, the configured
thresholds (:class:`~seismo.config.AlertRulesConfig`) and the monitored region.
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
    * the epicentre is offshore (GLOBE land mask via ``global-land-mask``; the
      epicentre or any point of its horizontal-uncertainty circle is sea), AND
    * the shallowest plausible depth (depth minus its 1-sigma uncertainty) is
      below ``tsunami_max_depth_km`` (JMA NWPTAC: no tsunami potential for
      depth >= 100 km [V]), AND
    * ML >= ``tsunami_min_magnitude`` (JMA NWPTAC advises for M >= 6.5 [V]),
      OR the event is ML-saturated (below).

ML saturation (the magnitude is only a lower bound)
    A local ML saturates for great earthquakes (Wood-Anderson amplitudes of
    ~1 s period stop growing near ML 7 [3P, Kanamori 1983]), clipped records
    under-estimate amplitudes, and a small-aperture city network mislocates and
    under-estimates distant events (an epicentral distance error of 200 km at
    700 km changes the IASPEI ML by ~0.5). The event is *saturated* when ML >=
    ``saturation_magnitude`` (or ML is missing while records clip) and either

    * ``n_clipped_stations >= saturation_min_clipped_stations``, or
    * the event is outside the network and its nearest station is at least
      ``saturation_far_distance_km`` away.

    A saturated event's magnitude is reported as "≥ X (ML saturated)", the
    earthquake certainty is lowered one step, and offshore + shallow is enough
    for the tsunami centre to be told (no magnitude threshold beyond
    ``saturation_magnitude``): a great offshore event is never under-reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from seismo.alerts.region import in_region, is_offshore
from seismo.config import AlertRulesConfig
from seismo.geo import distance_km
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


def tsunami_severity(magnitude: float | None, saturated: bool) -> str:
    """CAP severity of a tsunami-potential message from the (lower-bound) magnitude.

    Bands follow the magnitude ranges of PTWC threat messages [3P: 6.5-7.0 no
    widespread threat; 7.1-7.5 hazardous waves possible within 300 km; 7.6-7.8
    within 1000 km; >= 7.9 beyond]: Moderate, Severe, Severe, Extreme. A
    saturated magnitude is a lower bound, so the result is at least Severe.
    """
    m = _finite(magnitude)
    if m is None:
        sev = "Unknown"
    elif m >= 7.85:
        sev = "Extreme"
    elif m >= 7.05:
        sev = "Severe"
    else:
        sev = "Moderate"
    if saturated and sev in ("Unknown", "Moderate"):
        sev = "Severe"
    return sev


def tsunami_radius_km(magnitude: float | None, saturated: bool) -> float:
    """Radius (km) of the tsunami-potential area: 300 km below M 7.6, else 1000 km [3P, PTWC]."""
    m = _finite(magnitude)
    if saturated or m is None or m >= 7.55:
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

    @property
    def groups(self) -> tuple[str, ...]:
        """Recipient groups to alert, in delivery order."""
        out = []
        if self.oncall:
            out.append(ONCALL)
        if self.tsunami:
            out.append(TSUNAMI)
        return tuple(out)


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
    """Whether the event's ML is only a lower bound (see module docstring), with reasons."""
    mag = _finite(event.magnitude)
    reasons: list[str] = []
    clipped = event.n_clipped_stations >= rules.saturation_min_clipped_stations
    if clipped and (mag is None or mag >= rules.saturation_magnitude):
        reasons.append(
            f"{event.n_clipped_stations} stations clipped "
            f"(>= {rules.saturation_min_clipped_stations}) with ML "
            f"{'unknown' if mag is None else f'{mag:.1f}'}"
        )
    dist = nearest_station_km(event, region)
    if (
        event.outside_network
        and dist is not None
        and dist >= rules.saturation_far_distance_km
        and mag is not None
        and mag >= rules.saturation_magnitude
    ):
        reasons.append(
            f"outside the network, nearest station {dist:.0f} km "
            f"(>= {rules.saturation_far_distance_km:g} km), ML {mag:.1f} "
            f">= {rules.saturation_magnitude:g}"
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
    if event.status == "rejected" or not located:
        why = "rejected by review" if event.status == "rejected" else "not located"
        return AlertDecision(
            event.id, False, False, inside, False, False, False, imax, dist, (why,)
        )

    saturated, sat_reasons = is_saturated(event, rules, region)
    reasons += [f"ML saturated: {r}" for r in sat_reasons]

    depth = _finite(event.depth_km)
    vunc = _finite(event.vertical_uncertainty_km) or 0.0
    shallowest = None if depth is None else max(0.0, depth - max(0.0, vunc))
    shallow = shallowest is None or shallowest < rules.tsunami_max_depth_km

    big = mag is not None and mag >= rules.tsunami_min_magnitude
    offshore: bool | None = None  # the land mask costs ~1-2 s: asked only when it matters
    if big or saturated:
        unc = _finite(event.horizontal_uncertainty_km) or 0.0
        probe = min(max(unc, 0.0), rules.offshore_uncertainty_max_km)
        offshore = is_offshore(event.latitude, event.longitude, probe)
    tsunami = bool(offshore) and shallow and (big or saturated)
    if tsunami:
        why = f"ML {mag:.1f} >= {rules.tsunami_min_magnitude:g}" if big else "ML saturated"
        reasons.append(
            f"tsunami: offshore epicentre, shallowest depth "
            f"{'unknown' if shallowest is None else f'{shallowest:.0f} km'} "
            f"< {rules.tsunami_max_depth_km:g} km, {why}"
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
