"""The errors of a location: the data covariance and the covariance of the solution.

* :class:`PickData`: the picks as arrays with their weights, W = C_d^-1;
* :func:`with_model_error`: C_d = diag(sigma_pick²) + C_model, travel-time dependent and
  spatially correlated model errors (NonLinLoc LOCGAU/LOCGAU2, Lomax et al. 2000 [3P]);
* :func:`covariance`: C = (J^T W J)^-1 * max(1, chi²/(n - m)) of (east, north, depth,
  t0), and :func:`sigmas`, its 1-sigma horizontal semi-major axis, depth and time;
* :func:`confidence_ellipse`, :func:`ellipse_scale`: the p-confidence ellipse, its
  quantile following the degrees of freedom of the scaling (:func:`scaled_dof`);
* :func:`epicentre_pdf`: the epicentre's probability density from the misfit on a grid
  (what P(at sea) is taken from, :func:`seismo.alerts.rules.offshore_decision`).

Method and sources: the module doc of :mod:`seismo.event.locate` (step 4) and
docs/location.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from obspy import UTCDateTime

from seismo.geo import destinations, distance_km
from seismo.model import Pick

__all__ = [
    "PickData",
    "confidence_ellipse",
    "covariance",
    "ellipse_scale",
    "epicentre_pdf",
    "scaled_dof",
    "sigmas",
    "with_model_error",
]


@dataclass(frozen=True)
class PickData:
    """The picks of one location as arrays, with their weights (1/sigma², or the full
    inverse data covariance ``wmat`` when model errors are correlated)."""

    picks: tuple[Pick, ...]
    lat: NDArray  # per pick
    lon: NDArray
    ulat: NDArray  # per distinct station
    ulon: NDArray
    sta: NDArray  # pick -> distinct station index
    delay: NDArray  # station elevation delay, s
    is_s: NDArray  # bool
    phase: tuple[str, ...]  # per pick: "P"/"S" (first arrival) or an explicit Pg, Pn, Sg, Sn
    t: NDArray  # s after t_ref
    w: NDArray  # 1/sigma², 1/s² (pick errors; the diagonal weights)
    t_ref: UTCDateTime
    wmat: NDArray | None = None  # full weight matrix C_d^-1 with correlated model errors
    elev_km: NDArray | None = None  # per pick: station height a.s.l., km (None: at the datum)

    def weigh(self, r: NDArray) -> NDArray:
        """W r for residual rows ``r`` (shape (k, n) or (n,))."""
        if self.wmat is None:
            return r * self.w
        return np.asarray(r @ self.wmat, float)  # W is symmetric

    @property
    def n(self) -> int:
        return len(self.picks)


def covariance(jtwj: NDArray, chi2: float, n: int, fixed: bool) -> NDArray:
    """Scaled covariance of (east, north, depth, t0); depth row/col zero when fixed."""
    idx = [0, 1, 3] if fixed else [0, 1, 2, 3]
    sub = jtwj[np.ix_(idx, idx)]
    m = len(idx)
    scale = max(1.0, chi2 / (n - m)) if n > m else 1.0
    try:
        inv = np.linalg.inv(sub)
    except np.linalg.LinAlgError:
        inv = np.full((m, m), np.inf)
    if not np.all(np.isfinite(inv)) or np.any(np.diag(inv) < 0):
        inv = np.full((m, m), np.inf)
    cov = np.zeros((4, 4))
    cov[np.ix_(idx, idx)] = inv * scale
    return cov


def sigmas(cov: NDArray, cap: float) -> tuple[float, float, float]:
    """1-sigma horizontal semi-major (km), depth sigma (km), time sigma (s), capped."""
    h = cov[:2, :2]
    if np.all(np.isfinite(h)):
        semi = float(np.sqrt(max(np.linalg.eigvalsh(h).max(), 0.0)))
    else:
        semi = np.inf
    dz = float(np.sqrt(cov[2, 2])) if np.isfinite(cov[2, 2]) else np.inf
    dt = float(np.sqrt(cov[3, 3])) if np.isfinite(cov[3, 3]) else np.inf
    return min(semi, cap), min(dz, cap), min(dt, cap)


def scaled_dof(chi2: float, n: int, fixed: bool) -> int | None:
    """The degrees of freedom n - m of the a-posteriori variance when :func:`covariance`
    scaled the covariance by chi²/(n - m) (it does when that exceeds 1), else None (the
    data errors were taken as known)."""
    m = 3 if fixed else 4
    if n > m and chi2 / (n - m) > 1.0:
        return n - m
    return None


#: Scale from the 1-sigma to the p-confidence ellipse of a 2-D marginal. With the data
#: errors known: k = sqrt(chi²_2(p)) = sqrt(-2 ln(1 - p)) (the chi² distribution with 2
#: degrees of freedom; Press et al. 2007, Numerical Recipes 3rd ed., §15.6.5: Delta chi² =
#: 2.30 for 68.3 % and 4.61 for 90 % with two parameters). With the covariance scaled by
#: the a-posteriori variance chi²/(n - m), k² = 2 F(2, n - m; p) (Jordan & Sverdrup 1981,
#: BSSA 71, with no prior knowledge of the variance, K = 0; Flinn 1965): for two
#: numerator degrees of freedom the F quantile is closed-form, F(2, v; p) =
#: (v/2) ((1 - p)^(-2/v) - 1) (the F(2, v) CDF is 1 - (1 + 2x/v)^(-v/2); Johnson, Kotz &
#: Balakrishnan 1995, Continuous Univariate Distributions 2, ch. 27), which tends to the
#: chi² value as v grows. The 1-sigma ellipse covers 39.3 % (known errors).
def ellipse_scale(p: float, dof: int | None = None) -> float:
    """k of the p-ellipse: sqrt(-2 ln(1 - p)) (1.510 for 68 %, 2.146 for 90 %) with known
    errors; sqrt(2 F(2, dof; p)) when the covariance was scaled with ``dof`` degrees of
    freedom (e.g. 2.94 for 90 % with dof 4)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"confidence level ({p}) must be within (0, 1)")
    if dof is None:
        return float(np.sqrt(-2.0 * np.log1p(-p)))
    if dof < 1:
        raise ValueError(f"degrees of freedom ({dof}) must be >= 1")
    return float(np.sqrt(dof * ((1.0 - p) ** (-2.0 / dof) - 1.0)))


