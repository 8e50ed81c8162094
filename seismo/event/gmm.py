"""Ground-motion model of predicted intensity: PGA and PGV from magnitude, distance and
Vs30, on the instrumental basis of the observations.

**Model.** Boore, Stewart, Seyhan & Atkinson (2014), "NGA-West2 equations for predicting
PGA, PGV, and 5 % damped PSA for shallow crustal earthquakes", Earthquake Spectra 30(3),
1057-1085 (BSSA14), with its regional anelastic term for China and Turkey (``Dc3``, the
"high-Q" region). Valid M 3-8.5 (strike-slip 3-8.5, reverse 3-8.5, normal 3-7) at Rjb
< 400 km, Vs30 150-1500 m/s: the range the brief asks for (M 2.5-7 at 0-300 km), M
2.5-3 as a half-unit extrapolation. Coefficients: the ``BooreEtAl2014HighQ`` table of
OpenQuake's hazardlib (``openquake/hazardlib/gsim/boore_2014.py``, release 3.26.2)
[V: the values below were checked against that implementation in tests]::

    ln Y = F_E(M) + F_P(Rjb, M) + F_S(Vs30, Rjb, M)
    F_E  = e0 + e4 (M - Mh) + e5 (M - Mh)²   (M <= Mh),  e0 + e6 (M - Mh)  (M > Mh)
    F_P  = [c1 + c2 (M - 4.5)] ln(R / 1) + (c3 + Dc3)(R - 1),  R = sqrt(Rjb² + h²)
    F_S  = c ln(min(Vs30, Vc) / 760) + f4 [exp(f5 (min(Vs30, 760) - 360)) - exp(f5 400)]
           ln((PGAr + 0.1) / 0.1)

Y = PGA (g) or PGV (cm/s), RotD50 of the horizontals; the style of faulting is unknown
in real time (``e0``); no basin term. Standard deviations: ``tau`` (between events) and
``phi`` (within an event), magnitude-, distance- and Vs30-dependent (eqs. 13-17).
Rjb is taken as the epicentral distance (a point source: for M > ~6 the rupture's
extent makes Rjb shorter and the prediction low near the fault).

**Components.** GB/T 17742-2020 reads the peak of the three-component vector sum; MMI
(Worden et al. 2012) the larger horizontal peak. Their ratios to RotD50 were measured on
real records (98 Hi-net borehole records of 14 Mj 2.1-3.2 events at 14-30 km, 0.1-10 Hz,
``benchmarks/component_ratio.py``): vector sum / RotD50 1.37 (PGA) and 1.36 (PGV),
16-84 % 1.22-1.44; larger horizontal / RotD50 1.19 and 1.19 (Boore 2010's
RotD100/RotD50 of ~1.2 at short periods agrees [3P]).

**Conditioning on observations** (the scheme of ShakeMap 4, Worden, Thompson, Baker,
Bradley, Luco & Wilson 2018, BSSA 108(2), 866-875 [3P]): at each station the residual
of the observation from the model *with that station's own site term* (its Vs30 from the
inventory, else the reference site) is split into the between-event term
``dB = tau² sum(r) / (n tau² + phi²)`` and within-event residuals, which are kriged to
the sites with the spatial correlation ``exp(-3 d / b)`` of Jayaram & Baker (2009, EESD
38) [3P], ``b = 8.5 km`` for PGA (T = 0) and ``25.7 km`` for PGV (taken as T = 1 s:
``b = 8.5 + 17.2 T``, design choice). A site then gets the model with its own site term,
plus ``dB``, plus its kriged residual; its standard deviation shrinks from
``sqrt(tau² + phi²)`` towards the stations.

Pure: numbers in, numbers out. Units in the names (g, cm/s, m/s², m/s, km, m/s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.errors import DataError

Imt = Literal["pga", "pgv"]

# BSSA14 with the China/Turkey anelastic term (hazardlib BooreEtAl2014HighQ, release 3.26.2)
_COEFFS: dict[str, dict[str, float]] = {
    "pgv": dict(e0=5.037, e4=1.073, e5=-0.1536, e6=0.2252, Mh=6.2, c1=-1.243, c2=0.1489,
                c3=-0.00344, h=5.3, Dc3=0.004345, c=-0.84, Vc=1300.0, f4=-0.1,
                f5=-0.00844, R1=105.0, R2=272.0, DfR=0.082, DfV=0.08, f1=0.644, f2=0.552,
                tau1=0.401, tau2=0.346),
    "pga": dict(e0=0.4473, e4=1.431, e5=0.05053, e6=-0.1662, Mh=5.5, c1=-1.134, c2=0.1917,
                c3=-0.008088, h=4.5, Dc3=0.002858, c=-0.6, Vc=1500.0, f4=-0.15,
                f5=-0.00701, R1=110.0, R2=270.0, DfR=0.1, DfV=0.07, f1=0.695, f2=0.495,
                tau1=0.398, tau2=0.348),
}
_MREF, _RREF, _VREF, _F3, _V1, _V2 = 4.5, 1.0, 760.0, 0.1, 225.0, 300.0

#: Valid range of the model (BSSA14): magnitude, Rjb (km).
VALID_MAGNITUDE = (3.0, 8.5)
VALID_DISTANCE_KM = 400.0

#: Peak of the three-component vector sum / RotD50 (GB/T 17742-2020's quantity) and larger
#: horizontal / RotD50 (Worden et al. 2012's), measured on real records (module docstring).
VECTOR_SUM_OVER_ROTD50 = {"pga": 1.37, "pgv": 1.36}
LARGER_H_OVER_ROTD50 = {"pga": 1.19, "pgv": 1.19}
#: Correlation of PGA and PGV residuals (Baker & Bradley 2017, Earthquake Spectra 33(1),
#: NGA-West2 total residuals: 0.73) [3P]; it enters the intensity's standard deviation.
RHO_PGA_PGV = 0.73
#: Jayaram & Baker (2009) range b = 8.5 + 17.2 T km (T < 1 s), PGV taken at T = 1 s [3P].
CORRELATION_RANGE_KM = {"pga": 8.5, "pgv": 25.7}

G = 9.80665  # m/s² per g


def bssa14(
    imt: Imt, magnitude: float, rjb_km: ArrayLike, vs30: ArrayLike
) -> tuple[NDArray, NDArray, NDArray]:
    """(ln median, tau, phi) of BSSA14 (module docstring): median PGA in g or PGV in cm/s.

    Raises:
        DataError: an unknown ``imt``, a non-finite magnitude, a negative distance or a
            non-positive Vs30.
    """
    if imt not in _COEFFS:
        raise DataError(f"unknown ground-motion measure {imt!r} (pga, pgv)")
    if not math.isfinite(magnitude):
        raise DataError(f"magnitude ({magnitude}) must be finite")
    r_jb = np.atleast_1d(np.asarray(rjb_km, dtype=float))
    v = np.broadcast_to(np.asarray(vs30, dtype=float), r_jb.shape).astype(float)
    if np.any(~np.isfinite(r_jb)) or np.any(r_jb < 0):
        raise DataError(f"distances ({rjb_km!r}) must be finite and >= 0 km")
    if np.any(~(v > 0)):
        raise DataError(f"Vs30 ({vs30!r}) must be > 0 m/s")
    c = _COEFFS[imt]
    pga_rock = np.exp(_source(_COEFFS["pga"], magnitude) + _path(_COEFFS["pga"], magnitude, r_jb))
    ln_y = _source(c, magnitude) + _path(c, magnitude, r_jb) + _site(c, v, pga_rock)
    tau, phi = _sigmas(c, magnitude, r_jb, v)
    return ln_y, tau, phi


def _source(c: dict[str, float], m: float) -> float:
    dm = m - c["Mh"]
    if m <= c["Mh"]:
        return c["e0"] + c["e4"] * dm + c["e5"] * dm * dm
    return c["e0"] + c["e6"] * dm


def _path(c: dict[str, float], m: float, rjb: NDArray) -> NDArray:
    r = np.sqrt(rjb**2 + c["h"] ** 2)
    return (c["c1"] + c["c2"] * (m - _MREF)) * np.log(r / _RREF) + (c["c3"] + c["Dc3"]) * (
        r - _RREF)


def _site(c: dict[str, float], vs30: NDArray, pga_rock: NDArray) -> NDArray:
    lin = c["c"] * np.log(np.minimum(vs30, c["Vc"]) / _VREF)
    vs = np.minimum(vs30, _VREF)
    f2 = c["f4"] * (np.exp(c["f5"] * (vs - 360.0)) - math.exp(c["f5"] * 400.0))
    return lin + f2 * np.log((pga_rock + _F3) / _F3)


def _sigmas(c: dict[str, float], m: float, rjb: NDArray, vs30: NDArray) -> tuple[NDArray, NDArray]:
    w = min(max(m - 4.5, 0.0), 1.0)
    tau = np.full(rjb.shape, c["tau1"] + (c["tau2"] - c["tau1"]) * w)
    phi = np.full(rjb.shape, c["f1"] + (c["f2"] - c["f1"]) * w)
    far = rjb > c["R2"]
    mid = (rjb > c["R1"]) & ~far
    phi[far] += c["DfR"]
    phi[mid] += c["DfR"] * np.log(rjb[mid] / c["R1"]) / math.log(c["R2"] / c["R1"])
    soft = vs30 <= _V1
    between = (vs30 > _V1) & (vs30 <= _V2)
    phi[soft] -= c["DfV"]
    phi[between] -= c["DfV"] * np.log(_V2 / vs30[between]) / math.log(_V2 / _V1)
    return tau, phi


def to_si(imt: Imt, ln_y: NDArray) -> NDArray:
    """A BSSA14 median (ln of g or cm/s) in SI: m/s² or m/s."""
    return np.exp(ln_y) * (G if imt == "pga" else 0.01)


@dataclass(frozen=True)
class Conditioned:
    """Ground motion predicted at sites after conditioning on the stations (module
    docstring): ``ln_y`` per site (ln of m/s² or m/s, RotD50), its standard deviation
    ``sigma`` (ln units), the between-event term ``bias`` and the number of stations."""

    ln_y: NDArray
    sigma: NDArray
    bias: float
    n_stations: int


def condition(
    imt: Imt,
    magnitude: float,
    site_epi_km: ArrayLike,
    site_vs30: ArrayLike,
    site_xy_km: NDArray,
    obs_si: Sequence[float],
    obs_epi_km: ArrayLike,
    obs_vs30: ArrayLike,
    obs_xy_km: NDArray,
) -> Conditioned:
    """The model at the sites, conditioned on observations (RotD50, SI) at the stations.

    ``*_xy_km``: local plane coordinates (n x 2, km) for the distances between stations
    and sites. With no observation, the model alone (``sigma = sqrt(tau² + phi²)``).
    """
    mu_s, tau_s, phi_s = bssa14(imt, magnitude, site_epi_km, site_vs30)
    mu_s = mu_s + math.log(G if imt == "pga" else 0.01)
    obs = np.asarray(obs_si, dtype=float)
    keep = np.isfinite(obs) & (obs > 0)
    if not np.any(keep):
        return Conditioned(mu_s, np.sqrt(tau_s**2 + phi_s**2), 0.0, 0)
    mu_o, tau_o, phi_o = bssa14(imt, magnitude, np.asarray(obs_epi_km, float)[keep],
                                np.asarray(obs_vs30, float)[keep])
    r = np.log(obs[keep]) - (mu_o + math.log(G if imt == "pga" else 0.01))
    tau2, phi2 = float(np.mean(tau_o)) ** 2, float(np.mean(phi_o)) ** 2
    n = int(r.size)
    bias = tau2 * float(np.sum(r)) / (n * tau2 + phi2)
    bias_var = tau2 * phi2 / (n * tau2 + phi2)
    w = r - bias
    xy_o = np.asarray(obs_xy_km, float)[keep]
    b = CORRELATION_RANGE_KM[imt]
    d_oo = np.hypot(*(xy_o[:, None, :] - xy_o[None, :, :]).transpose(2, 0, 1))
    cov = phi2 * np.exp(-3.0 * d_oo / b) + 1e-6 * np.eye(n)
    d_so = np.hypot(*(np.asarray(site_xy_km, float)[:, None, :] - xy_o[None, :, :]
                      ).transpose(2, 0, 1))
    k = phi2 * np.exp(-3.0 * d_so / b)
    sol = np.linalg.solve(cov, np.column_stack([w, k.T]))
    krig = k @ sol[:, 0]
    within_var = np.maximum(phi_s**2 - np.einsum("ij,ji->i", k, sol[:, 1:]), 0.0)
    return Conditioned(mu_s + bias + krig, np.sqrt(within_var + bias_var), bias, n)
