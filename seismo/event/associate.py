"""Phase association: picks -> event candidates by a space-time grid stack.

The idea is Earthworm binder_ew's (Dietz; a stack of pick times back-projected
onto a space-time grid), in the vectorised form of REAL (Zhang et al. 2019).
:func:`associate` runs it on a pool of picks (glitches removed,
:func:`remove_glitches`; minimum counts adapted to what the live stations can give,
:func:`adapt_to_network`):

1. Distant events first (:func:`_distant`): their P plane wave
   (:mod:`seismo.event.planewave`), located with S-P (:mod:`seismo.event.distant`),
   checked by the far-event evidence, with their wave trains (:mod:`seismo.event.trains`).
2. Iteratively on the grid stack (:mod:`seismo.event.gridstack`: the nodes, the stack
   of the live picks, the seeds): the best-supported (node, time) is taken; its seed
   picks grow into a located, checked candidate (:mod:`seismo.event.candidate`); a
   local candidate inside a distant event's wave train must prove itself, a far one
   beat a local partition of its own picks (:func:`_local_partition`). Its picks leave
   the pool and the stack is recomputed, so overlapping events are found one after
   the other.

Coincidence in time alone never makes an event: the picks must be travel-time
consistent with one hypocentre, first on the grid, then after location.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from seismo.errors import LocationError
from seismo.event.candidate import EventCandidate, _as_phase, _grow, max_rms_s
from seismo.event.consistency import check_origin
from seismo.event.distant import locate_distant, near_sp
from seismo.event.geometry import phase_minimum_rule
from seismo.event.gridstack import _Stack
from seismo.event.planewave import detect_plane_waves
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.trains import (
    WaveTrain,
    far_evidence,
    is_distant,
    prove_local,
    slowness_resolved,
    train_of,
)
from seismo.event.velocity import VelocityModel
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import Phase, Pick

log = logging.getLogger(__name__)

_MAX_PEAKS = 2000  # grid nodes inspected per pass (cheap; locations are capped by max_attempts)


#: The picks within this of a burst (outside it) give the onset rate the burst is
#: measured against (s): long enough to hold tens of onsets of a dense network's
#: wavefront, short enough that the rate is the local one.
GLITCH_CONTEXT_S = 2.0
#: A burst is a glitch when so many stations within ``glitch_window_s`` are less likely
#: than this under the onset rate around it (Poisson): a one-in-a-million coincidence.
GLITCH_P = 1e-6


def remove_glitches(picks: Sequence[Pick], cfg: AssociateConfig) -> list[Pick]:
    """Drop bursts of picks at ``cfg.glitch_min_stations`` or more stations within
    ``cfg.glitch_window_s`` of each other that the onset rate around them cannot explain.

    Seismic waves reach stations at different distances at different times; a
    burst of simultaneous onsets across the network is a telemetry, timing or
    power glitch (any 3 stations are equidistant from their circumcentre, so the
    test starts at 4). On a dense network, though, an event's wavefronts cross tens
    of stations a second, and 4 onsets within 20 ms happen by chance: a 500-station
    network lost 69 of an Mw 4's 904 picks to that. So a burst of k stations is a
    glitch only when k or more onsets in the window are improbable (Poisson, below
    :data:`GLITCH_P`) at the rate of the picks within :data:`GLITCH_CONTEXT_S` around
    it, outside it; on a quiet network (a rate near zero) every burst of
    ``glitch_min_stations`` is one, as before. ``glitch_min_stations = 0`` disables it.
    """
    from scipy.stats import poisson

    n_min = cfg.glitch_min_stations
    if n_min == 0 or len(picks) < n_min:
        return list(picks)
    order = sorted(picks, key=lambda p: p.time)
    times = np.array([float(p.time - order[0].time) for p in order])
    w = cfg.glitch_window_s
    bad: set[int] = set()
    j = 0
    for i in range(len(order)):
        while times[i] - times[j] > w:
            j += 1
        group = range(j, i + 1)
        k = len({order[q].station_id for q in group})
        if k < n_min:
            continue
        lo, hi = np.searchsorted(times, [times[j] - GLITCH_CONTEXT_S,
                                         times[i] + GLITCH_CONTEXT_S], side="left")
        around = int(hi - lo) - len(group)
        rate = around / (2.0 * GLITCH_CONTEXT_S)  # onsets per second around it
        if float(poisson.sf(k - 1, rate * max(w, 1e-3))) < GLITCH_P:
            bad.update(group)
    if bad:
        log.warning(
            "%d simultaneous pick(s) at %d stations dropped as a glitch (at %s)",
            len(bad), len({order[k].station_id for k in bad}), order[min(bad)].time,
        )
    return [p for k, p in enumerate(order) if k not in bad]


def _usable_picks(
    picks: Sequence[Pick], stations: Mapping[str, StationInfo], cfg: AssociateConfig
) -> list[Pick]:
    """P and S picks of known stations, glitches removed (the rest logged)."""
    pool = [p for p in picks if p.station_id in stations and p.phase in ("P", "S")]
    if len(pool) < len(picks):
        unknown = sorted({p.station_id for p in picks if p.station_id not in stations})
        log.warning("%d pick(s) ignored (unknown station or phase): %s",
                    len(picks) - len(pool), unknown)
    return remove_glitches(pool, cfg)


def _has_horizontals(s: StationInfo) -> bool:
    """Whether a station can give S picks: a horizontal channel (|dip| < 30 deg), or no
    channel metadata at all (assume it can)."""
    return not s.channels or any(abs(c.dip) < 30.0 for c in s.channels)


def adapt_to_network(
    cfg: AssociateConfig, stations: Mapping[str, StationInfo], s_picks: bool = True,
    separable_s: Collection[str] | None = None,
) -> AssociateConfig:
    """``cfg`` with station and phase minimums no larger than ``stations`` can give.

    A network of N live stations, M of them able to give an S pick apart from their P,
    gives at most N + M phases. A station counts in M when it has horizontals (S picks)
    and, given ``separable_s`` (the stations whose expected S-P is at least the
    picker's merge span, :func:`seismo.event.geometry.separable_s_stations`), is one of
    them: the picker merges onsets closer than ``station_merge_s`` into one pick, so a
    network whose S-P is shorter gives one phase per station. ``min_stations`` drops to
    N (not below 3: an epicentre and origin time need 3 stations) and ``min_phases`` to
    N + M (not below 4: four unknowns, or three with the depth fixed plus one redundant
    datum). A network that cannot reach those floors (fewer than 3 stations, or 3
    vertical-only ones) locates nothing, and says so in the log.
    """
    n = len(stations)
    m = sum(
        1 for sid, s in stations.items()
        if _has_horizontals(s) and (separable_s is None or sid in separable_s)
    ) if s_picks else 0
    min_sta, min_ph = phase_minimum_rule(n, m, cfg)
    if (min_sta, min_ph) == (cfg.min_stations, cfg.min_phases):
        return cfg
    if n < 3 or n + m < 4:
        log.warning("%d live station(s) (%d with a separable S) cannot locate an event", n, m)
    else:
        log.debug("%d live stations, %d with a separable S: min_stations %d, min_phases %d",
                  n, m, min_sta, min_ph)
    return cfg.model_copy(update={"min_stations": min_sta, "min_phases": min_ph})


def _retire(alive: NDArray, pool: Sequence[Pick], cand: EventCandidate) -> None:
    """Take the picks of ``cand`` (also relabelled ones) out of the pool."""
    used_ids = {p.id for p in cand.picks}
    for i in np.nonzero(alive)[0].tolist():
        flip: Phase = "S" if pool[i].phase == "P" else "P"
        if pool[i].id in used_ids or _as_phase(pool[i], flip).id in used_ids:
            alive[i] = False


def associate(
    picks: Sequence[Pick],
    stations: Mapping[str, StationInfo],
    model: VelocityModel,
    cfg: AssociateConfig,
    loc_cfg: LocateConfig,
    *,
    s_picks: bool = True,
    separable_s: Collection[str] | None = None,
    known: Sequence[WaveTrain] = (),
) -> list[EventCandidate]:
    """Group ``picks`` into located event candidates, earliest first.

    Distant events come first (:func:`_distant`: their P plane wave, located with S-P,
    :mod:`seismo.event.distant`); the picks their phases, or those of the ``known``
    distant events' wave trains (found in earlier windows), explain leave the pool, and a
    local candidate inside a train must prove itself
    (:func:`seismo.event.trains.prove_local`).

    Picks of stations absent from ``stations`` are ignored (logged). Picks that
    fit no event are left out. ``stations`` maps "NET.STA" to StationInfo (the
    stations that delivered data: the thresholds adapt to them, see
    :func:`adapt_to_network`; ``s_picks``: whether the picker gives S picks;
    ``separable_s``: the stations whose S the picker can separate from their P).
    Candidates are located with pick errors alone (``loc_cfg.model_error_fraction``
    is not applied here: association tests the picks' mutual consistency; the caller
    relocates with the model error, :func:`seismo.shells.solution.final_location`).
    """
    loc_cfg = loc_cfg.model_copy(update={"model_error_fraction": 0.0})
    cfg = adapt_to_network(cfg, stations, s_picks, separable_s)
    pool = _usable_picks(picks, stations, cfg)
    if len({p.station_id for p in pool}) < cfg.min_stations:
        return []
    st = _Stack.build(pool, stations, model, cfg, loc_cfg)
    n_nodes = len(st.grid.lat)
    alive = np.ones(len(pool), dtype=bool)
    labelled_p = {p.id for p in pool if p.phase == "P"}
    # the phases of distant events found before explain their picks here: they leave the
    # pool, then this pool's own distant events are found, then its local ones
    for i in range(len(pool)):
        if any(t.explains(pool[i]) for t in known):
            alive[i] = False
    events, own_trains = _distant(pool, alive, stations, model, cfg, loc_cfg)
    trains = [*known, *own_trains]
    for i in np.nonzero(alive)[0].tolist():
        if any(t.explains(pool[i]) for t in own_trains):
            alive[i] = False
    tried: set[frozenset[int]] = set()
    attempts = 0
    found = True
    while found and attempts < cfg.max_attempts:
        found = False
        idx = np.nonzero(alive)[0]
        if len({pool[i].station_id for i in idx}) < cfg.min_stations:
            break
        sp, score = st.stack(idx)
        # walk the nodes by their best stack value until one grows into an accepted event;
        # nodes of one cluster share their seed picks, so repeats are skipped cheaply
        node_bin = np.argmax(score, axis=1)
        node_best = score[np.arange(n_nodes), node_bin]
        order = np.argsort(-node_best, kind="stable")[:_MAX_PEAKS]
        for node in order.tolist():
            bbest, best = int(node_bin[node]), int(node_best[node])
            if best < cfg.min_phases:
                break
            seed = st.seed(node, bbest, sp)
            key = frozenset(seed)
            if key in tried:
                continue
            tried.add(key)
            if not st.plausible(seed, node, cfg):
                continue
            attempts += 1
            initial = (float(st.grid.lat[node]), float(st.grid.lon[node]),
                       float(st.grid.depth[node]))
            cand = _grow(seed, pool, alive, stations, model, cfg, loc_cfg, initial)
            if cand is not None:
                why = prove_local(cand.origin, trains, labelled_p, cfg)
                if why is None and cfg.regional.enabled and is_distant(
                        cand.latitude, cand.longitude, stations, cfg) and not (
                        slowness_resolved(cand.origin, stations, model, cfg, loc_cfg)):
                    why = _local_partition(cand, stations, model, cfg, loc_cfg, s_picks)
                if why:
                    log.info("candidate at %s %.3f %.3f rejected: %s", cand.time,
                             cand.latitude, cand.longitude, why)
                    cand = None
            if cand is None:
                if attempts >= cfg.max_attempts:
                    log.warning("association stopped after %d attempts", attempts)
                    break
                continue
            _retire(alive, pool, cand)
            events.append(dataclasses.replace(cand, stack_count=best))
            log.info(
                "event at %s %.3f %.3f %.1f km: %d stations, %d phases, rms %.2f s",
                cand.time, cand.latitude, cand.longitude, cand.depth_km,
                cand.origin.n_stations, cand.origin.n_phases, cand.origin.rms_s,
            )
            found = True
            break
    events.sort(key=lambda e: e.time)
    return events


def _distant(
    pool: list[Pick], alive: NDArray, stations: Mapping[str, StationInfo],
    model: VelocityModel, cfg: AssociateConfig, loc_cfg: LocateConfig,
) -> tuple[list[EventCandidate], list[WaveTrain]]:
    """Distant events of the pool, found by their P plane waves and located with S-P
    (:mod:`seismo.event.distant`), their picks (and depth-phase onsets) retired from
    ``alive``; with their wave trains. A plane wave whose location fails the far-event
    evidence, or whose picks a local partition explains as well, is left to the stack."""
    out: list[EventCandidate] = []
    trains: list[WaveTrain] = []
    waves = detect_plane_waves(pool, stations, cfg, loc_cfg.pick_sigma_s)
    for wave in waves:
        live = [pool[i] for i in np.nonzero(alive)[0].tolist()]
        if not {p.id for p in wave.picks} <= {p.id for p in live}:
            continue
        near = near_sp(wave, live, stations, model, cfg)
        if near is not None:
            log.info("plane wave at %s (baz %.0f deg, %.1f km/s) is no distant event: %s",
                     wave.time, wave.backazimuth_deg, wave.apparent_velocity_kms, near)
            continue
        found = locate_distant(wave, live, stations, model, cfg, loc_cfg)
        if found is None:
            continue
        o = found.origin
        why = check_origin(o, stations, model, cfg) + far_evidence(
            o, stations, model, cfg, loc_cfg)
        if o.rms_s > max_rms_s(cfg, o):
            why.append(f"rms {o.rms_s:.2f} s")
        if not is_distant(o.latitude, o.longitude, stations, cfg):
            why.append("not outside the network")
        cand = EventCandidate(picks=o.picks, origin=o, stack_count=len(wave.picks),
                              distant=True,
                              depth_phase_s=None if found.depth_phase is None
                              else found.depth_phase.delay_s)
        if not why and not slowness_resolved(o, stations, model, cfg, loc_cfg):
            local = _local_partition(cand, stations, model, cfg, loc_cfg, True)
            why += [local] if local else []
        if why:
            log.info("plane wave at %s (baz %.0f deg, %.1f km/s) is no distant event: %s",
                     wave.time, wave.backazimuth_deg, wave.apparent_velocity_kms,
                     "; ".join(why))
            continue
        _retire(alive, pool, cand)
        explained = set(found.explained)
        for i in np.nonzero(alive)[0].tolist():
            if pool[i].id in explained:
                alive[i] = False
        out.append(cand)
        trains.append(train_of(
            f"the distant event at {o.time}", o, stations, model, cfg, cand.depth_phase_s))
        log.info("distant event at %s %.3f %.3f %.0f km (plane wave from %.0f deg at %.1f km/s,"
                 " S as %s): %d stations, %d phases, rms %.2f s", o.time, o.latitude,
                 o.longitude, o.depth_km, wave.backazimuth_deg, wave.apparent_velocity_kms,
                 found.branch or "-", o.n_stations, o.n_phases, o.rms_s)
    return out, trains


def _local_partition(
    cand: EventCandidate, stations: Mapping[str, StationInfo], model: VelocityModel,
    cfg: AssociateConfig, loc_cfg: LocateConfig, s_picks: bool,
) -> str | None:
    """Why the far candidate ``cand`` loses against local events made of its own picks
    (None: it wins). The same picks are associated on the grid within the network (its
    radius plus ``grid_margin_km``); when the local events explain at least as many of
    them, a larger stack far away does not win by default (issue: compare against a
    local partition)."""
    lat = np.array([s.latitude for s in stations.values()])
    lon = np.array([s.longitude for s in stations.values()])
    r_net = float(distance_km(lat.mean(), lon.mean(), lat, lon).max())
    reach = r_net + cfg.grid_margin_km
    local_cfg = cfg.model_copy(update={
        "max_distance_km": reach,
        "regional": cfg.regional.model_copy(update={"enabled": False}),
    })
    local_loc = loc_cfg.model_copy(update={"max_distance_km": reach})
    try:
        local = associate(list(cand.picks), stations, model, local_cfg, local_loc,
                          s_picks=s_picks)
    except LocationError:
        return None
    n_local = sum(len(c.picks) for c in local)
    if local and n_local >= len(cand.picks):
        return (f"{len(local)} local event(s) explain {n_local} of its {len(cand.picks)} "
                "picks")
    return None
