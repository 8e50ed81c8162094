"""Figures for event review and the daily bulletin (PNG, matplotlib's Agg backend).

Everything is drawn offline: the coastline is the 0.5 contour of the land/sea
mask of the ``global-land-mask`` package (1 km resolution GLOBE-derived mask,
shipped inside the wheel) sampled on a lat/lon grid around what is plotted. No
basemap or tile is downloaded.

matplotlib is imported inside the functions (no import cost or side effect when
the module is imported; the Agg backend is selected explicitly, so no display is
needed). Every function writes one PNG and returns its path.

Units: distances km, times s (relative to the origin time unless said), angles
degrees, PGA m/s², PGV m/s, intensities GB/T 17742-2020 degrees.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.geo import KM_PER_DEG
from seismo.model import Event, Pick

log = logging.getLogger(__name__)

#: Figure resolution (dots per inch) of every PNG.
DPI = 110
#: Grid points along the longer side of the coastline grid (the mask's own
#: resolution is ~1 km = 0.009 deg; 300 points keep a 3-deg map at that scale).
COAST_GRID_POINTS = 300


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class StationPoint:
    """A station on a map: id ``NET.STA`` and its coordinates (degrees)."""

    id: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class TraceLine:
    """One record-section trace: normalised samples (max |x| = 1) and its times.

    ``times_s`` are seconds after the origin time; ``distance_km`` epicentral.
    ``shows_event`` is False when the trace does not hold the event (it misses the
    arrival times, or shows nothing above its noise there: ``note`` says which); no
    pick is drawn on such a trace.
    """

    station_id: str
    channel: str
    distance_km: float
    times_s: np.ndarray
    values: np.ndarray
    shows_event: bool = True
    note: str = ""


# --------------------------------------------------------------------------- map helpers
def map_extent(
    lats: Sequence[float], lons: Sequence[float], margin_deg: float = 0.1
) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) around the points, with a margin (degrees)."""
    if not lats:
        raise DataError("map_extent needs at least one point")
    la0, la1 = min(lats) - margin_deg, max(lats) + margin_deg
    lo0, lo1 = min(lons) - margin_deg, max(lons) + margin_deg
    return max(la0, -90.0), min(la1, 90.0), max(lo0, -180.0), min(lo1, 180.0)


def land_grid(
    extent: tuple[float, float, float, float], n: int = COAST_GRID_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, land) on a regular grid over ``extent``: land is 1.0 on land, 0.0 at sea.

    Uses ``global_land_mask.globe.is_land`` (shipped mask, ~1 km resolution).
    """
    from global_land_mask import globe

    la0, la1, lo0, lo1 = extent
    span = max(la1 - la0, lo1 - lo0)
    if not span > 0:
        raise DataError(f"map extent {extent} is empty")
    step = span / max(n - 1, 1)
    lat = np.arange(la0, la1 + step / 2, step)
    lon = np.arange(lo0, lo1 + step / 2, step)
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    land = globe.is_land(np.clip(glat, -89.999, 89.999), np.clip(glon, -179.999, 179.999))
    return glat, glon, np.asarray(land, dtype=float)


def draw_coastline(ax: Any, extent: tuple[float, float, float, float]) -> bool:
    """Shade land and draw the coastline (contour at 0.5 of the land mask) on ``ax``.

    Returns False (nothing drawn) when the extent is all land or all sea.
    """
    glat, glon, land = land_grid(extent)
    if land.min() == land.max():
        if land.max() > 0:
            ax.set_facecolor("#f1eee4")
        else:
            ax.set_facecolor("#e3eef7")
        return False
    ax.set_facecolor("#e3eef7")  # sea
    ax.contourf(glon, glat, land, levels=[0.5, 1.5], colors=["#f1eee4"], zorder=0)
    ax.contour(glon, glat, land, levels=[0.5], colors="#555555", linewidths=0.8, zorder=1)
    return True


def geo_axes(ax: Any, extent: tuple[float, float, float, float], *, grid: bool = True) -> None:
    """Longitude/latitude axes over ``extent`` (lat0, lat1, lon0, lon1), true to scale."""
    la0, la1, lo0, lo1 = extent
    ax.set_xlim(lo0, lo1)
    ax.set_ylim(la0, la1)
    # equal distances in both directions at the map's mid latitude
    ax.set_aspect(1.0 / max(math.cos(math.radians((la0 + la1) / 2.0)), 0.05))
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    if grid:
        ax.grid(True, color="white", linewidth=0.5, alpha=0.7)


def save_figure(fig: Any, path: Path) -> Path:
    """Write ``fig`` as a PNG (creating the directory), close it and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    pyplot().close(fig)
    return path


