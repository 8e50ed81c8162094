"""``seismo stream``: the real-time detector beside the minute-by-minute DAG.

One long-running process (docs/streaming.md):

1. **Feeds.** One real-time SeedLink connection per server (our own client,
   :class:`~seismo.io.seedlink.client.SeedLinkClient`), each in its own thread,
   reconnecting with a growing delay (:class:`~seismo.io.seedlink.client.Backoff`)
   and resuming after the last record received. Records go through a bounded queue.
2. **Stations.** Each record feeds its station's
   :class:`~seismo.station.realtime.StationState` (the same picker and amplitude
   classes as a window, state carried): final picks, provisional picks, per-second
   peaks. A station that lags or stops delays nobody else.
3. **Events.** :class:`~seismo.event.incremental.IncrementalAssociator` runs the
   window's association on the pool of recent picks (at most every
   ``associate_every_s``); each event is located, measured (ML, intensity: the
   window's :func:`~seismo.shells.window.measure_event`) and published as a new
   *version* when its picks changed or its magnitude / intensity moved, closed after
   ``close_after_s`` of quiet, cancelled when it falls apart.
4. **Identity.** A new event takes the id of a known event it matches
   (:func:`seismo.event.identity.match_event`, the matching the DAG uses too):
   events this stream announced (state file), events in the outbox and, refreshed
   in the background, events in InfluxDB. So a restart or the DAG's later solution
   continues one event's versions and alert thread.
5. **Edges.** Alerts go through the existing rules, outbox and channels
   (:class:`~seismo.alerts.service.AlertService`): first version -> Alert,
   material change -> Update, fallen apart -> Cancel; delivery runs in its own
   thread. Picks, events (tag ``solution=stream``) and a heartbeat every
   ``heartbeat_s`` go to InfluxDB through the store and its spool, from a writer
   thread, so a slow database never holds detection up.
6. **State.** Positions, pool picks and announced events are saved (atomically)
   every second to ``[stream] state_file`` (:mod:`seismo.shells.stream_state`).

SIGTERM (or Ctrl-C): the feeds stop, queued records are processed, the state is
saved, the writer drains and the spool is flushed, due alerts are delivered
(within ``shutdown_s``), then the process exits 0.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from obspy import UTCDateTime

from seismo.config import Settings, mask_url
from seismo.errors import ConfigError, FeedError, SeismoError
from seismo.event.associate import associate
from seismo.event.consistency import ConsistencyRules, check_amplitudes
from seismo.event.identity import (
    KnownEvent,
    event_id,
    first_pick_time,
    match_event,
    merge_known,
)
from seismo.event.incremental import IncrementalAssociator, TrackedEvent
from seismo.geo import distance_km
from seismo.io.event_archive import RecordRing, write_event_records
from seismo.io.feeds.factory import feed_url_for
from seismo.io.seedlink.client import (
    DEFAULT_PORT,
    Backoff,
    Position,
    Record,
    RecordStream,
    SeedLinkClient,
    StationRequest,
)
from seismo.io.store.points import STREAM_SOLUTION
from seismo.model import AmplitudeSeries, Event, Pick
from seismo.shells.publish import Runner, alert_record
from seismo.shells.stream_state import EventMemo, StreamState, load_state, save_state
from seismo.shells.window import Context, measure_event, next_arrivals
from seismo.station.realtime import StationState

log = logging.getLogger(__name__)

#: Records waiting for processing (~2 min of a 20-station, 6-channel network).
QUEUE_MAX = 20000
#: Seconds of amplitudes before the origin handed to the measurement.
_BEFORE_ORIGIN_S = 30.0
#: A new version is published when ML moves this much (the stored ML has 2 decimals;
#: the alerts decide Updates by their own thresholds).
_ML_STEP = 0.1
#: ... or the highest intensity (observed or predicted, GB/T 17742) moves this much.
_INTENSITY_STEP = 0.2
#: Announced events remembered for identity (about a day of a busy network).
_MEMO_MAX = 500
#: Refresh of the stored events used for identity (s).
_STORE_KNOWN_S = 30.0


def _request(station_id: str) -> StationRequest:
    net, _, sta = station_id.partition(".")
    return StationRequest(net, sta)


@dataclass
class _Published:
    """What the stream published for one tracked event."""

    id: str
    version: int
    event: Event | None = None
    alerted: bool = False
    first_wall: float = 0.0


def seedlink_groups(settings: Settings, station_ids: list[str], feed: str | None) -> dict[
    str, list[str]
]:
    """SeedLink URL -> the stations read from it. ``feed`` (or ``[stream] feed``) serves
    every station; else each station's configured feed, which must be ``seedlink://``."""
    url = feed or settings.stream.feed
    groups: dict[str, list[str]] = {}
    skipped: list[str] = []
    for sid in station_ids:
        u = url or feed_url_for(settings, sid)
        if urlsplit(u).scheme.lower() != "seedlink":
            skipped.append(f"{sid} ({mask_url(u)})")
            continue
        groups.setdefault(u, []).append(sid)
    if skipped:
        log.error("seismo stream reads SeedLink only; not streamed: %s", ", ".join(skipped))
    if not groups:
        raise ConfigError(
            "seismo stream needs seedlink:// feeds: give --feed seedlink://host:port or set "
            "[stream] feed (or the [feeds] of the stations); e.g. serve the simulator with "
            "`seismo simulate --serve`"
        )
    return groups


