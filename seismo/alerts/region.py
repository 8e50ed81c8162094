"""Where an event is, for the alert rules: the monitored region, land or sea, felt radius.

Distances and the direct problem come from :mod:`seismo.geo`; the intensity
attenuation behind the felt radius from :mod:`seismo.event.attenuation`.

Land or sea comes from the ``global-land-mask`` package (GLOBE 1 km mask,
shipped as data in the wheel; no download at run time). Importing its ``globe``
module decompresses the whole 21600 x 43200 mask: measured here 6-11 s and
0.94 GB of memory, too heavy for a per-minute task. :class:`LandMask` reads the
same file (``globe_combined_mask_compressed.npz``) with the same indexing as
``globe.lat_to_index``/``lon_to_index``, streaming the compressed array and
keeping only the bytes asked for (~1-3 s, a few MB). If the file layout is not
the expected one it falls back to ``globe.is_ocean``. The answers are tested
equal to ``globe.is_ocean`` (tests/test_alerts.py, marked slow).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import zipfile
from pathlib import Path

import numpy as np

from seismo.errors import AlertError
from seismo.event.attenuation import mmi_atkinson_wald_2007
from seismo.geo import destination, distance_km

log = logging.getLogger(__name__)


def _check_latlon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise AlertError(f"latitude {lat!r} is not a valid latitude in degrees")
    if not (math.isfinite(lon) and -180.0 <= lon <= 360.0):
        raise AlertError(f"longitude {lon!r} is not a valid longitude in degrees")


def in_region(lat: float, lon: float, region: tuple[float, float, float, float]) -> bool:
    """Whether (lat, lon) lies in ``region`` = (lat_min, lat_max, lon_min, lon_max), degrees."""
    la0, la1, lo0, lo1 = region
    return la0 <= lat <= la1 and lo0 <= lon <= lo1


class LandMask:
    """Point look-ups in the global-land-mask data without decompressing all of it.

    ``path`` is the package's ``globe_combined_mask_compressed.npz`` (members
    ``mask`` (bool, True = ocean, rows from north to south), ``lat``, ``lon``).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with np.load(self.path) as npz:
            self._lat = np.asarray(npz["lat"], dtype=float)
            self._lon = np.asarray(npz["lon"], dtype=float)
        with zipfile.ZipFile(self.path) as zf, zf.open("mask.npy") as fh:
            version = np.lib.format.read_magic(fh)
            if version != (1, 0):
                raise AlertError(f"{self.path}: unexpected .npy version {version}")
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            self._data_offset = fh.tell()
        if fortran or dtype != np.dtype(bool) or shape != (self._lat.size, self._lon.size):
            raise AlertError(f"{self.path}: unexpected mask layout {shape} {dtype}")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self._rows: dict[int, bytes] = {}

    def index(self, lat: float, lon: float) -> tuple[int, int]:
        """Row and column, as ``globe.lat_to_index``/``lon_to_index`` compute them."""
        la = min(max(lat, float(self._lat.min())), float(self._lat.max()))
        lo = min(max(lon, float(self._lon.min())), float(self._lon.max()))
        i = int((la - self._lat[0]) / (self._lat[1] - self._lat[0]))
        j = int((lo - self._lon[0]) / (self._lon[1] - self._lon[0]))
        return i, j

    #: rows kept around each looked-up row (60 rows = 0.5 degree at 1/120 degree)
    BAND_ROWS = 60
    #: longest run of rows read at once (600 rows x 43200 bytes = 26 MB)
    MAX_SPAN = 600
    #: bound on cached rows (1200 rows = 52 MB), oldest dropped first
    MAX_ROWS = 1200

    def _spans(self, rows: list[int]) -> list[tuple[int, int]]:
        """Disjoint, increasing row runs covering each row of ``rows`` (sorted) +- BAND_ROWS."""
        spans: list[list[int]] = []
        last = self.shape[0] - 1
        for r in rows:
            if spans and r <= spans[-1][1]:
                continue
            hi = min(last, r + self.BAND_ROWS)
            if (
                spans
                and r - self.BAND_ROWS <= spans[-1][1] + 1
                and hi - spans[-1][0] + 1 <= self.MAX_SPAN
            ):
                spans[-1][1] = hi
            else:
                lo = max(r - self.BAND_ROWS, spans[-1][1] + 1 if spans else 0)
                spans.append([lo, hi])
        return [(a, b) for a, b in spans]

    def is_ocean_many(self, points: list[tuple[float, float]]) -> list[bool]:
        """Ocean (True) or land for each (lat, lon); one streaming pass for all of them.

        Rows near each looked-up row are cached, so nearby look-ups cost nothing.
        """
        idx = [self.index(lat, lon) for lat, lon in points]
        out: list[bool] = [False] * len(idx)
        todo: list[int] = []
        for k, (i, j) in enumerate(idx):
            row = self._rows.get(i)
            if row is None:
                todo.append(k)
            else:
                out[k] = row[j] != 0
        if not todo:
            return out
        width = self.shape[1]
        with zipfile.ZipFile(self.path) as zf, zf.open("mask.npy") as fh:
            for r0, r1 in self._spans(sorted({idx[k][0] for k in todo})):
                fh.seek(self._data_offset + r0 * width)  # forward seek decompresses, discards
                data = fh.read((r1 - r0 + 1) * width)
                if len(data) != (r1 - r0 + 1) * width:
                    raise AlertError(f"{self.path}: mask data ends before row {r1}")
                for r in range(r0, r1 + 1):
                    self._rows.pop(r, None)
                    self._rows[r] = data[(r - r0) * width : (r - r0 + 1) * width]
                for k in todo:
                    i, j = idx[k]
                    if r0 <= i <= r1:
                        out[k] = self._rows[i][j] != 0
                while len(self._rows) > self.MAX_ROWS:
                    self._rows.pop(next(iter(self._rows)))
        return out


