"""Scoring detected events against a reference catalogue (``seismo evaluate``).

Pure functions of event lists, picks and station coordinates; the rules are
described in ``docs/evaluation.md``.

Matching (:func:`match_events`)
    A detected event and a reference event may match when their origin times
    differ by at most ``max_time_s`` and their epicentres by at most
    ``max(max_distance_km, distance_fraction x D)``, where D is the distance of
    the reference epicentre from the nearest station (a regional event 500 km
    away is located less precisely than one inside the network). Matching is
    one-to-one: pairs are taken greedily by the normalised cost
    ``(dt / max_time_s)² + (dd / max_distance)²``, smallest first, each event
    used once. Defaults 3 s and 15 km: half the spacing of the closest
    catalogued pairs in real swarms (12 s) is more than 3 s, and 15 km is 5 x
    the epicentral-error target of a local network.

Extras
    A detected event matched by no reference event is an extra. It is
    "probably real" when it matches (same rules, one-to-one) a template
    detection left over after the templates of the reference events themselves
    are matched away, "unexplained" otherwise; a "phantom" when its epicentre
    lies more than ``phantom_outside_km`` (50 km) outside the network's
    convex hull (``n_far`` counts every detected event that far out, matched or not).

Picks (:func:`score_picks`)
    For every reference event with a depth and every station, the P and S
    arrivals are predicted with the 1-D model. A pick lies on an arrival when
    it is within ``pick_tolerance_s`` (1 s) of it (the nearest arrival of any
    reference event at that station wins). Residual = pick - predicted; a P
    arrival carrying an "S" pick is mislabelled (and vice versa).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seismo.geo import distance_km, hull_distance_km
from seismo.io.catalog import CatalogEvent, CatalogPick

#: Travel time (s) of a phase at (epicentral km, depth km) to a station id.
TravelTime = Callable[[str, str, float, float], float]


@dataclass(frozen=True)
class MatchRules:
    """Matching and classification thresholds (module docstring)."""

    max_time_s: float = 3.0
    max_distance_km: float = 15.0
    distance_fraction: float = 0.1
    pick_tolerance_s: float = 1.0
    phantom_outside_km: float = 50.0
    max_magnitude_error: float = 1.0
    magnitude_bin: float = 0.5

    def distance_limit_km(self, ref: CatalogEvent, stations: Sequence[StationXY]) -> float:
        """The epicentral tolerance (km) of reference event ``ref``:
        ``max(max_distance_km, distance_fraction x D)``, D its distance from the nearest
        station (module docstring)."""
        return max(self.max_distance_km,
                   self.distance_fraction * _nearest_station_km(ref, stations))


@dataclass(frozen=True)
class StationXY:
    """A station's id and coordinates (degrees)."""

    id: str
    latitude: float
    longitude: float


def _stats(values: Sequence[float]) -> dict[str, float | int | None]:
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if a.size == 0:
        return {"n": 0, "median": None, "p90": None, "max": None}
    return {
        "n": int(a.size),
        "median": round(float(np.median(a)), 3),
        "p90": round(float(np.percentile(a, 90)), 3),
        "max": round(float(a.max()), 3),
    }


def _signed_stats(values: Sequence[float]) -> dict[str, float | int | None]:
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    out = _stats(np.abs(a).tolist())
    out["median_signed"] = round(float(np.median(a)), 3) if a.size else None
    return out


def distance_outside_km(lat: float, lon: float, stations: Sequence[StationXY]) -> float:
    """Distance (km) of (lat, lon) outside the convex hull of ``stations``; 0 inside."""
    return hull_distance_km(lat, lon, [s.latitude for s in stations],
                            [s.longitude for s in stations])


def _nearest_station_km(ev: CatalogEvent, stations: Sequence[StationXY]) -> float:
    if not stations:
        return 0.0
    d = distance_km(ev.latitude, ev.longitude, np.array([s.latitude for s in stations]),
                    np.array([s.longitude for s in stations]))
    return float(np.min(d))


