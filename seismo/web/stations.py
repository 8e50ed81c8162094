"""What the console reads about stations: the wall, one station's history, its noise.

The wall and the history read the store's ``station_health`` measurement (written by
the health DAG and ``seismo health``: :func:`seismo.health.run_health`); the noise
is the health check's own PPSD (:func:`seismo.health.run.assess_network`, the same
fetch and :func:`seismo.health.psd.noise_psd` as ``seismo health --report``), over
the health window for the PSD now and over ``[web] pdf_span_s`` for the probability
density. Everything returned is JSON-able; times are epoch seconds or ISO 8601 (UTC).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from obspy import UTCDateTime

from seismo.config import Settings
from seismo.errors import SeismoError
from seismo.health.stream import StreamStatus
from seismo.inventory import StationInfo
from seismo.io.store import InfluxStore
from seismo.io.store.points import utc_from_us
from seismo.model import StationHealth


def _num(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), nd)


def _sig(x: float | None, digits: int = 4) -> float | None:
    """``x`` to ``digits`` significant digits (metrics span 1e-9 m/s to 1e2 %)."""
    return None if x is None or not math.isfinite(float(x)) else float(f"{float(x):.{digits}g}")


def _iso(t: UTCDateTime | None) -> str | None:
    return None if t is None else UTCDateTime(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def wall(settings: Settings, stations: list[StationInfo], store: InfluxStore,
         now: UTCDateTime) -> dict[str, Any]:
    """Each station's latest health (status, reasons, latency, availability, and its
    worst channel's gaps: ``gaps`` count and ``gap_s`` seconds, which include the data
    not yet arrived at the window end) within two health windows of ``now``, and the
    real-time stream's heartbeat."""
    span = 2 * settings.health.window_s
    rows = store.query_health(now - span, now)
    hb = heartbeat(settings, store, now)
    latest: dict[str, StationHealth] = {}
    gaps: dict[tuple[str, float], tuple[float, float]] = {}  # the worst channel's
    for h in rows:  # oldest first: the last one wins
        sid = f"{h.network}.{h.station}"
        if not h.channel:
            latest[sid] = h
        else:
            n, secs = gaps.get((sid, float(h.time)), (0.0, 0.0))
            gaps[(sid, float(h.time))] = (max(n, float(h.metrics.get("gap", 0.0))),
                                          max(secs, float(h.metrics.get("gap_s", 0.0))))
    out = []
    for s in sorted(stations, key=lambda s: s.id):
        last = latest.get(s.id)
        m = last.metrics if last else {}
        gap = gaps.get((s.id, float(last.time))) if last else None
        out.append({"id": s.id, "latitude": s.latitude, "longitude": s.longitude,
                    "name": s.site_name, "status": last.status if last else "UNKNOWN",
                    "reasons": list(last.reasons) if last else [
                        f"no health result in the last {span / 60:.0f} min"],
                    "time": _iso(last.time) if last else None,
                    "latency_s": _num(m.get("latency"), 1),
                    "availability_pct": _num(m.get("availability"), 1),
                    "gaps": gap[0] if gap else None,
                    "gap_s": _num(gap[1], 1) if gap else None})
    counts = {k: sum(1 for s in out if s["status"] == k) for k in ("OK", "WARN", "FAIL",
                                                                    "UNKNOWN")}
    return {"now": _iso(now), "window_s": settings.health.window_s, "counts": counts,
            "stations": out, "stream": hb.to_dict()}


def heartbeat(settings: Settings, store: InfluxStore, now: UTCDateTime) -> StreamStatus:
    """Is ``seismo stream`` up: the health run's rule (:func:`seismo.health.stream.
    stream_status`) on the newest heartbeat, without its logging and notices (the health
    DAG raises those; the wall only shows)."""
    from seismo.health.stream import LOOKBACK_S, stream_status

    if not settings.stream.monitored:
        return StreamStatus(None, detail="seismo stream not monitored")
    try:
        row = store.last_heartbeat(now - LOOKBACK_S)
    except SeismoError as exc:
        return StreamStatus(None, detail=f"heartbeat unreadable: {exc}")
    last = utc_from_us(int(row["time"])) if row else None
    return stream_status(last, now, settings.stream.heartbeat_down_s)


def history(info: StationInfo, store: InfluxStore, now: UTCDateTime,
            hours: float) -> dict[str, Any]:
    """One station's health over the last ``hours``: per channel (``LOC.CHA``) and for
    the station (``station``) the window ends (epoch s), status, reasons and metrics."""
    rows = store.query_health(now - hours * 3600, now, station=info.station)
    series: dict[str, dict[str, list[Any]]] = {}
    for h in rows:
        if h.network != info.network:
            continue
        key = (h.channel and f"{h.location}.{h.channel}") or "station"
        s = series.setdefault(key, {"time": [], "status": [], "reasons": []})
        n = len(s["time"])
        s["time"].append(float(h.time))
        s["status"].append(h.status)
        s["reasons"].append("; ".join(h.reasons))
        for k, v in h.metrics.items():
            s.setdefault(k, [None] * n).append(_sig(v))
        for vals in s.values():  # a metric missing in this row
            if len(vals) == n:
                vals.append(None)
    return {"id": info.id, "name": info.site_name, "latitude": info.latitude,
            "longitude": info.longitude, "elevation_m": info.elevation_m,
            "channels": [c.seed_id for c in info.channels], "hours": hours,
            "since": float(now - hours * 3600), "until": float(now), "series": series}


def noise(settings: Settings, inventory: Any, station_id: str,
          span_s: float | None = None) -> dict[str, Any]:
    """The station's noise per channel over the last ``span_s`` (default and minimum:
    the health window): the median PSD, and the probability density of its segments
    as ``[period index, power index, percent]`` cells of the non-empty bins
    (PPSD's bins: ``db_edges`` dB), with Peterson's NLNM and NHNM."""
    from seismo.health.psd import noise_models
    from seismo.health.run import assess_network

    span = max(settings.health.window_s, span_s or 0.0)
    s = settings if span == settings.health.window_s else settings.model_copy(
        update={"health": settings.health.model_copy(update={"window_s": span})})
    run = assess_network(s, inventory, stations=[station_id])
    periods = np.logspace(-2, 2.5, 60)
    nlnm, nhnm = noise_models(periods)
    chans = []
    for ca in run.channels.get(station_id, []):
        h = ca.health
        row: dict[str, Any] = {"channel": f"{h.location}.{h.channel}", "status": h.status,
                               "reasons": list(h.reasons), "n_segments": 0}
        if ca.psd is not None:
            row.update({"periods_s": np.round(ca.psd.periods_s, 4).tolist(),
                        "db": np.round(ca.psd.db, 1).tolist(),
                        "n_segments": ca.psd.n_segments})
            pdf = ca.psd.pdf
            if pdf is not None:
                i, j = np.nonzero(pdf.percent)
                row["pdf"] = {
                    "db_edges": np.round(pdf.db_edges, 2).tolist(),
                    "mode_db": np.round(pdf.mode_db, 1).tolist(),
                    "cells": [[int(a), int(b), round(float(pdf.percent[a, b]), 1)]
                              for a, b in zip(i, j, strict=True)],
                }
        chans.append(row)
    return {"id": station_id, "span_s": span, "start": _iso(run.start), "end": _iso(run.end),
            "segment_s": min(settings.health.psd_length_s, span), "channels": chans,
            "models": {"periods_s": periods.round(4).tolist(), "nlnm": np.round(nlnm, 1).tolist(),
                       "nhnm": np.round(nhnm, 1).tolist()}}
