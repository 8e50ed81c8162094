"""Waveform pre-processing for the picker: merge, gaps, quality flags, filtering.

Every trace is processed at its own sampling rate. Data units stay counts.

* Merge (ObsPy ``Stream.merge(method=1)``, gaps masked). Gaps of at most
  ``cfg.max_gap_s`` between valid samples are filled by linear interpolation; longer
  gaps split the channel into separate segments (never interpolated), so the picker
  restarts after them instead of triggering on the gap. NaN samples count as gaps.
* Quality flags in ``trace.stats.seismo`` (a dict) of each segment:
  ``kind`` ("velocity"/"acceleration"/None, from the inventory response units),
  ``dip`` (degrees, inventory; None if unknown), ``clipped_idx`` (sample indices with
  ``|counts| >=`` the clip level of :class:`seismo.config.InstrumentConfig`),
  ``n_clipped``, ``dead`` (raw std below ``flat_std_counts`` or mostly clipped: a
  dead, flat or rail-stuck channel; no picks), ``n_spikes``.
* Isolated spikes (1-2 samples above ``spike_mad`` x the median absolute deviation
  while both neighbours are below a third of that) are replaced by linear
  interpolation before filtering [heuristic; a real onset does not jump there and
  back within 20 ms at 100 Hz].
* Filtering (:func:`prepare_stream`): demean, linear detrend, cosine taper of
  ``taper_s`` at the segment start only (causal mode: the newest samples stay
  untouched; zero-phase mode also tapers the end), Butterworth band-pass per channel
  kind (``cfg.bands``), ``zerophase = not cfg.causal``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np
import scipy.signal
from obspy import Inventory, Stream, Trace

from seismo.config import BandConfig, InstrumentConfig, PickerConfig
from seismo.errors import DataError
from seismo.inventory import ChannelInfo, stations

log = logging.getLogger(__name__)

__all__ = ["bandpass", "condition_stream", "drop_foreign_rates", "prepare_stream"]

#: Relative difference within which a record's sampling rate is the channel's rate
#: (the health check's ``rate_tolerance`` default, 1e-4, is the same order).
RATE_TOLERANCE = 1e-4


def _channel_map(inventory: Inventory | None) -> dict[str, ChannelInfo]:
    out: dict[str, ChannelInfo] = {}
    if inventory is None:
        return out
    for sta in stations(inventory):
        for ch in sta.channels:
            out[ch.seed_id] = ch
    return out


def drop_foreign_rates(stream: Stream, inventory: Inventory | None) -> tuple[Stream, list[str]]:
    """Drop the records of a channel whose sampling rate is not the channel's rate.

    The channel's rate is the StationXML ``SampleRate`` when some records have it
    (within :data:`RATE_TOLERANCE`; those are set to it exactly, so they merge),
    else the rate that carries the most samples. One stray 50 Hz record inside a
    100 Hz day file so costs that record only, never the channel or the station.
    Returns the kept stream and one description per channel with dropped records.
    """
    rates: dict[str, float] | None = None  # the inventory is read only when rates differ
    by_id: dict[str, list[Trace]] = {}
    for tr in stream:
        by_id.setdefault(tr.id, []).append(tr)
    kept: list[Trace] = []
    dropped: list[str] = []
    for cid, traces in by_id.items():
        found = {float(tr.stats.sampling_rate) for tr in traces}
        if len(found) == 1:
            kept += traces
            continue
        if rates is None:
            rates = {c: ch.sampling_rate for c, ch in _channel_map(inventory).items()}
        ref = rates.get(cid, 0.0)

        def near(rate: float, ref: float = ref) -> bool:
            return ref > 0 and abs(rate / ref - 1.0) <= RATE_TOLERANCE

        if not any(near(r) for r in found):
            weight: dict[float, int] = {}
            for tr in traces:
                r = float(tr.stats.sampling_rate)
                weight[r] = weight.get(r, 0) + int(tr.stats.npts)
            ref = max(weight, key=lambda r: (weight[r], r))
        good = [tr for tr in traces if near(float(tr.stats.sampling_rate), ref)]
        bad = [tr for tr in traces if tr not in good]
        for tr in good:
            tr.stats.sampling_rate = ref
        kept += good
        if bad:
            other = sorted({float(tr.stats.sampling_rate) for tr in bad})
            dropped.append(
                f"{cid}: dropped {len(bad)} segment(s) ({sum(tr.stats.npts for tr in bad)} "
                f"samples) at {', '.join(f'{r:g}' for r in other)} Hz; the channel is "
                f"{ref:g} Hz"
            )
    return Stream(kept), dropped


def _kind_from_code(channel: str) -> str | None:
    # SEED instrument code: H/L seismometer (velocity), N/G accelerometer.
    inst = channel[1:2]
    return {"H": "velocity", "L": "velocity", "N": "acceleration", "G": "acceleration"}.get(inst)


@functools.lru_cache(maxsize=256)
def _butter_sos(corners: int, lo: float, hi: float) -> np.ndarray:
    """Same design as obspy.signal.filter.bandpass (second-order sections), cached."""
    sos = scipy.signal.iirfilter(corners, [lo, hi], btype="band", ftype="butter", output="sos")
    sos.setflags(write=False)
    return sos


def bandpass(
    x: np.ndarray, fs: float, band: BandConfig, *, zerophase: bool, taper_n: int = 0
) -> np.ndarray:
    """Butterworth band-pass of ``x`` (any unit) sampled at ``fs`` Hz.

    ``freqmax`` is capped at 0.9 x Nyquist [so that low-rate channels still get a
    band-pass]. ``taper_n`` samples of cosine taper are applied at the start (and at the
    end when ``zerophase``). Returns a new float64 array.
    """
    nyq = 0.5 * fs
    fmax = min(band.freqmax, 0.9 * nyq)
    fmin = band.freqmin
    if fmin >= fmax:
        raise DataError(
            f"band {band.freqmin}-{band.freqmax} Hz impossible at sampling rate {fs} Hz"
        )
    y = np.array(x, dtype=np.float64)
    if taper_n > 0:
        m = min(taper_n, y.size // 2)
        if m > 0:
            ramp = 0.5 * (1.0 - np.cos(np.pi * np.arange(m) / m))
            y[:m] *= ramp
            if zerophase:
                y[y.size - m :] *= ramp[::-1]
    sos = _butter_sos(band.corners, fmin / nyq, fmax / nyq).copy()  # scipy wants it writable
    if zerophase:
        return np.asarray(scipy.signal.sosfiltfilt(sos, y, padtype=None))
    return np.asarray(scipy.signal.sosfilt(sos, y))


def _fill_and_split(tr: Trace, max_gap_s: float) -> list[Trace]:
    """Interpolate masked runs <= max_gap_s, split at longer ones."""
    data = tr.data
    fs = float(tr.stats.sampling_rate)
    if isinstance(data, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(data)
        vals = np.asarray(data.data, dtype=np.float64)
    else:
        vals = np.asarray(data, dtype=np.float64)
        mask = np.zeros(vals.size, dtype=bool)
    mask = mask | ~np.isfinite(vals)
    if not mask.any():
        return [tr]
    max_n = int(np.floor(max_gap_s * fs + 1e-9))
    d = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    vals = vals.copy()
    for s, e in zip(starts, ends, strict=True):
        if s > 0 and e < vals.size and (e - s) <= max_n:
            # gap of (e - s) missing samples bounded by valid ones: linear interpolation
            vals[s:e] = np.interp(np.arange(s, e), [s - 1, e], [vals[s - 1], vals[e]])
            mask[s:e] = False
    t = tr.copy()
    t.data = np.ma.masked_array(vals, mask=mask) if mask.any() else vals
    return list(t.split()) if mask.any() else [t]


def _despike(x: np.ndarray, k: float) -> int:
    """Replace isolated 1-2 sample spikes in place; return how many samples were replaced."""
    if k <= 0 or x.size < 8:
        return 0
    med = float(np.median(x))
    dev = np.abs(x - med)
    mad = float(np.median(dev)) or 1e-30
    big = dev > k * mad
    if not big.any():
        return 0
    small = dev < (k / 3.0) * mad
    idx = np.flatnonzero(big)
    n = 0
    for i in idx:
        for w in (1, 2):  # spike of width w starting at i
            j = i + w
            if i >= 1 and j < x.size and small[i - 1] and small[j] and big[i:j].all():
                x[i:j] = np.interp(np.arange(i, j), [i - 1, j], [x[i - 1], x[j]])
                big[i:j] = False
                n += w
                break
    return n


def condition_stream(
    stream: Stream,
    inventory: Inventory | None,
    cfg: PickerConfig,
    *,
    instrument: InstrumentConfig,
) -> list[Trace]:
    """Merged, gap-split, despiked raw segments (float64 counts) with quality flags.

    ``instrument`` gives the clip level (digitizer full scale times clip fraction).

    One channel that cannot be merged (e.g. mixed sampling rates under one id) is
    logged and skipped; the others go on. Returns traces sorted by id and start.
    """
    chmap = _channel_map(inventory)
    out: list[Trace] = []
    for sid in sorted({tr.id for tr in stream}):
        sub = stream.select(id=sid).copy()
        try:
            for tr in sub:
                if isinstance(tr.data, np.ma.MaskedArray):
                    tr.data = tr.data.astype(np.float64)
                else:
                    tr.data = np.asarray(tr.data, dtype=np.float64)
            sub.merge(method=1, fill_value=None)
        except Exception as exc:  # ObsPy raises plain Exception for mixed rates
            log.warning("cannot merge %s: %s", sid, exc)
            continue
        info = chmap.get(sid)
        kind = info.kind if info is not None else _kind_from_code(sid.split(".")[-1])
        if info is None:
            log.info("%s not in inventory; kind %s from channel code", sid, kind)
        for tr in sub:
            for seg in _fill_and_split(tr, cfg.max_gap_s):
                out.append(_flag(seg, kind, info, cfg, instrument.clip_level_counts))
    out.sort(key=lambda t: (t.id, t.stats.starttime))
    return out


def _flag(
    tr: Trace, kind: Any, info: ChannelInfo | None, cfg: PickerConfig, clip_level: float
) -> Trace:
    x = np.array(tr.data, dtype=np.float64)
    clipped_idx = np.flatnonzero(np.abs(x) >= clip_level)
    n_spikes = _despike(x, cfg.spike_mad)
    std = float(np.std(x)) if x.size else 0.0
    dead = bool(x.size < 2 or std < cfg.flat_std_counts or clipped_idx.size > 0.5 * x.size)
    tr.data = x
    tr.stats.seismo = {
        "kind": kind,
        "dip": info.dip if info is not None else None,
        "clipped_idx": clipped_idx,
        "n_clipped": int(clipped_idx.size),
        "dead": dead,
        "n_spikes": n_spikes,
    }
    if dead:
        log.info("%s from %s flagged dead/flat (std %.3g counts)", tr.id, tr.stats.starttime, std)
    return tr


def prepare_stream(
    stream: Stream,
    inventory: Inventory | None,
    cfg: PickerConfig,
    *,
    instrument: InstrumentConfig,
) -> Stream:
    """Pre-processed stream: one float64, band-passed trace per gap-free segment.

    Steps: :func:`condition_stream`, then per segment demean, linear detrend, taper
    (``cfg.taper_s``), band-pass of its kind (``cfg.bands``; unknown kind: the
    "velocity" band), causal unless ``cfg.causal`` is False. Flags stay in
    ``trace.stats.seismo``. Segments too short to filter (< 10 samples) are dropped.
    """
    out = Stream()
    for tr in condition_stream(stream, inventory, cfg, instrument=instrument):
        if tr.stats.npts < 10:
            continue
        fs = float(tr.stats.sampling_rate)
        kind = tr.stats.seismo.get("kind") or "velocity"
        band = cfg.bands.get(kind) or cfg.bands.get("velocity")
        if band is None:
            raise DataError(f"no band-pass configured for channel kind {kind!r} ({tr.id})")
        y = scipy.signal.detrend(tr.data - tr.data.mean(), type="linear")
        try:
            tr.data = bandpass(
                y, fs, band, zerophase=not cfg.causal, taper_n=round(cfg.taper_s * fs)
            )
        except DataError as exc:
            log.warning("%s: %s", tr.id, exc)
            continue
        out.append(tr)
    return out
