"""Pick groups that never reach the phase minimum: the signature of a threshold the
network cannot reach.

After an association, the picks no event took are grouped in time (at most the S
travel time across the network's aperture plus one stack bin per group). A group with
``min_stations`` stations but fewer picks (one P and one S per station) than
``min_phases`` could never seed an event, whatever its picks' times. A few such groups
are small events that few stations saw; many of them, most of the groups, mean a phase
minimum the network cannot reach (e.g. a 5-station network whose S-P is shorter than
the picker's merge span: one pick per station, 5 < 6). The shells sum the windows'
counts and warn (``seismo detect``, ``seismo evaluate``; docs/location.md, "Small
networks").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from obspy import UTCDateTime

from seismo.event.associate import adapt_to_network
from seismo.event.candidate import EventCandidate, _as_phase
from seismo.event.geometry import network_geometry
from seismo.event.settings import AssociateConfig
from seismo.event.velocity import VelocityModel
from seismo.inventory import StationInfo
from seismo.model import Pick


@dataclass(frozen=True)
class Shortfall:
    """Multi-station pick groups left over by an association, and how many of them hold
    fewer picks than the phase minimum (the stack could never seed them)."""

    groups: int = 0
    short: int = 0
    min_phases: int = 0

    #: "Many": at least this many short groups, and at least this share of all groups
    #: (design choice: a few short groups are small events seen by few stations).
    MIN_SHORT = 3
    MIN_SHARE = 0.5

    def __add__(self, other: Shortfall) -> Shortfall:
        return Shortfall(self.groups + other.groups, self.short + other.short,
                         max(self.min_phases, other.min_phases))

    def warning(self) -> str | None:
        """A sentence for people when many groups fell short (None: not many)."""
        if self.short < self.MIN_SHORT or self.short < self.MIN_SHARE * self.groups:
            return None
        return (f"{self.short} of {self.groups} multi-station pick groups never reached the "
                f"stack minimum of {self.min_phases} phases: a phase minimum this network "
                "cannot reach ([associate] min_phases, [picker] station_merge_s)")


def shortfall(
    picks: Sequence[Pick], events: Sequence[EventCandidate],
    stations: Mapping[str, StationInfo], model: VelocityModel, cfg: AssociateConfig,
    *, s_picks: bool = True, separable_s: Collection[str] | None = None,
    span_s: float | None = None, since: UTCDateTime | None = None,
    until: UTCDateTime | None = None,
) -> Shortfall:
    """The picks no event took, in groups of at most ``span_s`` (default: the S travel
    time across the network's aperture plus one stack bin): the groups that reach
    ``min_stations`` stations, and those of them with fewer picks (one P and one S per
    station) than ``min_phases`` (both after :func:`adapt_to_network`). Only groups
    whose first pick lies in ``[since, until)`` count (a window's own groups).

    Many short groups are the signature of a phase minimum the network cannot reach
    (e.g. S-P shorter than the picker's merge span: one pick per station); the shells
    warn about it (:func:`seismo.shells.window_events.count_shortfall`).
    """
    cfg = adapt_to_network(cfg, stations, s_picks, separable_s)
    used = {p.id for e in events for p in e.picks}
    used |= {_as_phase(p, "S" if p.phase == "P" else "P").id for e in events for p in e.picks}
    rest = sorted((p for p in picks if p.id not in used and p.station_id in stations
                   and p.phase in ("P", "S")), key=lambda p: p.time)
    if span_s is None:
        ap = network_geometry(stations).aperture_km
        span_s = float(model.travel_time("S", ap, 0.0)) + cfg.stack_window_s
    groups = short = 0
    i = 0
    while i < len(rest):
        j = i
        while j < len(rest) and float(rest[j].time - rest[i].time) <= span_s:
            j += 1
        grp = rest[i:j]
        mine = (since is None or grp[0].time >= since) and (until is None or grp[0].time < until)
        if mine and len({p.station_id for p in grp}) >= cfg.min_stations:
            groups += 1
            if len({(p.station_id, p.phase) for p in grp}) < cfg.min_phases:
                short += 1
        i = j
    return Shortfall(groups, short, cfg.min_phases)