def match_events(
    reference: Sequence[CatalogEvent],
    detected: Sequence[CatalogEvent],
    rules: MatchRules,
    stations: Sequence[StationXY] = (),
) -> list[tuple[int, int]]:
    """One-to-one (reference index, detected index) pairs, by the module's rules."""
    pairs: list[tuple[float, int, int]] = []
    for i, r in enumerate(reference):
        dmax = rules.distance_limit_km(r, stations)
        for j, d in enumerate(detected):
            dt = abs(float(d.time - r.time))
            if dt > rules.max_time_s:
                continue
            dd = float(distance_km(r.latitude, r.longitude, d.latitude, d.longitude))
            if dd > dmax:
                continue
            pairs.append(((dt / rules.max_time_s) ** 2 + (dd / dmax) ** 2, i, j))
    pairs.sort()
    used_r: set[int] = set()
    used_d: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i in used_r or j in used_d:
            continue
        used_r.add(i)
        used_d.add(j)
        out.append((i, j))
    return sorted(out)


def _bin_label(m: float | None, width: float) -> str:
    if m is None:
        return "unknown"
    lo = math.floor(m / width + 1e-9) * width
    return f"{lo:.1f}-{lo + width:.1f}"


def _mtype(events: Sequence[CatalogEvent]) -> str:
    types = sorted({e.magnitude_type for e in events if e.magnitude_type})
    return "/".join(types) if types else "M"


def _event_fields(d: CatalogEvent) -> dict[str, Any]:
    """The detected event's own fields in a matched or extra row."""
    return {
        "id": d.id,
        "time": str(d.time),
        "latitude": d.latitude,
        "longitude": d.longitude,
        "depth_km": d.depth_km,
        "depth_fixed": d.depth_fixed,
        "magnitude": d.magnitude,
        "magnitude_type": d.magnitude_type,
    }


def _pick_summary(p: CatalogPick) -> dict[str, Any]:
    return {"station": p.station_id, "phase": p.phase, "time": str(p.time)}


def score_events(
    reference: Sequence[CatalogEvent],
    detected: Sequence[CatalogEvent],
    rules: MatchRules,
    stations: Sequence[StationXY] = (),
    templates: Sequence[CatalogEvent] | None = None,
) -> dict[str, Any]:
    """Recall, extras, location and magnitude errors (JSON-able dict; docs/evaluation.md)."""
    pairs = match_events(reference, detected, rules, stations)
    hit_r = {i for i, _ in pairs}
    hit_d = {j for _, j in pairs}
    # recall per magnitude bin
    bins: dict[str, list[int]] = {}
    for i, r in enumerate(reference):
        b = bins.setdefault(_bin_label(r.magnitude, rules.magnitude_bin), [0, 0])
        b[1] += 1
        b[0] += i in hit_r
    extras = [j for j in range(len(detected)) if j not in hit_d]
    extra_rows, n_probably_real = _extra_rows(reference, detected, extras, rules, stations,
                                              templates)
    errors, matched_rows = _matched_rows(reference, detected, pairs)
    missed = [
        {"time": str(r.time), "latitude": r.latitude, "longitude": r.longitude,
         "depth_km": r.depth_km, "magnitude": r.magnitude}
        for i, r in enumerate(reference) if i not in hit_r
    ]
    dm_tmpl = [
        float(x["magnitude"]) - float(x["template_magnitude"])  # type: ignore[arg-type]
        for x in extra_rows
        if x["magnitude"] is not None and x["template_magnitude"] is not None
    ]
    dtype, rtype = _mtype(detected), _mtype(reference)
    all_outside = [distance_outside_km(d.latitude, d.longitude, stations) for d in detected]
    return {
        "n_reference": len(reference),
        "n_detected": len(detected),
        "n_matched": len(pairs),
        "recall": round(len(pairs) / len(reference), 4) if reference else None,
        "recall_by_magnitude": {
            k: {"found": v[0], "total": v[1]} for k, v in sorted(bins.items())
        },
        "n_extra": len(extras),
        "n_extra_probably_real": n_probably_real,
        "n_extra_unexplained": sum(1 for x in extra_rows if x["class"] == "unexplained"),
        "n_phantom": sum(1 for x in extra_rows if x["phantom"]),
        "n_far": sum(1 for o in all_outside if o > rules.phantom_outside_km),
        "n_depth_zero": sum(
            1 for d in detected if d.depth_km == 0.0 and not d.depth_fixed
        ),
        "n_depth_fixed": sum(1 for d in detected if d.depth_fixed),
        "epicentral_error_km": _stats(errors["epi"]),
        "depth_error_km": _signed_stats(errors["dep"]),
        "origin_time_error_s": _signed_stats(errors["ot"]),
        "magnitude_difference": {
            "types": f"{dtype} - {rtype}",
            **_signed_stats(errors["dmag"]),
            "n_over_limit": sum(
                1 for x in errors["dmag"] if abs(x) > rules.max_magnitude_error
            ),
        },
        # diagnostic only: template magnitudes are relative (template M + log amplitude ratio)
        "extras_magnitude_vs_templates": {
            "types": f"{dtype} - {_mtype(list(templates or []))}",
            **_signed_stats(dm_tmpl),
            "n_over_limit": sum(1 for x in dm_tmpl if abs(x) > rules.max_magnitude_error),
        },
        "matched": matched_rows,
        "missed": missed,
        "extras": extra_rows,
    }


