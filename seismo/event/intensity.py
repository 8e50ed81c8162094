"""Instrumental intensity (GB/T 17742-2020, MMI) and predicted intensity at sites.

Observed intensity is computed here; the attenuation relations that predict it
from magnitude and distance live in :mod:`seismo.event.attenuation`. **[V]** =
checked against the cited source, **[3P]** = from third-party code or a
secondary page (docs/magnitude_intensity.md).

Observed (from a station's peaks). The Chinese scale from the 3-component
vector sums after a 0.1-10 Hz band-pass (GB/T 17742-2020 processing, Song et
al. 2021 [V]); MMI from the larger horizontal peak of the unfiltered record, the
quantity Worden et al. (2012) regressed on (the band-passed vector sum reads
0.3-0.45 MMI low for small events), falling back to the vector sums when a
series has no horizontal peaks:

* China, GB/T 17742-2020 [3P]: ``I_A = 3.17 lg(PGA) + 6.59``,
  ``I_V = 3.00 lg(PGV) + 9.77`` (PGA m/s², PGV m/s); combination rule in
  :data:`CN_COMBINATION`; clipped to [1, 12]; one decimal.
* MMI, Worden et al. (2012) [V, usgs/shakemap ``wgrw12``]: bilinear in log10 of
  PGA (cm/s²) or PGV (cm/s); clipped to [1, 10]. PGA- and PGV-derived values are
  combined as in the ShakeMap 3.5 technical guide (Wald et al. 1999b) [3P]:
  PGA-based below MMI V, PGV-based from VII, linear blend between.

Predicted (for sites without instruments): :func:`seismo.event.attenuation.predict_intensity`
(default: the eastern-China relation of GB 18306-2015, which predicts the Chinese
scale directly), plus a site term from the site's Vs30 (Borcherdt 1994,
:func:`seismo.event.attenuation.site_terms`). Predictions are anchored to the
observations (:func:`anchor_correction`): the mean observed-minus-predicted of
stations above the scale floor, and, when stations sit at the floor (not felt),
no more than what keeps their predictions "not felt". :func:`intensity_note`
explains a remaining difference between observed and predicted values.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.errors import DataError
from seismo.event import gmm
from seismo.event.arrivals import EventRecords, arrival_windows
from seismo.event.attenuation import (
    CN_MAX,
    CN_MIN,
    MMI_MAX,
    MMI_MIN,
    macroseismic_sigma,
    predict_intensity,
    site_terms,
)
from seismo.event.settings import IntensityConfig
from seismo.event.sites import Site
from seismo.geo import distance_km, hypocentral_km, local_xy
from seismo.model import SiteIntensity, StationIntensity
from seismo.station.series import series_values

log = logging.getLogger(__name__)

G = 9.80665  # standard gravity, m/s² (CGPM 1901), for PGA in g

# --------------------------------------------------------------------------- GB/T 17742-2020
#: How I_A and I_V combine. "and": I = I_V when I_A >= 6.0 AND I_V >= 6.0, else the
#: mean (GB/T 17742-2020 Appendix A as quoted in docs/references.md §4 [3P]). "or": I = I_V when
#: either is >= 6.0 (seen in some third-party implementations). Keep it in one place.
CN_COMBINATION: Literal["and", "or"] = "and"
CN_SWITCH = 6.0


def intensity_cn_components(pga_ms2: ArrayLike, pgv_ms: ArrayLike) -> tuple[NDArray, NDArray]:
    """(I_A, I_V) of GB/T 17742-2020 [3P], unclipped. PGA in m/s², PGV in m/s (> 0)."""
    a = np.asarray(pga_ms2, dtype=float)
    v = np.asarray(pgv_ms, dtype=float)
    if np.any(~(a > 0)) or np.any(~(v > 0)):
        raise DataError(f"PGA ({pga_ms2!r}) and PGV ({pgv_ms!r}) must be > 0")
    return 3.17 * np.log10(a) + 6.59, 3.00 * np.log10(v) + 9.77


def intensity_cn(pga_ms2: ArrayLike, pgv_ms: ArrayLike) -> NDArray | float:
    """GB/T 17742-2020 instrumental intensity, clipped to [1, 12], one decimal.

    Args:
        pga_ms2: peak ground acceleration (vector sum), m/s².
        pgv_ms: peak ground velocity (vector sum), m/s.
    Check values (docs/references.md §4): (0.5, 0.05) -> 5.8; (1.0, 0.1) -> 6.8; (2.0, 0.2) -> 7.7.
    """
    ia, iv = intensity_cn_components(pga_ms2, pgv_ms)
    if CN_COMBINATION == "and":
        high = (ia >= CN_SWITCH) & (iv >= CN_SWITCH)
    else:
        high = (ia >= CN_SWITCH) | (iv >= CN_SWITCH)
    i = np.where(high, iv, (ia + iv) / 2.0)
    out = np.round(np.clip(i, CN_MIN, CN_MAX), 1)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- MMI, Worden 2012
# Worden, Gerstenberger, Rhoades & Wald (2012), BSSA 102(1), Table 1 [V, usgs/shakemap
# wgrw12]: MMI = c1 + c2 log10(Y) for log10(Y) <= t1, else c3 + c4 log10(Y).
_WGRW12 = {
    "pga": (1.78, 1.55, -1.60, 3.70, 1.57),  # Y = PGA in cm/s²
    "pgv": (3.78, 1.47, 2.89, 3.16, 0.53),  # Y = PGV in cm/s
}


def _wgrw12(y: NDArray, which: str) -> NDArray:
    c1, c2, c3, c4, t1 = _WGRW12[which]
    ly = np.log10(y)
    return np.clip(np.where(ly <= t1, c1 + c2 * ly, c3 + c4 * ly), MMI_MIN, MMI_MAX)


def _mmi_from(peak: ArrayLike, which: str, unit: str) -> NDArray | float:
    """MMI from a positive peak in SI ``unit`` (m/s² or m/s; ``which``: "pga"/"pgv")."""
    x = np.asarray(peak, dtype=float)
    if np.any(~(x > 0)):
        raise DataError(f"{which.upper()} ({peak!r}) must be > 0 {unit}")
    out = _wgrw12(x * 100.0, which)  # the relation is in cm/s² and cm/s
    return float(out) if out.ndim == 0 else out


def mmi_from_pga(pga_ms2: ArrayLike) -> NDArray | float:
    """MMI from PGA (m/s²), Worden et al. 2012. 0.1 g -> 5.77."""
    return _mmi_from(pga_ms2, "pga", "m/s²")


def mmi_from_pgv(pgv_ms: ArrayLike) -> NDArray | float:
    """MMI from PGV (m/s), Worden et al. 2012. 10 cm/s -> 6.05."""
    return _mmi_from(pgv_ms, "pgv", "m/s")


def mmi_worden2012(pga_ms2: ArrayLike, pgv_ms: ArrayLike) -> NDArray | float:
    """MMI from PGA (m/s²) and PGV (m/s), Worden et al. 2012, combined [3P].

    Combination (ShakeMap 3.5 technical guide, after Wald et al. 1999b [3P]): with
    ``Ma`` from PGA and ``Mv`` from PGV, MMI = Ma when Ma < 5, Mv when Ma >= 7, and
    ``Ma + (Mv - Ma) * (Ma - 5) / 2`` between. Rounded to two decimals.
    """
    ma = np.asarray(mmi_from_pga(pga_ms2), dtype=float)
    mv = np.asarray(mmi_from_pgv(pgv_ms), dtype=float)
    w = np.clip((ma - 5.0) / 2.0, 0.0, 1.0)
    out = np.round(ma + (mv - ma) * w, 2)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- observations
def station_intensities(
    records: EventRecords, cfg: IntensityConfig, *, include_clipped: bool = False
) -> list[StationIntensity]:
    """Observed intensities: PGA/PGV peaks within ``[P - 1 s, S + cfg.window_s]``.

    The window is :func:`seismo.event.arrivals.arrival_windows`. Stations whose
    series has a clipped second in the window are left out unless
    ``include_clipped`` (a clipped peak is a lower bound only). Stations without
    PGA or PGV in the window are left out.
    """
    out: list[StationIntensity] = []
    for w in arrival_windows(records, cfg.window_s, what="intensity"):
        if not include_clipped and w.clipped:
            log.info("intensity: %s clipped within the window, left out", w.station_id)
            continue
        pga_seg = series_values(w.series.pga_ms2[w.steps])
        pgv_seg = series_values(w.series.pgv_ms[w.steps])
        if not (np.any(np.isfinite(pga_seg)) and np.any(np.isfinite(pgv_seg))):
            continue
        pga, pgv = float(np.nanmax(pga_seg)), float(np.nanmax(pgv_seg))
        if not (pga > 0 and pgv > 0):
            continue
        pga_h, pgv_h = _horizontal_peaks(w.series, w.steps)
        mmi = mmi_worden2012(pga_h or pga, pgv_h or pgv)
        info = w.station
        n = len(w.series.pga_ms2)
        complete = w.series.start + n * w.series.step_s >= w.s_time + S_COMPLETE_S
        out.append(
            StationIntensity(
                network=info.network,
                station=info.station,
                latitude=info.latitude,
                longitude=info.longitude,
                pga_ms2=pga,
                pgv_ms=pgv,
                intensity_cn=float(intensity_cn(pga, pgv)),
                mmi=float(mmi),
                epi_distance_km=round(w.epi_km, 3),
                complete=complete,
            )
        )
    return out


#: A station's PGA/PGV is complete once its record reaches this far past the predicted S
#: (s); before, it is a P-wave lower bound, observed but not used to condition the
#: predictions (design choice: the S peak of a local event comes within a few seconds).
S_COMPLETE_S = 5.0


#: An intensity below this rounds to degree I: "not felt" (GB/T 17742-2020 degree II is
#: "felt by a few people at rest indoors"); text output says "not felt (< II)".
NOT_FELT_BELOW = 1.5


NOT_FELT_TEXT = {"en": "not felt (< II)", "zh": "无感（<II度）"}


def felt(intensity: float | None) -> bool:
    """Whether an intensity rounds to degree II or above (felt)."""
    return intensity is not None and math.isfinite(intensity) and intensity >= NOT_FELT_BELOW


def intensity_cell(intensity: float | None) -> str:
    """An intensity for text tables: one decimal, "<II" when not felt, "-" when unknown."""
    if intensity is None or not math.isfinite(intensity):
        return "-"
    return f"{intensity:.1f}" if felt(intensity) else "<II"


def _horizontal_peaks(series: object, steps: slice) -> tuple[float | None, float | None]:
    """Largest horizontal PGA (m/s²) and PGV (m/s) of the unfiltered record in ``steps``."""
    out: list[float | None] = []
    for name in ("pga_h_ms2", "pgv_h_ms"):
        vals = series_values(getattr(series, name, ())[steps])
        good = vals[np.isfinite(vals) & (vals > 0)]
        out.append(float(good.max()) if good.size else None)
    return out[0], out[1]


def anchor_correction(
    observed: Sequence[float], predicted: Sequence[float] | NDArray, bound: float, min_n: int
) -> float:
    """The shift from predicted to observed intensities at the stations, within ±``bound``.

    * Stations above the scale floor (> 1.0): their mean observed-minus-predicted,
      when there are at least ``min_n`` of them (else 0).
    * Stations at the floor (<= 1.0) say "not felt", an upper bound, not "exactly
      I": they do not enter the mean, but when at least ``min_n`` of them sit at
      the floor the shift is lowered so that their predictions stay below
      :data:`NOT_FELT_BELOW` (the ``min_n``-th largest requirement counts, so one
      station alone does not decide). This is what makes the anchoring work when
      every observation sits at the floor.
    """
    n = max(min_n, 1)
    pairs = list(zip(observed, predicted, strict=True))
    above = [o - p for o, p in pairs if o > 1.0]
    shift = float(np.mean(above)) if len(above) >= n else 0.0
    caps = sorted(NOT_FELT_BELOW - float(p) for o, p in pairs if o <= 1.0)
    if len(caps) >= n:
        shift = min(shift, caps[n - 1])
    return float(np.clip(shift, -bound, bound))


def intensity_note(
    observed: Sequence[StationIntensity], sites: Sequence[SiteIntensity]
) -> str:
    """Why predicted site intensities exceed every observation by a degree or more, or "".

    Sites nearer the epicentre than any station are the usual reason (the
    prediction extrapolates inwards); on the macroseismic basis the shift towards the
    observations is bounded (``max_anchor_correction``) and the text says so.
    """
    if not observed or not sites:
        return ""
    obs_max = max(o.intensity_cn for o in observed)
    top = max(sites, key=lambda s: s.intensity_cn)
    if top.intensity_cn < obs_max + 1.0:
        return ""
    nearest = min(
        (o.epi_distance_km for o in observed if math.isfinite(o.epi_distance_km)),
        default=math.nan,
    )
    if math.isfinite(nearest) and top.distance_km < nearest:
        return (
            f"predicted {top.intensity_cn:.1f} at {top.name} (hypocentral {top.distance_km:.0f} "
            f"km) exceeds the observed maximum {obs_max:.1f}: the site is nearer the source than "
            f"any station (nearest {nearest:.0f} km epicentral)"
        )
    if top.basis != "macroseismic":
        return ""  # instrumental: the model conditioned on the stations, σ says the rest
    return (
        f"predicted {top.intensity_cn:.1f} at {top.name} exceeds the observed maximum "
        f"{obs_max:.1f}: the isoseismal relation is moved towards the observations by at most "
        "1.5 degrees"
    )


def predict_sites(
    latitude: float,
    longitude: float,
    depth_km: float,
    magnitude: float,
    sites: Sequence[Site],
    observed: Sequence[StationIntensity],
    cfg: IntensityConfig,
    magnitude_type: str = "ML",
    station_vs30: Mapping[str, float | None] | None = None,
) -> list[SiteIntensity]:
    """Predicted intensity at ``sites``, on the basis ``cfg.relation`` says.

    * "bssa14" (default, ``basis="instrumental"``): PGA and PGV of the ground-motion
      model (:mod:`seismo.event.gmm`, BSSA14 with its China/Turkey term) at each site's
      Vs30, conditioned on the observed PGA and PGV with each station's own site term
      removed first (ShakeMap 4's scheme), turned into the GB/T 17742-2020 intensity by
      the same formulas as the observations (:func:`intensity_cn`) and into MMI by Worden
      et al. (2012). Each site carries its standard deviation (``sigma_cn``).
    * "yu2013" (``basis="macroseismic"``): the isoseismal relation of GB 18306-2015 (Yu,
      Li & Xiao 2013; :func:`seismo.event.attenuation.predict_intensity`), only where it is
      valid, from Ms 4.5 (below, the instrumental basis is used and said so); anchored to
      the observations with each station's site term removed first, the site's own term
      added after.

    ``station_vs30``: per ``"NET.STA"``, the station's Vs30 (m/s; None or missing: the
    reference site ``cfg.reference_vs30``). A site without vs30 is the reference site too.
    """
    if not math.isfinite(magnitude):
        raise DataError(f"magnitude ({magnitude}) must be finite")
    if not sites:
        return []
    vs = dict(station_vs30 or {})
    if cfg.relation == "yu2013" and magnitude >= MACROSEISMIC_MIN_MS:
        return _predict_macroseismic(latitude, longitude, depth_km, magnitude, sites,
                                     observed, cfg, magnitude_type, vs)
    return _predict_instrumental(latitude, longitude, depth_km, magnitude, sites, observed,
                                 cfg, vs)


#: The macroseismic relation is used from this Ms on: it was fitted to isoseismals of
#: Ms >= 4.5 events (Yu, Li & Xiao 2013) [3P].
MACROSEISMIC_MIN_MS = 4.5


def _vs30_of(values: Sequence[float | None], reference: float) -> NDArray:
    return np.array([reference if v is None else v for v in values], dtype=float)


def _predict_instrumental(
    latitude: float, longitude: float, depth_km: float, magnitude: float,
    sites: Sequence[Site], observed: Sequence[StationIntensity], cfg: IntensityConfig,
    station_vs30: Mapping[str, float | None],
) -> list[SiteIntensity]:
    ref = cfg.reference_vs30
    slat = np.array([s.latitude for s in sites])
    slon = np.array([s.longitude for s in sites])
    sepi = np.asarray(distance_km(latitude, longitude, slat, slon), dtype=float)
    shypo = np.asarray(hypocentral_km(sepi, max(depth_km, 0.0)), dtype=float)
    svs = _vs30_of([s.vs30 for s in sites], ref)
    sx, sy = local_xy(latitude, longitude, slat, slon)
    # P-only peaks (the record ends before S) are lower bounds: they do not condition
    obs = [o for o in observed if o.pga_ms2 > 0 and o.pgv_ms > 0 and o.complete]
    olat = np.array([o.latitude for o in obs])
    olon = np.array([o.longitude for o in obs])
    oepi = np.asarray(distance_km(latitude, longitude, olat, olon), dtype=float) if obs \
        else np.zeros(0)
    ovs = _vs30_of([station_vs30.get(f"{o.network}.{o.station}") for o in obs], ref)
    ox, oy = local_xy(latitude, longitude, olat, olon)
    got: dict[str, gmm.Conditioned] = {}
    for imt in ("pga", "pgv"):
        # observations are 3-component vector sums: back to RotD50, the model's component
        vals = [(o.pga_ms2 if imt == "pga" else o.pgv_ms) / gmm.VECTOR_SUM_OVER_ROTD50[imt]
                for o in obs]
        got[imt] = gmm.condition(imt, magnitude, sepi, svs, np.column_stack([sx, sy]), vals,
                                 oepi, ovs, np.column_stack([ox, oy]).reshape(-1, 2))
    ln_a = got["pga"].ln_y + math.log(gmm.VECTOR_SUM_OVER_ROTD50["pga"])
    ln_v = got["pgv"].ln_y + math.log(gmm.VECTOR_SUM_OVER_ROTD50["pgv"])
    pga, pgv = np.exp(ln_a), np.exp(ln_v)
    cn = np.asarray(intensity_cn(pga, pgv), dtype=float)
    sig = intensity_cn_sigma(pga, pgv, got["pga"].sigma, got["pgv"].sigma)
    mmi = np.asarray(mmi_worden2012(
        np.exp(got["pga"].ln_y) * gmm.LARGER_H_OVER_ROTD50["pga"],
        np.exp(got["pgv"].ln_y) * gmm.LARGER_H_OVER_ROTD50["pgv"]), dtype=float)
    log.debug("intensity: BSSA14 conditioned on %d stations, bias PGA %+.2f PGV %+.2f (ln)",
              got["pga"].n_stations, got["pga"].bias, got["pgv"].bias)
    return [
        SiteIntensity(name=s.name, kind=s.kind, latitude=s.latitude, longitude=s.longitude,
                      distance_km=round(float(h), 3), intensity_cn=float(c),
                      mmi=float(np.round(m, 2)), sigma_cn=round(float(sd), 2),
                      basis="instrumental")
        for s, h, c, m, sd in zip(sites, shypo, cn.reshape(-1), mmi.reshape(-1),
                                  sig.reshape(-1), strict=True)
    ]


def intensity_cn_sigma(
    pga_ms2: ArrayLike, pgv_ms: ArrayLike, sigma_ln_pga: ArrayLike, sigma_ln_pgv: ArrayLike
) -> NDArray:
    """Standard deviation (degrees) of the GB/T 17742-2020 intensity of PGA and PGV with
    lognormal standard deviations ``sigma_ln_*`` (natural log): I_A and I_V move by 3.17 and
    3.00 per log10 unit; the mean of the two (below degree VI) combines them with the
    PGA-PGV correlation :data:`seismo.event.gmm.RHO_PGA_PGV`; from VI on I = I_V."""
    sa = 3.17 * np.asarray(sigma_ln_pga, float) / math.log(10.0)
    sv = 3.00 * np.asarray(sigma_ln_pgv, float) / math.log(10.0)
    ia, iv = intensity_cn_components(pga_ms2, pgv_ms)
    high = (ia >= CN_SWITCH) & (iv >= CN_SWITCH)
    mean = 0.5 * np.sqrt(sa**2 + sv**2 + 2.0 * gmm.RHO_PGA_PGV * sa * sv)
    return np.asarray(np.where(high, sv, mean), dtype=float)


def _predict_macroseismic(
    latitude: float, longitude: float, depth_km: float, magnitude: float,
    sites: Sequence[Site], observed: Sequence[StationIntensity], cfg: IntensityConfig,
    magnitude_type: str, station_vs30: Mapping[str, float | None],
) -> list[SiteIntensity]:
    d = max(depth_km, 0.0)
    axis = cfg.china_axis
    shift_cn = shift_mmi = 0.0
    observed = [o for o in observed if o.complete]
    if observed:
        olat = np.array([o.latitude for o in observed])
        olon = np.array([o.longitude for o in observed])
        oepi = np.asarray(distance_km(latitude, longitude, olat, olon), dtype=float)
        cn_p, mmi_p = predict_intensity(
            "yu2013", magnitude, oepi, hypocentral_km(oepi, d), axis, magnitude_type,
            cfg.macroseismic_region,
        )
        # the stations' own site terms come off the observations before the shift
        ovs = _vs30_of([station_vs30.get(f"{o.network}.{o.station}") for o in observed],
                       cfg.reference_vs30)
        t_cn, t_mmi = site_terms(ovs, cfg.reference_vs30, mmi_p)
        bound, min_n = cfg.max_anchor_correction, cfg.min_anchor_stations
        shift_cn = anchor_correction([o.intensity_cn - t for o, t in zip(observed, t_cn,
                                                                         strict=True)],
                                     cn_p, bound, min_n)
        shift_mmi = anchor_correction([o.mmi - t for o, t in zip(observed, t_mmi, strict=True)],
                                      mmi_p, bound, min_n)
        log.debug("intensity anchor: CN %+.2f, MMI %+.2f", shift_cn, shift_mmi)
    slat = np.array([s.latitude for s in sites])
    slon = np.array([s.longitude for s in sites])
    sepi = np.asarray(distance_km(latitude, longitude, slat, slon), dtype=float)
    shypo = np.asarray(hypocentral_km(sepi, d), dtype=float)
    cn, mmi = predict_intensity("yu2013", magnitude, sepi, shypo, axis, magnitude_type,
                                cfg.macroseismic_region)
    vs30 = np.array([np.nan if s.vs30 is None else s.vs30 for s in sites], dtype=float)
    d_cn, d_mmi = site_terms(vs30, cfg.reference_vs30, mmi + shift_mmi)
    cn = np.round(np.clip(cn + shift_cn + d_cn, CN_MIN, CN_MAX), 1)
    mmi = np.round(np.clip(mmi + shift_mmi + d_mmi, MMI_MIN, MMI_MAX), 2)
    sigma = macroseismic_sigma(cfg.macroseismic_region)
    return [
        SiteIntensity(name=s.name, kind=s.kind, latitude=s.latitude, longitude=s.longitude,
                      distance_km=round(float(h), 3), intensity_cn=float(c), mmi=float(m),
                      sigma_cn=sigma, basis="macroseismic")
        for s, h, c, m in zip(sites, shypo, cn, mmi, strict=True)
    ]