def confidence_ellipse(
    cov_en: NDArray, p: float, cap: float = np.inf, dof: int | None = None
) -> tuple[float, float, float]:
    """Semi-major, semi-minor (km) and major-axis azimuth (deg from north) of the p-ellipse.

    ``cov_en`` is the 2x2 covariance of (east, north) in km²; ``dof``: the degrees of
    freedom of its a-posteriori scaling (:func:`scaled_dof`; :func:`ellipse_scale`). Axes
    are capped at ``cap``; an infinite covariance gives (cap, cap, nan).
    """
    c = np.asarray(cov_en, float)
    if not np.all(np.isfinite(c)):
        return cap, cap, float("nan")
    vals, vecs = np.linalg.eigh(c)
    k = ellipse_scale(p, dof)
    major = k * float(np.sqrt(max(vals[1], 0.0)))
    minor = k * float(np.sqrt(max(vals[0], 0.0)))
    e, n = float(vecs[0, 1]), float(vecs[1, 1])
    az = float(np.degrees(np.arctan2(e, n)) % 180.0)
    return min(major, cap), min(minor, cap), az


def with_model_error(
    d: PickData, travel_s: NDArray, fraction: float, corr_len_km: float = 0.0,
    epi_km: NDArray | None = None,
) -> PickData:
    """``d`` with the data covariance C_d = diag(sigma_pick²) + C_model, weights C_d^-1.

    C_model[i, j] = (fraction T_i)(fraction T_j) exp(-d_ij² / (2 L_ij²)): d_ij the
    distance between the picks' stations, L_ij = ``corr_len_km`` + (r_i + r_j)/2
    with r the epicentral distances ``epi_km`` (``corr_len_km`` = 0: independent
    errors, diagonal). Travel-time-dependent, spatially correlated Gaussian model
    errors as in NonLinLoc's LOCGAU/LOCGAU2 (Lomax et al. 2000) [3P]; that the
    correlation length grows with the source distance is our choice: rays from a
    distant source to two stations d apart share all but a fraction ~d/r of their
    paths, so their model errors are nearly equal. The travel times and distances
    come from a first solution, so the weights do not change from trial node to
    trial node (a node-dependent sigma would favour short paths).
    """
    if fraction <= 0.0:
        return d
    sm = fraction * np.maximum(np.asarray(travel_s, float), 0.0)
    if corr_len_km <= 0.0:
        return replace(d, wmat=None, w=1.0 / (1.0 / d.w + sm**2))
    dij = np.asarray(distance_km(d.lat[:, None], d.lon[:, None], d.lat[None, :], d.lon[None, :]))
    r = np.zeros(d.n) if epi_km is None else np.asarray(epi_km, float)
    length = corr_len_km + 0.5 * (r[:, None] + r[None, :])
    rho = np.exp(-0.5 * (dij / length) ** 2)
    cd = np.diag(1.0 / d.w) + np.outer(sm, sm) * rho
    try:
        wmat = np.linalg.inv(cd)
    except np.linalg.LinAlgError:
        return replace(d, wmat=None, w=1.0 / (1.0 / d.w + sm**2))
    return replace(d, wmat=0.5 * (wmat + wmat.T))


