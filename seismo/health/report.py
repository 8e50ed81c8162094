"""An offline HTML health report: status table, availability chart and a PSD plot per channel.

The report is ``index.html`` plus PNG files in one directory; it references no
external CSS, JavaScript or fonts, so it opens without a network. Figures use
matplotlib's Agg canvas directly (no pyplot state, no display needed).
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seismo.errors import DataError
from seismo.health.psd import noise_models
from seismo.health.run import HealthRun
from seismo.health.status import ChannelAssessment
from seismo.model import StationHealth

log = logging.getLogger(__name__)

_COLOURS = {"OK": "#2e8b57", "WARN": "#e0a000", "FAIL": "#c0392b"}
_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top;font-size:90%}
th{background:#eee}.OK{background:#d8f0e0}.WARN{background:#fff0c0}.FAIL{background:#f8d0cc}
img{max-width:100%;border:1px solid #ddd}.psd{display:inline-block;margin:4px;width:380px}
"""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=80)


def plot_psd(ca: ChannelAssessment, path: Path) -> None:
    """PNG of a channel's median noise PSD with Peterson's NLNM and NHNM."""
    if ca.psd is None:
        raise DataError(f"{ca.health.network}.{ca.health.station}: no PSD to plot")
    h = ca.health
    fig = Figure(figsize=(5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    periods = np.logspace(-2, 2.5, 200)
    nlnm, nhnm = noise_models(periods)
    ax.semilogx(periods, nlnm, color="0.4", lw=1, ls="--", label="NLNM")
    ax.semilogx(periods, nhnm, color="0.4", lw=1, ls=":", label="NHNM")
    ax.semilogx(ca.psd.periods_s, ca.psd.db, color=_COLOURS[h.status], lw=2,
                label=f"median of {ca.psd.n_segments} segment(s)")
    ax.set_xlabel("period (s)")
    ax.set_ylabel("power (dB re 1 (m/s²)²/Hz)")
    ax.set_title(f"{h.network}.{h.station}.{h.location}.{h.channel}  {h.status}", fontsize=10)
    ax.set_xlim(0.01, 300)
    ax.set_ylim(-200, -50)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.subplots_adjust(left=0.17, right=0.97, bottom=0.14, top=0.92)
    _save(fig, path)


def plot_availability(run: HealthRun, path: Path) -> None:
    """PNG bar chart: one row per station, the time covered by data (union of channels)."""
    ids = sorted(run.channels)
    status = {f"{h.network}.{h.station}": h.status for h in run.summaries()}
    fig = Figure(figsize=(9, 0.3 * max(len(ids), 3) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    t0 = float(run.start.timestamp)
    for row, sid in enumerate(ids):
        spans = sorted(iv for ca in run.channels[sid] for iv in ca.intervals)
        merged: list[list[float]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        bars = [(s - t0, e - s) for s, e in merged]
        ax.broken_barh(bars, (row - 0.35, 0.7), color=_COLOURS.get(status.get(sid, "OK")))
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels(ids, fontsize=7)
    ax.set_ylim(-0.6, len(ids) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, float(run.end - run.start))
    ax.set_xlabel(f"seconds after {run.start}")
    ax.set_title("Data availability (colour: station status)", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def _reasons(h: StationHealth) -> str:
    return "<br>".join(html.escape(r) for r in h.reasons) or "&nbsp;"


def write_report(run: HealthRun, directory: str | Path) -> Path:
    """Write ``index.html`` and its PNG files into ``directory``; return the HTML path.

    Raises:
        DataError: the directory cannot be created or written.
    """
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create report directory {out}: {exc}") from None
    plot_availability(run, out / "availability.png")
    rows = []
    for h in run.summaries():
        m = h.metrics
        lat = m.get("latency")
        rows.append(
            f"<tr class='{h.status}'><td>{h.network}.{h.station}</td><td>{h.status}</td>"
            f"<td>{m.get('availability', 0.0):.1f}</td>"
            f"<td>{'-' if lat is None else f'{lat:.0f}'}</td><td>{_reasons(h)}</td></tr>"
        )
    chan_rows, figs = [], []
    for sid in sorted(run.channels):
        for ca in run.channels[sid]:
            h = ca.health
            m = h.metrics
            sid_full = f"{h.network}.{h.station}.{h.location}.{h.channel}"
            chan_rows.append(
                f"<tr class='{h.status}'><td>{sid_full}</td><td>{h.status}</td>"
                f"<td>{m.get('availability', 0.0):.1f}</td><td>{m.get('gap', 0):.0f}</td>"
                f"<td>{m.get('rms', float('nan')):.3g}</td><td>{m.get('spike', 0):.0f}</td>"
                f"<td>{_reasons(h)}</td></tr>"
            )
            if ca.psd is not None:
                name = f"psd_{_safe(sid_full)}.png"
                plot_psd(ca, out / name)
                figs.append(
                    f"<div class='psd'><img src='{name}' alt='PSD {sid_full}'></div>"
                )
    n = {s: sum(1 for h in run.summaries() if h.status == s) for s in ("OK", "WARN", "FAIL")}
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Station health {run.end}</title>
<style>{_CSS}</style></head><body>
<h1>Station health</h1>
<p>Window {run.start} &ndash; {run.end} (UTC), latency at {run.now}.
Stations: {n['OK']} OK, {n['WARN']} WARN, {n['FAIL']} FAIL.</p>
<h2>Availability</h2><img src="availability.png" alt="availability chart">
<h2>Stations</h2>
<table><tr><th>station</th><th>status</th><th>availability %</th><th>latency s</th>
<th>reasons</th></tr>
{''.join(rows)}</table>
<h2>Channels</h2>
<table><tr><th>channel</th><th>status</th><th>availability %</th><th>gaps</th>
<th>rms (counts)</th><th>spikes</th><th>reasons</th></tr>
{''.join(chan_rows)}</table>
<h2>Noise PSD (Peterson NLNM/NHNM)</h2>
{''.join(figs) or '<p>No PSD (no responses or too little contiguous data).</p>'}
</body></html>
"""
    path = out / "index.html"
    try:
        path.write_text(doc, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write health report {path}: {exc}") from None
    log.info("health report written to %s (%d PSD figures)", path, len(figs))
    return path
