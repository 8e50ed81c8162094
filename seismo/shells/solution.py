"""The published solution of an associated candidate: its final location (with the model
error and the epicentre's density), its depth method and its flags (unconstrained when the
data do not locate it). Shared by the window path and ``seismo stream``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Protocol

from obspy import UTCDateTime

from seismo.config import Settings
from seismo.errors import LocationError
from seismo.event import trains
from seismo.event.candidate import EventCandidate
from seismo.event.identity import event_id, first_pick_time
from seismo.event.locate import Origin, locate
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.velocity import VelocityModel
from seismo.inventory import StationInfo
from seismo.model import Event

log = logging.getLogger(__name__)


class Network(Protocol):
    """What the solution needs of the shells' context
    (:class:`seismo.shells.window_context.Context`)."""

    settings: Settings
    velocity: VelocityModel

    @property
    def stations(self) -> dict[str, StationInfo]: ...

    @property
    def assoc_cfg(self) -> AssociateConfig: ...

    @property
    def locate_cfg(self) -> LocateConfig: ...


def final_location(
    ctx: Network, origin: Origin, stations: Mapping[str, StationInfo],
    depth_phase: bool = False,
) -> Origin:
    """The associated origin relocated with the travel-time model error
    (``[locate] model_error_fraction``), which sets its confidence ellipses.

    A local search from the associated hypocentre with the same picks, with the
    epicentre's probability density; on failure the associated origin is kept (logged).
    ``depth_phase``: the origin's depth came
    from a depth phase (:mod:`seismo.event.depthphase`) and stays where it is, with its
    uncertainty.
    """
    cfg = ctx.locate_cfg  # [locate] with the network's derived geometry
    if cfg.model_error_fraction <= 0.0:
        return origin
    z = origin.depth_km
    if depth_phase:  # the locator holds a depth at its bound at fixed_depth_km
        cfg = cfg.model_copy(update={"fixed_depth_km": z, "depth_min_km": max(z - 1.0, 0.0),
                                     "depth_max_km": z + 1.0})
    try:
        new = locate(
            origin.picks, stations, ctx.velocity, cfg,
            initial=(origin.latitude, origin.longitude, origin.depth_km), full_search=False,
            phases={a.pick_id: a.phase for a in origin.arrivals}, pdf=True,
        )
    except LocationError as exc:
        log.warning("final location with model error failed (%s); associated origin kept", exc)
        return origin
    if depth_phase:
        new = dataclasses.replace(new, depth_fixed=False,
                                  vertical_uncertainty_km=origin.vertical_uncertainty_km)
    return new


def event_of(
    ctx: Network, cand: EventCandidate, stations: Mapping[str, StationInfo],
    now: UTCDateTime | None = None,
) -> Event:
    """The event of a candidate: finally located (:func:`final_location`), flagged
    unconstrained when the data do not constrain its location
    (:func:`seismo.event.trains.unconstrained`), its depth method said."""
    s = ctx.settings
    first = first_pick_time(cand.origin.picks)
    deep = cand.depth_phase_s is not None
    origin = final_location(ctx, cand.origin, stations, depth_phase=deep)
    ev = origin.to_event(event_id(s.pipeline.event_id_prefix, first), creation_time=now)
    if deep:
        ev = dataclasses.replace(ev, depth_method="depth phase", flags=(
            f"depth from a depth phase {cand.depth_phase_s:.1f} s after P (read as sP: at "
            f"least {origin.depth_km:.0f} km deep)",))
    return flag_unconstrained(ctx, ev, origin, stations)


def flag_unconstrained(
    ctx: Network, ev: Event, origin: Origin, stations: Mapping[str, StationInfo]
) -> Event:
    """``ev`` flagged unconstrained, with the reasons, when the data do not constrain
    ``origin``'s location (:func:`seismo.event.trains.unconstrained`)."""
    why = trains.unconstrained(origin, stations, ctx.assoc_cfg)
    if not why:
        return ev
    log.warning("event %s unconstrained: %s", ev.id, "; ".join(why))
    return dataclasses.replace(ev, unconstrained=True,
                               flags=(*ev.flags, *(f"unconstrained: {w}" for w in why)))
