"""What the console reads and does: the one module of the web package that touches data.

Every read goes through the store's queries (:mod:`seismo.io.store`), the review
shell (:mod:`seismo.shells.review`), the alert outbox (:mod:`seismo.alerts.outbox`),
the health checks (:mod:`seismo.health`) and the record-section preparation of
``seismo event plot`` (:func:`seismo.shells.report.event_traces_from`); every action
calls the same function as the command line (``seismo event review|relocate``,
``seismo drill``). The routes turn what this module returns into JSON or pages.

Everything returned is JSON-able: times are ISO 8601 strings (UTC) and epoch
seconds, distances km, intensities GB/T 17742-2020 degrees.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from obspy import UTCDateTime

from seismo.alerts.gazetteer import NamedSite, place_name
from seismo.alerts.outbox import Outbox
from seismo.alerts.rules import evaluate
from seismo.config import Settings
from seismo.errors import DataError, SeismoError, StoreError
from seismo.inventory import StationInfo
from seismo.io.store import InfluxStore
from seismo.io.store.points import ALERTS, EVENTS, utc_from_us
from seismo.model import Event
from seismo.shells import review
from seismo.shells.window_context import Context
from seismo.web import stations as station_reads
from seismo.web.basemap import Basemap, basemap
from seismo.web.users import UserStore

log = logging.getLogger(__name__)

#: Status words of the live list (issue 25): a stream version is "streaming"
#: (provisional), a window (DAG) version "automatic"; reviews give "confirmed" or
#: "rejected"; an event whose alert thread ends with a Cancel without review, "cancelled".
STATUSES = ("streaming", "automatic", "confirmed", "rejected", "cancelled")
#: Samples per trace sent to the browser (the record section redraws from these).
MAX_TRACE_POINTS = 4000


def _iso(t: UTCDateTime | None) -> str | None:
    return None if t is None else UTCDateTime(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _num(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), nd)


def plain(v: Any) -> Any:
    """A model's ``to_dict()`` with its times as plain ISO 8601 strings (for JSON readers)."""
    if isinstance(v, dict):
        if set(v) == {"__utc__"}:
            return v["__utc__"]
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def display_status(event: Event, thread: list[dict[str, Any]]) -> str:
    """One of :data:`STATUSES` for ``event`` given its alert records."""
    if event.status in ("confirmed", "rejected"):
        return event.status
    if thread and thread[-1].get("msg_type") == "Cancel":
        return "cancelled"
    return "streaming" if event.solution == "stream" else "automatic"


def alert_state(thread: list[dict[str, Any]]) -> str:
    """A few words on an event's alert thread: none, or the last message and its group."""
    if not thread:
        return "none"
    last = thread[-1]
    n = len({r.get("identifier") for r in thread})
    return f"{last.get('msg_type')} ({n} message{'s' if n > 1 else ''})"


@dataclass
class Drill:
    """A drill started from the console (runs in a thread)."""

    id: int
    scenario: str
    user: str
    started: float
    state: str = "running"
    detail: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


