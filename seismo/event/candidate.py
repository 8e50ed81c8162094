"""Event candidates of the associator: seed picks grown into a located, checked origin.

From the seed picks of a grid node (:mod:`seismo.event.gridstack`), :func:`_grow`
locates with :func:`seismo.event.locate.locate`; then all live picks within tolerance
of the located origin's predicted times are taken (:func:`tolerance_s`: 0.5 s + 5 % of
the travel time, capped at ``cfg.max_residual_s``), the event is relocated and outliers
are dropped (:func:`_settle`), and it becomes an :class:`EventCandidate` when it has
``cfg.min_stations`` stations, ``cfg.min_phases`` phases, an RMS below
:func:`max_rms_s`, enough of the stations within reach (:func:`_station_ratio`) and
passes the consistency check (:mod:`seismo.event.consistency`, and
:func:`seismo.event.trains.far_evidence` far outside the network).

Each pick is associated with the explicit phase that fits it (Pg or Pn, Sg or Sn of the
1-D model; :func:`_residuals`), a pick whose label does not fit may be taken as the
other phase (:func:`_relabel`), and a regional candidate with Sn arrivals is also tried
with them as Sg (:func:`_grow`).

Pure functions of picks, stations and the model; units km, s.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.errors import LocationError
from seismo.event.consistency import check_origin
from seismo.event.gridstack import _best_per_station, _reach
from seismo.event.locate import Origin, locate
from seismo.event.residuals import settle, worst_outlier
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.trains import far_evidence, is_distant
from seismo.event.velocity import VelocityModel
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import Phase, Pick

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventCandidate:
    """Associated picks (at most one P and one S per station) and their origin."""

    picks: tuple[Pick, ...]
    origin: Origin
    stack_count: int  # picks that agreed at the grid node that seeded the event
    # a distant event found by its P plane wave (seismo.event.planewave): the delay (s) of
    # its depth phase after P when one fixed its depth
    distant: bool = False
    depth_phase_s: float | None = None

    @property
    def time(self) -> UTCDateTime:
        return self.origin.time

    @property
    def latitude(self) -> float:
        return self.origin.latitude

    @property
    def longitude(self) -> float:
        return self.origin.longitude

    @property
    def depth_km(self) -> float:
        return self.origin.depth_km

    @property
    def n_stations(self) -> int:
        return self.origin.n_stations


def _residuals(
    origin: Origin, picks: Sequence[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, loc_cfg: LocateConfig, phase: str | None = None,
) -> tuple[NDArray, NDArray, list[str]]:
    """Residual (s) of every pick against ``origin`` (as ``phase`` if given), the
    predicted travel time (s) and the explicit phase that fits it best.

    Each pick is compared with the crustal ("Pg"/"Sg") and the mantle head-wave
    ("Pn"/"Sn") phase of its family and takes the one with the smaller residual
    (at regional distances the picked S is often Sg, seconds after Sn).
    """
    out = np.full(len(picks), np.inf)
    tt = np.zeros(len(picks))
    names: list[str] = []
    for i, p in enumerate(picks):
        s = stations[p.station_id]
        fam = phase or p.phase
        d = distance_km(origin.latitude, origin.longitude, s.latitude, s.longitude)
        elev = s.elevation_m if loc_cfg.elevation_correction else 1000.0 * model.datum_km
        best = ("", np.inf, 0.0)
        for ph in (f"{fam}g", f"{fam}n"):
            t = float(model.station_time(ph, d, origin.depth_km, elev))
            r = float(p.time - origin.time) - t
            if abs(r) < abs(best[1]):
                best = (ph, r, t)
        names.append(best[0] or fam)
        out[i], tt[i] = best[1], best[2]
    return out, tt, names


def tolerance_s(cfg: AssociateConfig, travel_time_s: NDArray | float) -> NDArray:
    """Largest residual (s) that still associates a pick with travel time ``travel_time_s``.

    ``residual_floor_s`` (pick error) + ``residual_fraction`` x travel time (a
    1-D model is good to a few percent in velocity), capped at ``max_residual_s``.
    """
    t = np.asarray(travel_time_s, dtype=float)
    return np.minimum(cfg.max_residual_s, cfg.residual_floor_s + cfg.residual_fraction * t)


def _as_phase(p: Pick, phase: Phase) -> Pick:
    """``p`` relabelled as ``phase`` ("P"/"S"), with the id of that label."""
    return dataclasses.replace(p, phase=phase, id=Pick.make_id(p.seed_id, phase, p.time))


def max_rms_s(cfg: AssociateConfig, origin: Origin) -> float:
    """Largest RMS (s) an origin may have: ``max_rms_s`` and the model error of its median
    travel time (``residual_fraction`` of it) added in quadrature: a 1-D model that is
    good to a few per cent misfits a distant event by seconds (docs/location.md)."""
    tt = [float(a.time - origin.time) - a.residual_s for a in origin.arrivals]
    model = cfg.residual_fraction * (float(np.median(tt)) if tt else 0.0)
    return float(np.hypot(cfg.max_rms_s, model))


def _grow(
    seed: list[int], pool: Sequence[Pick], alive: NDArray, stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
    initial: tuple[float, float, float],
) -> EventCandidate | None:
    """Locate the seed picks, gather the fitting ones, relocate, check; None if rejected.

    When the result holds head-wave S arrivals (Sn), the alternative that they are
    crustal Sg (the phase usually picked on horizontals at 100-300 km) is located too,
    and the better-fitting of the two is kept (more phases, then lower RMS): the seed
    is stacked on first arrivals, which biases a regional event with Sg picks towards
    the network.
    """
    if len({pool[i].station_id for i in seed}) < cfg.min_stations or len(seed) < cfg.min_phases:
        return None
    try:
        origin = locate([pool[i] for i in seed], stations, model, loc_cfg, initial=initial)
    except LocationError as exc:
        log.debug("seed rejected: %s", exc)
        return None
    best = _settle(origin, pool, alive, stations, model, cfg, loc_cfg)
    if best is not None and any(a.phase == "Sn" for a in best.arrivals):
        alt_phases = {a.pick_id: "Sg" if a.phase == "Sn" else a.phase for a in best.arrivals}
        try:
            alt0 = locate(list(best.picks), stations, model, loc_cfg, phases=alt_phases,
                          initial=(best.latitude, best.longitude, best.depth_km))
        except LocationError:
            alt0 = None
        alt = None if alt0 is None else _settle(alt0, pool, alive, stations, model, cfg, loc_cfg)
        if alt is not None and (alt.n_phases, -alt.rms_s) > (best.n_phases, -best.rms_s):
            best = alt
    if best is None:
        return None
    if best.rms_s > max_rms_s(cfg, best):
        log.debug("candidate rejected: rms %.2f s > %.2f s", best.rms_s, max_rms_s(cfg, best))
        return None
    ratio = _station_ratio(best, stations)
    if ratio < cfg.min_station_ratio:
        log.debug("candidate rejected: only %.0f %% of the stations within reach picked it",
                  100 * ratio)
        return None
    why = check_origin(best, stations, model, cfg) + far_evidence(
        best, stations, model, cfg, loc_cfg)
    if why:
        log.info("candidate at %s %.3f %.3f rejected as inconsistent: %s", best.time,
                 best.latitude, best.longitude, "; ".join(why))
        return None
    return EventCandidate(picks=best.picks, origin=best, stack_count=0)


def _settle(
    origin: Origin, pool: Sequence[Pick], alive: NDArray, stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
) -> Origin | None:
    """Gather the live picks that fit ``origin`` (each as the phase that fits it best),
    relocate and trim outliers until the pick set is stable; None below the minimums."""

    def step(origin: Origin) -> Origin | None:
        live = [int(i) for i in np.nonzero(alive)[0]]
        cands = [pool[i] for i in live]
        res, tt, names = _residuals(origin, cands, stations, model, loc_cfg)
        phases = {p.id: n for p, n in zip(cands, names, strict=True)}
        ratio = np.abs(res) / tolerance_s(cfg, tt)
        chosen = _best_per_station(
            [j for j in range(len(cands)) if ratio[j] <= 1.0], cands, ratio
        )
        sel = [cands[j] for j in chosen]
        if cfg.relabel_phases:
            # a distant event's S must come from S-polarised onsets (issue 22): only S->P
            far = is_distant(origin.latitude, origin.longitude, stations, cfg)
            sel = _relabel(origin, cands, sel, stations, model, cfg, loc_cfg, phases,
                           to_s=not far)
        # drop the worst outliers one by one after each relocation
        while True:
            if (
                len({p.station_id for p in sel}) < cfg.min_stations
                or len(sel) < cfg.min_phases
            ):
                return None
            try:
                new = locate(sel, stations, model, loc_cfg, full_search=False,
                             initial=(origin.latitude, origin.longitude, origin.depth_km),
                             phases=phases)
            except LocationError as exc:
                log.debug("candidate rejected: %s", exc)
                return None
            # robust trim (worst_outlier: the tolerance, or 4 robust sigmas)
            worst = worst_outlier(new.arrivals, new.time, lambda tt: tolerance_s(cfg, tt),
                                  cfg.residual_floor_s)
            if worst is None:
                return new
            sel = [p for p in sel if p.id != worst]

    return settle(origin, step)


def _station_ratio(origin: Origin, stations: Mapping[str, StationInfo]) -> float:
    """Associated stations / stations within :func:`seismo.event.gridstack._reach` of the
    epicentre.

    A real event is picked at most of the stations that are as close as the
    ones that picked it; a chance alignment of noise picks is not.
    """
    dist = [a.distance_km for a in origin.arrivals]
    lat = np.array([s.latitude for s in stations.values()])
    lon = np.array([s.longitude for s in stations.values()])
    d_all = distance_km(origin.latitude, origin.longitude, lat, lon)
    n_within = int(np.sum(d_all <= _reach(min(dist), max(dist))))
    return origin.n_stations / max(n_within, 1)


def _relabel(
    origin: Origin, cands: Sequence[Pick], sel: list[Pick], stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
    phases: dict[str, str] | None = None, to_s: bool = True,
) -> list[Pick]:
    """Add picks that fit the event as the other phase where the station lacks that phase.

    ``to_s=False``: P-labelled onsets never become S (a distant event's S needs S
    polarisation; the other way, an S-labelled first arrival may still become its P).

    The label from the picker (polarisation) stands where it fits; an onset whose label
    does not fit but which fits the event as the other phase at a station that has none
    is taken as that phase (the arrival's fit to the event), e.g. the P of a large event
    whose first second of motion was mislabelled S, or an S on a sensor without
    usable horizontals.
    """
    out = list(sel)
    pairs: tuple[tuple[Phase, Phase], ...] = (("S", "P"), ("P", "S")) if to_s else (("S", "P"),)
    for new, old in pairs:
        have = {(p.station_id, p.phase) for p in out}
        used = {p.id for p in out} | {_as_phase(p, "S" if p.phase == "P" else "P").id
                                      for p in out}
        other = [p for p in cands if p.phase == old and p.id not in used]
        if not other:
            continue
        res, tt, names = _residuals(origin, other, stations, model, loc_cfg, phase=new)
        ratio = np.abs(res) / tolerance_s(cfg, tt)
        for j in np.argsort(ratio):
            p = other[int(j)]
            if ratio[j] <= 1.0 and (p.station_id, new) not in have:
                q = _as_phase(p, new)
                out.append(q)
                have.add((p.station_id, new))
                if phases is not None:
                    phases[q.id] = names[int(j)]
    return out
