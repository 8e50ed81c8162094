"""Window edges: an event is seen whole by the window that owns it, and distant events'
wave trains are remembered from window to window (docs/location.md, "Window edges").

A window owns the events whose first pick lies in it (:func:`seismo.shells.window.
owned_candidates`) and reads ``postroll_s`` of data after its end. An event whose P is
still crossing the network at the window's data end (a regional network is crossed in
up to ~30 s), or a distant event whose S (its distance) comes a minute or more after its
P, is not complete there: the window leaves it out (:func:`waits`) and is processed
again with the post-roll the event needs (:func:`revisit_window`), once that much data
is in, up to ``[pipeline] revisit_max_s`` after its end
(:func:`seismo.shells.window_events.revisit_window`,
:func:`seismo.shells.window_events.window_events`).
Ownership does not change, so no other window publishes the event, and wherever the
window grid falls the event is published once, whole.

:class:`DistantTrains` carries the wave trains of the distant events found so far
into the windows that follow: a local candidate inside one must prove itself
(:func:`seismo.event.trains.prove_local`), whichever window found the distant event.

Used by every shell that processes windows: ``seismo detect`` and drills (both
methods), and the detection DAG (through its window ledger).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
from obspy import UTCDateTime

from seismo.event.candidate import EventCandidate
from seismo.event.distant import tolerance_far_s
from seismo.event.identity import first_pick_time
from seismo.event.trains import WaveTrain, is_distant, prove_local, train_of
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import Event, StationResult
from seismo.shells.solution import Network
from seismo.shells.window_context import Window

log = logging.getLogger(__name__)


def completion_time(
    ctx: Network, cand: EventCandidate, stations: Mapping[str, StationInfo]
) -> UTCDateTime:
    """When every arrival of ``cand`` that its window must see is in the data.

    Its P at every station of ``stations`` (the live ones), and for a distant event
    (:func:`seismo.event.trains.is_distant`) its first S as well: the distance rests on
    S-P. A distant candidate located from P alone may lie much farther than its
    epicentre: its S is awaited as if it were twice its 90 % ellipse (or half its
    distance) farther. Each with the distant-event tolerance
    (:func:`seismo.event.distant.tolerance_far_s`).
    """
    o = cand.origin
    cfg = ctx.settings.associate
    far = is_distant(o.latitude, o.longitude, stations, cfg)
    has_s = any(a.phase.startswith("S") for a in o.arrivals)
    lat = np.array([x.latitude for x in stations.values()])
    lon = np.array([x.longitude for x in stations.values()])
    if lat.size == 0:
        return o.time
    d = np.asarray(distance_km(o.latitude, o.longitude, lat, lon), float)
    if far and not has_s:
        a90 = o.ellipse_90[0] if math.isfinite(o.ellipse_90[0]) else 0.0
        d = d + max(2.0 * a90, 0.5 * float(d.min()))
    d = np.minimum(d, ctx.velocity.max_distance_km)
    latest = 0.0
    for ph in ("P", "S") if far else ("P",):
        tt = np.asarray(ctx.velocity.travel_time(ph, d, o.depth_km), float)
        latest = max(latest, float(np.max(tt + tolerance_far_s(cfg, tt))))
    return o.time + latest


def waits(
    ctx: Network, cand: EventCandidate, window: Window, stations: Mapping[str, StationInfo]
) -> bool:
    """Whether ``cand`` (owned by ``window``) is not complete in the window's data and the
    window can still be processed again for it (``[pipeline] revisit_max_s``)."""
    limit = window.end + ctx.settings.pipeline.revisit_max_s
    return window.data_end < limit and completion_time(ctx, cand, stations) > window.data_end


class DistantTrains:
    """The wave trains of the distant events seen by the windows processed so far, for
    the windows that follow (:func:`seismo.event.trains.prove_local`): a candidate of a
    later window that lies inside one must prove itself, whichever window found the
    distant event."""

    def __init__(self, ctx: Network) -> None:
        self.ctx = ctx
        self.trains: dict[str, WaveTrain] = {}
        self.first: dict[str, UTCDateTime] = {}  # the first pick of each train's event

    def add(self, candidates: Sequence[EventCandidate], live: Collection[str]) -> None:
        """Remember the distant ones among ``candidates``."""
        cfg = self.ctx.settings.associate
        stations = {k: v for k, v in self.ctx.stations.items() if k in live}
        for c in candidates:
            key = str(first_pick_time(c.origin.picks))
            if key in self.trains or not is_distant(c.latitude, c.longitude,
                                                             stations, cfg):
                continue
            self.first[key] = first_pick_time(c.origin.picks)
            self.trains[key] = train_of(
                f"the distant event at {c.time}", c.origin, self.ctx.stations,
                self.ctx.velocity, cfg, c.depth_phase_s)

    def add_events(self, events: Sequence[Event]) -> None:
        """Remember the distant ones among published ``events``."""
        cfg = self.ctx.settings.associate
        for e in events:
            first = first_pick_time(e.picks) if e.picks else e.time
            key = str(first)
            if key in self.trains or not e.outside_network or not is_distant(
                    e.latitude, e.longitude, self.ctx.stations, cfg):
                continue
            self.first[key] = first
            self.trains[key] = WaveTrain.of(
                f"the distant event at {e.time}", e.time, e.latitude, e.longitude, e.depth_km,
                self.ctx.stations, self.ctx.velocity, cfg)

    def during(self, window: Window) -> list[WaveTrain]:
        """The trains that overlap ``window``'s data, of events that ``window`` does not own
        (its own events it finds itself; older trains are forgotten)."""
        out = []
        for key, t in list(self.trains.items()):
            end = t.origin_time + max(t.end.values(), default=0.0)
            first = self.first[key]
            if end < window.data_start:
                del self.trains[key]
                del self.first[key]
            elif t.origin_time < window.data_end and not window.start <= first < window.end:
                out.append(t)
        return out

    def vet(
        self, candidates: Sequence[EventCandidate], window: Window,
        results: Sequence[StationResult],
    ) -> list[EventCandidate]:
        """``candidates`` without the local ones inside a known train that do not prove
        themselves (:func:`seismo.event.trains.prove_local`)."""
        own = {str(first_pick_time(c.origin.picks)) for c in candidates}
        current = {id(t) for t in self.during(window)}
        trains = [t for k, t in self.trains.items() if id(t) in current and k not in own]
        if not trains:
            return list(candidates)
        labelled_p = {p.id for r in results for p in r.picks if p.phase == "P"}
        out = []
        for c in candidates:
            why = None if c.distant else prove_local(
                c.origin, trains, labelled_p, self.ctx.settings.associate)
            if why:
                log.info("window %s: candidate at %s %.3f %.3f dropped: %s", window, c.time,
                         c.latitude, c.longitude, why)
                continue
            out.append(c)
        return out
