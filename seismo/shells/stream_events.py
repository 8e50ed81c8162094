"""The associator of ``seismo stream``: picks in, event versions out.

:class:`~seismo.event.incremental.IncrementalAssociator` runs the window's association
on the pool of recent picks (at most every ``associate_every_s``); each event it
follows is located, measured by the measurement stage
(:class:`~seismo.event.measure.EventMeasurer`, the window's) on the per-second peaks of
the stations whose horizontal channels have *delivered* data past their S wave (+ 2 s;
channels arrive seconds apart with long records, and a station's newest channel says
nothing of the others), and becomes a *version* to publish when its picks changed or
its magnitude or intensity moved. Closed after ``close_after_s`` of quiet; vanished when
it falls apart.

Two clocks: ``now`` is this host's (when a version is made), ``at`` the network's data
time (:meth:`~seismo.shells.stream_pickers.StationPickers.clock`), which runs the pool,
closing, vanishing and the wait for the first magnitude: data 300 s late or a backlog
caught up at full speed are associated as if on time. An event whose first version is
made more than ``[stream] late_after_s`` after its origin is marked late
(``Event.late``): its messages say so.

In: :class:`~seismo.shells.stream_pickers.StationPicks` messages and an
:class:`~seismo.shells.stream_pickers.AmplitudeSource`. Out: :class:`EventUpdate`
messages (a measured version, a close, a vanishing), keyed by the tracked event;
ids, version numbers and alerts are the publisher's
(:mod:`seismo.shells.stream_publish`). Both messages serialise to JSON, so a
deployment could run this part in its own process behind a broker.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from obspy import UTCDateTime

from seismo.errors import SeismoError
from seismo.event.associate import associate
from seismo.event.gridstack import association_bytes
from seismo.event.identity import event_id, first_pick_time
from seismo.event.incremental import IncrementalAssociator, TrackedEvent
from seismo.geo import distance_km
from seismo.model import AmplitudeSeries, Event, Pick
from seismo.shells.settings import StreamConfig
from seismo.shells.solution import flag_unconstrained
from seismo.shells.stream_pickers import AmplitudeSource, StationPicks
from seismo.shells.window_context import Context
from seismo.shells.window_events import next_arrivals

log = logging.getLogger(__name__)

#: Component codes of horizontal channels (SEED: N, E; 1, 2 for other azimuths).
HORIZONTALS = "NE12"
#: Seconds of amplitudes before the origin handed to the measurement.
BEFORE_ORIGIN_S = 30.0
#: A new version is published when ML moves this much (the stored ML has 2 decimals;
#: the alerts decide Updates by their own thresholds).
ML_STEP = 0.1
#: ... or the highest intensity (observed or predicted, GB/T 17742) moves this much.
INTENSITY_STEP = 0.2


def memory_limit_bytes(root: Path = Path("/")) -> int | None:
    """The memory limit of this process's control group (bytes; None: none or unknown).

    cgroup v2: ``memory.max`` of the group named in ``/proc/self/cgroup`` (``0::/path``;
    systemd's ``MemoryMax=`` sets it); v1: ``memory.limit_in_bytes`` of the ``memory``
    hierarchy (a value near 2**63 means none). ``root``: the file-system root to read
    (a test's tree)."""
    try:
        lines = (root / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hid, ctrl, path = [*line.split(":", 2), "", ""][:3]
        rel = path.lstrip("/")
        if hid == "0" and ctrl == "":
            base, name = root / "sys/fs/cgroup", "memory.max"
        elif "memory" in ctrl.split(","):
            base, name = root / "sys/fs/cgroup/memory", "memory.limit_in_bytes"
        else:
            continue
        # inside a container the group's own directory is the mounted root
        for f in (base / rel / name, base / name):
            try:
                text = f.read_text().strip()
            except OSError:
                continue
            if text.isdigit() and int(text) < 2**62:
                return int(text)
            break
    return None


def check_association_memory(ctx: Context, limit: int | None = None) -> str | None:
    """Log the association grid's size and what an associating process needs for it
    (:func:`seismo.event.gridstack.association_bytes`); when the process's memory limit
    (``limit``, default :func:`memory_limit_bytes`) is smaller, log an error that says
    what to change, and return it (None: enough, or no limit). A 500-station network
    needs ~2.2 GB: a unit's ``MemoryMax=1G`` had the kernel kill the associator at its
    first association, and systemd restart it into the same end."""
    n, need = association_bytes(ctx.stations, ctx.velocity, ctx.assoc_cfg, ctx.locate_cfg)
    mb = 2**20
    log.info("association grid: %d nodes x %d stations; an associating process needs "
             "about %.0f MB", n, len(ctx.stations), need / mb)
    limit = memory_limit_bytes() if limit is None else limit
    if limit is None or need <= limit:
        return None
    why = (f"the association grid of {len(ctx.stations)} stations ({n} nodes) needs about "
           f"{need / mb:.0f} MB and this process may use {limit / mb:.0f} MB (its cgroup's "
           "memory limit): raise MemoryMax= in its unit (deploy/), or coarsen [associate] "
           "grid_spacing_km")
    log.error("%s", why)
    return why


def warmup_picks(ctx: Context) -> list[Pick]:
    """A P and an S at every station of ``ctx`` from a made-up source 10 km under the
    network's centre (:meth:`StreamAssociator.warm_caches`; benchmarks/assoc_memory.py)."""
    infos = list(ctx.stations.values())
    lat = sum(i.latitude for i in infos) / len(infos)
    lon = sum(i.longitude for i in infos) / len(infos)
    t0 = UTCDateTime(0)
    picks = []
    for i in infos:
        d = float(distance_km(lat, lon, i.latitude, i.longitude))
        for ph, tt in (("P", ctx.p_time(d, 10.0)), ("S", ctx.s_time(d, 10.0))):
            pt = t0 + tt
            picks.append(Pick(Pick.make_id(f"{i.id}..HHZ", ph, pt), i.network, i.station,
                              "", "HHZ", ph, pt, 0.05, 10.0, 1.0))  # type: ignore[arg-type]
    return picks


@dataclass(frozen=True)
class EventUpdate:
    """One message to the publisher about tracked event ``key``: a measured ``version``
    to publish, its ``close`` (no more versions) or its ``vanish`` (it fell apart;
    ``event`` is then the last version published, if any)."""

    kind: Literal["version", "close", "vanish"]
    key: int
    event: Event | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key,
                "event": None if self.event is None else self.event.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EventUpdate:
        ev = d.get("event")
        return cls(d["kind"], int(d["key"]), None if ev is None else Event.from_dict(ev))


def material(old: Event, new: Event) -> bool:
    """A new version is worth publishing: new picks, a moved origin time, ML moved by
    :data:`ML_STEP` or the highest intensity by :data:`INTENSITY_STEP`."""
    if {p.id for p in old.picks} != {p.id for p in new.picks}:
        return True
    if abs(float(old.time - new.time)) > 1e-3:
        return True

    def moved(a: float | None, b: float | None, step: float) -> bool:
        if (a is None) != (b is None):
            return True
        return a is not None and b is not None and abs(a - b) >= step - 1e-9

    def imax(e: Event) -> float | None:
        vals = [v for v in (e.max_intensity, *(s.intensity_cn for s in e.site_intensities))
                if v is not None and math.isfinite(v)]
        return max(vals) if vals else None

    return moved(old.magnitude, new.magnitude, ML_STEP) or moved(
        imax(old), imax(new), INTENSITY_STEP
    )


class StreamAssociator:
    """Picks in, event versions out (module docstring).

    Args:
        ctx: the network (stations, velocity model, measurement stage, settings).
        cfg: the ``[stream]`` section.
        amplitudes: where the stations' per-second peaks are read.
    """

    def __init__(self, ctx: Context, cfg: StreamConfig, amplitudes: AmplitudeSource) -> None:
        s = ctx.settings
        self.ctx = ctx
        self.cfg = cfg
        self.amplitudes = amplitudes
        self.prefix = s.pipeline.event_id_prefix
        self.assoc = IncrementalAssociator(
            ctx.stations, ctx.velocity, ctx.assoc_cfg, ctx.locate_cfg,
            s_picks=s.picker.s_picks, separable_s=ctx.separable_s, pool_s=cfg.pool_s,
            close_after_s=cfg.close_after_s, cancel_after_s=cfg.cancel_after_s,
        )
        self.sent: dict[int, Event] = {}  # per tracked event: the last version sent
        self.late: set[int] = set()  # tracked events announced late

    # ------------------------------------------------------------------ input
    def add(self, msg: StationPicks) -> None:
        """A station's picks (:class:`~seismo.shells.stream_pickers.StationPicks`)."""
        if msg.final:
            self.assoc.add(msg.final)
        self.assoc.set_provisional(msg.station_id, list(msg.provisional))

    def restore(self, picks: Iterable[Pick]) -> None:
        """Final picks of the pool saved before a restart."""
        self.assoc.add(picks)

    @property
    def pool(self) -> list[Pick]:
        """The final picks of the pool (what a restart needs)."""
        return list(self.assoc.final.values())

    @property
    def n_open(self) -> int:
        return len(self.assoc.events)

    def due(self, now: float, last: float) -> bool:
        """Whether an association run is due (the pool changed and ``associate_every_s``
        passed, or a second passed: the clocks of closing and vanishing run)."""
        return (self.assoc.dirty and now - last >= self.cfg.associate_every_s) or (
            now - last >= 1.0)

    def warm_caches(self) -> None:
        """One association of a made-up event at the network centre: the association grid
        and the travel-time tables are built now (seconds), not at the first earthquake.
        First, what the grid will need is logged, and an error when the process's memory
        limit is smaller (:func:`check_association_memory`)."""
        ctx, s = self.ctx, self.ctx.settings
        check_association_memory(ctx)
        try:
            associate(warmup_picks(ctx), ctx.stations, ctx.velocity, ctx.assoc_cfg, ctx.locate_cfg,
                      s_picks=s.picker.s_picks, separable_s=ctx.separable_s)
        except SeismoError as exc:
            log.warning("association warm-up failed: %s", exc)

    # ------------------------------------------------------------------ runs
    def update(self, now: float, live: set[str], at: float | None = None) -> list[EventUpdate]:
        """One association run at host time ``now`` and data time ``at`` (default ``now``;
        s, UTC) with the stations ``live``."""
        at = now if at is None else at
        try:
            changes = self.assoc.update(UTCDateTime(at), live)
        except SeismoError as exc:
            log.warning("association failed: %s", exc)
            return []
        for tev in changes.new:
            o = tev.candidate.origin
            log.info("new origin %s %.3f %.3f %.1f km from %d stations (%d phases), %.1f s "
                     "after its origin time", o.time, o.latitude, o.longitude, o.depth_km,
                     o.n_stations, o.n_phases, now - float(o.time))
        out: list[EventUpdate] = []
        for tev in changes.new + changes.relocated:
            out += self._version(tev, now, at)
        for tev in changes.closed:
            out += self._version(tev, now, at)
            self.sent.pop(tev.key, None)
            self.late.discard(tev.key)
            out.append(EventUpdate("close", tev.key))
        for tev in changes.vanished:
            last = self.sent.pop(tev.key, None)
            self.late.discard(tev.key)
            out.append(EventUpdate("vanish", tev.key, last))
        return out

    def remeasure(self, now: float, at: float | None = None) -> list[EventUpdate]:
        """New amplitudes move magnitudes and intensities: the versions of open events that
        moved (and of events that waited for their first magnitude)."""
        at = now if at is None else at
        out: list[EventUpdate] = []
        for tev in list(self.assoc.events.values()):
            got = self._version(tev, now, at)
            if got and tev.key in self.sent:
                self.assoc.touch(tev.key, UTCDateTime(at))
            out += got
        return out

    # ------------------------------------------------------------------ one event
    def _version(self, tev: TrackedEvent, now: float, at: float) -> list[EventUpdate]:
        """``tev`` measured; a version when it is worth publishing."""
        last = self.sent.get(tev.key)
        ev = self._measure(tev, last.id if last else None, now, at)
        if ev is None:
            return []
        if last is None:
            if self._awaiting_magnitude(ev, at):
                return []
            if now - float(ev.time) > self.cfg.late_after_s:
                self.late.add(tev.key)
                log.warning("event %s is announced %.0f s after its origin: a late alert "
                            "(its data arrived late)", ev.id, now - float(ev.time))
        elif not material(last, ev):
            return []
        if tev.key in self.late:
            ev = dataclasses.replace(ev, late=True)
        tev.changed = False
        self.sent[tev.key] = ev
        return [EventUpdate("version", tev.key, ev)]

    def accepted(self, key: int, ev: Event) -> None:
        """The publisher published ``ev`` for ``key`` (with its id and version): later
        versions are compared with it."""
        if key in self.sent:
            self.sent[key] = ev

    def _measure(self, tev: TrackedEvent, eid: str | None, now: float,
                 at: float) -> Event | None:
        """The measured version (made at host time ``now``), or None; the sanity span is
        the pool's on data time ``at`` (a network running late is no reason to refuse)."""
        origin = tev.candidate.origin
        eid = eid or event_id(self.prefix, first_pick_time(tev.picks))
        ev = origin.to_event(eid, creation_time=UTCDateTime(now))
        insane = self.ctx.sanity(ev, UTCDateTime(at) - self.cfg.pool_s, UTCDateTime(at))
        if insane:
            log.info("stream event %s not published: %s", eid, "; ".join(insane))
            return None
        ev = flag_unconstrained(self.ctx, ev, origin, self.ctx.stations)
        others = [t.candidate for t in self.assoc.events.values() if t.key != tev.key]
        m = self.ctx.measurer.measure(ev, self._amplitudes(ev),
                                      next_arrivals(self.ctx, origin, others))
        if not m.verdict.consistent:  # published with its flags (docs/consistency.md)
            log.info("stream event %s flagged: %s", eid, m.verdict)
        return dataclasses.replace(m.event, solution="stream")

    def _awaiting_magnitude(self, ev: Event, at: float) -> bool:
        """No magnitude yet while the horizontals of one of the event's three nearest
        stations have not delivered data past its S wave (+ 2 s): the first message waits
        for them (a location without size is of little use). A station that stays more
        than ``[stream] lag_s`` of data time behind that is not waited for; then an event
        without magnitude is published as it is."""
        if ev.magnitude is not None:
            return False
        near = sorted(ev.arrivals, key=lambda a: a.distance_km)
        seen: list[str] = []
        for a in near:
            if f"{a.network}.{a.station}" not in seen:
                seen.append(f"{a.network}.{a.station}")
        for sid in seen[:3]:
            info = self.ctx.stations.get(sid)
            if info is None:
                continue
            d = float(distance_km(ev.latitude, ev.longitude, info.latitude, info.longitude))
            need = ev.time + self.ctx.s_time(d, ev.depth_km) + 2.0
            got = self.amplitudes.reached(sid, HORIZONTALS)
            if (got is None or got < need) and at < float(need) + self.cfg.lag_s:
                return True
        return False

    def _amplitudes(self, ev: Event) -> dict[str, AmplitudeSeries]:
        """Per-second peaks of the stations whose horizontals have delivered past their S
        wave (+ 2 s): an ML from P waves alone, or from one horizontal and not the other,
        would be low; those stations join when their data are in."""
        out: dict[str, AmplitudeSeries] = {}
        for sid, info in self.ctx.stations.items():
            got = self.amplitudes.reached(sid, HORIZONTALS)
            if got is None:
                continue
            d = float(distance_km(ev.latitude, ev.longitude, info.latitude, info.longitude))
            if got < ev.time + self.ctx.s_time(d, ev.depth_km) + 2.0:
                continue
            series = self.amplitudes.series(sid, ev.time - BEFORE_ORIGIN_S)
            if series is not None:
                out[sid] = series
        return out
