"""Intensity prediction from magnitude and distance (attenuation relations).

The one home of the intensity-attenuation coefficients: the intensity stage
(:func:`seismo.event.intensity.predict_sites`) and the alert texts (felt radius,
:mod:`seismo.alerts.region`) both call these functions. **[V]** = checked
against the cited source, **[3P]** = from third-party code or a secondary page
(docs/magnitude_intensity.md lists them).

* Atkinson & Wald (2007), "Did You Feel It?" intensity attenuation, California
  coefficients [3P], MMI from moment magnitude and rupture distance.
* China, the isoseismal (macroseismic) relations of GB 18306-2015 (Yu, Li & Xiao 2013,
  "Development of ground motion attenuation relations for the new seismic hazard map
  of China", Technology for Earthquake Disaster Prevention 8(1), 24-33) [3P: the
  coefficient table as reproduced in a secondary source], for two of its four zones:
  the eastern strong-earthquake region and the moderate-to-strong region, to which South
  China and the Pearl River Delta belong (the zone of "Central, South and Northeast
  China" of the same group's moderate-region study, Lu, Li & Li 2009, World Earthquake
  Engineering 25(4) [3P]). Elliptical; used here isotropically (fault strike unknown in
  real time) as the mean of the long- and short-axis values, or the long axis (upper,
  conservative). Fitted to isoseismals of Ms >= 4.5: used from there only
  (:mod:`seismo.event.intensity`). It takes Ms; we use Ms ≈ ML (our assumption, [3P]).

Scale ranges: MMI I-X as ShakeMap reports it (Worden et al. 2012), Chinese
intensity I-XII (GB/T 17742-2020).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.errors import DataError

#: Range of the Chinese intensity scale (GB/T 17742-2020: degrees I-XII).
CN_MIN, CN_MAX = 1.0, 12.0
#: Range of MMI as reported (ShakeMap, Worden et al. 2012: I-X).
MMI_MIN, MMI_MAX = 1.0, 10.0

#: Names of the relations :func:`predict_intensity` knows.
RELATIONS = ("atkinson_wald_2007", "yu2013")

# Atkinson & Wald (2007), "Did You Feel It?" intensity attenuation, California [3P]:
# MMI = c1 + c2(M-6) + c3(M-6)² + c4 log R + c5 R + c6 B + c7 M log R,
# R = sqrt(Rrup² + h²), B = 0 for R <= Rt else log(R/Rt).
_AW07 = (12.27, 2.270, 0.1304, -1.30, -0.000707, 1.95, -0.577)
_AW07_H_KM = 14.0
_AW07_RT_KM = 30.0


def mmi_atkinson_wald_2007(magnitude: float, rrup_km: ArrayLike) -> NDArray | float:
    """Predicted MMI (Atkinson & Wald 2007, California) at rupture distance ``rrup_km``.

    We use the hypocentral distance for Rrup (point source; underestimates
    near-field shaking for M > ~5.5 where the rupture is extended). M is Mw; we
    pass ML (≈ Mw for small local events, [3P]). Clipped to [1, 10].
    """
    c1, c2, c3, c4, c5, c6, c7 = _AW07
    r = np.sqrt(np.asarray(rrup_km, dtype=float) ** 2 + _AW07_H_KM**2)
    b = np.where(r > _AW07_RT_KM, np.log10(r / _AW07_RT_KM), 0.0)
    dm = magnitude - 6.0
    lr = np.log10(r)
    mmi = c1 + c2 * dm + c3 * dm**2 + c4 * lr + c5 * r + c6 * b + c7 * magnitude * lr
    out = np.clip(mmi, MMI_MIN, MMI_MAX)
    return float(out) if out.ndim == 0 else out


# Yu, Li & Xiao (2013), GB 18306-2015 intensity attenuation [3P], epicentral distance R
# (km) along the ellipse axes: I = A + B Ms + C lg(R + R0), (A, B, C, R0) per axis, and the
# standard deviation (degrees) per zone. The secondary table lists six R0 values for
# eight cells; read as merged cells, the moderate-to-strong zone has R0 = 15 km on both
# axes (an assumption, [3P]).
YU2013: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "eastern_strong": {"long": (5.7123, 1.3626, -4.2903, 25.0),
                       "short": (3.6588, 1.3626, -3.5406, 13.0)},
    "moderate_strong": {"long": (5.8410, 1.0710, -3.6570, 15.0),
                        "short": (3.9440, 1.0710, -2.8450, 15.0)},
}
YU2013_SIGMA = {"eastern_strong": 0.5826, "moderate_strong": 0.5200}


def intensity_yu2013(
    ms: float, epi_km: ArrayLike, axis: Literal["mean", "long", "short"] = "mean",
    region: str = "moderate_strong",
) -> NDArray | float:
    """Predicted Chinese-scale intensity of Yu, Li & Xiao (2013) in ``region`` [3P].

    ``axis="mean"`` averages long and short axes (no fault strike known);
    ``"long"`` is the upper (conservative) value. Clipped to [1, 12].
    """
    if region not in YU2013:
        raise DataError(f"unknown macroseismic region {region!r}; known: {', '.join(YU2013)}")
    r = np.asarray(epi_km, dtype=float)
    vals = {}
    for ax, (a, b, c, r0) in YU2013[region].items():
        vals[ax] = a + b * ms + c * np.log10(r + r0)
    i = {"mean": (vals["long"] + vals["short"]) / 2.0, "long": vals["long"],
         "short": vals["short"]}[axis]
    out = np.clip(i, CN_MIN, CN_MAX)
    return float(out) if out.ndim == 0 else out


def intensity_china_east(
    ms: float, epi_km: ArrayLike, axis: Literal["mean", "long", "short"] = "mean"
) -> NDArray | float:
    """:func:`intensity_yu2013` of the eastern strong-earthquake region."""
    return intensity_yu2013(ms, epi_km, axis, "eastern_strong")


def macroseismic_sigma(region: str) -> float:
    """Standard deviation (degrees) of the Yu, Li & Xiao (2013) relation in ``region``."""
    return YU2013_SIGMA[region]


#: Borcherdt (1994), Earthquake Spectra 10(4): long-period (mid-period) site factor
#: Fv = (Vref / Vs30)^mv with mv = 0.65 at low input motion (0.1 g) [3P]. Converted to an
#: intensity increment with the PGV slopes of the intensity scales: 3.00 per log10 PGV for
#: GB/T 17742-2020 (I_V = 3.00 lg PGV + 9.77) and 1.47 / 3.16 for MMI below / above
#: MMI ~4.6 (Worden et al. 2012 PGV segments). Site amplification raises PGV by Fv; the
#: intensity rises by slope x log10(Fv).
BORCHERDT_MV = 0.65
CN_PGV_SLOPE = 3.00
MMI_PGV_SLOPES = (1.47, 3.16, 4.6)  # slope below, slope above, MMI at the break


def site_amplification(vs30: ArrayLike, reference_vs30: float) -> NDArray:
    """Borcherdt (1994) low-input long-period factor (Vref/Vs30)^0.65 (1 where Vs30 is NaN)."""
    v = np.asarray(vs30, dtype=float)
    if reference_vs30 <= 0:
        raise DataError(f"reference Vs30 ({reference_vs30}) must be > 0 m/s")
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (reference_vs30 / v) ** BORCHERDT_MV
    return np.where(np.isfinite(f) & (v > 0), f, 1.0)


def site_terms(
    vs30: ArrayLike, reference_vs30: float, mmi: ArrayLike
) -> tuple[NDArray, NDArray]:
    """(Chinese-scale, MMI) increments of sites with ``vs30`` (m/s) against the reference."""
    lf = np.log10(site_amplification(vs30, reference_vs30))
    lo, hi, brk = MMI_PGV_SLOPES
    return CN_PGV_SLOPE * lf, np.where(np.asarray(mmi, float) >= brk, hi, lo) * lf


def ms_from_ml(ml: float) -> float:
    """Ms for the China relation: Ms ≈ ML (our assumption, [3P]; see module doc)."""
    return ml


def predict_intensity(
    relation: str,
    magnitude: float,
    epi_km: NDArray,
    hypo_km: NDArray,
    axis: Literal["mean", "long", "short"] = "mean",
    magnitude_type: str = "ML",
    region: str = "moderate_strong",
) -> tuple[NDArray, NDArray]:
    """(Chinese-scale intensity, MMI) of a macroseismic relation at the distances (km).

    MMI always comes from Atkinson & Wald (2007) at the hypocentral distance; the
    Chinese-scale intensity from ``relation``: "yu2013" (the GB 18306-2015 ellipse relation
    of ``region`` at the epicentral distance, ``axis`` as in :func:`intensity_yu2013`; it
    takes Ms: a magnitude of type Ms, Ms_BB or Ms_20 as it is, any other as Ms ~ ML,
    :func:`ms_from_ml`) or "atkinson_wald_2007" (the AW2007 MMI taken as Chinese degree:
    GB/T 17742 descriptions mirror MMI degree for degree; our approximation, [3P]).

    Raises:
        DataError: an unknown ``relation`` or ``region``.
    """
    mmi = np.asarray(mmi_atkinson_wald_2007(magnitude, hypo_km), dtype=float)
    if relation == "yu2013":
        ms = magnitude if magnitude_type.startswith("Ms") else ms_from_ml(magnitude)
        cn = np.asarray(intensity_yu2013(ms, epi_km, axis, region), dtype=float)
    elif relation == "atkinson_wald_2007":
        cn = mmi.copy()
    else:
        raise DataError(f"unknown intensity relation {relation!r}; known: {', '.join(RELATIONS)}")
    return cn, mmi
