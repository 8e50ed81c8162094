"""Seismologist review of stored events: look up, confirm or reject, relocate.

Every review stores a **new version** of the event in InfluxDB (``version + 1``)
with the review status, the reviewer, the review time (UTC) and a comment; the
earlier versions stay (the ``events`` point of a version is keyed by its status
tag and origin time, so a second review with the same status and origin time
replaces the previous reviewed point, while the automatic version is never
touched). :class:`seismo.shells.publish.Runner` never overwrites an event whose latest
stored version is reviewed.

Alerts follow the review:

* **rejected**: every open CAP thread of the event gets a ``Cancel`` that
  references all its earlier messages (:meth:`AlertService.cancel`), delivered
  at once;
* **confirmed**: the event goes through the alert rules again; an ``Update`` is
  sent only when the magnitude or the hypocentre changed beyond the configured
  thresholds since the last message (typically after a relocation).

Each queued message is also recorded in the ``alerts`` measurement.

Manual relocation (:func:`relocate_event`) drops and/or adds picks, relocates
with :func:`seismo.event.locate.locate` and measures the event again through the
measurement stage (:meth:`seismo.event.measure.EventMeasurer.relocated`): ML from the
stored Wood-Anderson amplitudes at the new hypocentral distances (the amplitudes
themselves are not re-measured: the per-second peaks are not stored), the preferred
magnitude and the site intensities; the result is stored as a confirmed (manual) version.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from obspy import UTCDateTime

from seismo.alerts.notation import intensity_cell, intensity_text
from seismo.alerts.outbox import Outbox, safe_name
from seismo.config import Settings
from seismo.errors import AlertError, DataError, StoreError
from seismo.event.identity import origin_time_bounds
from seismo.event.locate import locate
from seismo.io.store import InfluxStore
from seismo.io.store.points import one_line, utc_from_us
from seismo.model import Event, Pick
from seismo.shells.publish import alert_record, alert_service
from seismo.shells.window_context import Context
from seismo.text import table

if TYPE_CHECKING:
    from seismo.inventory import StationInfo
    from seismo.io.store import InfluxStore
    from seismo.shells.window_context import Context

log = logging.getLogger(__name__)

REVIEW_STATUSES = ("confirmed", "rejected")

#: 1-sigma uncertainty given to a manual pick, s. Design choice: an analyst's onset
#: on a 100 Hz local record; comparable to the automatic pick floor.
MANUAL_PICK_UNCERTAINTY_S = 0.05


@dataclass
class ReviewResult:
    """What a review did: the stored version, the alerts it queued and delivered."""

    event: Event
    previous: Event
    written: int = 0
    spooled: int = 0
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (msg_type, identifier)
    delivered: int = 0
    alert_error: str | None = None

    def render(self) -> str:
        e = self.event
        lines = [
            f"event {e.id}: version {self.previous.version} ({self.previous.status}) -> "
            f"version {e.version} ({e.status}) by {e.reviewer} at {e.review_time}",
        ]
        if self.spooled:
            lines.append(f"store unavailable: the new version is spooled ({self.spooled} points)")
        for msg_type, ident in self.alerts:
            lines.append(f"alert queued: {msg_type} {ident}")
        if self.alerts:
            lines.append(f"alerts delivered: {self.delivered}")
        if self.alert_error:
            lines.append(f"ALERT ERROR: {self.alert_error}")
        return "\n".join(lines)


def default_reviewer() -> str:
    """``$USER``, else the login name, else ``"unknown"``."""
    user = os.environ.get("USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


# --------------------------------------------------------------------------- reading
def _id_bounds(event_id: str) -> tuple[UTCDateTime | None, UTCDateTime | None]:
    """Origin-time bounds of ``event_id`` (:func:`seismo.event.identity.origin_time_bounds`);
    (None, None) for an id of another form."""
    bounds = origin_time_bounds(event_id)
    return (None, None) if bounds is None else bounds


def event_versions(store: InfluxStore, event_id: str) -> list[Event]:
    """Every stored version of ``event_id``, oldest version first."""
    since, until = _id_bounds(event_id)
    return store.query_event_versions(event_id, since, until)


def load_event(store: InfluxStore, event_id: str) -> Event:
    """The latest stored version of ``event_id``.

    Raises:
        DataError: no such event in the store.
    """
    versions = event_versions(store, event_id)
    if not versions:
        raise DataError(f"event {event_id!r} not found in the store "
                        f"({store.connection.describe()})")
    return versions[-1]


def alert_records(store: InfluxStore, event_id: str) -> list[dict[str, Any]]:
    """Rows of the ``alerts`` measurement for ``event_id``, oldest first (``time`` in µs)."""
    # alerts are sent after the first pick, possibly much later: lower time bound only
    since, _ = _id_bounds(event_id)
    return store.query_alert_records(event_id, since)


def outbox_messages(settings: Settings, event_id: str) -> list[dict[str, Any]]:
    """CAP messages about ``event_id`` in the local alert outbox (when the store has none)."""

    root = Path(settings.alerts.outbox_dir)
    if not (root / "messages").is_dir():
        return []
    out: list[dict[str, Any]] = []
    try:
        box = Outbox(root)
        for stream in ("actual", "exercise"):
            for thread in box.threads(f"{stream}__{safe_name(event_id)}__"):
                for m in box.history(thread):
                    out.append({"sent": m.sent, "msg_type": m.msg_type, "group": m.group,
                                "status": m.status, "identifier": m.identifier,
                                "channel": ",".join(m.channels)})
    except (OSError, AlertError, ValueError) as exc:
        log.warning("outbox %s unreadable: %s", root, exc)
    return sorted(out, key=lambda r: (str(r["sent"]), r["identifier"]))


# --------------------------------------------------------------------------- rendering
def _n(x: float | None, fmt: str) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def format_event(
    event: Event,
    alerts: Sequence[dict[str, Any]] = (),
    versions: Sequence[Event] = (),
    alerts_source: str = "store",
) -> str:
    """A plain-text report of one event: origin with uncertainties, arrivals with
    residuals, station magnitudes, station and site intensities, alerts, versions."""

    e = event
    out = [
        f"Event {e.id}   version {e.version}   status {e.status}",
    ]
    if e.reviewer or e.review_time:
        out.append(f"reviewed by {e.reviewer or '?'} at {e.review_time or '?'}"
                   + (f": {e.review_comment}" if e.review_comment else ""))
    out += [
        "",
        "Origin",
        f"  time        {str(e.time)[:23]} UTC",
        f"  latitude    {e.latitude:.4f} deg   longitude {e.longitude:.4f} deg   "
        f"(horizontal uncertainty {_n(e.horizontal_uncertainty_km, '.2f')} km, 1 sigma)",
        f"  depth       {e.depth_km:.2f} km   (vertical uncertainty "
        f"{_n(e.vertical_uncertainty_km, '.2f')} km)"
        + ("   NOT RESOLVED (fixed)" if e.depth_fixed else "")
        + (f"   from a {e.depth_method}" if e.depth_method else ""),
        f"  rms         {_n(e.rms_s, '.3f')} s   azimuthal gap {_n(e.azimuthal_gap_deg, '.0f')} deg"
        f"   phases {e.n_phases}   stations {e.n_stations}"
        + ("   OUTSIDE NETWORK" if e.outside_network else ""),
        f"  magnitude   {e.magnitude_type}{' >=' if e.magnitude_lower_bound else ''} "
        f"{_n(e.magnitude, '.2f')} +/- "
        f"{_n(e.magnitude_uncertainty, '.2f')} ({e.n_magnitude_stations} stations)"
        + ("   P waves only: a lower bound" if e.magnitude_lower_bound else "")
        + "".join(f"; {m.label()}" + (f", held for review: {m.held}" if m.held else "")
                  for m in e.magnitudes if m.type != e.magnitude_type),
        f"  intensity   max {intensity_text(e.max_intensity)}, max "
        f"{intensity_text(e.max_mmi, 'mmi')}, clipped stations {e.n_clipped_stations}",
        f"  created     {e.creation_time or '-'}",
        *(["  UNCONSTRAINED: the data do not locate it; stored for review, no magnitude, "
           "not alerted"] if e.unconstrained else []),
        *(f"  flag        {f}" for f in e.flags),
        "",
        f"Arrivals ({len(e.arrivals)})",
    ]
    arr = sorted(e.arrivals, key=lambda a: (a.distance_km, a.phase))
    out.append(table(
        ["station", "phase", "channel", "time (UTC)", "dist_km", "az_deg", "residual_s",
         "weight"],
        [(f"{a.network}.{a.station}", a.phase, a.channel, str(a.time)[11:23],
          f"{a.distance_km:.2f}", f"{a.azimuth_deg:.0f}", f"{a.residual_s:+.3f}",
          f"{a.weight:.2f}") for a in arr]))
    out += ["", f"Station magnitudes ({len(e.station_magnitudes)})"]
    out.append(table(
        ["station", "channel", "amplitude_nm", "hypo_km", "ML", "used"],
        [(f"{m.network}.{m.station}", m.channel, f"{m.amplitude_nm:.1f}",
          f"{m.hypo_distance_km:.2f}", f"{m.ml:.2f}", "yes" if m.used else "no")
         for m in sorted(e.station_magnitudes, key=lambda m: (m.hypo_distance_km, m.channel))]))
    out += ["", f"Station intensities ({len(e.station_intensities)})"]
    out.append(table(
        ["station", "epi_km", "PGA_m/s2", "PGV_m/s", "GB/T 17742", "MMI"],
        [(f"{s.network}.{s.station}", _n(s.epi_distance_km, ".2f"), f"{s.pga_ms2:.4g}",
          f"{s.pgv_ms:.4g}", intensity_cell(s.intensity_cn), intensity_cell(s.mmi))
         for s in sorted(e.station_intensities, key=lambda s: -s.intensity_cn)]))
    out += ["", f"Site intensities, predicted ({len(e.site_intensities)})"]
    out.append(table(
        ["site", "kind", "hypo_km", "GB/T 17742", "MMI"],
        [(s.name, s.kind, f"{s.distance_km:.1f}", intensity_cell(s.intensity_cn),
          intensity_cell(s.mmi))
         for s in sorted(e.site_intensities, key=lambda s: -s.intensity_cn)]))
    out += ["", f"Alerts sent ({len(alerts)}; source: {alerts_source})"]
    rows = []
    for r in alerts:
        sent = r.get("sent")
        if sent is None and isinstance(r.get("time"), int):
            sent = str(utc_from_us(r["time"]))[:19]
        rows.append((str(sent)[:25], r.get("msg_type"), r.get("group"), r.get("status"),
                     r.get("identifier"), r.get("channel")))
    out.append(table(["sent", "msgType", "group", "status", "identifier", "channel"], rows))
    if versions:
        out += ["", f"Versions ({len(versions)})"]
        out.append(table(
            ["version", "status", "origin (UTC)", "lat", "lon", "depth_km", "ML", "reviewer",
             "comment"],
            [(v.version, v.status, str(v.time)[:22], f"{v.latitude:.4f}", f"{v.longitude:.4f}",
              f"{v.depth_km:.1f}", _n(v.magnitude, ".2f"), v.reviewer or "",
              v.review_comment or "") for v in versions]))
    return "\n".join(out)


# --------------------------------------------------------------------------- writing
class ReviewOptions(TypedDict, total=False):
    """What a review takes besides its verdict (all optional): ``comment``, ``reviewer``
    (default :func:`default_reviewer`), ``now`` (the review time, default the wall clock),
    ``alerts`` (False: no messages; default True) and ``alert_dir`` (a directory channel
    added to every alert group)."""

    comment: str | None
    reviewer: str | None
    now: UTCDateTime | None
    alerts: bool
    alert_dir: Path | None


def _store_and_alert(
    settings: Settings,
    store: InfluxStore,
    new: Event,
    previous: Event,
    now: UTCDateTime,
    options: ReviewOptions,
) -> ReviewResult:

    rep = store.write_events([new])
    if rep.rejected:
        raise StoreError(f"event {new.id} version {new.version} rejected by the store: "
                         f"{rep.rejected[0][1]}")
    res = ReviewResult(event=new, previous=previous, written=rep.written, spooled=rep.spooled)
    if rep.spooled:
        log.warning("event %s version %d spooled (store unavailable); it will be written by "
                    "the next successful store write", new.id, new.version)
    if not options.get("alerts", True):
        return res
    try:

        svc = alert_service(settings, alert_dir=options.get("alert_dir"), store=store)
        if new.status == "rejected":
            reason = f"rejected by seismologist review ({new.reviewer})"
            if new.review_comment:
                reason += f": {one_line(new.review_comment)}"
            queued = svc.cancel(new, reason, now=now)
        else:
            queued = svc.process_events([new], now=now)
        res.alerts = [(q.msg_type, q.identifier) for q in queued]
        if queued:
            res.delivered = svc.deliver_due(now=now).delivered
            store.write_alerts([alert_record(q) for q in queued])
    except (AlertError, OSError) as exc:
        res.alert_error = str(exc)
        log.error("event %s reviewed but alerting failed: %s", new.id, exc)
    return res


def _review_time(options: ReviewOptions) -> UTCDateTime:
    now = options.get("now")
    return UTCDateTime() if now is None else UTCDateTime(now)


def _reviewed(
    event: Event, status: str, comment: str | None, now: UTCDateTime, options: ReviewOptions
) -> dict[str, Any]:
    return {
        "status": status,
        "version": event.version + 1,
        "reviewer": options.get("reviewer") or default_reviewer(),
        "review_time": now,
        "review_comment": comment or None,
        "creation_time": now,
    }


def review_event(
    settings: Settings,
    event_id: str,
    status: str,
    **options: Unpack[ReviewOptions],
) -> ReviewResult:
    """Confirm or reject ``event_id``: store version+1 with the review, then alert.

    Raises:
        DataError: unknown status or event.
        StoreError: the store refused the new version or cannot be queried.
    """

    if status not in REVIEW_STATUSES:
        raise DataError(f"review status {status!r} must be one of {', '.join(REVIEW_STATUSES)}")
    now = _review_time(options)
    with InfluxStore.from_settings(settings.store) as store:
        prev = load_event(store, event_id)
        new = dataclasses.replace(
            prev, **_reviewed(prev, status, options.get("comment"), now, options))
        return _store_and_alert(settings, store, new, prev, now, options)


# --------------------------------------------------------------------------- relocation
def _find_station(text: str, stations: dict[str, StationInfo]) -> StationInfo:
    if text in stations:
        return stations[text]
    matches = [s for s in stations.values() if s.station == text]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DataError(f"manual pick: station {text!r} is not in the inventory")
    raise DataError(f"manual pick: station {text!r} is ambiguous "
                    f"({', '.join(s.id for s in matches)}); give NET.STA")


def parse_manual_pick(text: str, stations: dict[str, StationInfo]) -> Pick:
    """A manual pick from ``"STATION:PHASE:ISO-TIME"`` (STATION is ``STA`` or ``NET.STA``).

    The channel is the station's vertical (P) or first horizontal (S) channel,
    velocity sensors first; uncertainty :data:`MANUAL_PICK_UNCERTAINTY_S`.
    """
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise DataError(f"manual pick {text!r} must look like STATION:PHASE:ISO-TIME")
    info = _find_station(parts[0].strip(), stations)
    phase = parts[1].strip().upper()
    if phase not in ("P", "S"):
        raise DataError(f"manual pick {text!r}: phase {parts[1]!r} must be P or S")
    try:
        t = UTCDateTime(parts[2].strip())
    except (TypeError, ValueError):  # what UTCDateTime raises
        raise DataError(f"manual pick {text!r}: {parts[2]!r} is not an ISO 8601 time") from None
    comps = ("Z",) if phase == "P" else ("N", "E", "1", "2")
    chans = sorted(info.channels, key=lambda c: (c.kind != "velocity", c.location, c.channel))
    chan = next((c for c in chans if c.component in comps), chans[0] if chans else None)
    if chan is None:
        raise DataError(f"manual pick {text!r}: station {info.id} has no channel")
    return Pick(
        id=Pick.make_id(chan.seed_id, phase, t), network=info.network, station=info.station,
        location=chan.location, channel=chan.channel, phase=phase,  # type: ignore[arg-type]
        time=t, uncertainty_s=MANUAL_PICK_UNCERTAINTY_S, snr=0.0, amplitude=0.0,
        kind=chan.kind or "velocity",
    )


def edit_picks(
    picks: Sequence[Pick], drop: Sequence[str], add: Sequence[Pick]
) -> list[Pick]:
    """``picks`` without the ``drop`` ids; each added pick replaces the picks of its
    station and phase. Raises DataError for an unknown pick id."""
    ids = {p.id for p in picks}
    unknown = [d for d in drop if d not in ids]
    if unknown:
        known = ", ".join(sorted(ids)[:6])
        raise DataError(f"pick id(s) {', '.join(unknown)} not in the event "
                        f"(its picks: {known}{', ...' if len(ids) > 6 else ''})")
    replaced = {(p.station_id, p.phase) for p in add}
    kept = [p for p in picks if p.id not in set(drop)
            and (p.station_id, p.phase) not in replaced]
    return sorted([*kept, *add], key=lambda p: (p.time, p.station_id, p.phase))


def relocate_event(
    settings: Settings,
    event_id: str,
    *,
    drop_picks: Sequence[str] = (),
    add_picks: Sequence[str] = (),
    **options: Unpack[ReviewOptions],
) -> ReviewResult:
    """Relocate ``event_id`` from edited picks; store it as a confirmed (manual) version.

    ``drop_picks`` are pick ids of the event; ``add_picks`` are ``STATION:PHASE:ISO``
    texts (:func:`parse_manual_pick`). Added picks are also written to ``picks``.

    Raises:
        DataError: unknown event, pick id or station; malformed manual pick; the
            stored event has no picks.
        LocationError: too few picks remain to locate.
    """

    now = _review_time(options)
    ctx = Context.from_settings(settings)
    manual = [parse_manual_pick(t, ctx.stations) for t in add_picks]
    with InfluxStore.from_settings(settings.store) as store:
        prev = load_event(store, event_id)
        if not prev.picks:
            raise DataError(f"event {event_id}: the stored version {prev.version} has no picks "
                            "to relocate from")
        picks = edit_picks(prev.picks, list(drop_picks), manual)
        origin = locate(picks, ctx.stations, ctx.velocity, ctx.locate_cfg,
                        initial=(prev.latitude, prev.longitude, prev.depth_km))
        loc = origin.to_event(prev.id)
        moved = dataclasses.replace(
            prev,
            **{f.name: getattr(loc, f.name) for f in dataclasses.fields(Event)
               if f.name in ("time", "latitude", "longitude", "depth_km", "rms_s",
                             "azimuthal_gap_deg", "n_phases", "n_stations",
                             "horizontal_uncertainty_km", "vertical_uncertainty_km",
                             "outside_network", "arrivals", "picks")},
        )
        measured = ctx.measurer.relocated(moved)  # the measurement stage, again
        if not measured.verdict.consistent:
            log.warning("event %s relocated: %s (docs/consistency.md); stored as reviewed",
                        event_id, measured.verdict)
        moved = measured.event
        note = []
        if drop_picks:
            note.append("dropped " + ", ".join(drop_picks))
        if manual:
            note.append("added " + ", ".join(f"{p.station_id}:{p.phase}:{p.time}" for p in manual))
        text = "relocated" + (f" ({'; '.join(note)})" if note else "")
        comment = options.get("comment")
        if comment:
            text += f": {comment}"
        new = dataclasses.replace(moved, **_reviewed(prev, "confirmed", text, now, options))
        if manual:
            store.write_picks(manual)
        log.info("event %s relocated: %.4f %.4f %.1f km -> %.4f %.4f %.1f km, ML %s -> %s",
                 event_id, prev.latitude, prev.longitude, prev.depth_km, new.latitude,
                 new.longitude, new.depth_km, prev.magnitude, new.magnitude)
        return _store_and_alert(settings, store, new, prev, now, options)
