"""Channel and station status (OK / WARN / FAIL) with human-readable reasons.

Thresholds come from :class:`seismo.health.settings.HealthConfig`; every rule is listed
in docs/health.md. Metric names follow SeisComP scqc (availability, latency,
gap, overlap, offset, rms, spike, timing, outage) plus ``clip_pct``,
``flat_s``, ``rate_hz`` and the PSD band deviations ``psd_minus_nhnm_db_<band>``
and ``psd_minus_nlnm_db_<band>`` (and, once a station has a noise baseline,
``psd_minus_baseline_db_<band>``).

Reasons are listed root cause first (:func:`cause_rank`): a station engineer reads the
first reason and fixes that; clipping comes before the spikes and the noise it causes.

"Noisy" is judged against what is normal for the channel: its own noise baseline (the
median of its earlier band levels, kept in the health state,
:class:`seismo.health.state.HealthStateTracker`), as the station-deviation metric of the
USGS Data Quality Analyzer does (Ringler et al. 2015); until a channel has one, against
Peterson's NHNM plus a margin. An urban station that always sits a few dB above the NHNM
is then normal, and a station whose noise rises far above its own level is not.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from obspy import Inventory, Stream, Trace, UTCDateTime
from obspy.core.inventory.response import Response

import seismo.health.metrics as m
from seismo.errors import DataError
from seismo.health.psd import NoisePSD, band_deviation, band_key, noise_psd
from seismo.health.settings import HealthConfig
from seismo.inventory import ChannelInfo, StationInfo
from seismo.model import HealthStatus, StationHealth
from seismo.station.settings import InstrumentConfig

log = logging.getLogger(__name__)

_RANK: dict[HealthStatus, int] = {"OK": 0, "WARN": 1, "FAIL": 2}


def worst(statuses: Sequence[HealthStatus]) -> HealthStatus:
    """The most severe status (OK < WARN < FAIL); OK for an empty sequence."""
    return max(statuses, key=lambda s: _RANK[s], default="OK")


@dataclass
class ChannelAssessment:
    """A channel's health plus what the report draws (PSD, covered intervals)."""

    health: StationHealth
    psd: NoisePSD | None = None
    intervals: tuple[tuple[float, float], ...] = ()


#: Kinds of reason, root causes first (what the word at the start of a reason says):
#: no data at all; a wrong sampling rate or a dead or stuck sensor (every other metric of
#: the channel is then meaningless); clipping (which makes spikes, an offset and noise);
#: latency (late data also lower the availability), gaps and availability, the feed,
#: overlaps (delivery); offset, timing; and last the symptoms: spikes, then the noise level.
_CAUSES = (
    ("outage",), ("sampling rate",), ("dead channel",), ("flat line",), ("clipping",),
    ("latency",), ("gap", "availability"), ("feed error",), ("overlap",), ("offset",),
    ("timing",), ("spike",), ("psd", "noisy", "quieter"),
)


_LABEL = re.compile(r"^(?:[0-9A-Za-z]{0,2}\.)?[A-Z0-9]{3}: ")


def cause_rank(reason: str) -> int:
    """Position of ``reason`` (a channel reason, or a station's ``"HHZ: reason"``) in the
    root-cause order of :data:`_CAUSES`; unknown kinds come last."""
    text = _LABEL.sub("", reason, count=1).lower()
    text = re.sub(r"^[\d.]+\s+", "", text)  # "3 gaps totalling ..." -> "gaps totalling ..."
    for rank, keys in enumerate(_CAUSES):
        if text.startswith(keys):
            return rank
    return len(_CAUSES)


def root_cause_first(reasons: Sequence[str]) -> list[str]:
    """``reasons`` ordered root cause first (stable within one kind)."""
    return sorted(reasons, key=cause_rank)


@dataclass
class _Verdict:
    status: HealthStatus = "OK"
    reasons: list[str] = field(default_factory=list)

    def add(self, status: HealthStatus, reason: str) -> None:
        self.reasons.append(reason)
        if _RANK[status] > _RANK[self.status]:
            self.status = status

    def ordered(self) -> tuple[str, ...]:
        """The reasons, root cause first; spikes on a clipping channel say where they
        come from."""
        out = root_cause_first(self.reasons)
        if any(r.startswith("clipping") for r in out):
            out = [f"{r} (from the clipping)" if cause_rank(r) == cause_rank("spike") else r
                   for r in out]
        return tuple(out)


def _fmt_s(v: float) -> str:
    return f"{v:.0f} s" if v >= 10 else f"{v:.1f} s"


def _as_traces(data: Trace | Stream | Sequence[Trace] | None) -> list[Trace]:
    if data is None:
        return []
    if isinstance(data, Trace):
        return [data]
    return list(data)


