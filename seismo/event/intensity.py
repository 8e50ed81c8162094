"""Instrumental intensity (GB/T 17742-2020, MMI) and predicted intensity at sites.

Observed intensity is computed here; the attenuation relations that predict it
from magnitude and distance live in :mod:`seismo.event.attenuation`. **[V]** =
checked against the cited source, **[3P]** = from third-party code or a
secondary page (docs/magnitude_intensity.md).

Observed (from a station's peaks; PGA, PGV = 3-component vector sum after a
0.1-10 Hz band-pass, Song et al. 2021 [V]):

* China, GB/T 17742-2020 [3P]: ``I_A = 3.17 lg(PGA) + 6.59``,
  ``I_V = 3.00 lg(PGV) + 9.77`` (PGA m/s², PGV m/s); combination rule in
  :data:`CN_COMBINATION`; clipped to [1, 12]; one decimal.
* MMI, Worden et al. (2012) [V, usgs/shakemap ``wgrw12``]: bilinear in log10 of
  PGA (cm/s²) or PGV (cm/s); clipped to [1, 10]. PGA- and PGV-derived values are
  combined as in the ShakeMap 3.5 technical guide (Wald et al. 1999b) [3P]:
  PGA-based below MMI V, PGV-based from VII, linear blend between.

Predicted (for sites without instruments): :func:`seismo.event.attenuation.predict_intensity`.
Predictions at sites are anchored to observations: the mean observed minus
predicted intensity at the stations (bounded by ``cfg.max_anchor_correction``)
is added to every site prediction.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.config import IntensityConfig
from seismo.errors import DataError
from seismo.event.arrivals import EventRecords, arrival_windows
from seismo.event.attenuation import CN_MAX, CN_MIN, MMI_MAX, MMI_MIN, predict_intensity
from seismo.event.sites import Site
from seismo.geo import distance_km, hypocentral_km
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


def mmi_from_pga(pga_ms2: ArrayLike) -> NDArray | float:
    """MMI from PGA (m/s²), Worden et al. 2012. 0.1 g -> 5.77."""
    a = np.asarray(pga_ms2, dtype=float)
    if np.any(~(a > 0)):
        raise DataError(f"PGA ({pga_ms2!r}) must be > 0 m/s²")
    out = _wgrw12(a * 100.0, "pga")
    return float(out) if out.ndim == 0 else out


def mmi_from_pgv(pgv_ms: ArrayLike) -> NDArray | float:
    """MMI from PGV (m/s), Worden et al. 2012. 10 cm/s -> 6.05."""
    v = np.asarray(pgv_ms, dtype=float)
    if np.any(~(v > 0)):
        raise DataError(f"PGV ({pgv_ms!r}) must be > 0 m/s")
    out = _wgrw12(v * 100.0, "pgv")
    return float(out) if out.ndim == 0 else out


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
        info = w.station
        out.append(
            StationIntensity(
                network=info.network,
                station=info.station,
                latitude=info.latitude,
                longitude=info.longitude,
                pga_ms2=pga,
                pgv_ms=pgv,
                intensity_cn=float(intensity_cn(pga, pgv)),
                mmi=float(mmi_worden2012(pga, pgv)),
                epi_distance_km=round(w.epi_km, 3),
            )
        )
    return out


def anchor_correction(
    observed: Sequence[float], predicted: Sequence[float] | NDArray, bound: float, min_n: int
) -> float:
    """Mean observed-minus-predicted, bounded to ±``bound``; 0 with fewer than ``min_n``.

    Observations at the scale floor (<= 1.0) are ignored: they say "below I",
    not "exactly I", and would bias the mean up for weak events.
    """
    pairs = [(o, p) for o, p in zip(observed, predicted, strict=True) if o > 1.0]
    if len(pairs) < max(min_n, 1):
        return 0.0
    mean = float(np.mean([o - p for o, p in pairs]))
    return float(np.clip(mean, -bound, bound))


def predict_sites(
    latitude: float,
    longitude: float,
    depth_km: float,
    magnitude: float,
    sites: Sequence[Site],
    observed: Sequence[StationIntensity],
    cfg: IntensityConfig,
) -> list[SiteIntensity]:
    """Predicted intensity at ``sites``, shifted by the observed station residual.

    MMI always comes from Atkinson & Wald (2007); the Chinese-scale intensity
    from ``cfg.relation`` ("china_east_2015": the GB 18306-2015 ellipse
    relation; "atkinson_wald_2007": the AW2007 MMI taken as Chinese degree).
    Each is shifted by :func:`anchor_correction` computed at the stations.
    Chinese intensity is clipped to [1, 12] and rounded to one decimal, MMI to
    [1, 10] and two decimals.
    """
    if not math.isfinite(magnitude):
        raise DataError(f"magnitude ({magnitude}) must be finite")
    d = max(depth_km, 0.0)
    axis = cfg.china_axis
    shift_cn = shift_mmi = 0.0
    if observed:
        olat = np.array([o.latitude for o in observed])
        olon = np.array([o.longitude for o in observed])
        oepi = np.asarray(distance_km(latitude, longitude, olat, olon), dtype=float)
        cn_p, mmi_p = predict_intensity(
            cfg.relation, magnitude, oepi, hypocentral_km(oepi, d), axis
        )
        bound, min_n = cfg.max_anchor_correction, cfg.min_anchor_stations
        shift_cn = anchor_correction([o.intensity_cn for o in observed], cn_p, bound, min_n)
        shift_mmi = anchor_correction([o.mmi for o in observed], mmi_p, bound, min_n)
        log.debug("intensity anchor: CN %+.2f, MMI %+.2f", shift_cn, shift_mmi)
    if not sites:
        return []
    slat = np.array([s.latitude for s in sites])
    slon = np.array([s.longitude for s in sites])
    sepi = np.asarray(distance_km(latitude, longitude, slat, slon), dtype=float)
    shypo = np.asarray(hypocentral_km(sepi, d), dtype=float)
    cn, mmi = predict_intensity(cfg.relation, magnitude, sepi, shypo, axis)
    cn = np.round(np.clip(cn + shift_cn, CN_MIN, CN_MAX), 1)
    mmi = np.round(np.clip(mmi + shift_mmi, MMI_MIN, MMI_MAX), 2)
    return [
        SiteIntensity(
            name=s.name,
            kind=s.kind,
            latitude=s.latitude,
            longitude=s.longitude,
            distance_km=round(float(h), 3),
            intensity_cn=float(c),
            mmi=float(m),
        )
        for s, h, c, m in zip(sites, shypo, cn, mmi, strict=True)
    ]