class Console:
    """The console's data: built once per application from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.users = UserStore(settings.web.users_db)
        self.drills: dict[int, Drill] = {}
        self._drill_lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    def store(self) -> InfluxStore:
        return InfluxStore.from_settings(self.settings.store)

    @cached_property
    def ctx(self) -> Context:
        return Context.from_settings(self.settings, check_responses=False)

    @cached_property
    def site_points(self) -> list[tuple[str, float, float]]:
        return [(s.name, s.latitude, s.longitude) for s in self.ctx.sites]

    def place(self, lat: float, lon: float) -> str:
        """The place name the alerts give (:mod:`seismo.alerts.gazetteer`)."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return ""
        sites = [NamedSite(s.name, s.name_zh, s.kind, s.latitude, s.longitude)
                 for s in self.ctx.sites]
        return place_name(lat, lon, sites).en

    def basemap(self) -> Basemap:
        """Land, coastline and borders for the maps (:func:`seismo.web.basemap.basemap`:
        computed once per process)."""
        return basemap(self.settings.network.region,
                       [(s.latitude, s.longitude) for s in self.ctx.stations.values()])

    def network(self) -> dict[str, Any]:
        """Stations, sites and the monitored region (for every map)."""
        return {
            "name": self.settings.network.name,
            "region": list(self.settings.network.region),
            "stations": [{"id": s.id, "latitude": s.latitude, "longitude": s.longitude,
                          "name": s.site_name, "kinds": sorted(s.kinds())}
                         for s in sorted(self.ctx.stations.values(), key=lambda s: s.id)],
            "sites": [{"name": n, "latitude": la, "longitude": lo}
                      for n, la, lo in self.site_points],
        }

    def _summary(self, e: Event, thread: list[dict[str, Any]]) -> dict[str, Any]:
        oncall = any(r.get("group") == "oncall" and r.get("msg_type") != "Cancel"
                     for r in thread)
        if not thread:
            oncall = evaluate(e, self.settings.alerts.rules, self.settings.network.region).oncall
        return {
            "id": e.id, "time": _iso(e.time), "epoch": float(e.time),
            "latitude": _num(e.latitude, 4), "longitude": _num(e.longitude, 4),
            "depth_km": _num(e.depth_km, 1), "place": self.place(e.latitude, e.longitude),
            "magnitude": _num(e.magnitude, 1), "magnitude_type": e.magnitude_type,
            "max_intensity": _num(e.max_intensity, 1), "n_stations": e.n_stations,
            "version": e.version, "status": display_status(e, thread),
            "alert_state": alert_state(thread), "oncall": bool(oncall),
        }

    # ------------------------------------------------------------------ events
    def events(
        self, since: UTCDateTime, until: UTCDateTime, *, status: str | None = None,
        min_magnitude: float | None = None, page: int = 1, page_size: int | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """The events with origin time in [since, until], newest first, one page of them.

        Reads the numeric columns only (``query_events(summary=True)``) and the alert
        records of the span; ``status`` filters on :data:`STATUSES`. The answer carries a
        ``token``: the number of event versions in the span and of alert records sent
        since its start, with the filters and page. Given the ``token`` of an earlier
        answer that still holds, only ``{"changed": False, "token": ...}`` is returned
        (two ``COUNT`` queries instead of the list: what the live page polls with).
        """
        if status is not None and status not in STATUSES:
            raise DataError(f"status {status!r} must be one of {', '.join(STATUSES)}")
        size = page_size or self.settings.web.page_size
        page = max(1, page)
        with self.store() as store:
            try:
                now_token = ".".join(map(str, (
                    store.count(EVENTS, since, until), store.count(ALERTS, since, None),
                    status or "", "" if min_magnitude is None else min_magnitude, page, size)))
                if token is not None and token == now_token:
                    return {"changed": False, "token": now_token}
                evs = store.query_events(since, until, min_magnitude=min_magnitude, summary=True)
            except StoreError as exc:
                if "database not found" not in str(exc):
                    raise
                evs, now_token = [], "empty"  # nothing was ever written
            alerts = store.query_alerts(since, None) if evs else []
        threads: dict[str, list[dict[str, Any]]] = {}
        for r in alerts:
            threads.setdefault(str(r.get("event_id")), []).append(r)
        pairs = [(e, threads.get(e.id, [])) for e in reversed(evs)]
        if status is not None:
            pairs = [(e, t) for e, t in pairs if display_status(e, t) == status]
        # place names and the on-call rules only for the page shown
        rows = [self._summary(e, t) for e, t in pairs[(page - 1) * size: page * size]]
        return {"changed": True, "token": now_token, "since": _iso(since),
                "until": _iso(until), "total": len(pairs), "page": page, "page_size": size,
                "events": rows}

    def event(self, event_id: str) -> dict[str, Any]:
        """One event: its latest version in full, every version, the alert thread with
        the deliveries per channel, and the console actions on it.

        Raises:
            DataError: no such event.
        """
        with self.store() as store:
            versions = review.event_versions(store, event_id)
            if not versions:
                raise DataError(f"event {event_id!r} not found in the store")
            records = review.alert_records(store, event_id)
        e = versions[-1]
        thread = self.thread(event_id, records)
        out = self._summary(e, records)
        out.update({
            "event": plain(e.to_dict()),
            "magnitudes": [{"label": m.label(), "duration_s": m.duration_s, "held": m.held}
                           for m in e.magnitudes],
            "ellipse": {"azimuth_deg": _num(e.ellipse_azimuth_deg, 1),
                        "68": [_num(e.ellipse_68_major_km), _num(e.ellipse_68_minor_km)],
                        "90": [_num(e.ellipse_90_major_km), _num(e.ellipse_90_minor_km)]},
            "versions": self._timeline(versions, thread),
            "alerts": thread,
            "actions": [a.to_dict() for a in self.users.actions(event_id)],
            "text": review.format_event(e, records, versions),
        })
        return out

    def _timeline(
        self, versions: list[Event], thread: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        prev: Event | None = None
        for v in versions:
            made = v.creation_time
            out.append({
                "version": v.version, "solution": v.solution, "status": v.status,
                "created": _iso(made),
                "after_origin_s": None if made is None else round(float(made - v.time), 1),
                "n_stations": v.n_stations, "magnitude": _num(v.magnitude, 2),
                "magnitude_type": v.magnitude_type, "max_intensity": _num(v.max_intensity, 1),
                "latitude": _num(v.latitude, 4), "longitude": _num(v.longitude, 4),
                "depth_km": _num(v.depth_km, 1), "reviewer": v.reviewer,
                "comment": v.review_comment, "changed": _changes(prev, v),
                "messages": [],
            })
            prev = v
        # a message belongs to the newest version made before it was sent
        made = [(float(v.creation_time) if v.creation_time else -math.inf) for v in versions]
        for m in thread:
            try:
                t = float(UTCDateTime(str(m.get("sent"))))
            except (TypeError, ValueError):
                continue
            k = max((i for i, c in enumerate(made) if c <= t + 1.0), default=0)
            out[k]["messages"].append({"identifier": m["identifier"],
                                       "msg_type": m.get("msg_type"), "group": m.get("group")})
        return out

    def thread(self, event_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The CAP messages about ``event_id``, oldest first, each with its deliveries per
        channel (from the outbox) and the version it was sent for (when known)."""
        box = self._outbox()
        deliveries: dict[str, list[dict[str, Any]]] = {}
        if box is not None:
            for state in ("pending", "delivered", "dead"):
                for it in box.items(state):
                    deliveries.setdefault(it.identifier, []).append(
                        {"channel": it.channel, "state": state, "attempts": it.attempts,
                         "last_error": it.last_error, "key": it.key,
                         "delivered_at": it.delivered_at})
        seen: dict[str, dict[str, Any]] = {}
        for r in records:
            ident = str(r.get("identifier"))
            sent = r.get("sent") or (_iso(utc_from_us(r["time"])) if r.get("time") else None)
            seen.setdefault(ident, {
                "identifier": ident, "msg_type": r.get("msg_type"), "group": r.get("group"),
                "status": r.get("status"), "sent": sent, "magnitude": r.get("magnitude"),
                "deliveries": deliveries.get(ident, []),
            })
        if not seen:  # the store has none: the local outbox may
            for m in review.outbox_messages(self.settings, event_id):
                seen.setdefault(m["identifier"], {**m, "deliveries":
                                                  deliveries.get(m["identifier"], [])})
        return sorted(seen.values(), key=lambda m: str(m.get("sent")))

    def _outbox(self) -> Outbox | None:
        try:
            return Outbox(self.settings.alerts.outbox_dir)
        except SeismoError as exc:
            log.warning("outbox unreadable: %s", exc)
            return None

    def waveforms(self, event_id: str) -> dict[str, Any]:
        """The record section of ``event_id``: traces (decimated for drawing), picks,
        predicted P and S curves, and whether each trace holds the event."""
        from seismo.shells.report import event_traces_from

        with self.store() as store:
            e = review.load_event(store, event_id)
        try:
            traces, errors, band, source = event_traces_from(self.settings, self.ctx, e)
        except SeismoError as exc:
            return {"id": event_id, "traces": [], "errors": {"*": str(exc)}, "source": "",
                    "holds_event": False, "picks": [], "predicted": {}}
        out = []
        for t in traces:
            step = max(1, math.ceil(t.times_s.size / MAX_TRACE_POINTS))
            out.append({"station": t.station_id, "channel": t.channel,
                        "distance_km": round(t.distance_km, 2),
                        "t0": round(float(t.times_s[0]), 3) if t.times_s.size else 0.0,
                        "dt": float(t.times_s[1] - t.times_s[0]) * step
                        if t.times_s.size > 1 else 0.0,
                        "values": np.round(np.nan_to_num(t.values[::step]), 3).tolist(),
                        "shows_event": t.shows_event, "note": t.note})
        dmax = max([t["distance_km"] for t in out] + [1.0]) * 1.05 + 1.0
        d = np.linspace(0.0, dmax, 60)
        depth = max(e.depth_km, 0.0)
        predicted = {ph: {"distance_km": d.round(2).tolist(),
                          "time_s": np.round(self.ctx.velocity.travel_time(ph, d, depth),
                                             3).tolist()} for ph in ("P", "S")}
        return {
            "id": event_id, "source": source, "band_hz": list(band), "errors": errors,
            "traces": out, "predicted": predicted,
            "holds_event": any(t["shows_event"] for t in out),
            "picks": [{"id": p.id, "station": p.station_id, "phase": p.phase,
                       "t": round(float(p.time - e.time), 3)} for p in e.picks],
        }

    def shakemap(self, event_id: str, n: int = 41) -> dict[str, Any]:
        """Predicted intensity on a grid around the epicentre (GB/T 17742 degrees), with
        the observed station intensities: :func:`seismo.event.intensity.predict_sites` (the
        ground-motion model conditioned on the stations)."""
        from seismo.event.intensity import predict_sites
        from seismo.event.sites import Site

        with self.store() as store:
            e = review.load_event(store, event_id)
        if e.magnitude is None or not math.isfinite(e.latitude):
            return {"id": event_id, "grid": None, "note": "no magnitude: nothing to predict"}
        la0, la1, lo0, lo1 = self.settings.network.region
        half = max(la1 - la0, lo1 - lo0) / 2
        lats = np.linspace(e.latitude - half, e.latitude + half, n)
        lons = np.linspace(e.longitude - half, e.longitude + half, n)
        cells = [Site(f"g{i}_{j}", "grid", float(la), float(lo))
                 for i, la in enumerate(lats) for j, lo in enumerate(lons)]
        pred = predict_sites(e.latitude, e.longitude, e.depth_km, e.magnitude, cells,
                             list(e.station_intensities), self.settings.intensity,
                             e.magnitude_type,
                             {k: v.vs30 for k, v in self.ctx.stations.items()})
        grid = np.full((n, n), np.nan)
        for p in pred:
            i, j = (int(x) for x in p.name[1:].split("_"))
            grid[i, j] = p.intensity_cn
        return {"id": event_id, "lats": lats.round(4).tolist(), "lons": lons.round(4).tolist(),
                "grid": np.where(np.isfinite(grid), np.round(grid, 2), -1).tolist(),
                "observed": [{"station": f"{s.network}.{s.station}", "latitude": s.latitude,
                              "longitude": s.longitude, "intensity": _num(s.intensity_cn, 1)}
                             for s in e.station_intensities]}

    # ------------------------------------------------------------------ review actions
    def _act(self, user: str, event_id: str, action: str, detail: str, fn: Any) -> dict[str, Any]:
        try:
            res = fn()
        except SeismoError as exc:
            self.users.record_action(user, event_id, action, detail, f"failed: {exc}")
            raise
        outcome = res.render().replace("\n", "; ")
        self.users.record_action(user, event_id, action, detail, outcome)
        return {"ok": res.alert_error is None, "version": res.event.version,
                "status": res.event.status, "alerts": [list(a) for a in res.alerts],
                "delivered": res.delivered, "alert_error": res.alert_error, "text": outcome}

    def review(self, user: str, event_id: str, status: str, comment: str = "") -> dict[str, Any]:
        """Confirm or reject (``seismo event review``): rejecting sends the CAP Cancel."""
        return self._act(user, event_id, status, comment, lambda: review.review_event(
            self.settings, event_id, status, comment=comment or None, reviewer=user))

    def relocate(self, user: str, event_id: str, drop: list[str], add: list[str],
                 comment: str = "") -> dict[str, Any]:
        """Relocate with picks dropped and added (``seismo event relocate``)."""
        detail = "; ".join([*(f"drop {d}" for d in drop), *(f"add {a}" for a in add),
                            *([comment] if comment else [])])
        return self._act(user, event_id, "relocate", detail, lambda: review.relocate_event(
            self.settings, event_id, drop_picks=drop, add_picks=add, comment=comment or None,
            reviewer=user))

    def comment(self, user: str, event_id: str, text: str) -> dict[str, Any]:
        """A comment on the event, kept in the console's audit trail."""
        text = text.strip()
        if not text:
            raise DataError("an empty comment")
        with self.store() as store:
            review.load_event(store, event_id)
        return self.users.record_action(user, event_id, "comment", text[:2000], "noted").to_dict()

    # ------------------------------------------------------------------ stations
    def _station(self, station_id: str) -> StationInfo:
        info = self.ctx.stations.get(station_id)
        if info is None:
            raise DataError(f"station {station_id!r} is not in the inventory")
        return info

    def stations(self, now: UTCDateTime | None = None) -> dict[str, Any]:
        """The wall (:func:`seismo.web.stations.wall`)."""
        with self.store() as store:
            return station_reads.wall(self.settings, list(self.ctx.stations.values()), store,
                                      now or UTCDateTime())

    def station(self, station_id: str, hours: float = 24.0) -> dict[str, Any]:
        """One station's health over the last ``hours`` (:func:`seismo.web.stations.history`)."""
        info = self._station(station_id)
        with self.store() as store:
            out = station_reads.history(info, store, UTCDateTime(), hours)
        return {**out, "window_s": self.settings.health.window_s}

    def psd(self, station_id: str, span_s: float | None = None) -> dict[str, Any]:
        """The station's noise PSD and its probability density over the last ``span_s``
        (:func:`seismo.web.stations.noise`)."""
        self._station(station_id)
        return station_reads.noise(self.settings, self.ctx.inventory, station_id, span_s)

    # ------------------------------------------------------------------ alerts
    def outbox(self, limit: int = 200) -> dict[str, Any]:
        """The outbox: pending, delivered (newest) and dead items with their attempts."""
        box = self._outbox()
        if box is None:
            return {"counts": {}, "items": {}}
        # an engineers' notice (station health, stream down) is a CAP "Alert" too: say so
        items = {state: [{"key": i.key, "identifier": i.identifier, "channel": i.channel,
                          "msg_type": i.msg_type, "group": i.group, "subject": i.subject,
                          "kind": "notice" if ".notice." in i.identifier else "event",
                          "sent": i.sent, "attempts": i.attempts, "last_error": i.last_error,
                          "delivered_at": i.delivered_at}
                         for i in box.items(state, limit)]
                 for state in ("pending", "delivered", "dead")}
        return {"counts": box.counts(), "items": items}

    def requeue(self, user: str, key: str) -> dict[str, Any]:
        """Move a dead outbox item back to pending and try to deliver it now."""
        from seismo.shells.publish import alert_service

        box = self._outbox()
        if box is None:
            raise DataError("the outbox is not readable")
        item = box.requeue(key, time.time())
        rep = alert_service(self.settings).deliver_due()
        self.users.record_action(user, str(item.identifier), "requeue", key,
                                 f"delivered {rep.delivered}, pending {rep.pending}")
        return {"key": key, "delivered": rep.delivered, "pending": rep.pending}

    # ------------------------------------------------------------------ drills
    def scenarios(self) -> list[str]:
        from seismo.simulate import load_scenarios

        return sorted(n for n, s in load_scenarios(self.settings.simulator.scenarios).items()
                      if s.events)

    def start_drill(self, user: str, scenario: str) -> Drill:
        """Run ``scenario`` as a drill (``seismo drill``: CAP status Exercise) in a thread."""
        if scenario not in self.scenarios():
            raise DataError(f"unknown scenario {scenario!r}")
        with self._drill_lock:
            if any(d.state == "running" for d in self.drills.values()):
                raise DataError("a drill is already running")
            d = Drill(len(self.drills) + 1, scenario, user, time.time())
            self.drills[d.id] = d
        self.users.record_action(user, f"drill-{d.id}", "drill", scenario, "started")
        threading.Thread(target=self._run_drill, args=(d,), daemon=True,
                         name=f"drill-{d.id}").start()
        return d

    def _run_drill(self, d: Drill) -> None:
        from seismo.shells.drill import run_drill

        try:
            res = run_drill(self.settings, d.scenario)
        except Exception as exc:  # a failed drill is reported on its page
            log.exception("drill %s failed", d.scenario)
            d.state, d.detail = "failed", str(exc)
            return
        d.events = [{"id": e.id, "time": _iso(e.time), "magnitude": _num(e.magnitude, 1),
                     "magnitude_type": e.magnitude_type, "place": self.place(e.latitude,
                                                                              e.longitude),
                     "groups": res.decisions.get(e.id, [])} for e in res.summary.events]
        d.detail = "; ".join(res.notes) or f"{len(d.events)} event(s) found"
        d.state = "done"


def _changes(prev: Event | None, v: Event) -> str:
    """What changed from ``prev`` to ``v``, in a few words."""
    if prev is None:
        return "first solution"
    out = []
    n_new = len({p.id for p in v.picks} - {p.id for p in prev.picks})
    if v.n_stations != prev.n_stations:
        out.append(f"stations {prev.n_stations}→{v.n_stations}")
    elif n_new:
        out.append(f"{n_new} new pick(s)")
    if prev.magnitude != v.magnitude and v.magnitude is not None:
        out.append(f"{v.magnitude_type} {prev.magnitude if prev.magnitude is not None else '-'}"
                   f"→{v.magnitude:.1f}")
    from seismo.geo import distance_km

    if math.isfinite(prev.latitude) and math.isfinite(v.latitude):
        moved = float(distance_km(prev.latitude, prev.longitude, v.latitude, v.longitude))
        if moved >= 0.5:
            out.append(f"moved {moved:.1f} km")
    if v.status != prev.status:
        out.append(f"{prev.status}→{v.status}")
    if v.solution != prev.solution:
        out.append(f"{prev.solution}→{v.solution}")
    return ", ".join(out) or "re-measured"