def response_for(
    inventory: Inventory | None, info: ChannelInfo, time: UTCDateTime
) -> Response | None:
    """The StationXML response of a channel at ``time`` (None if unavailable)."""
    if inventory is None:
        return None
    try:
        return inventory.get_response(info.seed_id, time)
    except Exception:  # ObsPy raises plain Exception when no epoch matches
        return None


def _check_timeliness(
    v: _Verdict,
    met: dict[str, float],
    gs: m.GapStats,
    traces: Sequence[Trace],
    info: ChannelInfo,
    now: UTCDateTime,
    cfg: HealthConfig,
) -> None:
    """Latency, sampling rate, availability (gaps) and overlaps."""
    lat = m.latency_s(gs.last_end, now)
    met.update(
        latency=lat,
        gap=float(gs.n_gaps),
        gap_s=gs.gap_s,
        overlap=float(gs.n_overlaps),
        overlap_s=gs.overlap_s,
    )
    rate = float(np.median([t.stats.sampling_rate for t in traces]))
    met["rate_hz"] = rate
    if info.sampling_rate > 0 and abs(rate / info.sampling_rate - 1.0) > cfg.rate_tolerance:
        v.add("FAIL", f"sampling rate {rate:g} Hz != {info.sampling_rate:g} Hz in StationXML")
    if lat > cfg.fail_latency_s:
        v.add("FAIL", f"latency {lat:.0f} s > {cfg.fail_latency_s:g} s")
    elif lat > cfg.warn_latency_s:
        v.add("WARN", f"latency {lat:.0f} s > {cfg.warn_latency_s:g} s")
    avail = gs.availability_pct
    if avail < cfg.warn_availability_pct:
        level: HealthStatus = "FAIL" if avail < cfg.fail_availability_pct else "WARN"
        if gs.n_gaps:
            what = f"{gs.n_gaps} gap{'s' if gs.n_gaps > 1 else ''} totalling {gs.gap_s:.1f} s"
            v.add(level, f"{what} (availability {avail:.1f} %)")
        else:
            v.add(level, f"availability {avail:.1f} % (no data in the last {_fmt_s(gs.tail_s)})")
    if gs.n_overlaps > cfg.warn_overlaps:
        v.add("WARN", f"{gs.n_overlaps} overlaps totalling {gs.overlap_s:.1f} s")


def _check_amplitudes(
    v: _Verdict,
    met: dict[str, float],
    traces: Sequence[Trace],
    info: ChannelInfo,
    covered_s: float,
    cfg: HealthConfig,
    instrument: InstrumentConfig,
) -> bool:
    """Offset, rms, dead channel, flat line, clipping, spikes, timing; True if dead."""
    x = np.concatenate([np.asarray(t.data, dtype=np.float64) for t in traces])
    offset = float(np.mean(x))
    rms = float(np.std(x))  # RMS after removing the offset (mean)
    met.update(offset=offset, rms=rms)
    if info.sensitivity:
        # counts / (counts per m/s or m/s²) -> m/s or m/s² at the sensitivity frequency
        met["offset_si"] = offset / info.sensitivity
        met["rms_si"] = rms / info.sensitivity
    fs = instrument.full_scale_counts
    dead = rms < cfg.flat_std_counts
    if dead:
        v.add("FAIL", f"dead channel (std {rms:.1f} counts over {_fmt_s(covered_s)})")
    flat = max(m.longest_flat_run(np.asarray(t.data)) * t.stats.delta for t in traces)
    met["flat_s"] = flat
    if not dead and flat >= cfg.flat_run_s:
        v.add("FAIL", f"flat line: {flat:.1f} s of identical values")
    if abs(offset) > cfg.warn_offset_pct_fs / 100.0 * fs:
        v.add("WARN", f"offset {offset:.3g} counts ({100 * abs(offset) / fs:.0f} % of full scale)")
    cp = m.clip_pct(x, fs, instrument.clip_fraction)
    met["clip_pct"] = cp
    if cp > cfg.warn_clip_pct:
        v.add(
            "FAIL" if cp > cfg.fail_clip_pct else "WARN",
            f"clipping: {cp:.2f} % of samples at >= {100 * instrument.clip_fraction:g} % "
            "of full scale",
        )
    spikes = sum(
        m.count_spikes(np.asarray(t.data), t.stats.sampling_rate, cfg.spike_threshold,
                       cfg.spike_context_s)
        for t in traces
    )
    met["spike"] = float(spikes)
    if spikes > cfg.warn_spikes:
        v.add(
            "FAIL" if spikes > cfg.fail_spikes else "WARN",
            f"{spikes} spike{'s' if spikes > 1 else ''} (> {cfg.spike_threshold:g} x MAD level)",
        )
    tq = m.timing_quality(traces)
    if tq is not None:
        met["timing"] = tq
        if tq < cfg.warn_timing_quality:
            v.add("WARN", f"timing quality {tq:.0f} % < {cfg.warn_timing_quality:g} %")
    return dead


