"""Physical constants and spectral relations of the simulated earthquakes.

Everything here is a pure function of its arguments; :class:`Physics` holds the
parameters with their sources (``docs/simulator.md`` and ``docs/references.md``).

Ground displacement Fourier amplitude of a body-wave phase ``X`` (P or S) at the free
surface, in the convention of Boore (2003, Pure Appl. Geophys. 160, eqs. 2-3)::

    U_X(f) = R_X * F * V_X * M0 / (4 pi rho_s c_s^3) * G_X(R) * S(f) * exp(-pi f t*_X)
             * exp(-pi kappa f) * A_site(f)

* ``M0`` (N m) = 10**(1.5 Mw + 9.05) (Hanks & Kanamori 1979, in SI units);
* ``S(f) = 1 / (1 + (f/fc)²)``, the Brune (1970) omega-squared source with corner
  ``fc = 4.906e6 beta (dsigma/M0[dyne cm])**(1/3)`` (Boore 2003 eq. 4; P corner 1.5 fc,
  Madariaga 1976); the rupture (source) duration is ``1/fc`` (Boore 2003);
* ``R_P = 0.52``, ``R_S = 0.63``: radiation patterns averaged over the focal sphere
  (root mean square, Boore & Boatwright 1984, BSSA 74); ``F = 2`` free surface;
  ``V_S = 1/sqrt(2)`` split of S onto the two horizontals (Boore 2003); ``V_P = 1``;
* ``G_P = 1/R`` (R hypocentral distance): far-field body-wave spreading in a whole
  space (Aki & Richards 2002, eq. 4.32), so that the P displacement integral is
  ``M0 R_P F / (4 pi rho alpha^3 R)`` (what Tsuboi et al. 1995 invert for Mwp);
* ``G_S``: 1/R to 40 km, then R^-0.5 (Lg-like), and ``Q_S(f) = 180 f^0.45`` with
  ``t* = T/Q``: the California model of Atkinson & Silva (2000, BSSA 90) as tabulated
  by Boore (2003, Table 4) [3P]; ``Q_P = 2.25 Q_S`` (no bulk loss, Poisson solid) [3P];
* ``kappa``: near-surface attenuation (Anderson & Hough 1984), 0.03 s [3P, typical rock].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Average radiation patterns (rms over the focal sphere), Boore & Boatwright (1984).
RADIATION_P = 0.52
RADIATION_S = 0.63
FREE_SURFACE = 2.0
S_PARTITION = 1.0 / math.sqrt(2.0)


@dataclass(frozen=True)
class Physics:
    """Parameters of the simulated seismic waves; each default carries its source."""

    stress_drop_bar: float = 50.0  # Brune stress drop; 30-100 bar typical [3P]
    kappa_s: float = 0.03  # near-surface kappa (s), typical rock [3P]
    q0: float = 180.0  # Q_S(f) = q0 f^q_eta (Atkinson & Silva 2000) [3P]
    q_eta: float = 0.45
    qp_over_qs: float = 2.25  # Poisson solid, no bulk loss [3P]
    fc_p_over_fc_s: float = 1.5  # Madariaga (1976) [3P]
    spreading_hinge_km: float = 40.0  # G_S: 1/R to here, then R^-0.5 (Atkinson & Silva 2000) [3P]
    path_duration_s_per_km: float = 0.05  # duration = 1/fc + 0.05 R (Boore 2003) [3P]
    p_rise_s: float = 0.02  # e-folding rise of an impulsive P onset (s): design choice
    emergent_fraction: float = 0.0  # share of station records with a 0.3-1 s P rise
    statics_sigma_s: float = 0.05  # P station static, N(0, sigma) fixed per station [3P]
    site_sigma_log10: float = 0.0  # site amplification above 1 Hz, fixed per station [3P]
    site_corner_hz: float = 1.0  # site terms act above this frequency (design choice)
    coda_q0: float = 120.0  # coda Q_c(f) = coda_q0 f^coda_eta (Aki & Chouet 1975 form) [3P]
    coda_eta: float = 0.8
    coda_level: float = 0.3  # coda rms / direct-S rms at the end of the S window (design)
    surface_min_deg: float = 1.0  # Rayleigh waves from this epicentral distance on
    surface_h_over_v: float = 0.7  # fundamental-mode Rayleigh H/V, retrograde [3P]
    dispersion: str = "continental"  # Rayleigh group-velocity curve (DISPERSION)
    depth_phase_min_km: float = 30.0  # pP/sP synthesised for sources at least this deep
    urban_nhnm_excess_db: float = 3.0  # urban noise above NHNM at 1-20 Hz [3P]
    coda_floor_ms2: float = 1e-8  # the coda is cut below this rms (NLNM level at 1-10 Hz)
    # velocities of the weathered top (km/s) that set the incidence angles at the free
    # surface (the projection of P and SV on the components): Vs ~1.5 km/s within the top
    # ~100 m of a generic rock site (Boore & Joyner 1997, BSSA 87) [3P], Vp = 2 Vs
    surface_vp_kms: float = 3.0
    surface_vs_kms: float = 1.5


# --------------------------------------------------------------------------- source
def moment_nm(mw: float) -> float:
    """Seismic moment (N m): log10 M0 = 1.5 Mw + 9.05 (Hanks & Kanamori 1979)."""
    return 10.0 ** (1.5 * mw + 9.05)


def corner_frequency(mw: float, stress_drop_bar: float, beta_kms: float) -> float:
    """Brune S corner (Hz): 4.906e6 beta (dsigma/M0)^(1/3), M0 in dyne cm (Boore 2003 eq. 4)."""
    return 4.906e6 * beta_kms * (stress_drop_bar / (moment_nm(mw) * 1e7)) ** (1.0 / 3.0)


def brune(freqs: NDArray, fc: float) -> NDArray:
    """Omega-squared source shape 1 / (1 + (f/fc)²) (Brune 1970)."""
    return 1.0 / (1.0 + (np.asarray(freqs, float) / fc) ** 2)


def spreading_p(hypo_km: float) -> float:
    """Far-field body-wave spreading 1/R (R in m; Aki & Richards 2002, eq. 4.32)."""
    return 1.0 / (max(hypo_km, 0.1) * 1000.0)


def spreading_s(hypo_km: float, hinge_km: float) -> float:
    """1/R to ``hinge_km``, then R^-0.5 beyond (R in m; Atkinson & Silva 2000) [3P]."""
    r = max(hypo_km, 0.1)
    g = 1.0 / r if r <= hinge_km else (1.0 / hinge_km) * math.sqrt(hinge_km / r)
    return g / 1000.0


def excitation(radiation: float, partition: float, rho_gcc: float, c_kms: float) -> float:
    """R V F / (4 pi rho c³) in SI (m/(N m) per unit 1/m spreading; Boore 2003 eq. 3)."""
    rho = rho_gcc * 1000.0
    c = c_kms * 1000.0
    return radiation * partition * FREE_SURFACE / (4.0 * math.pi * rho * c**3)


def attenuation(
    freqs: NDArray, travel_s: float, q0: float, q_eta: float, kappa_s: float
) -> NDArray:
    """exp(-pi f T / Q(f)) exp(-pi kappa f), Q(f) = q0 f^q_eta (Boore 2003 eq. 6 form)."""
    f = np.asarray(freqs, float)
    q = q0 * np.maximum(f, 1e-6) ** q_eta
    return np.exp(-np.pi * f * travel_s / q) * np.exp(-np.pi * kappa_s * f)


def site_amplification(freqs: NDArray, factor: float, corner_hz: float) -> NDArray:
    """1 + (factor - 1) f²/(f² + f0²): a site term acting above ``corner_hz`` only."""
    f2 = np.asarray(freqs, float) ** 2
    return 1.0 + (factor - 1.0) * f2 / (f2 + corner_hz**2)


def free_surface_coefficients(p: float, alpha: float, beta: float) -> tuple[float, float]:
    """Free-surface reflection coefficients (PP, SP) for ray parameter ``p`` (s/km).

    Aki & Richards (2002), ch. 5 (P-SV at a free surface): with a = 1/beta² - 2p²,
    xi = cos(i)/alpha, eta = cos(j)/beta and D = a² + 4p² xi eta,
    PP = (-a² + 4p² xi eta)/D and SP = 4 (beta/alpha) p eta a / D.
    """
    xi = math.sqrt(max(1.0 / alpha**2 - p**2, 0.0))
    eta = math.sqrt(max(1.0 / beta**2 - p**2, 0.0))
    a = 1.0 / beta**2 - 2.0 * p**2
    d = a**2 + 4.0 * p**2 * xi * eta
    return (-(a**2) + 4.0 * p**2 * xi * eta) / d, 4.0 * (beta / alpha) * p * eta * a / d


# --------------------------------------------------------------------------- surface waves
#: Fundamental-mode Rayleigh group velocity (km/s) against period (s). "continental":
#: the average continental curve summarised by Oliver (1962, BSSA 52, 81-86), read
#: approximately (Airy-phase minimum near 10-15 s, rising towards 3.9 km/s at 60-100 s)
#: [3P]; "oceanic": Oliver's oceanic paths (slow below 15 s for the water layer, about
#: 3.9-4.0 km/s at 30-60 s) [3P].
DISPERSION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "continental": (
        (5.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0),
        (2.85, 2.95, 2.95, 3.0, 3.1, 3.25, 3.4, 3.6, 3.75, 3.85, 3.9, 3.9),
    ),
    "oceanic": (
        (5.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0),
        (1.6, 2.3, 2.8, 3.5, 3.8, 3.9, 3.95, 4.0, 3.95, 3.9, 3.85, 3.85),
    ),
}


def group_velocity(period_s: NDArray, curve: str = "continental") -> NDArray:
    """Rayleigh group velocity (km/s) at ``period_s`` (held constant outside the table)."""
    per, vel = DISPERSION[curve]
    lp = np.log(np.clip(np.asarray(period_s, float), per[0], per[-1]))
    return np.interp(lp, np.log(per), vel)


def ms_for_mw(mw: float) -> float:
    """Ms from Mw by inverting Scordilis (2006, J. Seismol. 10) [3P]:
    Mw = 0.67 Ms + 2.07 (Ms 3.0-6.1), Mw = 0.99 Ms + 0.08 (Ms 6.2-8.2)."""
    return (mw - 0.08) / 0.99 if mw >= 0.99 * 6.15 + 0.08 else (mw - 2.07) / 0.67


def rayleigh_a_over_t_um(mw: float, delta_deg: float) -> float:
    """Rayleigh A/T (µm/s) at ~20 s of an ``mw`` event at ``delta_deg``: the IASPEI Prague
    formula Ms = log10(A/T) + 1.66 log10(Delta) + 3.3 (Vanek et al. 1962) with Ms from
    :func:`ms_for_mw` (extrapolated below 20 degrees; docs/simulator.md)."""
    return 10.0 ** (ms_for_mw(mw) - 3.3 - 1.66 * math.log10(max(delta_deg, 0.1)))


# --------------------------------------------------------------------------- coda
def coda_envelope(t_lapse: NDArray, t_start: float, f_hz: float, q0: float, eta: float) -> NDArray:
    """Coda amplitude decay (t0/t) exp(-pi f (t - t0)/Qc(f)) for lapse times t >= t0
    (single back-scattering, Aki & Chouet 1975, JGR 80; amplitude ~ t^-1)."""
    qc = q0 * max(f_hz, 1e-3) ** eta
    t = np.maximum(np.asarray(t_lapse, float), t_start)
    return (t_start / t) * np.exp(-np.pi * f_hz * (t - t_start) / qc)
