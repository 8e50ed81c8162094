"""Earthquake ground motion by the stochastic method, scaled to IASPEI ML.

Method: Boore (2003), "Simulation of ground motion using the stochastic
method", Pure Appl. Geophys. 160, 635-676. For each station and phase:

1. Gaussian noise is windowed in time, starting exactly at the arrival time;
2. it is shaped by the acceleration Fourier amplitude spectrum
   ``A(f) = (2 pi f)² / (1 + (f/fc)²) * exp(-pi f T / Q(f)) * exp(-pi kappa f)``
   (omega-squared Brune source, anelastic attenuation along a path of travel
   time ``T``, near-surface kappa). The shaping filter is the *minimum-phase*
   filter with that amplitude (real cepstrum), so it is causal: nothing
   precedes the arrival. Boore multiplies by the zero-phase amplitude; the
   amplitude spectrum is the same.
3. Absolute level: the S wave is scaled so that the mean of the N and E
   Wood-Anderson peak amplitudes equals the IASPEI ML relation at the
   hypocentral distance; the P wave is scaled relative to it. Geometric
   spreading and the source constant of Boore's eq. 2 are therefore replaced
   by the ML calibration (documented in docs/simulator.md).

Components: the P wave is rectilinear, radial and vertical (vertical larger);
the S wave is a random mix of SV (radial, plus a smaller vertical part) and SH
(transverse) with station-dependent weights.

Magnitudes (so that the simulator does not agree with seismo's own magnitude
relation): the scenario magnitude is Mw. The S level follows the ML that a
Wood-Anderson network would read, which saturates for great events
(:func:`ml_for_mw`); beyond 1.5 degrees a dispersed Rayleigh-wave train is added
whose level follows Mw through Ms (:func:`rayleigh_velocity_ms`). Each station
gets a site factor and an impulsive or emergent P onset (docs/simulator.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.fft import next_fast_len

#: Wood-Anderson poles (rad/s): T0 = 0.8 s, h = 0.7 (ObsPy / IASPEI); zeros 0, 0; gain 1.
WA_POLES = (-5.49779 + 5.60886j, -5.49779 - 5.60886j)


@dataclass(frozen=True)
class SourceParams:
    """Constants of the synthesis; each default carries its source."""

    kappa_s: float = 0.03  # near-surface attenuation kappa (s) [3P, typical rock site]
    q0: float = 180.0  # Q(f) = q0 * f**q_eta for S, typical of SE China [3P]
    q_eta: float = 0.5  # [3P]
    qp_over_qs: float = 2.25  # Qp = 9/4 Qs (Poisson solid, no bulk loss) [3P]
    fc_p_over_fc_s: float = 1.5  # P corner above S corner (Madariaga 1976) [3P]
    path_duration_s_per_km: float = 0.05  # duration = 1/fc + 0.05 R (Boore 2003) [3P]
    p_to_s_horizontal: float = 0.25  # P/S Wood-Anderson ratio on horizontals (design choice)
    p_vertical_over_radial: float = 1.6  # steep incidence: P stronger on Z (design choice)
    s_vertical_over_radial: float = 0.5  # SV on Z weaker than on horizontals (design choice)
    p_rise_s: float = 0.02  # e-folding rise of the P window (s): impulsive onset
    taper_s: float = 20.0  # extra padding after the coda (s), tapered


def ml_for_mw(mw: float) -> float:
    """The ML a Wood-Anderson network reads for an event of ``mw``: equal up to 6, then
    saturating towards 7 (ML = 7 - exp(-(Mw - 6)); the saturation of ML near 7 for great
    earthquakes, Kanamori 1983, Tectonophysics 93 [3P]; the curve's shape is ours)."""
    return mw if mw <= 6.0 else 7.0 - math.exp(-(mw - 6.0))


def ms_for_mw(mw: float) -> float:
    """Ms from Mw by inverting Scordilis (2006, J. Seismol. 10) [3P]:
    Mw = 0.67 Ms + 2.07 (Ms 3.0-6.1), Mw = 0.99 Ms + 0.08 (Ms 6.2-8.2)."""
    return (mw - 0.08) / 0.99 if mw >= 0.99 * 6.15 + 0.08 else (mw - 2.07) / 0.67


def rayleigh_velocity_ms(mw: float, delta_deg: float) -> float:
    """Peak vertical Rayleigh-wave ground velocity (m/s) of an ``mw`` event at ``delta_deg``:
    the Prague formula Ms = log10(A/T) + 1.66 log10(Delta) + 3.3 (Vanek et al. 1962; A
    ground displacement in micrometres, T ~ 20 s) solved for V = 2 pi A / T, with Ms from
    :func:`ms_for_mw`. The same form as Ms_BB: the simulator checks the measurement chain
    (response, band, timing, windows), not the magnitude relation (docs/simulator.md)."""
    a_over_t_um = 10.0 ** (ms_for_mw(mw) - 3.3 - 1.66 * math.log10(max(delta_deg, 1e-3)))
    return 2.0 * math.pi * a_over_t_um * 1e-6


def rayleigh_train(
    n: int, fs: float, onset: int, p_offset_s: float, t_fast_s: float, t_slow_s: float,
    peak_velocity_ms: float, azimuth_deg: float,
) -> NDArray:
    """(Z, N, E) ground acceleration (m/s²) of a dispersed Rayleigh-wave train.

    Times are seconds after the P arrival. The period falls linearly from 25 s at
    ``t_fast_s`` to 8 s at ``t_slow_s`` (normal dispersion), under a Hann envelope;
    radial motion is 0.7 of vertical and 90 degrees out of phase (retrograde
    ellipse; typical H/V of fundamental-mode Rayleigh waves [3P]). The vertical
    velocity peaks at ``peak_velocity_ms``.
    """
    t = (np.arange(n) - onset) / fs + p_offset_s
    dur = max(t_slow_s - t_fast_s, 1.0)
    x = np.clip((t - t_fast_s) / dur, 0.0, 1.0)
    live = (t >= t_fast_s) & (t <= t_slow_s)
    env = np.where(live, np.sin(np.pi * x) ** 2, 0.0)
    period = 25.0 - 17.0 * x
    phase = 2.0 * np.pi * np.cumsum(1.0 / period) / fs
    vz = env * np.sin(phase)
    vr = 0.7 * env * np.cos(phase)
    peak = float(np.max(np.abs(vz))) or 1.0
    vz *= peak_velocity_ms / peak
    vr *= peak_velocity_ms / peak
    az = math.radians(azimuth_deg)
    acc = np.gradient(np.vstack([vz, vr * math.cos(az), vr * math.sin(az)]), 1.0 / fs, axis=1)
    return np.asarray(acc, float)


def moment_dyne_cm(mw: float) -> float:
    """Seismic moment (dyne-cm) from Mw: log10 M0 = 1.5 Mw + 16.05 (Hanks & Kanamori 1979)."""
    return 10.0 ** (1.5 * mw + 16.05)


def corner_frequency(mw: float, stress_drop_bar: float, beta_kms: float) -> float:
    """Brune corner frequency (Hz): fc = 4.906e6 beta (dsigma/M0)^(1/3) (Boore 2003, eq. 4).

    ``beta_kms`` in km/s, ``stress_drop_bar`` in bar, M0 in dyne-cm.
    """
    return 4.906e6 * beta_kms * (stress_drop_bar / moment_dyne_cm(mw)) ** (1.0 / 3.0)


def iaspei_wa_amplitude_m(ml: float, hypo_km: float) -> float:
    """Zero-to-peak Wood-Anderson amplitude (m, magnification 1) giving ``ml`` at ``hypo_km``.

    IASPEI (2011) standard: ML = log10(A[nm]) + 1.11 log10(R) + 0.00189 R - 2.09.
    """
    r = max(hypo_km, 1.0)
    return 10.0 ** (ml - 1.11 * math.log10(r) - 0.00189 * r + 2.09) * 1e-9


def wa_from_acceleration(freqs: NDArray) -> NDArray:
    """Wood-Anderson displacement response to ground *acceleration* (s²): 1/((s-p1)(s-p2))."""
    s = 2j * np.pi * np.asarray(freqs, float)
    return 1.0 / ((s - WA_POLES[0]) * (s - WA_POLES[1]))


def saragoni_hart(t: NDArray, tw: float, eps: float = 0.2, eta: float = 0.05) -> NDArray:
    """Saragoni-Hart window (Boore 2003, eq. 7): peak 1 at eps*tw, eta at tw; 0 for t <= 0."""
    b = -eps * math.log(eta) / (1.0 + eps * (math.log(eps) - 1.0))
    c = b / eps
    a = (math.e / eps) ** b
    x = np.clip(np.asarray(t, float) / tw, 0.0, None)
    return a * x**b * np.exp(-c * x)


def minimum_phase(amplitude: NDArray, n: int) -> NDArray:
    """The minimum-phase spectrum (rfft grid of length ``n``) with |H| = ``amplitude``.

    Real-cepstrum folding (Oppenheim & Schafer, Discrete-Time Signal Processing, ch. 12).
    """
    floor = float(np.max(amplitude)) * 1e-8 or 1e-300
    cep = np.fft.irfft(np.log(np.maximum(amplitude, floor)), n)
    fold = np.zeros(n)
    fold[0] = cep[0]
    half = (n + 1) // 2
    fold[1:half] = 2.0 * cep[1:half]
    if n % 2 == 0:
        fold[n // 2] = cep[n // 2]
    return np.exp(np.fft.rfft(fold, n))


def shaping_amplitude(
    freqs: NDArray, fc: float, travel_s: float, q0: float, q_eta: float, kappa: float
) -> NDArray:
    """Boore (2003) acceleration spectrum shape (relative units) at ``freqs`` (Hz)."""
    f = np.asarray(freqs, float)
    q = q0 * np.maximum(f, 1e-6) ** q_eta
    return (
        (2 * np.pi * f) ** 2
        / (1.0 + (f / fc) ** 2)
        * np.exp(-np.pi * f * travel_s / q)
        * np.exp(-np.pi * kappa * f)
    )


def durations(
    magnitude: float,
    stress_drop_bar: float,
    beta_kms: float,
    hypo_km: float,
    s_delay_s: float,
    params: SourceParams,
) -> tuple[float, float, float, float, float]:
    """(fc_S Hz, P duration s, S duration s, signal end after P s, padding s).

    Duration = 1/fc + 0.05 R (Boore 2003: source plus path duration); the S
    window lasts 1.5 times its Saragoni-Hart length 2 T, the P window six
    e-folding times.
    """
    fc_s = corner_frequency(magnitude, stress_drop_bar, beta_kms)
    fc_p = params.fc_p_over_fc_s * fc_s
    dur_s = 1.0 / fc_s + params.path_duration_s_per_km * hypo_km
    dur_p = 1.0 / fc_p + params.path_duration_s_per_km * hypo_km
    end_s = max(s_delay_s + 3.0 * dur_s, 6.0 * dur_p)
    return fc_s, dur_p, dur_s, end_s, params.taper_s + 3.0 / fc_s


@dataclass(frozen=True)
class Motion:
    """Ground acceleration (m/s²) at one station for one event, on one sample grid.

    Sample ``j`` of ``zne`` (rows Z up, N, E) is epoch-grid sample
    ``start_index + j``; the first P sample is ``j = onset``. ``pad`` samples at
    the end are padding (tapered by the caller after filtering).
    """

    start_index: int
    onset: int
    pad: int
    zne: NDArray
    wa_target_m: float
    fc_s: float


def synthesize(
    *,
    fs: float,
    start_index: int,
    onset: int,
    p_offset_s: float,
    s_delay_s: float,
    p_travel_s: float,
    s_travel_s: float,
    hypo_km: float,
    azimuth_deg: float,
    magnitude: float,
    stress_drop_bar: float,
    beta_kms: float,
    rng: np.random.Generator,
    params: SourceParams | None = None,
    p_rise_s: float | None = None,
    site_factor: float = 1.0,
    surface: tuple[float, float, float] | None = None,
) -> Motion:
    """Three-component ground acceleration of one event at one station.

    ``p_offset_s`` is the time from the P arrival to sample ``onset`` (0 <= . < 1/fs);
    ``s_delay_s`` is S minus P time; ``*_travel_s`` are travel times from the origin.
    ``azimuth_deg`` is the azimuth from the epicentre to the station. ``magnitude``
    is Mw; the S level follows :func:`ml_for_mw`. ``p_rise_s`` overrides the P
    onset's rise time (emergent onsets), ``site_factor`` scales all motion (site
    amplification), ``surface`` = (first, last arrival after P in s, peak vertical
    velocity m/s) adds a Rayleigh-wave train (:func:`rayleigh_train`).
    """
    par = params or SourceParams()
    fc_s, dur_p, dur_s, end_s, pad_s = durations(
        magnitude, stress_drop_bar, beta_kms, hypo_km, s_delay_s, par
    )
    if surface is not None:
        end_s = max(end_s, surface[1] + 5.0)
    fc_p = par.fc_p_over_fc_s * fc_s
    tw_s = 2.0 * dur_s  # Saragoni-Hart eta point at twice the duration (Boore 2003, f_Tgm = 2)
    pad = math.ceil(pad_s * fs)
    n_sig = onset + math.ceil(end_s * fs) + 1
    n = next_fast_len(n_sig + pad, real=True)
    pad = n - n_sig

    t = (np.arange(n) - onset) / fs + p_offset_s  # seconds after the P arrival
    live = np.arange(n) >= onset
    tt = np.where(live, t, 0.0)
    rise = par.p_rise_s if p_rise_s is None else p_rise_s
    w_p = np.where(live, (1.0 - np.exp(-(tt + 0.5 / fs) / rise)) * np.exp(-tt / dur_p), 0.0)
    w_p[onset + math.ceil(6.0 * dur_p * fs) :] = 0.0
    w_s = np.where(tt >= s_delay_s, saragoni_hart(tt - s_delay_s, tw_s), 0.0)
    w_s[onset + math.ceil((s_delay_s + 1.5 * tw_s) * fs) :] = 0.0

    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    h_p = minimum_phase(
        shaping_amplitude(freqs, fc_p, p_travel_s, par.q0 * par.qp_over_qs, par.q_eta, par.kappa_s),
        n,
    )
    h_s = minimum_phase(
        shaping_amplitude(freqs, fc_s, s_travel_s, par.q0, par.q_eta, par.kappa_s), n
    )
    h_wa = wa_from_acceleration(freqs)

    noise = rng.standard_normal((3, n))
    pr = np.fft.rfft(noise[0] * w_p) * h_p
    sr = np.fft.rfft(noise[1] * w_s) * h_s
    st = np.fft.rfft(noise[2] * w_s) * h_s
    polarity = 1.0 if rng.random() < 0.5 else -1.0
    rad_p = rng.uniform(0.7, 1.3)
    sv_w, sh_w = rng.uniform(0.5, 1.0, size=2)

    az = math.radians(azimuth_deg)
    ca, sa = math.cos(az), math.sin(az)
    s_n = ca * sv_w * sr - sa * sh_w * st
    s_e = sa * sv_w * sr + ca * sh_w * st

    def wa_peak(spec: NDArray) -> float:
        return float(np.max(np.abs(np.fft.irfft(spec * h_wa, n))))

    target = iaspei_wa_amplitude_m(ml_for_mw(magnitude), hypo_km)
    g_s = target / max(0.5 * (wa_peak(s_n) + wa_peak(s_e)), 1e-300)
    g_p = polarity * par.p_to_s_horizontal * rad_p * target / max(wa_peak(pr), 1e-300)

    z = g_p * par.p_vertical_over_radial * pr + g_s * par.s_vertical_over_radial * sv_w * sr
    north = g_p * ca * pr + g_s * s_n
    east = g_p * sa * pr + g_s * s_e
    zne = np.fft.irfft(np.vstack([z, north, east]), n, axis=1)
    if surface is not None:
        t_fast, t_slow, vpeak = surface
        zne += rayleigh_train(n, fs, onset, p_offset_s, t_fast, t_slow, vpeak, azimuth_deg)
    zne *= site_factor
    zne[:, :onset] = 0.0  # re-zero anything wrapped before the P arrival
    return Motion(start_index, onset, pad, zne, target * site_factor, fc_s)


def peak_motion(zne: NDArray, fs: float) -> tuple[float, float]:
    """PGA (m/s²) and PGV (m/s): peaks of the three-component vector sum (unfiltered)."""
    n = zne.shape[1]
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    spec = np.fft.rfft(zne, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vspec = np.where(freqs > 0, spec / (2j * np.pi * freqs), 0.0)
    vel = np.fft.irfft(vspec, n, axis=1)
    pga = float(np.max(np.sqrt(np.sum(zne**2, axis=0))))
    pgv = float(np.max(np.sqrt(np.sum(vel**2, axis=0))))
    return pga, pgv