def _median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))


def _check_noise(
    v: _Verdict,
    met: dict[str, float],
    traces: Sequence[Trace],
    info: ChannelInfo,
    response: Response,
    window_s: float,
    cfg: HealthConfig,
    baseline: Mapping[str, Sequence[float]] | None = None,
) -> NoisePSD | None:
    """Noise PSD in the configured period bands, against the channel's own baseline.

    ``baseline`` maps a band (:func:`~seismo.health.psd.band_key`) to the channel's earlier
    band levels (PSD - NHNM, dB; the health state). With at least
    ``psd_baseline_min_runs`` of them the level is compared with their median (noisy or
    quieter by more than ``psd_warn_db_above_baseline`` / ``..._below_baseline``);
    without, with the NHNM plus ``psd_warn_db_above_nhnm`` and the station's allowance.
    A level below the NLNM is always suspect (gain or response). ``psd_flag_<band>`` is 1
    when the band was flagged: a flagged level never enters the baseline.
    """
    try:
        psd = noise_psd(traces, response, min(cfg.psd_length_s, window_s))
    except Exception as exc:  # PPSD raises plain exceptions on odd responses
        log.warning("%s: PSD failed: %s", info.seed_id, exc)
        return None
    if psd is None:
        return None
    allowance = cfg.psd_nhnm_allowance_db.get(f"{info.network}.{info.station}", 0.0)
    for lo, hi in cfg.psd_bands_s:
        dev = band_deviation(psd, lo, hi)
        if dev is None:
            continue
        above_hi, above_lo = dev
        key = band_key(lo, hi)
        band = f"{lo:g}-{hi:g} s"
        met[f"psd_minus_nhnm_db_{key}"] = above_hi
        met[f"psd_minus_nlnm_db_{key}"] = above_lo
        history = list((baseline or {}).get(key, ()))
        flagged = True
        if len(history) >= cfg.psd_baseline_min_runs:
            ref = _median(history)
            rel = above_hi - ref
            met[f"psd_minus_baseline_db_{key}"] = rel
            what = f"this channel's usual level at {band} (median of its last {len(history)} runs)"
            if rel > cfg.psd_warn_db_above_baseline:
                v.add("WARN", f"noisy: PSD {rel:.1f} dB above {what}")
            elif -rel > cfg.psd_warn_db_below_baseline:
                v.add("WARN", f"PSD {-rel:.1f} dB quieter than {what} (check gain/response)")
            else:
                flagged = False
        elif above_hi > cfg.psd_warn_db_above_nhnm + allowance:
            v.add("WARN", f"noisy: PSD {above_hi:.1f} dB above NHNM at {band} (no baseline "
                          f"of this channel yet; WARN above NHNM + "
                          f"{cfg.psd_warn_db_above_nhnm + allowance:g} dB)")
        else:
            flagged = False
        if -above_lo > cfg.psd_warn_db_below_nlnm:
            flagged = True
            v.add("WARN", f"PSD {-above_lo:.1f} dB below NLNM at {band} (check gain/response)")
        met[f"psd_flag_{key}"] = 1.0 if flagged else 0.0
    return psd


def assess_channel(
    data: Trace | Stream | Sequence[Trace] | None,
    info: ChannelInfo,
    window_start: UTCDateTime,
    window_end: UTCDateTime,
    now: UTCDateTime,
    cfg: HealthConfig,
    *,
    instrument: InstrumentConfig,
    response: Response | None = None,
    baseline: Mapping[str, Sequence[float]] | None = None,
) -> ChannelAssessment:
    """Health of one channel over ``[window_start, window_end)`` as seen at ``now``
    (``.health``), with the PSD and covered intervals that reports draw.

    ``data`` holds the channel's data in counts (other channels are
    ignored; several traces mean gaps or overlaps). ``instrument`` gives the
    digitizer full scale and clip level. ``response`` (StationXML)
    enables the noise-PSD checks, judged against ``baseline`` (the channel's earlier band
    levels, :func:`_check_noise`) when given; rms/offset in SI units use
    ``info.sensitivity``.

    Raises:
        DataError: the window is empty or reversed.
    """
    if window_end <= window_start:
        raise DataError(
            f"{info.seed_id}: health window end {window_end} is not after start {window_start}"
        )
    window = float(window_end - window_start)
    traces = [
        t
        for t in _as_traces(data)
        if (t.stats.channel, t.stats.location or "") == (info.channel, info.location)
    ]
    traces = m.trim_to_window(traces, window_start, window_end)
    met: dict[str, float] = {}
    v = _Verdict()
    gs = m.gap_stats(traces, window_start, window_end)
    met["availability"] = gs.availability_pct
    met["outage"] = 0.0 if traces else 1.0
    psd = None
    if not traces:
        v.add("FAIL", f"outage: no data in the {_fmt_s(window)} window")
    else:
        _check_timeliness(v, met, gs, traces, info, now, cfg)
        dead = _check_amplitudes(v, met, traces, info, gs.covered_s, cfg, instrument)
        if response is not None and not dead:
            psd = _check_noise(v, met, traces, info, response, window, cfg, baseline)
    health = StationHealth(
        network=info.network,
        station=info.station,
        location=info.location,
        channel=info.channel,
        time=window_end,
        status=v.status,
        reasons=v.ordered(),
        metrics=met,
    )
    return ChannelAssessment(health, psd, gs.intervals if traces else ())


