"""One notation per quantity, for every text a person reads (CAP messages, e-mail and SMS
texts, the tables of ``seismo detect`` and ``seismo event show``).

* **Intensity**: the integer degree in Roman numerals with the scale's name, "GB/T 17742
  VI" or "MMI V" (an intensity scale is ordinal: its decimals are an artefact of the
  instrumental formula and are not shown to readers). Degree I is written "GB/T 17742 I
  (not felt)" / "GB/T 17742 I度（无感）": GB/T 17742-2020 degree I is "not felt".
* **Magnitude**: its type, then the value with one decimal, "ML 3.1", "Mwp 7.2", "Mpd
  3.4", any type as it is named; a lower bound "ML ≥ 6.1"; a missing one "magnitude being
  determined" (never "None", never a blank).
* **Units**: SI with one convention: distances in km, depths in km, accelerations in
  m/s², velocities in m/s, times in UTC (and Beijing time, UTC+08:00, for Chinese texts).
"""

from __future__ import annotations

import math

from seismo.alerts.rules import intensity_degree, roman

#: The intensity scales by key, as written in texts.
SCALES = {"cn": "GB/T 17742", "mmi": "MMI"}

#: "magnitude being determined", in both languages.
MAG_PENDING = {"en": "magnitude being determined", "zh": "震级测定中"}


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def intensity_text(value: float | None, scale: str = "cn", lang: str = "en") -> str:
    """"GB/T 17742 VI" (``scale`` "cn") or "MMI V" ("mmi"); degree I says "not felt";
    "unknown" (未知) when there is no value."""
    v = _finite(value)
    if v is None:
        return "未知" if lang == "zh" else "unknown"
    name = SCALES[scale]
    r = roman(v)
    if lang == "zh":
        return f"{name} {r}度" + ("（无感）" if intensity_degree(v) == 1 else "")
    return f"{name} {r}" + (" (not felt)" if intensity_degree(v) == 1 else "")


def intensity_cell(value: float | None, scale: str = "cn") -> str:
    """An intensity for text tables whose header names the scale: "VI", "I" (not felt),
    "-" when unknown."""
    v = _finite(value)
    return "-" if v is None else roman(v)


def magnitude_text(value: float | None, mtype: str | None, lang: str = "en", *,
                   lower_bound: bool = False) -> str:
    """"ML 3.1", "Mwp ≥ 7.0", or "magnitude being determined" (震级测定中). Any type is
    written as it is named (ML, Ms_BB, Mwp, Mwpd, Mpd, Mww, ...)."""
    v = _finite(value)
    if v is None:
        return MAG_PENDING[lang]
    t = mtype or "M"
    return f"{t} ≥ {v:.1f}" if lower_bound else f"{t} {v:.1f}"


def magnitude_cell(value: float | None, mtype: str | None, lower_bound: bool = False) -> str:
    """A magnitude for text tables: "ML 3.1", "ML>=6.1", "-" when unknown."""
    v = _finite(value)
    if v is None:
        return "-"
    return f"{mtype or 'M'}{'>=' if lower_bound else ' '}{v:.1f}"


def km(value: float | None, digits: int = 0) -> str:
    """A distance or depth in km, "?" when unknown."""
    v = _finite(value)
    return "?" if v is None else f"{v:.{digits}f}"