@functools.lru_cache(maxsize=1)
def _land_mask() -> LandMask | None:
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or spec.origin is None:
        raise AlertError("the global-land-mask package is not installed (needed for offshore)")
    path = Path(spec.origin).parent / "globe_combined_mask_compressed.npz"
    try:
        return LandMask(path)
    except (OSError, KeyError, ValueError, AlertError) as exc:
        log.warning("land mask %s not readable directly (%s); using globe.is_ocean", path, exc)
        return None


def _wrap(lat: float, lon: float) -> tuple[float, float]:
    """Check and bring the longitude into [-180, 180)."""
    _check_latlon(lat, lon)
    return lat, (lon + 540.0) % 360.0 - 180.0


def is_ocean_many(points: list[tuple[float, float]]) -> list[bool]:
    """Sea (True) or land for each (lat, lon) in degrees, GLOBE 1 km mask."""
    pts = [_wrap(la, lo) for la, lo in points]
    mask = _land_mask()
    if mask is not None:
        return mask.is_ocean_many(pts)
    from global_land_mask import globe  # fallback: decompresses the whole mask (~1 GB)

    return [bool(globe.is_ocean(la, lo)) for la, lo in pts]


def is_ocean(lat: float, lon: float) -> bool:
    """Whether the point is sea according to the GLOBE 1 km land mask (global-land-mask)."""
    return is_ocean_many([(lat, lon)])[0]


def is_offshore(lat: float, lon: float, uncertainty_km: float = 0.0) -> bool:
    """Whether an epicentre may be at sea.

    True if the epicentre itself is sea, or (``uncertainty_km`` > 0) if any of
    eight points on the circle of that radius around it is sea. The circle makes
    the test err toward "offshore" for an epicentre poorly located near a coast
    (a tsunami alert must not be lost to a location error).
    """
    points = [(lat, lon)]
    if uncertainty_km > 0.0 and math.isfinite(uncertainty_km):
        points += [destination(lat, lon, float(az), uncertainty_km) for az in range(0, 360, 45)]
    return any(is_ocean_many(points))


