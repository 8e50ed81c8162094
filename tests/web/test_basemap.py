"""The map layers cut from world-atlas (seismo.web.basemap): TopoJSON decoding and
clipping against hand-made shapes, and the real Natural Earth layers of several
networks checked against global-land-mask (GSHHG-derived, 1 km) at sample points."""

from __future__ import annotations

import json

import numpy as np
import pytest
from global_land_mask import globe
from matplotlib.path import Path as MplPath

from seismo.web.basemap import (
    ATLAS_DIR,
    basemap,
    boxes_for,
    clip_line,
    clip_ring,
    cut,
    layers,
)


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


def test_clip_ring_keeps_the_part_inside() -> None:
    square = np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], dtype=float)  # lon, lat
    assert _area(clip_ring(square, (1.0, 3.0, 2.0, 10.0))) == pytest.approx(2 * 2)  # S N W E
    assert _area(clip_ring(square, (-1.0, 5.0, -1.0, 5.0))) == pytest.approx(16)
    assert clip_ring(square, (5.0, 6.0, 5.0, 6.0)) is None
    # a concave ring (a U) leaving and re-entering the box: area of the cut, by hand
    u = np.array([[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]],
                 dtype=float)
    assert _area(clip_ring(u, (0.0, 2.0, 0.0, 3.0))) == pytest.approx(3 * 1 + 2 * 1)
    # the box inside the ring: the whole box is land
    assert _area(clip_ring(square, (1.0, 2.0, 1.0, 2.0))) == pytest.approx(1)


def test_clip_line_cuts_pieces_at_the_edges() -> None:
    line = np.array([[-1, 0.5], [0.5, 0.5], [0.5, 2], [0.8, 0.2], [2, 0.2]], dtype=float)
    pieces = clip_line(line, (0.0, 1.0, 0.0, 1.0))
    assert len(pieces) == 2
    np.testing.assert_allclose(pieces[0], [[0, 0.5], [0.5, 0.5], [0.5, 1.0]])
    assert pieces[1][0][1] == pytest.approx(1.0) and pieces[1][-1][0] == pytest.approx(1.0)
    assert clip_line(np.array([[2.0, 2.0], [3.0, 3.0]]), (0.0, 1.0, 0.0, 1.0)) == []


def test_cut_decodes_topojson_land_coast_and_borders() -> None:
    # two countries side by side (0..1 and 1..2 in lon, 0..1 in lat), quantized arcs
    topo = {
        "type": "Topology", "transform": {"scale": [0.5, 0.5], "translate": [0, 0]},
        "arcs": [[[2, 0], [0, 2]],            # 0: the shared edge x=1, south to north
                 [[2, 2], [-2, 0], [0, -2], [2, 0]],   # 1: west country's other sides
                 [[2, 0], [2, 0], [0, 2], [-2, 0]]],   # 2: east country's other sides
        "objects": {
            "land": {"type": "GeometryCollection", "geometries": [
                {"type": "Polygon", "arcs": [[1, 2]]}]},
            "countries": {"type": "GeometryCollection", "geometries": [
                {"type": "Polygon", "arcs": [[0, 1]]}, {"type": "Polygon", "arcs": [[2, ~0]]}]},
        },
    }
    land, coast, borders = cut(topo, (0.25, 0.75, -1.0, 3.0), "detail")
    assert land["properties"] == {"layer": "detail", "kind": "land"}
    (ring,), = land["geometry"]["coordinates"]
    assert _area(np.array(ring)) == pytest.approx(2 * 0.5)
    assert borders["geometry"]["coordinates"] == [[[1.0, 0.25], [1.0, 0.75]]]
    # the coastline: the outer edges inside the box, never the box's own edges
    for piece in coast["geometry"]["coordinates"]:
        assert all(p[0] in (0.0, 2.0) for p in piece)


@pytest.fixture(scope="module")
def atlas() -> tuple[dict, dict]:  # type: ignore[type-arg]
    files = [ATLAS_DIR / "countries-50m.json", ATLAS_DIR / "countries-10m.json"]
    if not all(f.exists() for f in files):
        pytest.fail("world-atlas is not vendored: run scripts/setup.sh")
    return json.loads(files[0].read_text()), json.loads(files[1].read_text())


def test_the_served_layers_of_the_shipped_network_are_small_and_cached(settings) -> None:  # type: ignore[no-untyped-def]
    region = settings.network.region
    bm = basemap(region, [])
    assert 50_000 < len(bm.body) < 1_000_000
    assert basemap(region, []) is bm


@pytest.mark.parametrize("region", [
    (22.2, 23.1, 113.5, 114.9),     # the shipped network: coast, bays, islands, a border
    (37.0, 38.0, 139.3, 140.6),     # Hi-net around Aizu: inland mountains, two coasts
    (35.0, 40.0, 85.0, 95.0),       # inland Asia: all land, borders
    (-2.0, 0.0, -150.0, -148.0),    # open Pacific: all sea
])
def test_layers_of_a_network_match_the_land_mask(atlas, region) -> None:  # type: ignore[no-untyped-def]
    doc = layers(*atlas, region)
    assert len(json.dumps(doc, separators=(",", ":"))) < 1_000_000
    kinds = [(f["properties"]["layer"], f["properties"]["kind"]) for f in doc["features"]]
    assert kinds == [("context", "land"), ("context", "coast"), ("context", "borders"),
                     ("detail", "mask"), ("detail", "land"), ("detail", "coast"),
                     ("detail", "borders")]
    s, n, w, e = doc["detail_box"]
    assert s < region[0] and n > region[1] and w < region[2] and e > region[3]
    land = doc["features"][4]["geometry"]["coordinates"]
    lat, lon = np.meshgrid(np.linspace(s + 0.01, n - 0.01, 45), np.linspace(w + 0.01, e - 0.01, 45))
    pts = np.column_stack([lon.ravel(), lat.ravel()])
    inside = np.zeros(len(pts), dtype=int)
    for poly in land:
        for ring in poly:  # even-odd: holes (lakes) flip back
            inside ^= MplPath(np.array(ring)).contains_points(pts).astype(int)
    mask = globe.is_land(lat.ravel(), lon.ravel())
    agree = float(np.mean(inside.astype(bool) == mask))
    # Natural Earth 1:10m against a 1 km mask: they differ along coasts only
    assert agree > 0.93, agree
    assert bool(mask.any()) == bool(inside.any()) and bool(mask.all()) == bool(inside.all())


def test_boxes_cover_the_stations_and_widen_with_the_network() -> None:
    d, c = boxes_for((22.2, 23.1, 113.5, 114.9), [(23.4, 114.0)])
    assert d[1] > 23.4 and c[0] < d[0] and c[3] > d[3]
    big, _ = boxes_for((30.0, 40.0, 100.0, 110.0))
    assert big[1] - big[0] == pytest.approx(20.0)  # half its size on each side