def _extra_rows(
    reference: Sequence[CatalogEvent],
    detected: Sequence[CatalogEvent],
    extras: list[int],
    rules: MatchRules,
    stations: Sequence[StationXY],
    templates: Sequence[CatalogEvent] | None,
) -> tuple[list[dict[str, Any]], int]:
    """One row per detected event without a reference match, classified "probably real
    (template)" when a template detection not in the reference matches it, else
    "unexplained"; and the number of probably real ones."""
    probably_real: dict[int, CatalogEvent] = {}  # extra index -> its template detection
    if templates:
        own = {k for k, _ in match_events(templates, reference, rules, stations)}
        rest = [t for k, t in enumerate(templates) if k not in own]
        sub = [detected[j] for j in extras]
        probably_real = {extras[j]: rest[k] for k, j in match_events(rest, sub, rules, stations)}
    rows = []
    for j in extras:
        d = detected[j]
        outside = distance_outside_km(d.latitude, d.longitude, stations)
        sta = sorted({p.station_id for p in d.picks})
        tmpl = probably_real.get(j)
        rows.append(
            {
                **_event_fields(d),
                "outside_network_km": round(outside, 1),
                "phantom": outside > rules.phantom_outside_km,
                "class": "probably real (template)" if j in probably_real else "unexplained",
                "template_magnitude": None if tmpl is None else tmpl.magnitude,
                "n_stations": len(sta),
                "n_p": sum(p.phase.upper().startswith("P") for p in d.picks),
                "n_s": sum(p.phase.upper().startswith("S") for p in d.picks),
                "stations": sta,
                "picks": [_pick_summary(p) for p in sorted(d.picks, key=lambda p: p.time)],
            }
        )
    return rows, len(probably_real)


