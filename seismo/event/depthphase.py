"""Distant events, 3: depth phases (pP, sP) after a distant event's P plane wave.

A second plane wave of the same slowness that follows the P at every station by one
delay is pP or sP. With the ray parameter p of the plane wave
(:mod:`seismo.event.planewave`), pP - P = 2 int_0^z eta_P dz and sP - P =
int_0^z (eta_P + eta_S) dz, eta = sqrt(1/v^2 - p^2) (the vertical slownesses; Shearer,
Introduction to Seismology, 2nd ed., ch. 4; Engdahl, van der Hilst & Buland 1998,
BSSA 88, use the same depth phases for the EHB depths). The delay gives the depth range
[z(sP), z(pP)]; the shallower one is used (a depth that is at least this deep), with
the range as its uncertainty. :func:`seismo.event.distant.locate_distant` fixes a
distant event's depth with :func:`depth_phase`.

Pure functions of picks and the model; units km, s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from obspy import UTCDateTime

from seismo.event.settings import AssociateConfig
from seismo.event.velocity import VelocityModel, ray_layers
from seismo.model import Pick


def vertical_delay_s(model: VelocityModel, p_s_km: float, depth_km: float, phase: str) -> float:
    """Delay (s) of the depth phase ``phase`` ("pP" or "sP") after P, for a source at
    ``depth_km`` and a P ray parameter ``p_s_km`` (s/km at the surface): the vertical
    slowness integrals of the module docstring, in the Earth-flattened layers (where the
    surface ray parameter is conserved)."""
    lay = ray_layers(model, depth_km)
    z = lay.depth(depth_km)
    tops = lay.tops_km
    bottoms = np.append(tops[1:], np.inf)
    h = np.clip(np.minimum(bottoms, z) - tops, 0.0, None)
    eta_p = np.sqrt(np.clip(1.0 / lay.velocities("P") ** 2 - p_s_km**2, 0.0, None))
    eta_s = np.sqrt(np.clip(1.0 / lay.velocities("S") ** 2 - p_s_km**2, 0.0, None))
    if phase == "pP":
        return float(2.0 * np.sum(h * eta_p))
    if phase == "sP":
        return float(np.sum(h * (eta_p + eta_s)))
    raise ValueError(f"depth phase ({phase!r}) must be 'pP' or 'sP'")


def depth_from_delay(
    model: VelocityModel, p_s_km: float, delay_s: float, phase: str, max_depth_km: float
) -> float | None:
    """Source depth (km) whose ``phase`` - P delay is ``delay_s``; None beyond
    ``max_depth_km`` (bisection: the delay grows with depth)."""
    lo, hi = 0.0, float(max_depth_km)
    if vertical_delay_s(model, p_s_km, hi, phase) < delay_s:
        return None
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if vertical_delay_s(model, p_s_km, mid, phase) < delay_s:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class DepthPhase:
    """A second plane wave of the P's slowness, ``delay_s`` after it (s): pP or sP."""

    delay_s: float
    picks: tuple[Pick, ...]
    depth_sp_km: float  # the depth if it is sP (the shallower reading)
    depth_pp_km: float | None  # the depth if it is pP (None: deeper than allowed)

    @property
    def depth_km(self) -> float:
        """The depth reported: at least this deep (the sP reading)."""
        return self.depth_sp_km

    @property
    def sigma_km(self) -> float:
        """Standard error of the sP reading (km): the model error of a 1-D model, 10 %
        of the depth (the pP reading is deeper still: the depth is a lower bound)."""
        return 0.1 * self.depth_sp_km


def depth_phase(
    p_arrivals: Mapping[str, UTCDateTime], picks: Sequence[Pick], p_s_km: float,
    model: VelocityModel, cfg: AssociateConfig,
) -> DepthPhase | None:
    """The depth phase in ``picks`` (unused P-labelled onsets) after the P arrivals
    ``p_arrivals`` (station -> time) of a distant event of ray parameter ``p_s_km``.

    Its delay must be common to ``regional.depth_phase_min_stations`` stations and half
    of the P stations (within the residual floor), and longer than pP from the base of
    the model's crust (shorter delays are crustal phases: PmP, Pg after Pn); None if
    there is none.
    """
    rc = cfg.regional
    moho = model.tops_km[-1] if len(model.tops_km) > 1 else 10.0
    d_min = vertical_delay_s(model, p_s_km, moho, "pP")
    d_max = vertical_delay_s(model, p_s_km, rc.max_depth_km, "sP")
    tol = cfg.residual_floor_s
    cands: list[tuple[float, str, Pick]] = []
    for q in picks:
        t_p = p_arrivals.get(q.station_id)
        if q.phase != "P" or t_p is None:
            continue
        d = float(q.time - t_p)
        if d_min <= d <= d_max:
            cands.append((d, q.station_id, q))
    need = max(rc.depth_phase_min_stations, math.ceil(0.5 * len(p_arrivals)))
    if len({c[1] for c in cands}) < need:
        return None
    delays = np.array([c[0] for c in cands])
    best: tuple[int, float] | None = None
    for c in delays:
        near = {cands[k][1] for k in np.nonzero(np.abs(delays - c) <= tol)[0]}
        if best is None or len(near) > best[0]:
            best = (len(near), float(c))
    if best is None or best[0] < need:
        return None
    members = [c for c in cands if abs(c[0] - best[1]) <= tol]
    delay = float(np.median([c[0] for c in members]))
    per_sta: dict[str, Pick] = {}
    for _, sid, q in sorted(members, key=lambda c: abs(c[0] - delay)):
        per_sta.setdefault(sid, q)
    z_sp = depth_from_delay(model, p_s_km, delay, "sP", rc.max_depth_km)
    if z_sp is None:
        return None
    z_pp = depth_from_delay(model, p_s_km, delay, "pP", rc.max_depth_km)
    return DepthPhase(round(delay, 2), tuple(per_sta.values()), round(z_sp, 1),
                      None if z_pp is None else round(z_pp, 1))


