"""Land, coastlines and borders for the console's maps, cut to the network's region.

The vendored ``world-atlas`` files (Natural Earth as TopoJSON: ``countries-10m.json``
and ``countries-50m.json``, each holding a ``land`` and a ``countries`` object) weigh
about 4.4 MB; a map needs a few hundred kB of them. :func:`basemap` decodes them once
per process and returns one GeoJSON FeatureCollection of two layers:

- ``context``: 1:50m land, coastline and borders within ``CONTEXT_MARGIN_DEG`` of the
  network (the view of a distant earthquake);
- ``detail``: 1:10m land, coastline and borders within the detail box (the stations'
  and region's bounding box widened by half its size, at least ``DETAIL_MARGIN_DEG``),
  preceded by a sea-coloured ``mask`` of that box so the coarse layer never shows
  under the fine one.

Land polygons are clipped to the box (Sutherland & Hodgman 1974, one box edge at a
time) and drawn filled without outline; coastlines and borders are clipped as lines
(Liang & Barsky 1984), so no coastline is drawn along a box edge. Borders are the
arcs shared by two countries (what ``topojson.mesh(t, countries, (a, b) => a !== b)``
draws). TopoJSON decoding follows the TopoJSON specification
(github.com/topojson/topojson-specification: quantized, delta-encoded arcs; a
negative arc index ``~i`` is arc ``i`` reversed). Coordinates are rounded to
``1e-4`` degree (11 m; the 1:10m arcs are quantized to 0.0036 x 0.0017 degree).
Nothing here handles a box across the antimeridian.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Where ``scripts/setup.sh`` vendors world-atlas (git-ignored).
ATLAS_DIR = Path(__file__).resolve().parent / "static" / "vendor"
#: Design choices: the fine layer reaches at least this far beyond the network (degrees)...
DETAIL_MARGIN_DEG = 0.5
#: ...and the coarse layer this far (about 2,200 km: regional events and the nearer
#: subduction zones are drawn over land; farther ones over sea colour).
CONTEXT_MARGIN_DEG = 20.0
DECIMALS = 4

Box = tuple[float, float, float, float]  # south, north, west, east (degrees)


# --------------------------------------------------------------------------- TopoJSON
def decode_arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """Every arc of a TopoJSON topology as an (n, 2) array of (lon, lat) degrees."""
    arcs = topology["arcs"]
    lens = np.array([len(a) for a in arcs])
    if any(len(p) != 2 for p in arcs[0]):  # positions with extra values: keep two
        arcs = [[p[:2] for p in a] for a in arcs]
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(arcs)), dtype=np.float64,
                       count=2 * int(lens.sum())).reshape(-1, 2)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    tr = topology.get("transform")
    if tr is not None:  # delta-encoded: a running sum restarted at every arc
        total = np.cumsum(flat, axis=0)
        before = np.where(starts[:, None] > 0, total[np.maximum(starts - 1, 0)], 0.0)
        flat = (total - np.repeat(before, lens, axis=0)) * np.asarray(tr["scale"]) \
            + np.asarray(tr["translate"])
    return np.split(flat, np.cumsum(lens)[:-1])


def _polygons(geometry: dict[str, Any]) -> Iterable[list[list[int]]]:
    """The polygons (lists of rings of arc indices) of a TopoJSON geometry."""
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        for g in geometry.get("geometries", []):
            yield from _polygons(g)
    elif kind == "Polygon":
        yield geometry["arcs"]
    elif kind == "MultiPolygon":
        yield from geometry["arcs"]


def _ring(arcs: Sequence[np.ndarray], indices: Sequence[int]) -> np.ndarray:
    parts = []
    for k, i in enumerate(indices):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if k == 0 else a[1:])
    return np.concatenate(parts)


def _arc_box(arcs: Sequence[np.ndarray]) -> np.ndarray:
    """(n_arcs, 4) south, north, west, east of every arc."""
    flat = np.concatenate(arcs)
    starts = np.concatenate([[0], np.cumsum([len(a) for a in arcs])[:-1]])
    lo, hi = np.minimum.reduceat(flat, starts), np.maximum.reduceat(flat, starts)
    return np.column_stack([lo[:, 1], hi[:, 1], lo[:, 0], hi[:, 0]])


def _overlaps(b: np.ndarray, box: Box) -> np.ndarray:
    s, n, w, e = box
    return (b[..., 0] <= n) & (b[..., 1] >= s) & (b[..., 2] <= e) & (b[..., 3] >= w)


def shared_arcs(geometries: Sequence[dict[str, Any]]) -> set[int]:
    """Arcs used by two or more of ``geometries`` (the borders between countries)."""
    users: dict[int, set[int]] = {}
    for k, g in enumerate(geometries):
        for poly in _polygons(g):
            for ring in poly:
                for i in ring:
                    users.setdefault(i if i >= 0 else ~i, set()).add(k)
    return {i for i, who in users.items() if len(who) > 1}


# --------------------------------------------------------------------------- clipping
def clip_ring(ring: np.ndarray, box: Box) -> np.ndarray | None:
    """A closed ring clipped to ``box`` (Sutherland-Hodgman); None when nothing is left.

    The result may run along the box edges; it is meant for filling, not outlining.
    """
    s, n, w, e = box
    pts = ring[:-1] if len(ring) > 1 and np.array_equal(ring[0], ring[-1]) else ring
    for axis, bound, keep_above in ((0, w, True), (0, e, False), (1, s, True), (1, n, False)):
        if len(pts) == 0:
            return None
        nxt = np.roll(pts, -1, axis=0)
        a_in = pts[:, axis] >= bound if keep_above else pts[:, axis] <= bound
        b_in = np.roll(a_in, -1)
        with np.errstate(divide="ignore", invalid="ignore"):  # used where the ends differ
            t = (bound - pts[:, axis]) / (nxt[:, axis] - pts[:, axis])
            cross = pts + t[:, None] * (nxt - pts)
        cross[:, axis] = bound
        # per edge a -> b: the crossing when exactly one end is inside, then b when inside
        out = np.empty((2 * len(pts), 2))
        keep = np.empty(2 * len(pts), dtype=bool)
        out[0::2], keep[0::2] = cross, a_in != b_in
        out[1::2], keep[1::2] = nxt, b_in
        pts = out[keep]
    if len(pts) < 3:
        return None
    return np.vstack([pts, pts[:1]])


def clip_line(line: np.ndarray, box: Box) -> list[np.ndarray]:
    """The pieces of a polyline inside ``box`` (Liang-Barsky per segment)."""
    s, n, w, e = box
    pieces: list[np.ndarray] = []
    cur: list[np.ndarray] = []
    for p, q in pairwise(line):
        d = q - p
        t0, t1 = 0.0, 1.0
        for dp, dist in ((-d[0], p[0] - w), (d[0], e - p[0]), (-d[1], p[1] - s),
                         (d[1], n - p[1])):
            if dp == 0.0:
                if dist < 0.0:
                    t0, t1 = 1.0, 0.0
                    break
                continue
            r = dist / dp
            if dp < 0.0:
                t0 = max(t0, r)
            else:
                t1 = min(t1, r)
        if t0 > t1:
            if len(cur) > 1:
                pieces.append(np.array(cur))
            cur = []
            continue
        a, b = p + t0 * d, p + t1 * d
        if cur and t0 == 0.0:
            cur.append(b)
        else:
            if len(cur) > 1:
                pieces.append(np.array(cur))
            cur = [a, b]
        if t1 < 1.0:
            pieces.append(np.array(cur))
            cur = []
    if len(cur) > 1:
        pieces.append(np.array(cur))
    return pieces


# --------------------------------------------------------------------------- layers
def _coords(a: np.ndarray) -> list[list[float]]:
    return np.round(a, DECIMALS).tolist()  # type: ignore[no-any-return]


def _feature(layer: str, kind: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"layer": layer, "kind": kind},
            "geometry": geometry}


def cut(topology: dict[str, Any], box: Box, layer: str) -> list[dict[str, Any]]:
    """Land (filled), coastline and borders of ``topology`` inside ``box`` as features."""
    arcs = decode_arcs(topology)
    boxes = _arc_box(arcs)
    near = _overlaps(boxes, box)
    land = topology["objects"]["land"]
    polys: list[list[list[list[float]]]] = []
    coast: set[int] = set()
    for poly in _polygons(land):
        outer = boxes[[i if i >= 0 else ~i for i in poly[0]]]
        hull = np.array([outer[:, 0].min(), outer[:, 1].max(), outer[:, 2].min(),
                         outer[:, 3].max()])
        if not _overlaps(hull, box):
            continue  # the outer ring's extent misses the box: so do its holes
        rings = []
        for k, ring in enumerate(poly):
            coast.update(i if i >= 0 else ~i for i in ring)
            clipped = clip_ring(_ring(arcs, ring), box)
            if clipped is None:
                if k == 0:
                    break
                continue
            rings.append(_coords(clipped))
        if rings:
            polys.append(rings)
    countries = topology["objects"].get("countries", {}).get("geometries", [])
    borders = shared_arcs(countries)

    def lines(ids: Iterable[int]) -> list[list[list[float]]]:
        return [_coords(p) for i in sorted(ids) if near[i] for p in clip_line(arcs[i], box)]

    return [
        _feature(layer, "land", {"type": "MultiPolygon", "coordinates": polys}),
        _feature(layer, "coast", {"type": "MultiLineString", "coordinates": lines(coast)}),
        _feature(layer, "borders", {"type": "MultiLineString",
                                    "coordinates": lines(borders)}),
    ]


def boxes_for(region: Sequence[float], points: Iterable[tuple[float, float]] = ()) -> tuple[
        Box, Box]:
    """The detail and context boxes for a network: ``region`` is (lat0, lat1, lon0, lon1),
    ``points`` (lat, lon) of the stations; see the module docstring."""
    lats = [region[0], region[1]] + [p[0] for p in points]
    lons = [region[2], region[3]] + [p[1] for p in points]
    s, n, w, e = min(lats), max(lats), min(lons), max(lons)
    m = max(DETAIL_MARGIN_DEG, (n - s) / 2, (e - w) / 2)

    def clamp(b: Box) -> Box:
        return (max(b[0], -90.0), min(b[1], 90.0), max(b[2], -180.0), min(b[3], 180.0))

    c = CONTEXT_MARGIN_DEG
    return clamp((s - m, n + m, w - m, e + m)), clamp((s - c, n + c, w - c, e + c))


def layers(coarse: dict[str, Any], fine: dict[str, Any], region: Sequence[float],
           points: Sequence[tuple[float, float]] = ()) -> dict[str, Any]:
    """The FeatureCollection of the module docstring from the 1:50m (``coarse``) and
    1:10m (``fine``) world-atlas topologies."""
    detail, context = boxes_for(region, points)
    s, n, w, e = detail
    mask = _feature("detail", "mask", {"type": "Polygon", "coordinates": [
        [[w, s], [e, s], [e, n], [w, n], [w, s]]]})
    return {"type": "FeatureCollection",
            "features": [*cut(coarse, context, "context"), mask, *cut(fine, detail, "detail")],
            "detail_box": list(detail), "context_box": list(context),
            "source": "Natural Earth 1:50m and 1:10m (world-atlas 2.0.2)"}


@dataclass(frozen=True)
class Basemap:
    """The map layers as GeoJSON text (``body``) and its entity tag."""

    body: bytes
    etag: str
    detail_box: Box


_cache: dict[tuple[Any, ...], Basemap] = {}
_lock = threading.Lock()


def basemap(region: Sequence[float], points: Sequence[tuple[float, float]],
            atlas_dir: Path = ATLAS_DIR) -> Basemap:
    """:func:`layers` for ``region`` and station ``points`` from the vendored files,
    computed once per process and atlas version (about 2 s; 250 kB for 20 stations).

    Raises:
        FileNotFoundError: world-atlas is not vendored (``scripts/setup.sh``).
    """
    import hashlib

    files = [atlas_dir / "countries-50m.json", atlas_dir / "countries-10m.json"]
    key = (tuple(region), tuple(points), *((str(f), f.stat().st_mtime) for f in files))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        coarse, fine = (json.loads(f.read_text(encoding="utf-8")) for f in files)
        doc = layers(coarse, fine, region, points)
        body = json.dumps(doc, separators=(",", ":")).encode()
        out = Basemap(body, hashlib.sha256(body).hexdigest()[:20], tuple(doc["detail_box"]))
        _cache.clear()
        _cache[key] = out
        log.info("basemap: %.0f kB for detail box %s", len(body) / 1000, out.detail_box)
        return out