def _matched_rows(
    reference: Sequence[CatalogEvent],
    detected: Sequence[CatalogEvent],
    pairs: Sequence[tuple[int, int]],
) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Errors of the matched events (epicentre, depth unless fixed, origin time,
    magnitude) and one row per pair."""
    errors: dict[str, list[float]] = {"epi": [], "dep": [], "ot": [], "dmag": []}
    rows = []
    for i, j in pairs:
        r, d = reference[i], detected[j]
        e = float(distance_km(r.latitude, r.longitude, d.latitude, d.longitude))
        errors["epi"].append(e)
        dz = None
        if r.depth_km is not None and d.depth_km is not None and not d.depth_fixed:
            dz = d.depth_km - r.depth_km
            errors["dep"].append(dz)
        errors["ot"].append(float(d.time - r.time))
        dm = None
        if r.magnitude is not None and d.magnitude is not None:
            dm = d.magnitude - r.magnitude
            errors["dmag"].append(dm)
        rows.append(
            {
                "reference_time": str(r.time),
                "reference_magnitude": r.magnitude,
                "reference_latitude": r.latitude,
                "reference_longitude": r.longitude,
                **_event_fields(d),
                "epicentral_error_km": round(e, 2),
                "depth_error_km": None if dz is None else round(dz, 2),
                "origin_time_error_s": round(float(d.time - r.time), 3),
                "magnitude_difference": None if dm is None else round(dm, 2),
                "n_stations": len({p.station_id for p in d.picks}),
            }
        )
    return errors, rows


def score_picks(
    reference: Sequence[CatalogEvent],
    picks: Sequence[CatalogPick],
    stations: Mapping[str, StationXY],
    travel_time: TravelTime,
    rules: MatchRules,
    live: set[str] | None = None,
) -> dict[str, Any]:
    """Picks against the arrivals predicted from the reference hypocentres (module doc).

    ``live``: stations that delivered data (default: every station in ``stations``).
    """
    arrivals: list[tuple[str, str, int, float]] = []  # station, phase, event index, time
    for k, r in enumerate(reference):
        if r.depth_km is None:
            continue
        for sid, s in stations.items():
            if live is not None and sid not in live:
                continue
            epi = float(distance_km(r.latitude, r.longitude, s.latitude, s.longitude))
            for ph in ("P", "S"):
                arrivals.append((sid, ph, k, float(r.time) + travel_time(ph, sid, epi, r.depth_km)))
    by_sta: dict[str, list[int]] = {}
    for a, (sid, *_rest) in enumerate(arrivals):
        by_sta.setdefault(sid, []).append(a)
    on: dict[int, list[tuple[float, str]]] = {}
    n_off = 0
    for p in picks:
        cand = by_sta.get(p.station_id, [])
        best, best_dt = None, rules.pick_tolerance_s
        for a in cand:
            dt = float(p.time) - arrivals[a][3]
            if abs(dt) <= best_dt:
                best, best_dt = a, abs(dt)
        if best is None:
            n_off += 1
            continue
        on.setdefault(best, []).append((float(p.time) - arrivals[best][3], p.phase.upper()[:1]))
    out: dict[str, Any] = {"tolerance_s": rules.pick_tolerance_s, "n_picks": len(picks),
                           "n_off_arrival": n_off}
    for ph, other in (("P", "S"), ("S", "P")):
        idx = [a for a, x in enumerate(arrivals) if x[1] == ph]
        picked = [a for a in idx if a in on]
        right = [a for a in picked if any(lab == ph for _, lab in on[a])]
        wrong = [a for a in picked if not any(lab == ph for _, lab in on[a])]
        res = [min((r for r, lab in on[a] if lab == ph), key=abs) for a in right]
        out[ph] = {
            "arrivals": len(idx),
            "picked": len(picked),
            "labelled_right": len(right),
            f"labelled_{other}": len(wrong),
            "residual_s": _signed_stats(res),
        }
    return out


@dataclass
class Evaluation:
    """Everything ``seismo evaluate`` reports (``to_dict`` is the JSON file)."""

    label: str
    events: dict[str, Any]
    picks: dict[str, Any] | None = None
    wall_s: float | None = None
    data_span_s: float | None = None
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    raw_events: list[Any] = field(default_factory=list)  # seismo Events of the run (not in JSON)
    thresholds: list[str] = field(default_factory=list)  # effective thresholds and their rules
    residuals: list[str] = field(default_factory=list)  # velocity-model check, station terms

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "wall_s": None if self.wall_s is None else round(self.wall_s, 2),
            "data_span_s": self.data_span_s,
            "events": self.events,
            "picks": self.picks,
            "notes": self.notes,
            "thresholds": self.thresholds,
            "residuals": self.residuals,
            "settings": self.settings,
        }

