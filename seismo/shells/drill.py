"""Drills: a simulator scenario through the whole chain, alerts with CAP status Exercise.

The scenario is rebased so that its first earthquake happened a few minutes
ago, played by the ``sim://`` feed, and run through :func:`seismo.shells.detect.detect_range`
exactly as a replay would be; every CAP message carries ``status=Exercise``
and its own identifier thread, so receivers can tell a drill from a real
event. By default a drill does not write to InfluxDB (``store=True`` does):
drill events must not mix with the real catalogue.

A drill is an installation of its own (:func:`seismo.config.installation.relocated`):
its alert record, ledger and state live under ``<installation>/drills`` (or
``installation=``), never in the production installation's outbox, while its Exercise
messages go through the configured channels, to the people a drill exercises (a
directory channel under the production installation writes under the drill's instead).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from obspy import UTCDateTime

from seismo.alerts.rules import AlertDecision, tsunami_magnitude
from seismo.alerts.settings import AlertRulesConfig
from seismo.config import Settings
from seismo.config.tree import relocated
from seismo.errors import SeismoError
from seismo.model import Event
from seismo.shells.detect import DetectSummary, detect_range
from seismo.shells.publish import alert_service
from seismo.simulate import Scenario, load_scenarios

log = logging.getLogger(__name__)

#: Seconds of data read before the first and after the last origin. 300 s covers
#: S at ~1000 km (flat-earth S speed ~4.6 km/s gives ~220 s) and its coda.
PRE_S, POST_S = 60.0, 300.0


@dataclass
class DrillResult:
    scenario: str
    reference: UTCDateTime
    summary: DetectSummary
    decisions: dict[str, list[str]] = field(default_factory=dict)  # event id -> groups
    # event id -> why the rules alerted nobody (only events that alert nobody)
    silent: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    installation: Path | None = None  # where the drill kept its alert record


def earthquake_scenario(settings: Settings, name: str, purpose: str = "") -> Scenario:
    """Scenario ``name`` of the configured catalogue; SeismoError when it is unknown or holds
    no earthquake (``purpose`` ends that message, e.g. "to drill on")."""
    scenarios = load_scenarios(settings.simulator.scenarios)
    if name not in scenarios:
        raise SeismoError(f"unknown scenario {name!r}; known: {', '.join(sorted(scenarios))}")
    scen = scenarios[name]
    if not scen.events:
        raise SeismoError(" ".join(filter(None, (f"scenario {name!r} has no earthquake", purpose))))
    return scen


def run_drill(
    settings: Settings,
    scenario: str,
    *,
    alert_dir: Path | None = None,
    store: bool = False,
    now: UTCDateTime | None = None,
    minutes_ago: float = 10.0,
    installation: Path | None = None,
) -> DrillResult:
    """Play ``scenario`` (its first origin ``minutes_ago`` before ``now``) with Exercise alerts,
    as an installation of its own (``installation``, default ``<installation>/drills``)."""

    scen = earthquake_scenario(settings, scenario, "to drill on")
    settings = relocated(settings, installation or settings.installation.dir / "drills")
    now = now or UTCDateTime()
    first = min(e.origin for e in scen.events) - scen.reference
    last = max(e.origin for e in scen.events) - scen.reference
    reference = UTCDateTime(int(float((now - minutes_ago * 60 - first).timestamp)))
    url = f"sim://?scenario={quote(scenario)}&reference={quote(reference.isoformat() + 'Z')}"
    t0 = reference + first - PRE_S
    t1 = min(reference + last + POST_S, now)
    log.info("drill %s: reference %s, range %s - %s", scenario, reference, t0, t1)
    summary = detect_range(
        settings, t0, t1, feed_url=url, store=store, alerts=True, alert_dir=alert_dir, exercise=True
    )
    svc = alert_service(settings, exercise=True, alert_dir=alert_dir)
    decided = {e.id: svc.decide(e) for e in summary.events}
    decisions = {k: list(d.groups) for k, d in decided.items()}
    silent = {e.id: why_nobody(e, decided[e.id], settings.alerts.rules)
              for e in summary.events if not decided[e.id].groups}
    notes = []
    for e in summary.events:
        if e.outside_network and e.n_stations and e.horizontal_uncertainty_km > 20:
            notes.append(
                f"{e.id}: outside the network (gap {e.azimuthal_gap_deg:.0f}°): the city network "
                "resolves the back-azimuth and apparent velocity, not the distance; location "
                f"±{e.horizontal_uncertainty_km:.0f} km and ML are indicative only"
            )
    if not summary.events:
        notes.append(no_event_reason(summary))
    return DrillResult(scenario, reference, summary, decisions, silent, notes,
                       settings.installation.dir)


def why_nobody(event: Event, decision: AlertDecision, rules: AlertRulesConfig) -> list[str]:
    """Why the alert rules (:func:`seismo.alerts.rules.evaluate`, ``[alerts.rules]``) send
    ``event`` to no group, one reason per rule, in words a duty seismologist can check."""
    located = math.isfinite(event.latitude) and math.isfinite(event.longitude)
    if event.status == "rejected" or not located or event.unconstrained:
        return list(decision.reasons)  # the rules looked no further
    mag = event.magnitude if event.magnitude is not None and math.isfinite(event.magnitude) \
        else None
    magtext = "magnitude unknown" if mag is None else f"{event.magnitude_type or 'M'} {mag:.1f}"
    out = list(decision.reasons)  # e.g. "no tsunami: the depth ..."
    if not decision.in_region:
        out.append(f"on-call: the epicentre ({event.latitude:.2f}, {event.longitude:.2f}) "
                   "is outside the monitored region, so the magnitude rule does not apply")
    elif mag is None or mag < rules.oncall_min_magnitude:
        out.append(f"on-call: {magtext} is below oncall_min_magnitude "
                   f"{rules.oncall_min_magnitude:g}")
    imax = decision.max_intensity
    out.append("on-call: no intensity observed or predicted" if imax is None else
               f"on-call: intensity {imax:.1f} is below oncall_min_intensity "
               f"{rules.oncall_min_intensity:g}")
    tmag, ttype, _ = tsunami_magnitude(event)
    what = "no moment magnitude yet" if tmag is None else f"{ttype} {tmag:.1f}"
    if decision.offshore is None:  # neither big enough nor possibly saturated
        out.append(f"tsunami: {what}, below tsunami_min_magnitude "
                   f"{rules.tsunami_min_magnitude:g}" if tmag is not None else
                   f"tsunami: {what}, and {magtext} is below saturation_magnitude "
                   f"{rules.saturation_magnitude:g}")
    elif not decision.offshore:
        out.append(f"tsunami: {what}, but the epicentre is on land")
    elif not decision.shallow and not any(r.startswith("no tsunami") for r in out):
        out.append(f"tsunami: {what}, but the depth is at least tsunami_max_depth_km "
                   f"{rules.tsunami_max_depth_km:g}")
    return out


def no_event_reason(summary: DetectSummary) -> str:
    """Why a drill published no event (and so alerted nobody)."""
    parts = [f"no event detected: {summary.n_picks} picks in {summary.n_windows} windows"]
    if summary.network_down:
        parts.append(f"too few stations delivered data in {summary.network_down} windows")
    if summary.station_errors:
        parts.append(f"{len(summary.station_errors)} stations failed in some windows")
    parts += summary.notes  # e.g. pick groups below the association's phase minimum
    return "; ".join(parts)
