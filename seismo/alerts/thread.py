"""The alert thread's decisions: whether a new version of an event is an Update, and the
tsunami area it announces (docs/alerts.md, "Updates").

* a change for the worse (a higher intensity degree, a larger magnitude, the tsunami
  criteria met), a moved hypocentre, a magnitude at last or a changed saturation flag go
  out at once;
* a change for the better (hysteresis, issue 23 item 3) only when the lower value has
  held ``update_downgrade_hold_s`` or a complete solution (the minute-by-minute pass over
  every station) or a seismologist's review confirms it;
* a changed review status is an Update; so is, once per thread, a complete solution that
  confirms a real-time one without a material change ("final");
* the tsunami area never shrinks while the tsunami magnitude grows.
"""

from __future__ import annotations

import logging
import math

from seismo.alerts.messages import tsunami_area_km
from seismo.alerts.outbox import QueuedMessage, finite
from seismo.alerts.rules import AlertDecision, intensity_degree
from seismo.alerts.settings import AlertRulesConfig
from seismo.geo import distance_km
from seismo.model import Event

log = logging.getLogger(__name__)

#: Why a version makes an Update (None: nothing to send).
Reason = str | None


class ThreadRules:
    """The Update rules of one service; remembers (in this process) since when a lower
    value has held, per thread."""

    def __init__(self, rules: AlertRulesConfig) -> None:
        self.rules = rules
        self._lower_since: dict[str, float] = {}

    def update_reason(self, thread: str, history: list[QueuedMessage], event: Event,
                      decision: AlertDecision, now: float) -> Reason:
        """Why ``event`` makes an Update of the thread, or None (module docstring).

        Returns "change" (sent at once: worse, moved, other flags), "downgrade" (better,
        held long enough or confirmed), "review" (the review status changed) or "final"
        (a complete solution confirms a real-time one without a material change).
        """
        last = history[-1]
        was = last.event
        r = self.rules
        worse = better = other = False
        last_mag = None if was is None else was.magnitude
        mag = finite(event.magnitude)
        if (mag is None) != (last_mag is None):
            worse |= mag is not None  # a magnitude at last: news
            other |= mag is None
        elif mag is not None and last_mag is not None:
            dmag = mag - last_mag
            if abs(dmag) >= r.update_min_magnitude_change - 1e-9:  # 3.5-3.2 < 0.3
                worse |= dmag > 0
                better |= dmag < 0
        if (was is not None and mag is not None and was.magnitude_type is not None
                and was.magnitude_type != event.magnitude_type):
            other = True  # another magnitude type supersedes (Mpd -> ML, ML -> Mwp, -> Mww)
        if decision.saturated != last.saturated:
            other = True
        if last.tsunami is not None and last.tsunami != decision.tsunami:
            worse |= decision.tsunami
            better |= not decision.tsunami
        now_i = finite(decision.max_intensity)
        if last.intensity is not None and now_i is not None:
            d_now, d_was = intensity_degree(now_i), intensity_degree(last.intensity)
            worse |= d_now > d_was
            better |= d_now < d_was
        if was is None:
            other = True
        else:
            epi = float(distance_km(was.latitude, was.longitude, event.latitude,
                                    event.longitude))
            depth = finite(event.depth_km)
            dz = depth - was.depth_km if depth is not None and was.depth_km is not None else 0.0
            other |= math.hypot(epi, dz) >= r.update_min_location_change_km
        complete = event.solution == "window" or event.status == "confirmed"
        if worse or other:
            self._lower_since.pop(thread, None)
            return "change"
        if better:
            since = self._lower_since.setdefault(thread, now)
            if complete or now - since >= r.update_downgrade_hold_s - 1e-9:
                self._lower_since.pop(thread, None)
                return "downgrade"
            log.info("%s: a lower value held %.0f s of %.0f s before its Update (hysteresis)",
                     thread, now - since, r.update_downgrade_hold_s)
            return None
        self._lower_since.pop(thread, None)
        if last.review_status and event.status != last.review_status:
            return "review"
        if (event.solution == "window" and last.solution == "stream"
                and not any(m.final for m in history)):
            return "final"
        return None


def tsunami_radius(history: list[QueuedMessage], event: Event,
                   decision: AlertDecision) -> float:
    """The tsunami area of this version: never smaller than the thread's last one
    while the tsunami magnitude has not decreased (a saturated ML's 1000 km circle
    stays when the moment magnitude that replaces it is larger)."""
    r = tsunami_area_km(event, decision)
    last = next((m for m in reversed(history) if m.tsunami_radius_km is not None), None)
    if last is None or not decision.tsunami:
        return r
    m_now, m_was = finite(decision.tsunami_magnitude), last.tsunami_magnitude
    if m_now is None or m_was is None or m_now >= m_was - 1e-9:
        return max(r, float(last.tsunami_radius_km or 0.0))
    return r
