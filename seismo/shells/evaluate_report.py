"""``seismo evaluate --report DIR``: an HTML page with a map and recall against magnitude.

Offline: matplotlib (Agg) and the coastline of :mod:`seismo.io.plots` (the
``global-land-mask`` package); nothing is downloaded. Files written:
``index.html``, ``map.png`` (stations; hits at the detected epicentre with a
line to the reference one; misses; extras, phantoms marked), ``recall.png``
(recall per magnitude bin, with counts) and ``evaluation.json``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from seismo.io.plots import draw_coastline, geo_axes, map_extent, pyplot, save_figure
from seismo.shells.scoring import Evaluation, StationXY


def plot_map(ev: Evaluation, stations: list[StationXY], path: Path) -> Path:
    """Map of hits, misses and extras around the stations (PNG)."""
    plt = pyplot()
    e = ev.events
    pts = [(s.latitude, s.longitude) for s in stations]
    pts += [(m["latitude"], m["longitude"]) for m in e["matched"]]
    pts += [(m["latitude"], m["longitude"]) for m in e["missed"]]
    # far extras would shrink the network to a dot: keep the map to 100 km outside it
    near = [x for x in e["extras"] if x["outside_network_km"] <= 100.0]
    pts += [(x["latitude"], x["longitude"]) for x in near]
    extent = map_extent([p[0] for p in pts], [p[1] for p in pts], 0.05)
    fig, ax = plt.subplots(figsize=(8, 7))
    draw_coastline(ax, extent)
    geo_axes(ax, extent, grid=False)
    ax.scatter([s.longitude for s in stations], [s.latitude for s in stations], marker="^",
               s=60, c="#333333", zorder=5, label="station")
    for s in stations:
        ax.annotate(s.id.split(".")[-1], (s.longitude, s.latitude), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    for m in e["matched"]:
        ax.plot([m["reference_longitude"], m["longitude"]],
                [m["reference_latitude"], m["latitude"]], color="#2a9d3a", lw=0.8, zorder=3)
    if e["matched"]:
        ax.scatter([m["reference_longitude"] for m in e["matched"]],
                   [m["reference_latitude"] for m in e["matched"]], s=12, c="black", zorder=4,
                   label="reference epicentre of a hit")
        ax.scatter([m["longitude"] for m in e["matched"]], [m["latitude"] for m in e["matched"]],
                   s=40, c="#2a9d3a", edgecolors="black", zorder=4,
                   label=f"hit ({len(e['matched'])})")
    if e["missed"]:
        ax.scatter([m["longitude"] for m in e["missed"]], [m["latitude"] for m in e["missed"]],
                   s=70, marker="x", c="#d62728", zorder=4, label=f"missed ({len(e['missed'])})")
    real = [x for x in near if x["class"] != "unexplained"]
    unexp = [x for x in near if x["class"] == "unexplained"]
    if real:
        ax.scatter([x["longitude"] for x in real], [x["latitude"] for x in real], s=25,
                   marker="D", c="#9ecae1", edgecolors="#3182bd", zorder=3,
                   label=f"extra, probably real ({len(real)})")
    if unexp:
        ax.scatter([x["longitude"] for x in unexp], [x["latitude"] for x in unexp], s=35,
                   marker="D", c="#ff7f0e", edgecolors="black", zorder=3,
                   label=f"extra, unexplained ({len(unexp)})")
    far = len(e["extras"]) - len(near)
    title = ev.label + (f" ({far} extra(s) > 100 km outside, not shown)" if far else "")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower left", fontsize=8)
    return save_figure(fig, path)


def plot_recall(ev: Evaluation, path: Path) -> Path:
    """Recall per magnitude bin (bars) with found/total labels (PNG)."""
    plt = pyplot()
    bins = ev.events["recall_by_magnitude"]
    labels = list(bins)
    vals = [bins[k]["found"] / bins[k]["total"] if bins[k]["total"] else 0.0 for k in labels]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(range(len(labels)), vals, color="#2a9d3a")
    for i, k in enumerate(labels):
        ax.text(i, vals[i] + 0.02, f"{bins[k]['found']}/{bins[k]['total']}", ha="center",
                fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 1.12)
    ax.set_xlabel("reference magnitude")
    ax.set_ylabel("recall")
    ax.set_title(ev.label, fontsize=9)
    return save_figure(fig, path)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    h = "".join(f"<th>{html.escape(str(x))}</th>" for x in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('-' if c is None else str(c))}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{h}</tr>{body}</table>"


def write_report(ev: Evaluation, text: str, stations: list[StationXY], out: Path) -> Path:
    """Write the report directory; returns the path of ``index.html``."""
    out.mkdir(parents=True, exist_ok=True)
    plot_map(ev, stations, out / "map.png")
    plot_recall(ev, out / "recall.png")
    (out / "evaluation.json").write_text(json.dumps(ev.to_dict(), indent=1) + "\n",
                                         encoding="utf-8")
    e = ev.events
    matched = _table(
        ["reference", "M ref", "detected", "M", "epi err km", "depth", "depth err km",
         "t err s", "dM"],
        [[m["reference_time"][:22], m["reference_magnitude"], m["id"], m["magnitude"],
          m["epicentral_error_km"],
          None if m["depth_km"] is None
          else f"{m['depth_km']:.1f}{' (fixed)' if m['depth_fixed'] else ''}",
          m["depth_error_km"], m["origin_time_error_s"], m["magnitude_difference"]]
         for m in e["matched"]],
    )
    extras = _table(
        ["id", "origin", "lat", "lon", "depth", "M", "outside km", "class", "built from"],
        [[x["id"], x["time"][:22], f"{x['latitude']:.3f}", f"{x['longitude']:.3f}",
          x["depth_km"], x["magnitude"], x["outside_network_km"],
          ("PHANTOM " if x["phantom"] else "") + x["class"],
          "; ".join(f"{p['station']} {p['phase']} {p['time'][11:22]}" for p in x["picks"])]
         for x in e["extras"]],
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(ev.label)}</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1100px}}
table{{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}}
td,th{{border:1px solid #bbb;padding:2px 6px;text-align:left}}
pre{{background:#f6f6f6;padding:0.8em;font-size:12px;overflow-x:auto}}</style></head>
<body><h1>Evaluation: {html.escape(ev.label)}</h1>
<pre>{html.escape(text)}</pre>
<h2>Map</h2><img src="map.png" alt="map of hits, misses and extras">
<h2>Recall against magnitude</h2><img src="recall.png" alt="recall per magnitude bin">
<h2>Matched events</h2>{matched}
<h2>Extras (detected, not in the reference)</h2>{extras}
<p>Rules: docs/evaluation.md. Full numbers: <a href="evaluation.json">evaluation.json</a>.</p>
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