# --------------------------------------------------------------------------- event figures
def plot_record_section(
    traces: Sequence[TraceLine],
    event: Event,
    predicted: Mapping[str, Any],
    path: Path,
    *,
    picks: Sequence[Pick] = (),
    band_hz: tuple[float, float] | None = None,
) -> Path:
    """Record section: normalised traces at their epicentral distance vs time after origin.

    Args:
        traces: one per station (normalised, times relative to the origin, s).
        event: the event (title, origin time).
        predicted: ``{"P": (dist_km array, time_s array), "S": (...)}`` travel-time curves.
        path: PNG to write.
        picks: picks to mark (P red, S blue) on their station's trace.
        band_hz: the band-pass used, for the title.
    """
    if not traces:
        raise DataError(f"event {event.id}: no waveform to draw in the record section")
    plt = pyplot()
    ordered = sorted(traces, key=lambda t: t.distance_km)
    dists = np.array([t.distance_km for t in ordered])
    dmin, dmax = float(dists.min()), float(dists.max())
    spacing = (dmax - dmin) / max(len(ordered) - 1, 1) if len(ordered) > 1 else 1.0
    scale = max(spacing, 0.5) * 0.6  # half-amplitude in km of distance axis
    fig, ax = plt.subplots(figsize=(10, max(5.0, 0.35 * len(ordered) + 2)))
    by_sta: dict[str, TraceLine] = {t.station_id: t for t in ordered}
    tmax = max(float(t.times_s[-1]) for t in ordered if t.times_s.size)
    for tr in ordered:
        ax.plot(tr.times_s, tr.distance_km + scale * tr.values,
                color="black" if tr.shows_event else "0.6", linewidth=0.5)
        ax.text(tmax, tr.distance_km, f" {tr.station_id.split('.')[-1]}"
                + ("" if tr.shows_event else f" ({tr.note})"), fontsize=7,
                va="center", ha="left")
    for phase, color in (("P", "tab:red"), ("S", "tab:blue")):
        curve = predicted.get(phase)
        if curve is not None:
            d, t = curve
            ax.plot(t, d, color=color, linestyle="--", linewidth=1.0, alpha=0.8,
                    label=f"predicted {phase}")
    marked = {"P": False, "S": False}
    for p in picks:
        line = by_sta.get(p.station_id)
        if line is None or not line.shows_event:
            continue
        color = "tab:red" if p.phase == "P" else "tab:blue"
        label = None if marked[p.phase] else f"{p.phase} pick"
        marked[p.phase] = True
        t = float(p.time - event.time)
        ax.plot([t, t], [line.distance_km - scale, line.distance_km + scale], color=color,
                linewidth=2.0, label=label)
    ax.set_xlabel(f"time after origin {str(event.time)[:22]} UTC (s)")
    ax.set_ylabel("epicentral distance (km)")
    ax.set_ylim(dmin - 2 * scale, dmax + 2 * scale)
    band = f", band-pass {band_hz[0]:g}-{band_hz[1]:g} Hz" if band_hz else ""
    mag = "" if event.magnitude is None else f" ML {event.magnitude:.1f}"
    ax.set_title(f"{event.id}{mag} depth {event.depth_km:.1f} km: record section{band}",
                 fontsize=10)
    if not any(t.shows_event for t in ordered):
        ax.text(0.5, 0.5, "these waveforms do not hold the event: no pick is drawn",
                transform=ax.transAxes, ha="center", va="center", fontsize=12, color="tab:red",
                bbox={"facecolor": "white", "alpha": 0.9})
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def plot_event_map(
    event: Event, stations: Sequence[StationPoint], path: Path, margin_deg: float = 0.1
) -> Path:
    """Map of the stations, the epicentre and the observed station intensities.

    Stations with an observed intensity are coloured by GB/T 17742-2020 degree
    (colour bar); the others are open triangles.
    """
    plt = pyplot()
    lats = [s.latitude for s in stations] + [event.latitude]
    lons = [s.longitude for s in stations] + [event.longitude]
    extent = map_extent(lats, lons, margin_deg)
    fig, ax = plt.subplots(figsize=(8, 7))
    draw_coastline(ax, extent)
    geo_axes(ax, extent)
    ax.scatter([s.longitude for s in stations], [s.latitude for s in stations], marker="^",
               s=60, facecolors="none", edgecolors="#333333", zorder=3, label="station")
    obs = event.station_intensities
    if obs:
        sc = ax.scatter([o.longitude for o in obs], [o.latitude for o in obs], marker="^",
                        s=110, c=[o.intensity_cn for o in obs], cmap="YlOrRd", vmin=1.0,
                        vmax=max(6.0, max(o.intensity_cn for o in obs)), edgecolors="black",
                        zorder=4)
        fig.colorbar(sc, ax=ax, shrink=0.7, label="observed intensity (GB/T 17742-2020)")
    for s in stations:
        ax.annotate(s.id.split(".")[-1], (s.longitude, s.latitude), fontsize=6,
                    xytext=(3, 3), textcoords="offset points", zorder=5)
    ax.scatter([event.longitude], [event.latitude], marker="*", s=320, c="tab:red",
               edgecolors="black", zorder=6, label="epicentre")
    if math.isfinite(event.horizontal_uncertainty_km) and event.horizontal_uncertainty_km > 0:
        r_deg = event.horizontal_uncertainty_km / KM_PER_DEG  # degrees of latitude
        circ = plt.Circle((event.longitude, event.latitude), r_deg, fill=False,
                          color="tab:red", linestyle="--", zorder=6)
        ax.add_patch(circ)
    mag = "" if event.magnitude is None else f" ML {event.magnitude:.1f}"
    ax.set_title(f"{event.id}{mag} ({event.status}): stations, observed intensity",
                 fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- bulletin figures
def plot_events_map(
    events: Sequence[Event], stations: Sequence[StationPoint], path: Path, title: str,
    margin_deg: float = 0.1,
) -> Path:
    """Map of the stations and the epicentres (size by ML, colour by depth, km)."""
    plt = pyplot()
    lats = [s.latitude for s in stations] + [e.latitude for e in events]
    lons = [s.longitude for s in stations] + [e.longitude for e in events]
    extent = map_extent(lats, lons, margin_deg)
    fig, ax = plt.subplots(figsize=(8, 7))
    draw_coastline(ax, extent)
    geo_axes(ax, extent)
    ax.scatter([s.longitude for s in stations], [s.latitude for s in stations], marker="^",
               s=50, c="#333333", zorder=3, label="station")
    if events:
        sizes = [40.0 * 2.0 ** (e.magnitude if e.magnitude is not None else 0.0) / 2.0
                 for e in events]
        sc = ax.scatter([e.longitude for e in events], [e.latitude for e in events], s=sizes,
                        c=[e.depth_km for e in events], cmap="viridis_r", edgecolors="black",
                        zorder=4, label="epicentre (size: ML)")
        fig.colorbar(sc, ax=ax, shrink=0.7, label="depth (km)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    return save_figure(fig, path)


def plot_magnitude_time(
    events: Sequence[Event], start: UTCDateTime, end: UTCDateTime, path: Path, title: str
) -> Path:
    """ML against origin time (hours after ``start``); events without ML at the bottom."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.5))
    hours = float(end - start) / 3600.0
    with_ml = [e for e in events if e.magnitude is not None]
    without = [e for e in events if e.magnitude is None]
    if with_ml:
        t = [float(e.time - start) / 3600.0 for e in with_ml]
        m = [float(e.magnitude) for e in with_ml if e.magnitude is not None]
        ax.vlines(t, min(0.0, min(m)), m, color="tab:blue", linewidth=1.0)
        ax.scatter(t, m, s=30, color="tab:blue", zorder=3, label="ML")
    if without:
        ax.scatter([float(e.time - start) / 3600.0 for e in without], [0.0] * len(without),
                   marker="x", color="grey", label="no ML")
    ax.set_xlim(0.0, hours)
    ax.set_xlabel(f"hours after {start.strftime('%Y-%m-%d %H:%M')} UTC")
    ax.set_ylabel("ML")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if events:
        ax.legend(loc="upper right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no events", transform=ax.transAxes, ha="center", va="center")
    return save_figure(fig, path)


def plot_availability(
    availability: Mapping[str, float], path: Path, title: str, *,
    warn_pct: float = 98.0, fail_pct: float = 80.0,
) -> Path:
    """Horizontal bars: availability (%) per station: green >= ``warn_pct``, orange >=
    ``fail_pct``, else red (defaults: the ``[health]`` availability thresholds)."""
    plt = pyplot()
    ids = sorted(availability)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.28 * len(ids) + 1.5)))
    vals = [availability[i] for i in ids]
    colors = ["tab:green" if v >= warn_pct else "tab:orange" if v >= fail_pct else "tab:red"
              for v in vals]
    ax.barh(range(len(ids)), vals, color=colors)
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels(ids, fontsize=7)
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("availability (% of processed windows with data)")
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    if not ids:
        ax.text(50, 0, "no station status stored", ha="center", va="center")
    return save_figure(fig, path)