def _labels(infos: Sequence[ChannelInfo]) -> dict[tuple[str, str], str]:
    codes = [c.channel for c in infos]
    return {
        (c.location, c.channel): c.channel if codes.count(c.channel) == 1
        else f"{c.location}.{c.channel}"
        for c in infos
    }


def summarize_station(
    station_info: StationInfo,
    channels: Sequence[StationHealth],
    window_end: UTCDateTime,
    *,
    fetch_error: str | None = None,
) -> StationHealth:
    """The station summary (``channel == ""``): worst channel status, prefixed reasons."""
    labels = _labels(station_info.channels)
    met: dict[str, float] = {}
    counts = {s: sum(1 for c in channels if c.status == s) for s in ("OK", "WARN", "FAIL")}
    met.update(n_ok=float(counts["OK"]), n_warn=float(counts["WARN"]),
               n_fail=float(counts["FAIL"]))
    with_data = [c for c in channels if c.metrics.get("outage", 1.0) == 0.0]
    if channels:
        met["availability"] = float(np.mean([c.metrics.get("availability", 0.0) for c in channels]))
    lats = [c.metrics["latency"] for c in with_data if math.isfinite(c.metrics.get("latency", 0))]
    if lats:
        met["latency"] = max(lats)
    reasons: list[str] = []
    status: HealthStatus
    if not with_data:
        met["outage"] = 1.0
        status = "FAIL"
        reasons.append(f"outage: {fetch_error}" if fetch_error else "outage: no data in window")
    else:
        met["outage"] = 0.0
        status = worst([c.status for c in channels])
        if fetch_error:
            status = worst([status, "WARN"])
            reasons.append(f"feed error: {fetch_error}")
        for c in channels:
            label = labels.get((c.location, c.channel), c.channel)
            reasons.extend(f"{label}: {r}" for r in c.reasons)
        reasons = root_cause_first(reasons)
    return StationHealth(
        network=station_info.network,
        station=station_info.station,
        location="",
        channel="",
        time=window_end,
        status=status,
        reasons=tuple(reasons),
        metrics=met,
    )


class StationAssessment(NamedTuple):
    """A station's assessment: each StationXML channel's (with what reports draw), then
    the station summary."""

    channels: list[ChannelAssessment]
    summary: StationHealth

    @property
    def results(self) -> list[StationHealth]:
        """Health of every channel, then the station summary (last)."""
        return [a.health for a in self.channels] + [self.summary]


def assess_station(
    stream: Stream | Sequence[Trace] | None,
    station_info: StationInfo,
    window_start: UTCDateTime,
    window_end: UTCDateTime,
    now: UTCDateTime,
    cfg: HealthConfig,
    *,
    instrument: InstrumentConfig,
    fetch_error: str | None = None,
    inventory: Inventory | None = None,
    baselines: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
) -> StationAssessment:
    """Health of every StationXML channel of a station (with per-channel PSDs and
    intervals for reports), then the station summary (``.results``: all as one list).

    A station with no data in any channel is FAIL "outage" (with
    ``fetch_error`` as the reason when given). ``inventory`` supplies responses
    for the noise-PSD checks (skipped without it), judged against each channel's noise
    baseline in ``baselines`` (``"LOC.CHA"`` -> band -> earlier levels, see
    :func:`_check_noise`) when it has one.
    """
    traces = [
        t for t in _as_traces(stream)
        if (t.stats.network, t.stats.station) == (station_info.network, station_info.station)
    ]
    known = {(c.location, c.channel) for c in station_info.channels}
    extra = sorted({t.id for t in traces if (t.stats.location or "", t.stats.channel) not in known})
    if extra:
        log.warning("%s: channels not in StationXML ignored: %s", station_info.id, ", ".join(extra))
    out = []
    for info in station_info.channels:
        out.append(
            assess_channel(
                traces, info, window_start, window_end, now, cfg,
                instrument=instrument, response=response_for(inventory, info, window_start),
                baseline=(baselines or {}).get(f"{info.location}.{info.channel}"),
            )
        )
    summary = summarize_station(
        station_info, [a.health for a in out], window_end, fetch_error=fetch_error
    )
    return StationAssessment(out, summary)