class StreamService:
    """The real-time detector (module docstring).

    Args:
        settings: the configuration.
        feed: a ``seedlink://`` URL serving every station (default: the configuration).
        inventory: StationXML file (default: ``[network] inventory``).
        alert_dir: adds a directory channel to every alert group (as ``seismo detect``).
        store, alerts: False turns InfluxDB writes / alerting off.
        state_file: default ``[stream] state_file``.
        host: the heartbeat's ``host`` tag (default: this machine's name).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        feed: str | None = None,
        inventory: str | Path | None = None,
        alert_dir: Path | None = None,
        store: bool = True,
        alerts: bool = True,
        exercise: bool = False,
        state_file: Path | None = None,
        host: str | None = None,
    ) -> None:
        self.settings = settings
        self.cfg = settings.stream
        self.ctx = Context.from_settings(settings, inventory)
        self.runner = Runner.from_settings(settings, store=store, alerts=alerts,
                                           alert_dir=alert_dir, exercise=exercise)
        self.groups = seedlink_groups(settings, sorted(self.ctx.stations), feed)
        self.state_file = Path(state_file or self.cfg.state_file)
        self.host = host or socket.gethostname()
        now = UTCDateTime()
        self.stations: dict[str, StationState] = {
            sid: StationState(
                info.network, info.station, self.ctx.inventory, settings.picker,
                settings.intensity, settings.instrument, retention_s=self.cfg.retention_s,
                keep_s=self.cfg.amplitude_keep_s, lag_s=self.cfg.lag_s, at=now,
            )
            for sid, info in self.ctx.stations.items()
        }
        self.assoc = IncrementalAssociator(
            self.ctx.stations, self.ctx.velocity, settings.associate, settings.locate,
            s_picks=settings.picker.s_picks, pool_s=self.cfg.pool_s,
            close_after_s=self.cfg.close_after_s, cancel_after_s=self.cfg.cancel_after_s,
        )
        self.rules = ConsistencyRules.from_config(settings.associate)
        self.stop = threading.Event()
        self.queue: queue.Queue[Record] = queue.Queue(QUEUE_MAX)
        self.positions: dict[str, Position] = {}  # processed
        self.received: dict[str, Position] = {}  # received (the readers resume from here)
        self.resume_after: dict[str, UTCDateTime] = {}  # picks before these were made already
        self.published: dict[int, _Published] = {}
        self.memos: dict[str, EventMemo] = {}
        self._store_known: list[KnownEvent] = []
        self._links: dict[str, RecordStream] = {}
        self._threads: list[threading.Thread] = []
        self._writes: queue.Queue[tuple[str, Callable[[], Any]] | None] = queue.Queue()
        self._deliver = threading.Event()
        self._lock = threading.Lock()
        self.started = time.time()
        self._seen: dict[tuple[str, str], None] = {}  # picks logged (bounded)
        self.n_records = 0
        self.n_picks = 0
        self.n_versions = 0
        # raw records of the last minutes: each event's miniSEED is archived from here
        self.archive_dir = Path(self.cfg.event_archive_dir)
        self.ring = RecordRing(self.cfg.event_archive_pre_s + self.cfg.event_archive_post_s
                               + self.cfg.close_after_s)

    # ------------------------------------------------------------------ life cycle
    def run(self, stop: threading.Event | None = None) -> int:
        """Run until ``stop`` (or :attr:`stop`) is set; returns the exit code (0)."""
        if stop is not None:
            self.stop = stop
        self._restore()
        self._start_threads()  # records queue up while the caches warm
        self._warm_caches()
        log.info("seismo stream: %d stations from %s", len(self.stations),
                 ", ".join(mask_url(u) for u in self.groups))
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _warm_caches(self) -> None:
        """One association of a made-up event at the network centre: the association grid
        and the travel-time tables are built now (seconds), not at the first earthquake."""
        t = time.perf_counter()
        infos = list(self.ctx.stations.values())
        lat = sum(i.latitude for i in infos) / len(infos)
        lon = sum(i.longitude for i in infos) / len(infos)
        t0 = UTCDateTime(0)
        picks = []
        for i in infos:
            d = self._distance_to(lat, lon, i.latitude, i.longitude)
            for ph, tt in (("P", self.ctx.p_time(d, 10.0)), ("S", self.ctx.s_time(d, 10.0))):
                pt = t0 + tt
                picks.append(Pick(Pick.make_id(f"{i.id}..HHZ", ph, pt), i.network, i.station,
                                  "", "HHZ", ph, pt, 0.05, 10.0, 1.0))  # type: ignore[arg-type]
        try:
            associate(picks, self.ctx.stations, self.ctx.velocity, self.settings.associate,
                      self.settings.locate, s_picks=self.settings.picker.s_picks)
        except SeismoError as exc:
            log.warning("association warm-up failed: %s", exc)
        log.info("association caches warm in %.1f s", time.perf_counter() - t)

    def _start_threads(self) -> None:
        for url, sids in self.groups.items():
            t = threading.Thread(target=self._reader, args=(url, sids),
                                 name=f"stream-feed-{urlsplit(url).netloc}", daemon=True)
            self._threads.append(t)
        self._threads.append(threading.Thread(target=self._writer, name="stream-store",
                                              daemon=True))
        self._threads.append(threading.Thread(target=self._deliverer, name="stream-alerts",
                                              daemon=True))
        if self.runner.store is not None:
            self._threads.append(threading.Thread(target=self._known_refresher,
                                                  name="stream-known", daemon=True))
        for t in self._threads:
            t.start()

    def _shutdown(self) -> None:
        self.stop.set()
        for rs in list(self._links.values()):
            rs.close()
        deadline = time.monotonic() + self.cfg.shutdown_s
        while True:  # what was received is processed (its position is then saved)
            try:
                self._process(self.queue.get_nowait())
            except queue.Empty:
                break
        self._save()
        for pub in list(self.published.values()):  # open events: what has arrived so far
            if pub.event is not None:
                self._archive(pub.event)
        self._writes.put(None)
        self._deliver.set()
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if self.runner.alerts is not None:
            try:
                rep = self.runner.alerts.deliver_due()
                log.info("shutdown: alerts delivered %d, pending %d", rep.delivered, rep.pending)
            except Exception:  # the outbox keeps what it could not deliver
                log.exception("shutdown: alert delivery failed")
        if self.runner.store is not None:
            try:
                rep = self.runner.store.flush_spool()
                log.info("shutdown: spool flushed (%s)", rep)
            except SeismoError as exc:
                log.error("shutdown: spool not flushed (kept on disk): %s", exc)
        self.runner.close()
        log.info("seismo stream stopped: %d records, %d picks, %d event versions; "
                 "%.0f s running, %.1f s of CPU", self.n_records, self.n_picks,
                 self.n_versions, time.time() - self.started, time.process_time())

    # ------------------------------------------------------------------ state
    def _restore(self) -> None:
        st = load_state(self.state_file)
        self.positions = {k: v for k, v in st.positions.items() if k in self.stations}
        self.received = dict(self.positions)
        self.assoc.add(st.picks)
        for m in st.events:
            self.memos[m.id] = m
        if self.positions:
            log.info("resuming %d stations from %s (state saved %s)", len(self.positions),
                     self.state_file, st.saved)
            self._warm_up()

    def _save(self) -> None:
        with self._lock:
            memos = sorted(self.memos.values(), key=lambda m: m.time)[-_MEMO_MAX:]
            state = StreamState(
                positions=dict(self.positions),
                picks=list(self.assoc.final.values()),
                events=memos,
                saved=UTCDateTime(),
            )
        try:
            save_state(self.state_file, state)
        except OSError as exc:
            log.error("cannot save the stream state to %s: %s", self.state_file, exc)

    def _warm_up(self) -> None:
        """Re-read ``warmup_s`` before each resume point (filters and STA/LTA warm up;
        the picks it gives were made before the restart and are dropped)."""
        for url, sids in self.groups.items():
            pos: dict[str, UTCDateTime] = {}
            for sid in sids:
                t = self.positions[sid].time if sid in self.positions else None
                if t is not None:
                    pos[sid] = t
            if not pos:
                continue
            t1 = max(pos.values())
            t0 = min(pos.values()) - self.cfg.warmup_s
            client = self._client(url)
            reqs = [_request(s) for s in pos]
            try:
                records = client.fetch_records(reqs, t0, t1, timeout_s=60.0)
            except FeedError as exc:
                log.warning("warm-up read from %s failed (%s): filters start cold",
                            mask_url(url), exc)
                continue
            self.resume_after.update(pos)
            n = 0
            for rec in records:
                until = pos.get(rec.station_id)
                end = rec.end_time
                if until is None or end is None or end > until:
                    continue
                self._feed(rec, warm=True)
                n += 1
            log.info("warm-up: %d records from %s", n, mask_url(url))

    # ------------------------------------------------------------------ feeds
    def _client(self, url: str) -> SeedLinkClient:
        parts = urlsplit(url)
        return SeedLinkClient(parts.hostname or "", parts.port or DEFAULT_PORT,
                              timeout_s=self.settings.feeds.timeout_s)

    def _reader(self, url: str, sids: list[str]) -> None:
        """One SeedLink server: stream, reconnect with backoff, resume after the last record."""
        client = self._client(url)
        reqs = [_request(s) for s in sids]
        backoff = Backoff(1.0, self.cfg.reconnect_max_s)
        shown = mask_url(url)
        while not self.stop.is_set():
            resume = {s: self.received[s] for s in sids if s in self.received}
            try:
                rs = client.stream(reqs, resume=resume, keepalive_s=self.cfg.keepalive_s,
                                   idle_timeout_s=self.cfg.idle_timeout_s)
                self._links[url] = rs
                log.info("SeedLink %s: streaming %d stations (%d resumed)", shown,
                         len(rs.accepted), len(resume))
                with rs:
                    for rec in rs:
                        self.received[rec.station_id] = rec.position
                        backoff.reset()
                        while not self.stop.is_set():
                            try:
                                self.queue.put(rec, timeout=0.5)
                                break
                            except queue.Full:
                                continue
                        if self.stop.is_set():
                            break
            except FeedError as exc:
                log.warning("SeedLink %s: %s", shown, exc)
            except Exception:  # a reader never dies: reconnect
                log.exception("SeedLink %s: reader failed", shown)
            finally:
                self._links.pop(url, None)
            if not self.stop.is_set():
                delay = backoff.next_delay()
                log.info("SeedLink %s: reconnecting in %.0f s", shown, delay)
                self.stop.wait(delay)

    # ------------------------------------------------------------------ main loop
    def _loop(self) -> None:
        last_assoc = last_measure = last_save = 0.0
        last_beat = time.time()
        while not self.stop.is_set():
            try:
                rec: Record | None = self.queue.get(timeout=0.2)
            except queue.Empty:
                rec = None
            n = 0
            while rec is not None:
                self._process(rec)
                n += 1
                if n >= 500:
                    break
                try:
                    rec = self.queue.get_nowait()
                except queue.Empty:
                    rec = None
            now = time.time()
            if (self.assoc.dirty and now - last_assoc >= self.cfg.associate_every_s) or (
                now - last_assoc >= 1.0
            ):
                self._associate(now)
                last_assoc = now
            if now - last_measure >= 1.0:
                self._remeasure(now)
                last_measure = now
            if now - last_save >= 1.0:
                self._save()
                last_save = now
            if now - last_beat >= self.cfg.heartbeat_s:
                self._heartbeat(now)
                last_beat = now

    def _process(self, rec: Record) -> None:
        self._feed(rec, warm=False)
        self.positions[rec.station_id] = rec.position
        self.n_records += 1

    def _feed(self, rec: Record, *, warm: bool) -> None:
        state = self.stations.get(rec.station_id)
        if state is None:
            return
        try:
            st = rec.stream(copy=False)  # StationState.feed does not modify traces
        except FeedError as exc:
            log.warning("%s", exc)
            return
        if len(st) and not warm:
            self.ring.add(rec.station_id, float(st[0].stats.starttime),
                          float(st[0].stats.endtime), rec.payload)
        new: list[Pick] = []
        for tr in st:
            try:
                new += state.feed(tr)
            except SeismoError as exc:  # one bad record or channel never stops the others
                log.warning("station %s: %s", rec.station_id, exc)
        after = self.resume_after.get(rec.station_id)
        if after is not None:
            new = [p for p in new if p.time >= after]
        if not warm and new:
            self.assoc.add(new)
            self.n_picks += len(new)
            picks = list(new)
            self._write("picks", lambda: self._store().write_picks(picks, STREAM_SOLUTION))
        if not warm:
            prov = state.provisional()
            if after is not None:
                prov = [p for p in prov if p.time >= after]
            self.assoc.set_provisional(rec.station_id, prov)
            self._log_picks(prov, "provisional")
            self._log_picks(new, "final")

    def _log_picks(self, picks: list[Pick], kind: str) -> None:
        for p in picks:
            key = (p.id, kind)
            if key not in self._seen:
                self._seen[key] = None
                log.info("pick %s %s %s (%s)", p.seed_id, p.phase, p.time, kind)
        while len(self._seen) > 5000:
            self._seen.pop(next(iter(self._seen)))

    def _live(self, now: float) -> set[str]:
        return {sid for sid, s in self.stations.items()
                if s.newest is not None and now - float(s.newest) <= self.cfg.live_s}

    # ------------------------------------------------------------------ events
    def _associate(self, now: float) -> None:
        t = UTCDateTime(now)
        try:
            changes = self.assoc.update(t, self._live(now))
        except SeismoError as exc:
            log.warning("association failed: %s", exc)
            return
        for tev in changes.new:
            o = tev.candidate.origin
            log.info("new origin %s %.3f %.3f %.1f km from %d stations (%d phases), %.1f s "
                     "after its origin time", o.time, o.latitude, o.longitude, o.depth_km,
                     o.n_stations, o.n_phases, now - float(o.time))
        for tev in changes.new + changes.relocated:
            self._publish(tev, now)
        for tev in changes.closed:
            self._publish(tev, now)
            self._forget(tev, closed=True)
        for tev in changes.vanished:
            self._vanish(tev, now)

    def _remeasure(self, now: float) -> None:
        """New amplitudes move magnitudes and intensities: republish when they moved (and
        publish events that waited for their first magnitude)."""
        for tev in list(self.assoc.events.values()):
            if self._publish(tev, now) and tev.key in self.published:
                self.assoc.touch(tev.key, UTCDateTime(now))

    def _awaiting_magnitude(self, ev: Event, now: float) -> bool:
        """No ML yet while the S wave (+ 2 s) has not reached the event's third-nearest
        station: the first message waits for it (a location without size is of little
        use); after that an event without ML is published as it is."""
        if ev.magnitude is not None:
            return False
        dists = sorted(a.distance_km for a in ev.arrivals)
        if not dists:
            return False
        d = dists[min(2, len(dists) - 1)]
        return now < float(ev.time) + self.ctx.s_time(d, ev.depth_km) + 2.0

    def _amplitudes(self, ev: Event, now: float) -> dict[str, AmplitudeSeries]:
        """Per-second peaks of the stations whose S has arrived (an ML from P waves
        alone would be low; those stations join when their S is in)."""
        out: dict[str, AmplitudeSeries] = {}
        for sid, state in self.stations.items():
            info = self.ctx.stations[sid]
            if state.newest is None:
                continue
            d = self._distance(ev, info.latitude, info.longitude)
            s_at = ev.time + self.ctx.s_time(d, ev.depth_km)
            if state.newest < s_at + 2.0:
                continue
            series = state.series(ev.time - _BEFORE_ORIGIN_S)
            if series is not None:
                out[sid] = series
        return out

    @staticmethod
    def _distance(ev: Event, lat: float, lon: float) -> float:
        return float(distance_km(ev.latitude, ev.longitude, lat, lon))

    @staticmethod
    def _distance_to(lat0: float, lon0: float, lat: float, lon: float) -> float:
        return float(distance_km(lat0, lon0, lat, lon))

    def _measure(self, tev: TrackedEvent, eid: str, now: float) -> Event | None:
        origin = tev.candidate.origin
        ev = origin.to_event(eid, creation_time=UTCDateTime(now))
        others = [t.candidate for t in self.assoc.events.values() if t.key != tev.key]
        ev = measure_event(self.ctx, ev, self._amplitudes(ev, now),
                           next_arrivals(self.ctx, origin, others))
        why = check_amplitudes(ev.station_magnitudes, self.rules)
        if why:
            log.info("stream event %s not published: %s (docs/consistency.md)", eid, why)
            return None
        return dataclasses.replace(ev, solution="stream")

    def _identify(self, ev: Event) -> tuple[str, int]:
        """The id and next version of a new stream event (module docstring, Identity)."""
        since, until = ev.time - 600, ev.time + 600
        known: list[KnownEvent] = [m.known() for m in self.memos.values()]
        if self.runner.alerts is not None:
            try:
                known += self.runner.alerts.known_events(since, until)
            except Exception as exc:  # an unreadable outbox never stops detection
                log.error("cannot read known events from the outbox: %s", exc)
        known += self._store_known
        taken = {p.id for p in self.published.values()}
        cands = [k for k in merge_known(known) if k.id not in taken and since <= k.time <= until]
        tol = self.settings.pipeline
        m = match_event(ev, cands, tol.event_match_time_s, tol.event_match_distance_km)
        if m is None:
            return ev.id, 1
        log.info("stream event %s is known event %s (origin %+.2f s): continuing its versions",
                 ev.id, m.id, float(ev.time - m.time))
        memo = self.memos.get(m.id)
        version = max(m.version, memo.version if memo else 0)
        return m.id, version + 1

    def _publish(self, tev: TrackedEvent, now: float) -> bool:
        """Measure ``tev`` and publish a version when it changed; True if published."""
        pub = self.published.get(tev.key)
        first = pub is None
        provisional_id = event_id(self.settings.pipeline.event_id_prefix,
                                  first_pick_time(tev.picks))
        ev = self._measure(tev, pub.id if pub else provisional_id, now)
        if ev is None:
            return False
        if pub is None:
            if self._awaiting_magnitude(ev, now):
                return False
            eid, version = self._identify(ev)
            pub = self.published[tev.key] = _Published(eid, version - 1, first_wall=now)
            ev = dataclasses.replace(ev, id=eid)
        elif pub.event is not None and not self._material(pub.event, ev):
            return False
        pub.version += 1
        ev = dataclasses.replace(ev, version=pub.version)
        pub.event = ev
        tev.changed = False
        self.n_versions += 1
        with self._lock:
            prev = self.memos.get(ev.id)
            self.memos[ev.id] = EventMemo(
                ev.id, ev.version, ev.time, ev.latitude, ev.longitude, ev.depth_km,
                ev.magnitude, alerted=pub.alerted or (prev is not None and prev.alerted),
            )
        log.info("stream event %s v%d: %s %.3f %.3f %.1f km ML %s I %s, %d stations, "
                 "%.1f s after origin", ev.id, ev.version, ev.time, ev.latitude, ev.longitude,
                 ev.depth_km, ev.magnitude, ev.max_intensity, ev.n_stations,
                 now - float(ev.time))
        queued: list[Any] = []
        if self.runner.alerts is not None:
            try:
                queued = self.runner.alerts.process_events([ev])
            except Exception:  # alerting never stops detection; the outbox keeps what it has
                log.exception("alerting failed for stream event %s", ev.id)
            if queued:
                pub.alerted = True
                self.memos[ev.id].alerted = True
                self._deliver.set()
        self._write("event", lambda: self._store().write_events([ev]))
        if first:
            self._archive(ev)
        if queued:
            recs = [alert_record(q) for q in queued]
            self._write("alerts", lambda: self._store().write_alerts(recs))
        return True

    @staticmethod
    def _material(old: Event, new: Event) -> bool:
        """A new version is worth publishing (new picks, relocation, ML or intensity)."""
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

        return moved(old.magnitude, new.magnitude, _ML_STEP) or moved(
            imax(old), imax(new), _INTENSITY_STEP
        )

    def _vanish(self, tev: TrackedEvent, now: float) -> None:
        pub = self.published.get(tev.key)
        self._forget(tev, closed=False)
        if pub is None or pub.event is None:
            return
        log.warning("stream event %s fell apart: no association found it for %.0f s",
                    pub.id, self.cfg.cancel_after_s)
        if pub.alerted and self.runner.alerts is not None:
            reason = ("the real-time solution fell apart: its picks no longer make an "
                      f"event (no association found it for {self.cfg.cancel_after_s:g} s)")
            try:
                queued = self.runner.alerts.cancel(pub.event, reason)
            except Exception:
                log.exception("cancelling stream event %s failed", pub.id)
                return
            if queued:
                self._deliver.set()
                recs = [alert_record(q) for q in queued]
                self._write("alerts", lambda: self._store().write_alerts(recs))

    def _forget(self, tev: TrackedEvent, *, closed: bool) -> None:
        pub = self.published.pop(tev.key, None)
        if closed and pub is not None and pub.event is not None:
            self._archive(pub.event)
        if pub is not None and pub.id in self.memos:
            self.memos[pub.id].closed = closed
            if not closed:  # fell apart: not a known event any more
                self.memos.pop(pub.id, None)

    # ------------------------------------------------------------------ edges
    def _archive(self, ev: Event) -> None:
        """Write the records around ``ev``'s origin to the event archive (off this thread
        when there is a writer; a failure is logged, never raised)."""
        t0 = float(ev.time) - self.cfg.event_archive_pre_s
        records = self.ring.span(t0, float(ev.time) + self.cfg.event_archive_post_s)
        root, eid = self.archive_dir, ev.id

        def write() -> None:
            try:
                write_event_records(root, eid, records)
            except (OSError, SeismoError) as exc:
                log.error("event %s: waveforms not archived in %s: %s", eid, root, exc)

        if self.runner.store is not None and not self.stop.is_set():
            self._writes.put(("event waveforms", write))
        else:
            write()

    def _store(self) -> Any:
        assert self.runner.store is not None
        return self.runner.store

    def _write(self, what: str, fn: Callable[[], Any]) -> None:
        if self.runner.store is not None:
            self._writes.put((what, fn))

    def _writer(self) -> None:
        """Store writes in order, off the detection thread (a slow database waits here)."""
        while True:
            item = self._writes.get()
            if item is None:
                return
            what, fn = item
            try:
                fn()
            except SeismoError as exc:
                log.error("STORE: writing %s failed: %s", what, exc)
            except Exception:
                log.exception("STORE: writing %s failed", what)

    def _deliverer(self) -> None:
        """Deliver due alerts as soon as they are queued, and retry every few seconds."""
        while not self.stop.is_set():
            self._deliver.wait(2.0)
            self._deliver.clear()
            if self.runner.alerts is None:
                continue
            try:
                self.runner.alerts.deliver_due()
            except Exception:  # the outbox keeps the items; next round retries
                log.exception("alert delivery failed")

    def _known_refresher(self) -> None:
        """Events stored in InfluxDB (e.g. the DAG's), for identity; off the main thread."""
        while not self.stop.is_set():
            now = UTCDateTime()
            try:
                found = self._store().query_events(now - 3600, now + 60)
                self._store_known = [KnownEvent.of(e) for e in found]
            except Exception as exc:  # store down: the outbox and the state file remain
                log.debug("stored events not read: %s", exc)
            self.stop.wait(_STORE_KNOWN_S)

    def _heartbeat(self, now: float) -> None:
        live = self._live(now)
        newest = [float(s.newest) for s in self.stations.values() if s.newest is not None]
        fields = {
            "uptime_s": round(now - self.started, 1),
            "stations_live": len(live),
            "stations": len(self.stations),
            "records": self.n_records,
            "picks": self.n_picks,
            "event_versions": self.n_versions,
            "events_open": len(self.assoc.events),
            "queue": self.queue.qsize(),
            "lag_s": round(now - max(newest), 2) if newest else None,
        }
        log.info("heartbeat: %s", fields)
        beat = {k: v for k, v in fields.items() if v is not None}
        at = UTCDateTime(now)
        self._write("heartbeat", lambda: self._store().write_heartbeat(self.host, at, **beat))