def epicentre_pdf(
    misfit: Callable[[NDArray, NDArray], NDArray],
    lat: float,
    lon: float,
    chi2_min: float,
    variance: float,
    major_km: float,
    minor_km: float,
    azimuth_deg: float,
    *,
    extent: float = 2.5,
    n_major: int = 25,
    n_minor: int = 15,
    min_p: float = 1e-4,
) -> tuple[tuple[float, float, float], ...]:
    """The epicentre's probability density sampled on a grid: ((lat, lon, p), ...), p
    summing to 1.

    The grid spans ``extent`` times the 90 % ellipse along its axes (``n_major`` by
    ``n_minor`` nodes); at every node ``misfit(lat, lon)`` gives chi² (the locator's,
    origin time solved, depth at the solution's), and the likelihood is
    exp(-(chi² - chi2_min) / (2 ``variance``)), ``variance`` the a-posteriori variance
    factor the covariance was scaled with (NonLinLoc's grid-search PDF, Lomax et al.
    2000, on a 2-D grid; Tarantola & Valette 1982). Unlike the linearised ellipse it
    follows a curved or one-sided misfit valley. Nodes below ``min_p`` are left out.
    """
    a = major_km if math.isfinite(major_km) and major_km > 0 else 1.0
    b = minor_km if math.isfinite(minor_km) and minor_km > 0 else a
    az = azimuth_deg if math.isfinite(azimuth_deg) else 0.0
    uu, vv = np.meshgrid(np.linspace(-extent * a, extent * a, n_major),
                         np.linspace(-extent * b, extent * b, n_minor), indexing="ij")
    u, v = uu.ravel(), vv.ravel()
    r = np.hypot(u, v)
    bearing = az + np.degrees(np.arctan2(v, u))
    la, lo = destinations(lat, lon, bearing, r)
    chi2 = np.asarray(misfit(np.asarray(la, float), np.asarray(lo, float)), float)
    like = np.exp(-np.clip(chi2 - chi2_min, 0.0, None) / (2.0 * max(variance, 1e-9)))
    like[~np.isfinite(like)] = 0.0
    total = float(like.sum())
    if total <= 0.0:
        return ((round(lat, 4), round(lon, 4), 1.0),)
    p = like / total
    keep = p >= min_p
    p = p[keep] / p[keep].sum()
    return tuple((round(float(x), 4), round(float(y), 4), round(float(w), 5))
                 for x, y, w in zip(np.asarray(la)[keep], np.asarray(lo)[keep], p, strict=True))