def uncertainty_region(
    lat: float,
    lon: float,
    major_km: float,
    minor_km: float,
    azimuth_deg: float,
    *,
    backazimuth: tuple[float, float, float] | None = None,
    n_axis: int = 21,
    n_rim: int = 16,
) -> list[tuple[float, float]]:
    """Points that sample an epicentre's uncertainty region (degrees).

    The region is the confidence ellipse (semi-axes ``major_km``, ``minor_km``,
    major axis at ``azimuth_deg`` from north): its centre, ``n_axis`` points along
    each axis and ``n_rim`` points on its rim. When the ellipse orientation is
    unknown (NaN) and ``backazimuth`` = (network lat, lon, back-azimuth deg) is
    given, the region is the segment of the back-azimuth ray from the network
    within ``major_km`` of the epicentre's distance: a distant event located from
    P alone is known in direction, not in distance.
    """
    pts = [(lat, lon)]
    if not (math.isfinite(major_km) and major_km > 0.0):
        return pts
    minor = minor_km if math.isfinite(minor_km) and minor_km >= 0.0 else major_km
    if math.isfinite(azimuth_deg):
        for s in np.linspace(-1.0, 1.0, n_axis):
            if s == 0.0:
                continue
            d = abs(s) * major_km
            pts.append(destination(lat, lon, azimuth_deg + (0.0 if s > 0 else 180.0), d))
            if minor > 0.0:
                pts.append(destination(lat, lon, azimuth_deg + (90.0 if s > 0 else 270.0),
                                       abs(s) * minor))
        for t in np.linspace(0.0, 2.0 * np.pi, n_rim, endpoint=False):
            x, y = major_km * math.cos(t), minor * math.sin(t)  # along / across the major axis
            r = math.hypot(x, y)
            if r > 0.0:
                pts.append(destination(lat, lon, azimuth_deg + math.degrees(math.atan2(y, x)), r))
        return pts
    if backazimuth is not None:
        la0, lo0, baz = backazimuth
        r0 = float(distance_km(la0, lo0, lat, lon))
        for r in np.linspace(max(r0 - major_km, 0.0), r0 + major_km, n_axis):
            pts.append(destination(la0, lo0, baz, float(r)))
        return pts
    return pts + [destination(lat, lon, float(az), major_km) for az in range(0, 360, 45)]


def sea_fraction(points: list[tuple[float, float]]) -> float:
    """Fraction of ``points`` at sea (GLOBE 1 km land mask)."""
    if not points:
        return 0.0
    sea = is_ocean_many(points)
    return sum(sea) / len(sea)


def _mmi(magnitude: float, rrup_km: float) -> float:
    return float(mmi_atkinson_wald_2007(magnitude, rrup_km))


def felt_radius_km(
    magnitude: float | None,
    depth_km: float,
    *,
    mmi: float = 3.0,
    default_km: float = 100.0,
    min_km: float = 10.0,
    max_km: float = 1000.0,
) -> float:
    """Epicentral radius (km) inside which the predicted MMI reaches ``mmi``.

    Uses :func:`seismo.event.attenuation.mmi_atkinson_wald_2007` with the
    hypocentral distance as rupture distance (a point source; it underestimates
    the felt area of long ruptures); that relation is clipped to MMI [1, 10], so
    ``mmi`` is meaningful in (1, 10]. Returns ``default_km`` when the magnitude is
    unknown; the result is clipped to ``[min_km, max_km]`` and rounded to 1 km.
    """
    if magnitude is None or not math.isfinite(magnitude):
        return default_km
    depth = max(0.0, depth_km) if math.isfinite(depth_km) else 10.0
    lo, hi = 0.0, max_km
    if _mmi(magnitude, math.hypot(lo, depth)) < mmi:
        return min_km
    if _mmi(magnitude, math.hypot(hi, depth)) >= mmi:
        return max_km
    for _ in range(40):  # bisection; MMI decreases monotonically with distance here
        mid = 0.5 * (lo + hi)
        if _mmi(magnitude, math.hypot(mid, depth)) >= mmi:
            lo = mid
        else:
            hi = mid
    return float(min(max(round(lo), min_km), max_km))
