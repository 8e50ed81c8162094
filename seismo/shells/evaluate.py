"""``seismo evaluate``: automatic solutions against a reference catalogue.

It either runs detection over a range (:func:`seismo.shells.detect.detect_range`,
with the store and alerts off unless the caller asks) or takes an existing
detection file, then scores with :mod:`seismo.shells.scoring`. The simulator's
scenarios are scored the same way: their truth is the reference catalogue
(:func:`scenario_reference`), so one scoreboard covers real and simulated data.
Rules and outputs: ``docs/evaluation.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obspy import Inventory, UTCDateTime

from seismo.config import Settings
from seismo.event.geometry import derive
from seismo.event.residuals import residual_lines
from seismo.event.velocity import VelocityModel, load_velocity_model
from seismo.inventory import StationInfo, load_inventory, station_map
from seismo.io.catalog import CatalogEvent, CatalogPick
from seismo.model import Event, Pick
from seismo.shells.scoring import (
    Evaluation,
    MatchRules,
    StationXY,
    TravelTime,
    score_events,
    score_picks,
)

log = logging.getLogger(__name__)

#: Seconds of data kept after a scenario's last origin (S and coda at ~150 km).
SCENARIO_TAIL_S = 120.0


def event_record(ev: Event) -> CatalogEvent:
    """A seismo :class:`~seismo.model.Event` as a scored :class:`CatalogEvent`."""
    return CatalogEvent.of(
        ev,
        picks=tuple(pick_record(p) for p in ev.picks),
        depth_fixed=bool(getattr(ev, "depth_fixed", False)),
        flags=tuple(getattr(ev, "flags", ()) or ()),
    )


def pick_record(p: Pick) -> CatalogPick:
    return CatalogPick(p.station_id, p.phase, p.time)


@dataclass
class DetectionRun:
    """What a detection run produced, for scoring."""

    events: list[CatalogEvent]
    picks: list[CatalogPick]
    live: set[str]
    wall_s: float
    span_s: float
    notes: list[str] = field(default_factory=list)
    raw_events: list[Event] = field(default_factory=list)
    raw_picks: list[Pick] = field(default_factory=list)
    thresholds: list[str] = field(default_factory=list)  # effective, with their rules


def run_detection(
    settings: Settings,
    start: UTCDateTime,
    end: UTCDateTime,
    *,
    feed_url: str | None = None,
    inventory: str | Path | Inventory | None = None,
    store: bool = False,
    alerts: bool = False,
    on_window: Callable[[int, int, int], None] | None = None,
) -> DetectionRun:
    """``detect_range`` over ``[start, end)``, keeping every pick (not only associated ones)."""
    from seismo.shells.detect import detect_range

    raw: list[Pick] = []
    live: set[str] = set()

    def keep(res: Any) -> None:
        if res.revisit_of:  # a window processed again: its picks are counted already
            return
        raw.extend(res.picks)
        live.update(r.station_id for r in res.stations if not r.error and r.n_samples > 0)

    t0 = time.perf_counter()
    summary = detect_range(
        settings, start, end, feed_url=feed_url, inventory=inventory, store=store,
        alerts=alerts, on_window=on_window, on_result=keep,
    )
    wall = time.perf_counter() - t0
    return DetectionRun(
        events=[event_record(e) for e in summary.events],
        picks=[pick_record(p) for p in raw],
        live=live,
        wall_s=wall,
        span_s=float(end - start),
        notes=list(summary.notes),
        raw_events=list(summary.events),
        raw_picks=raw,
        thresholds=list(summary.thresholds),
    )


def scenario_reference(
    settings: Settings, name: str
) -> tuple[list[CatalogEvent], UTCDateTime, UTCDateTime]:
    """A scenario's truth as a catalogue, and the range that covers it.

    The range starts at the scenario's reference time and ends
    :data:`SCENARIO_TAIL_S` after its last origin (one minute after the
    reference for a scenario without events).
    """
    from seismo.simulate import Simulator

    sim = Simulator.from_settings(settings.simulator, settings.network, scenario=name)
    scen = sim.scenario
    assert scen is not None
    truth = sim.truth(peaks=False)
    ref = [
        CatalogEvent(
            time=t.origin,
            latitude=t.latitude,
            longitude=t.longitude,
            depth_km=t.depth_km,
            magnitude=t.magnitude,
            magnitude_type=t.magnitude_type,  # the simulator's Mw
            id=f"{name}#{k}",
        )
        for k, t in enumerate(truth)
    ]
    start = scen.reference
    end = max((t.origin for t in truth), default=start) + SCENARIO_TAIL_S
    return ref, start, max(end, start + 60.0)


def travel_time_fn(model: VelocityModel, stations: dict[str, StationInfo]) -> TravelTime:
    """Predicted travel time (s) of a phase to a station at its elevation
    (:meth:`seismo.event.velocity.VelocityModel.station_time`)."""

    def tt(phase: str, sid: str, epi_km: float, depth_km: float) -> float:
        return float(model.station_time(phase, epi_km, depth_km, stations[sid].elevation_m))

    return tt


def evaluate(
    settings: Settings,
    reference: Sequence[CatalogEvent],
    *,
    label: str,
    start: UTCDateTime | None = None,
    end: UTCDateTime | None = None,
    feed_url: str | None = None,
    inventory: str | Path | Inventory | None = None,
    detected: Sequence[CatalogEvent] | None = None,
    templates: Sequence[CatalogEvent] | None = None,
    rules: MatchRules | None = None,
    store: bool = False,
    alerts: bool = False,
    on_window: Callable[[int, int, int], None] | None = None,
    run: DetectionRun | None = None,
) -> Evaluation:
    """Score ``detected`` (or a detection run over ``[start, end)``) against ``reference``.

    Only reference events inside the range (when given) count. ``run``: a
    detection run made before (its events and picks are scored, nothing is run).
    """
    rules = rules or MatchRules()
    inv = inventory if isinstance(inventory, Inventory) else load_inventory(
        inventory or settings.network.inventory
    )
    stations = station_map(inv)
    if run is not None:
        detected = run.events
    elif detected is None:
        if start is None or end is None:
            raise ValueError("evaluate needs start and end to run detection")
        run = run_detection(
            settings, start, end, feed_url=feed_url, inventory=inv, store=store, alerts=alerts,
            on_window=on_window,
        )
        detected = run.events
    ref = [
        r for r in reference
        if (start is None or r.time >= start) and (end is None or r.time < end)
    ]
    det = [
        d for d in detected
        if (start is None or d.time >= start - rules.max_time_s)
        and (end is None or d.time < end + rules.max_time_s)
    ]
    xy = [StationXY(k, s.latitude, s.longitude) for k, s in sorted(stations.items())]
    events = score_events(ref, det, rules, xy, templates)
    model = load_velocity_model(settings.network.velocity_model)
    picks_src = run.picks if run is not None else [p for d in det for p in d.picks]
    picks = score_picks(
        ref,
        picks_src,
        {x.id: x for x in xy},
        travel_time_fn(model, stations),
        rules,
        live=run.live if run is not None else None,
    )
    picks["source"] = "all picks of the run" if run is not None else "picks of the detected events"
    thresholds = run.thresholds if run is not None else derived_thresholds(settings, stations)
    return Evaluation(
        label=label,
        events=events,
        picks=picks,
        wall_s=None if run is None else run.wall_s,
        data_span_s=None if run is None else run.span_s,
        notes=[] if run is None else run.notes,
        settings={
            "velocity_model": str(settings.network.velocity_model),
            "simulator_velocity_model": None
            if settings.simulator.velocity_model is None
            else str(settings.simulator.velocity_model),
            "rules": rules.__dict__,
        },
        raw_events=[] if run is None else run.raw_events,
        thresholds=thresholds,
        residuals=residual_lines(run.raw_events) if run is not None else [],
    )


def derived_thresholds(settings: Settings, stations: dict[str, StationInfo]) -> list[str]:
    """The thresholds the inventory sets (:mod:`seismo.event.geometry`), as text lines."""
    if not stations:
        return []
    s = settings
    d = derive(stations, load_velocity_model(s.network.velocity_model), s.associate, s.locate,
               merge_s=s.picker.station_merge_s, s_picks=s.picker.s_picks)
    return d.lines()


# --------------------------------------------------------------------------- text output
def _fmt(x: Any, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def render(ev: Evaluation) -> str:
    """The evaluation as plain-text tables."""
    from seismo.text import table

    e = ev.events
    lines = [f"== {ev.label}"]
    if ev.wall_s is not None:
        span = ev.data_span_s or 0.0
        lines.append(
            f"wall time {ev.wall_s:.1f} s for {span:.0f} s of data "
            f"(real-time factor {span / max(ev.wall_s, 1e-9):.0f}x)"
        )
    lines.extend(ev.notes)
    rec = "-" if e["recall"] is None else f"{e['n_matched']}/{e['n_reference']}"
    lines.append(
        f"recall {rec}; detected {e['n_detected']}; extras {e['n_extra']} "
        f"({e['n_extra_probably_real']} probably real, {e['n_extra_unexplained']} unexplained); "
        f"phantoms {e['n_phantom']}; depth fixed {e['n_depth_fixed']}, "
        f"depth 0.0 km (free) {e['n_depth_zero']}"
    )
    rows = [(k, f"{v['found']}/{v['total']}") for k, v in e["recall_by_magnitude"].items()]
    if rows:
        lines.append(table(["magnitude", "found"], rows))
    md = e["magnitude_difference"]
    err_rows = [
        ("epicentre (km)", e["epicentral_error_km"]),
        ("depth (km, free depths)", e["depth_error_km"]),
        ("origin time (s)", e["origin_time_error_s"]),
        (f"magnitude {md['types']}", md),
    ]
    lines.append(
        table(
            ["error", "n", "median |x|", "p90 |x|", "max |x|", "median"],
            [
                (name, s["n"], _fmt(s["median"]), _fmt(s["p90"]), _fmt(s["max"]),
                 _fmt(s.get("median_signed")))
                for name, s in err_rows
            ],
        )
    )
    if md["n_over_limit"]:
        lines.append(f"magnitude: {md['n_over_limit']} event(s) more than 1 unit off")
    mt = e.get("extras_magnitude_vs_templates") or {}
    if mt.get("n"):
        lines.append(
            f"extras matching a template: magnitude {mt['types']}: median |x| "
            f"{_fmt(mt['median'])}, max {_fmt(mt['max'])}, {mt['n_over_limit']} more than "
            "1 unit off (diagnostic: relative template magnitudes)"
        )
    pk = ev.picks
    if pk:
        prow = []
        for ph, other in (("P", "S"), ("S", "P")):
            d = pk[ph]
            r = d["residual_s"]
            prow.append((ph, f"{d['picked']}/{d['arrivals']}", d["labelled_right"],
                         d[f"labelled_{other}"], _fmt(r["median_signed"], "+.3f"),
                         _fmt(r["p90"], ".3f")))
        lines.append(
            f"picks ({pk['source']}, within {pk['tolerance_s']} s of a predicted arrival; "
            f"{pk['n_off_arrival']} of {pk['n_picks']} on none):"
        )
        lines.append(table(["arrival", "picked", "label right", "label wrong",
                            "median res (s)", "p90 |res| (s)"], prow))
    if ev.thresholds:
        lines.append("effective thresholds (what the inventory sets, and the rule):")
        lines.extend(f"  {t}" for t in ev.thresholds)
    lines.extend(ev.residuals)
    if e["missed"]:
        lines.append("missed: " + ", ".join(
            f"{m['time'][:22]} M{_fmt(m['magnitude'], '.1f')}" for m in e["missed"]))
    if e["extras"]:
        lines.append(table(
            ["extra", "origin (UTC)", "lat", "lon", "depth", "M", "outside km", "class",
             "built from"],
            [
                (x["id"] or "-", x["time"][:22], f"{x['latitude']:.3f}", f"{x['longitude']:.3f}",
                 _fmt(x["depth_km"], ".1f") + ("f" if x["depth_fixed"] else ""),
                 _fmt(x["magnitude"], ".1f"), f"{x['outside_network_km']:.0f}",
                 ("PHANTOM " if x["phantom"] else "") + x["class"],
                 f"{x['n_stations']} sta, {x['n_p']} P + {x['n_s']} S")
                for x in e["extras"]
            ],
        ))
    return "\n".join(lines)
