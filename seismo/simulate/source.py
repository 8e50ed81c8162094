"""Ground motion of one earthquake at one station: body waves, depth phases, coda, Rayleigh waves.

Absolute spectra come from :mod:`seismo.simulate.physics` (Brune source, far-field
radiation, spreading, Q, kappa); no magnitude relation sets a level, so a
Wood-Anderson ML read from the output saturates by itself for great events (the
random-vibration argument of Hanks & Boore 1984, JGR 89).

Each body phase (P, S, and pP/sP for deep sources) is the sum of two parts:

* Boore's (2003) stochastic method: Gaussian noise under a time window of the
  phase's duration (source duration ``1/fc`` plus ``0.05 R``), normalised to unit
  mean-square spectrum, shaped by the minimum-phase filter of the amplitude spectrum
  (real cepstrum) so nothing precedes the arrival;
* below ``f_x = min(fc, 0.5 Hz)`` the coherent far-field pulse: the Brune
  displacement pulse ``wc² t exp(-wc t)`` (spectrum ``1/(1 + i f/fc)²``, integral 1)
  through the minimum-phase attenuation operator, times the phase's level. The two
  parts are joined by the causal complementary weights ``1/(1 + i f/f_x)²`` and its
  complement, so the time integral of the displacement is exactly the level
  ``M0 R F / (4 pi rho c³ R)`` and ``M0`` can be read back from the P displacement
  (Mwp, Tsuboi et al. 1995); a stochastic train cannot do that, its long-period
  energy spreads over the whole window.

P windows rise with ``p_rise_s`` (impulsive, or 0.3-1 s emergent), stay flat for the
rupture duration and decay over the path duration; S windows are Saragoni-Hart
(Boore 2003 eq. 7). The S-coda follows the single-scattering decay of Aki & Chouet
(1975) in octave bands. Beyond ``surface_min_deg`` a fundamental-mode Rayleigh train
is added with the group velocities of :data:`seismo.simulate.physics.DISPERSION` and a
level that gives Ms from Mw (Scordilis 2006) in the Prague formula.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.fft import irfft, next_fast_len, rfft, rfftfreq

from seismo.simulate.physics import (
    DISPERSION,
    RADIATION_P,
    RADIATION_S,
    S_PARTITION,
    Physics,
    attenuation,
    brune,
    coda_envelope,
    corner_frequency,
    excitation,
    group_velocity,
    moment_nm,
    rayleigh_a_over_t_um,
    site_amplification,
    spreading_p,
    spreading_s,
)

#: Highest crossover (Hz) between the coherent pulse and the stochastic part of a phase.
CROSSOVER_MAX_HZ = 0.5
#: Octave band edges (Hz) of the coda synthesis.
CODA_BANDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)


@dataclass(frozen=True)
class Phase:
    """One body-wave arrival at a station.

    ``kind`` "P" or "S" (wave type at the station), ``t_after_p_s`` its time after the
    first P, ``travel_s`` after the origin, ``p_s_per_km`` its ray parameter, ``level``
    the long-period displacement level along the ray (m s, source and spreading
    included), ``fc`` its corner (Hz), ``q_kind`` "P"/"S" for the path Q.
    """

    kind: str
    t_after_p_s: float
    travel_s: float
    p_s_per_km: float
    level: float
    fc: float
    q_kind: str


@dataclass(frozen=True)
class Station:
    """What the synthesis needs of the station: surface velocities, site and onset draws."""

    vp0: float
    vs0: float
    site_factor: float = 1.0
    p_rise_s: float | None = None
    p_polarity: float = 1.0
    radiation_p: float = 1.0
    sv_weight: float = 1.0
    sh_weight: float = 1.0


@dataclass(frozen=True)
class Motion:
    """Ground acceleration (m/s²) at one station for one event, on one sample grid.

    Sample ``j`` of ``zne`` (rows Z up, N, E) is epoch-grid sample ``start_index + j``;
    the first P sample is ``j = onset``; ``pad`` samples at the end are padding.
    ``p_integral_z`` is the expected time integral (m s) of the vertical P displacement
    (the deterministic pulse: ``level * cos(i)``), ``fc_s`` the S corner (Hz),
    ``duration_s`` the rupture duration ``1/fc_s``.
    """

    start_index: int
    onset: int
    pad: int
    zne: NDArray
    fc_s: float
    duration_s: float
    p_integral_z: float = 0.0
    info: dict[str, float] = field(default_factory=dict)


def body_phases(
    *,
    mw: float,
    stress_drop_bar: float,
    source: tuple[float, float, float],
    hypo_km: float,
    arrivals: dict[str, tuple[float, float, float]],
    surface: tuple[float, float],
    physics: Physics,
) -> list[Phase]:
    """The body phases of an event at a station.

    ``source`` = (Vp, Vs, rho) at the hypocentre; ``arrivals[name]`` = (time after the
    first P, travel time, ray parameter) for "P", "S" and optionally "pP", "sP";
    ``surface`` = (Vp, Vs) at the free surface (reflection coefficients).
    """
    from seismo.simulate.physics import free_surface_coefficients

    alpha, beta, rho = source
    m0 = moment_nm(mw)
    fc_s = corner_frequency(mw, stress_drop_bar, beta)
    fc_p = physics.fc_p_over_fc_s * fc_s
    lev_p = m0 * excitation(RADIATION_P, 1.0, rho, alpha) * spreading_p(hypo_km)
    lev_s = (
        m0
        * excitation(RADIATION_S, S_PARTITION, rho, beta)
        * spreading_s(hypo_km, physics.spreading_hinge_km)
    )
    out = []
    for name, (t_rel, travel, p) in arrivals.items():
        if name == "P":
            out.append(Phase("P", t_rel, travel, p, lev_p, fc_p, "P"))
        elif name == "S":
            out.append(Phase("S", t_rel, travel, p, lev_s, fc_s, "S"))
        else:
            pp, sp = free_surface_coefficients(p, surface[0], surface[1])
            if name == "pP":
                out.append(Phase("P", t_rel, travel, p, lev_p * pp, fc_p, "P"))
            elif name == "sP":
                # S radiated, converted to P at the free surface above the source; the
                # excitation of S (R_S, beta³) with P's whole-space spreading
                lev = m0 * excitation(RADIATION_S, 1.0, rho, beta) * spreading_p(hypo_km) * sp
                out.append(Phase("P", t_rel, travel, p, lev, fc_s, "P"))
    return out


def _window_p(t: NDArray, rise: float, src_s: float, path_s: float) -> NDArray:
    """Impulsive-onset P window: (1 - e^(-t/rise)), flat over the rupture, then e^(-t/path)."""
    live = t >= 0
    tt = np.where(live, t, 0.0)
    w = (1.0 - np.exp(-(tt + 1e-9) / rise)) * np.exp(-np.maximum(tt - src_s, 0.0) / path_s)
    return np.where(live & (tt < src_s + 6.0 * path_s), w, 0.0)


def _window_s(t: NDArray, dur_s: float) -> NDArray:
    """Saragoni-Hart window (Boore 2003 eq. 7): peak at 0.4 T, 0.05 at 2 T; cut at 3 T."""
    eps, eta = 0.2, 0.05
    tw = 2.0 * dur_s
    b = -eps * math.log(eta) / (1.0 + eps * (math.log(eps) - 1.0))
    c = b / eps
    a = (math.e / eps) ** b
    x = np.clip(np.asarray(t, float) / tw, 0.0, None)
    w = a * x**b * np.exp(-c * x)
    return np.where((t >= 0) & (t < 1.5 * tw), w, 0.0)


def minimum_phase(amplitude: NDArray, n: int) -> NDArray:
    """The minimum-phase spectrum (rfft grid of length ``n``) with |H| = ``amplitude``.

    Real-cepstrum folding (Oppenheim & Schafer, Discrete-Time Signal Processing, ch. 12).
    """
    floor = float(np.max(amplitude)) * 1e-10 or 1e-300
    cep = irfft(np.log(np.maximum(amplitude, floor)), n)
    fold = np.zeros(n)
    fold[0] = cep[0]
    half = (n + 1) // 2
    fold[1:half] = 2.0 * cep[1:half]
    if n % 2 == 0:
        fold[n // 2] = cep[n // 2]
    return np.exp(rfft(fold, n))


def phase_duration(ph: Phase, hypo_km: float, physics: Physics) -> tuple[float, float]:
    """(rupture duration 1/fc s, path duration s) of a phase (Boore 2003)."""
    return 1.0 / ph.fc, max(physics.path_duration_s_per_km * hypo_km, 0.05)


def _phase_spectrum(
    ph: Phase,
    *,
    freqs: NDArray,
    t: NDArray,
    tau: float,
    fs: float,
    hypo_km: float,
    physics: Physics,
    rise: float,
    rng: np.random.Generator,
    n: int,
) -> tuple[NDArray, NDArray]:
    """(displacement spectrum of the phase (DFT units), its stochastic part's |spectrum|)."""
    src_s, path_s = phase_duration(ph, hypo_km, physics)
    q0 = physics.q0 * (physics.qp_over_qs if ph.q_kind == "P" else 1.0)
    att = attenuation(freqs, ph.travel_s, q0, physics.q_eta, physics.kappa_s)
    amp = abs(ph.level) * brune(freqs, ph.fc) * att  # |U(f)| (m s)
    tr = t - ph.t_after_p_s
    w = _window_s(tr, src_s + path_s) if ph.kind == "S" else _window_p(tr, rise, src_s, path_s)
    noise = rng.standard_normal(n) * w
    spec = rfft(noise)
    ms = float(np.mean(np.abs(spec[1:]) ** 2)) or 1.0
    sto = spec / math.sqrt(ms) * minimum_phase(amp, n) * fs  # Boore (2003): unit mean square
    sto *= 1.0 if ph.level >= 0 else -1.0
    # below f_x = min(fc, 0.5 Hz) the phase is the coherent far-field pulse: the causal
    # Brune pulse (integral 1) through the attenuation operator, times the level; above
    # it the stochastic part. The complementary weights L = 1/(1 + i f/f_x)² and 1 - L
    # are causal and sum to one; the displacement integral (DC) is exactly the level.
    wc = 2.0 * math.pi * ph.fc
    pulse = (wc / (wc + 2j * np.pi * freqs)) ** 2
    shift = np.exp(-2j * np.pi * freqs * tau)
    det = ph.level * pulse * minimum_phase(att, n) * shift * fs
    fx = min(ph.fc, CROSSOVER_MAX_HZ)
    low = 1.0 / (1.0 + 1j * freqs / fx) ** 2
    sto = low * det + (1.0 - low) * sto
    # the cepstral minimum-phase filters are causal only up to aliasing on the finite
    # grid: nothing of the phase may precede its arrival
    x = irfft(sto, n)
    x[: max(math.floor(tau * fs), 0)] = 0.0
    return rfft(x), amp


def synthesize(
    *,
    fs: float,
    start_index: int,
    onset: int,
    p_offset_s: float,
    phases: list[Phase],
    station: Station,
    hypo_km: float,
    epi_km: float,
    azimuth_deg: float,
    origin_to_p_s: float,
    mw: float,
    physics: Physics,
    rng: np.random.Generator,
) -> Motion:
    """Three-component ground acceleration of one event at one station.

    ``p_offset_s`` is the time from the P arrival to sample ``onset`` (0 <= . < 1/fs);
    ``azimuth_deg`` the azimuth from the epicentre to the station; ``origin_to_p_s``
    the P travel time (coda lapse times and surface-wave arrivals are from the origin).
    """
    end_s = _signal_end(phases, hypo_km, epi_km, origin_to_p_s, mw, physics)
    n_sig = onset + math.ceil(end_s * fs) + 1
    pad = math.ceil((20.0 + 3.0 * max(1.0 / ph.fc for ph in phases)) * fs)
    n = next_fast_len(n_sig + pad, real=True)
    pad = n - n_sig
    t = (np.arange(n) - onset) / fs + p_offset_s  # seconds after the P arrival
    freqs = rfftfreq(n, 1.0 / fs)
    t0 = -onset / fs + p_offset_s  # buffer start, seconds after P
    az = math.radians(azimuth_deg)
    ca, sa = math.cos(az), math.sin(az)
    rise = physics.p_rise_s if station.p_rise_s is None else station.p_rise_s
    zne = np.zeros((3, len(freqs)), dtype=complex)
    p_integral = 0.0
    s_amp: NDArray | None = None
    s_phase: Phase | None = None

    def phase(ph: Phase, tau: float) -> tuple[NDArray, NDArray]:
        return _phase_spectrum(
            ph,
            freqs=freqs,
            t=t,
            tau=tau,
            fs=fs,
            hypo_km=hypo_km,
            physics=physics,
            rise=rise,
            rng=rng,
            n=n,
        )

    for ph in phases:
        tau = ph.t_after_p_s - t0
        if ph.kind == "P":
            spec, _ = phase(ph, tau)
            spec = spec * station.p_polarity * station.radiation_p
            sin_i = min(ph.p_s_per_km * station.vp0, 1.0)
            cos_i = math.sqrt(1.0 - sin_i**2)
            zne[0] += cos_i * spec
            zne[1] += sin_i * ca * spec
            zne[2] += sin_i * sa * spec
            if ph.t_after_p_s == 0.0:
                p_integral = ph.level * station.p_polarity * station.radiation_p * cos_i
        else:
            sv, s_amp = phase(ph, tau)
            sh, _ = phase(ph, tau)
            s_phase = ph
            sv = sv * station.sv_weight
            sh = sh * station.sh_weight
            sin_j = min(ph.p_s_per_km * station.vs0, 1.0)
            cos_j = math.sqrt(1.0 - sin_j**2)
            zne[0] += sin_j * sv
            zne[1] += cos_j * ca * sv - sa * sh
            zne[2] += cos_j * sa * sv + ca * sh
    if s_phase is not None and s_amp is not None:
        zne += _coda(s_phase, s_amp, t, freqs, hypo_km, origin_to_p_s, physics, rng, n)
    delta = epi_km / 111.195
    if delta >= physics.surface_min_deg:
        t_s = s_phase.travel_s if s_phase is not None else origin_to_p_s
        zne += _rayleigh(freqs, t0, t_s, epi_km, origin_to_p_s, mw, delta, azimuth_deg, physics, fs)
    acc = -((2.0 * np.pi * freqs) ** 2) * zne  # displacement -> acceleration
    # the site term as a causal (minimum-phase) filter: a zero-phase one would put
    # energy before the onset, and cutting it there would spoil the long periods
    if station.site_factor != 1.0:
        acc *= minimum_phase(
            site_amplification(freqs, station.site_factor, physics.site_corner_hz), n
        )
    out = irfft(acc, n, axis=1)
    out[:, :onset] = 0.0  # nothing before the P arrival (wrap-round of the padding)
    return Motion(
        start_index,
        onset,
        pad,
        out,
        phases[0].fc / physics.fc_p_over_fc_s,
        1.0 / (phases[0].fc / physics.fc_p_over_fc_s),
        p_integral,
        {"hypo_km": hypo_km, "epi_km": epi_km},
    )


def _signal_end(
    phases: list[Phase],
    hypo_km: float,
    epi_km: float,
    origin_to_p_s: float,
    mw: float,
    physics: Physics,
) -> float:
    """Seconds after P until the last modelled energy (coda to the floor, Rayleigh train)."""
    end = 0.0
    for ph in phases:
        src, path = phase_duration(ph, hypo_km, physics)
        end = max(end, ph.t_after_p_s + (3.0 * (src + path) if ph.kind == "S" else src + 6 * path))
        if ph.kind == "S":
            end = max(end, ph.t_after_p_s + _coda_length(ph, hypo_km, origin_to_p_s, physics))
    if epi_km / 111.195 >= physics.surface_min_deg:
        per = np.array([4.0, 5.0])
        end = max(
            end,
            epi_km / float(np.min(group_velocity(per, physics.dispersion))) + 60.0 - origin_to_p_s,
        )
    return end


def _coda_length(s: Phase, hypo_km: float, origin_to_p_s: float, physics: Physics) -> float:
    """Seconds after S until the 1 Hz coda falls below ``coda_floor_ms2`` (at most 20 min)."""
    src, path = phase_duration(s, hypo_km, physics)
    t_s = s.travel_s
    t_start = t_s + src + path
    # rms acceleration of the direct S near 1 Hz (order of magnitude: level x (2 pi)² x brune)
    a_s = (
        abs(s.level)
        * (2 * np.pi) ** 2
        * float(brune(np.array([1.0]), s.fc)[0])
        / math.sqrt(src + path)
    )
    start = physics.coda_level * max(a_s, 1e-30)
    if start <= physics.coda_floor_ms2:
        return src + path
    lapse = np.arange(t_start, t_start + 1200.0, 1.0)
    env = start * coda_envelope(lapse, t_start, 1.0, physics.coda_q0, physics.coda_eta)
    below = np.nonzero(env < physics.coda_floor_ms2)[0]
    end = float(lapse[below[0]]) if below.size else float(lapse[-1])
    return end - t_s


def _coda(
    s: Phase,
    s_amp: NDArray,
    t: NDArray,
    freqs: NDArray,
    hypo_km: float,
    origin_to_p_s: float,
    physics: Physics,
    rng: np.random.Generator,
    n: int,
) -> NDArray:
    """S-coda displacement spectra (Z, N, E) in octave bands (Aki & Chouet 1975 decay).

    In each band the coda starts at the S arrival, reaches ``coda_level`` times the
    band's direct-S rms at the end of the S window and decays as (t0/t) exp(-pi f (t -
    t0)/Qc(f)), t the lapse time from the origin.
    """
    src, path = phase_duration(s, hypo_km, physics)
    dur = src + path
    lapse = t + origin_to_p_s
    t_s = s.travel_s
    t_start = t_s + dur
    ramp = np.clip((lapse - t_s) / dur, 0.0, 1.0)
    out = np.zeros((3, len(freqs)), dtype=complex)
    df = freqs[1] - freqs[0]
    nyq = freqs[-1]
    for lo, hi in itertools.pairwise(CODA_BANDS):
        if lo >= nyq:
            break
        band = (freqs >= lo) & (freqs < min(hi, nyq))
        if not np.any(band):
            continue
        # rms of the direct S displacement in the band over its duration (Parseval)
        energy = 2.0 * float(np.sum(s_amp[band] ** 2)) * df
        rms = math.sqrt(energy / dur) * physics.coda_level
        env = (
            rms
            * ramp
            * coda_envelope(lapse, t_start, math.sqrt(lo * hi), physics.coda_q0, physics.coda_eta)
        )
        env[lapse < t_s] = 0.0
        for comp, gain in ((0, 0.7), (1, 1.0), (2, 1.0)):
            spec = rfft(rng.standard_normal(n))
            spec[~band] = 0.0
            x = irfft(spec, n)
            x /= float(np.sqrt(np.mean(x**2))) or 1.0
            out[comp] += rfft(x * env * gain)
    return out


def _rayleigh(
    freqs: NDArray,
    t0: float,
    t_s: float,
    epi_km: float,
    origin_to_p_s: float,
    mw: float,
    delta: float,
    azimuth_deg: float,
    physics: Physics,
    fs: float,
) -> NDArray:
    """Dispersed fundamental-mode Rayleigh displacement spectra (Z, N, E), DFT units.

    Group delay t_g(f) = Delta / U(1/f) from the origin; the phase is 2 pi times its
    integral over f. Amplitude: omega-squared source shape between 4 and 125 s, scaled
    so that the peak vertical velocity over 3-60 s is 2 pi A/T of the Prague formula
    (Ms_BB = Ms(Mw) by construction: the measurement chain is tested, not the relation).
    """
    f = np.maximum(freqs, 1e-6)
    per = 1.0 / f
    tg = epi_km / group_velocity(per, physics.dispersion) - origin_to_p_s - t0  # buffer time
    phase = (
        2.0 * np.pi * np.concatenate([[0.0], np.cumsum(0.5 * (tg[1:] + tg[:-1]) * np.diff(freqs))])
    )
    fc = corner_frequency(mw, 50.0, 3.5)
    shape = brune(freqs, max(fc, 1e-3)) / (1.0 + (0.008 / f) ** 8) / (1.0 + (freqs / 0.25) ** 8)
    z = shape * np.exp(-1j * phase)
    z[0] = 0.0
    # level: the peak vertical velocity over 3-60 s is 2 pi A/T of the Prague formula,
    # so the broadband measurement (Ms_BB, IASPEI 2013: log10(Vmax/2 pi)) gives Ms(Mw)
    f_safe = np.maximum(freqs, 1e-9)
    band = 1.0 / (1.0 + (freqs / (1.0 / 3.0)) ** 8) / (1.0 + ((1.0 / 60.0) / f_safe) ** 8)
    n = 2 * (len(freqs) - 1)
    peak = float(np.max(np.abs(irfft(z * 2j * np.pi * freqs * band, n)))) or 1.0
    target_m = 2.0 * np.pi * rayleigh_a_over_t_um(mw, delta) * 1e-6  # peak velocity (m/s)
    # from surface_min_deg to twice that the train grows linearly to the Prague level
    # (the surface waves form within a few wavelengths; design choice)
    ramp = (
        min(max(delta / physics.surface_min_deg - 1.0, 0.0), 1.0)
        if physics.surface_min_deg > 0
        else 1.0
    )
    z *= ramp * target_m / peak
    # the train starts with the fastest group velocity of the curve, not before the S
    # arrival, and ends a minute after the slowest (cosine tapers of 10 s): no
    # long-period leak into the body waves
    u_fast, _u_slow = (float(x) for x in group_velocity(np.array([200.0, 4.0]), physics.dispersion))
    t_on = max(epi_km / max(u_fast, float(np.max(DISPERSION[physics.dispersion][1]))), t_s)
    t_on += 10.0 - origin_to_p_s - t0  # (the taper below starts 10 s before t_on)
    t_off = epi_km / float(np.min(DISPERSION[physics.dispersion][1])) + 60.0 - origin_to_p_s - t0
    tb = np.arange(n) / fs
    win = np.clip((tb - (t_on - 10.0)) / 10.0, 0.0, 1.0) * np.clip(
        (t_off + 10.0 - tb) / 10.0, 0.0, 1.0
    )
    win = 0.5 - 0.5 * np.cos(np.pi * win)
    z = rfft(irfft(z, n) * win)
    r = physics.surface_h_over_v * (-1j) * z
    az = math.radians(azimuth_deg)
    return np.vstack([z, r * math.cos(az), r * math.sin(az)])


def peak_motion(zne: NDArray, fs: float) -> tuple[float, float]:
    """PGA (m/s²) and PGV (m/s): peaks of the three-component vector sum (unfiltered)."""
    n = zne.shape[1]
    freqs = rfftfreq(n, 1.0 / fs)
    spec = rfft(zne, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vspec = np.where(freqs > 0, spec / (2j * np.pi * freqs), 0.0)
    vel = irfft(vspec, n, axis=1)
    pga = float(np.max(np.sqrt(np.sum(zne**2, axis=0))))
    pgv = float(np.max(np.sqrt(np.sum(vel**2, axis=0))))
    return pga, pgv
