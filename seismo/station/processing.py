"""Waveform pre-processing for the picker: merge, gaps, quality flags, filtering.

Every trace is processed at its own sampling rate. Data units stay counts.

* Merge (ObsPy ``Stream.merge(method=1)``, gaps masked). Gaps of at most
  ``cfg.max_gap_s`` between valid samples are filled by linear interpolation; longer
  gaps split the channel into separate segments (never interpolated), so the picker
  restarts after them instead of triggering on the gap. NaN samples count as gaps.
* Quality flags in ``trace.stats.seismo`` (a dict) of each segment:
  ``kind`` ("velocity"/"acceleration"/None, from the inventory response units),
  ``dip`` (degrees, inventory; None if unknown), ``clipped_idx`` (sample indices with
  ``|counts| >=`` the clip level of :class:`seismo.station.settings.InstrumentConfig`),
  ``n_clipped``, ``dead`` (raw std below ``flat_std_counts`` or mostly clipped: a
  dead, flat or rail-stuck channel; no picks), ``n_spikes``.
* Isolated spikes (1-2 samples above ``spike_mad`` x the median absolute deviation
  of the previous 5 s, while both neighbours are below a third of that and ten times
  closer to the median than the spike) are replaced by linear interpolation before
  filtering [heuristic; a real onset does not jump there and back within 20 ms at
  100 Hz] (:class:`~seismo.station.despike.Despiker`).
* Filtering (:func:`prepare_stream`): demean, linear detrend, cosine taper of
  ``taper_s`` at the segment start only (causal mode: the newest samples stay
  untouched; zero-phase mode also tapers the end), Butterworth band-pass per channel
  kind (``cfg.bands``), ``zerophase = not cfg.causal``.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.signal
from obspy import Inventory, Stream, Trace, UTCDateTime

from seismo.errors import DataError
from seismo.inventory import ChannelInfo, channel_infos
from seismo.model import half_open_range
from seismo.station.despike import Despiker, despike_in_place
from seismo.station.picker.settings import PickerConfig
from seismo.station.settings import BandConfig, InstrumentConfig

log = logging.getLogger(__name__)

__all__ = [
    "CausalBandpass",
    "ChannelJoin",
    "Despiker",
    "bandpass",
    "condition_stream",
    "drop_foreign_rates",
    "prepare_stream",
    "window_segments",
]

#: Relative difference within which a record's sampling rate is the channel's rate
#: (the health check's ``rate_tolerance`` default, 1e-4, is the same order).
RATE_TOLERANCE = 1e-4


def channel_map(inventory: Inventory | None) -> Mapping[str, ChannelInfo]:
    """``NET.STA.LOC.CHA`` -> channel metadata of ``inventory`` ({} without one)."""
    return {} if inventory is None else channel_infos(inventory)


def channel_kind_of(info: ChannelInfo | None, seed_id: str) -> Any:
    """The channel kind from the inventory, else from the SEED channel code (logged)."""
    if info is not None:
        return info.kind
    kind = _kind_from_code(seed_id.split(".")[-1])
    log.info("%s not in inventory; kind %s from channel code", seed_id, kind)
    return kind


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
            rates = {c: ch.sampling_rate for c, ch in channel_map(inventory).items()}
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
    x: np.ndarray,
    fs: float,
    band: BandConfig,
    *,
    zerophase: bool,
    taper_n: int = 0,
    overwrite_x: bool = False,
) -> np.ndarray:
    """Butterworth band-pass of ``x`` (any unit) sampled at ``fs`` Hz.

    ``freqmax`` is capped at 0.9 x Nyquist [so that low-rate channels still get a
    band-pass]. ``taper_n`` samples of cosine taper are applied at the start (and at the
    end when ``zerophase``). Returns a new float64 array; ``overwrite_x`` lets the taper
    work on ``x`` itself when it is a float64 array the caller no longer needs.
    """
    nyq = 0.5 * fs
    fmax = min(band.freqmax, 0.9 * nyq)
    fmin = band.freqmin
    if fmin >= fmax:
        raise DataError(
            f"band {band.freqmin}-{band.freqmax} Hz impossible at sampling rate {fs} Hz"
        )
    if overwrite_x and isinstance(x, np.ndarray) and x.dtype == np.float64 and (
        x.flags.writeable and x.flags.c_contiguous and not isinstance(x, np.ma.MaskedArray)
    ):
        y = x
    else:
        y = np.array(x, dtype=np.float64)
    if taper_n > 0:
        m = min(taper_n, y.size // 2)
        if m > 0:
            ramp = 0.5 * (1.0 - np.cos(np.pi * np.arange(m) / m))
            y[:m] *= ramp
            if zerophase:
                y[y.size - m :] *= ramp[::-1]
    sos = _butter_sos(band.corners, fmin / nyq, fmax / nyq)
    if zerophase:  # scipy wants the sections writable
        return np.asarray(scipy.signal.sosfiltfilt(sos.copy(), y, padtype=None))
    # the same floats as scipy.signal.sosfilt (compiled when numba is there); imported
    # here because the picker package imports this module
    from seismo.station.picker.kernels import sosfilt_inplace

    return sosfilt_inplace(sos, y)


@functools.lru_cache(maxsize=64)
def _unit_zi(sos_bytes: bytes, n_sections: int) -> np.ndarray:
    """``scipy.signal.sosfilt_zi`` of a filter (read-only; it depends only on the
    coefficients, and solving for it costs more than filtering a second of data)."""
    sos = np.frombuffer(sos_bytes, dtype=np.float64).reshape(n_sections, 6)
    zi = scipy.signal.sosfilt_zi(sos)
    zi.setflags(write=False)
    return zi


class SosState:
    """A causal second-order-section filter fed in pieces, state carried: it starts in
    the steady state of a constant input equal to the first sample
    (``scipy.signal.sosfilt_zi``), so no start-up step from a DC offset."""

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = np.array(sos, dtype=np.float64)
        self.zi: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return np.empty(0)
        if self.zi is None:
            self.zi = _unit_zi(self.sos.tobytes(), self.sos.shape[0]) * float(x[0])
        # the same floats as scipy.signal.sosfilt (compiled when numba is there); imported
        # here because the picker package imports this module
        from seismo.station.picker.kernels import sosfilt_state

        y, self.zi = sosfilt_state(self.sos, x, self.zi)
        return y


class CausalBandpass:
    """The causal :func:`bandpass` of a segment fed in pieces (state carried).

    The filter starts in the steady state of a constant input equal to the first
    sample (``scipy.signal.sosfilt_zi``): no start-up step from the DC offset,
    without the mean of data not yet seen.
    """

    def __init__(self, fs: float, band: BandConfig) -> None:
        nyq = 0.5 * fs
        fmax = min(band.freqmax, 0.9 * nyq)
        if band.freqmin >= fmax:
            raise DataError(
                f"band {band.freqmin}-{band.freqmax} Hz impossible at sampling rate {fs} Hz"
            )
        self._filter = SosState(_butter_sos(band.corners, band.freqmin / nyq, fmax / nyq))

    @property
    def sos(self) -> np.ndarray:
        return self._filter.sos

    def process(self, x: np.ndarray) -> np.ndarray:
        return self._filter(x)


def interpolate_gap(last: float, nxt: float, n: int) -> np.ndarray:
    """The ``n`` samples of a short gap between ``last`` and ``nxt``: a straight line."""
    return np.interp(np.arange(1, n + 1), [0, n + 1], [last, nxt])


class ChannelJoin:
    """One channel's records, in arrival order, joined into gap-free pieces.

    The real-time form of :func:`condition_stream`'s merge: samples already seen
    (overlap) are dropped, a gap of at most ``max_gap_s`` is filled by a straight
    line between its neighbours, a longer gap (or another sampling rate) starts a
    new segment. Times are snapped to the channel's sample grid (half a sample).
    """

    def __init__(self, max_gap_s: float) -> None:
        self.max_gap_s = float(max_gap_s)
        self.fs: float | None = None
        self.next_time: UTCDateTime | None = None  # time of the next expected sample
        self._last = 0.0

    def add(
        self, start: UTCDateTime, data: np.ndarray, fs: float
    ) -> list[tuple[bool, UTCDateTime, np.ndarray]]:
        """Pieces ``(new_segment, start, samples)`` made of one record (float64)."""
        x = np.asarray(data, dtype=np.float64)
        if x.size == 0:
            return []
        fs = float(fs)
        if self.next_time is None or self.fs != fs:
            return self._restart(start, x, fs)
        k = round(float(start - self.next_time) * fs)
        if k < 0:  # overlap: drop what was seen
            if -k >= x.size:
                return []
            x = x[-k:]
            start = start - k / fs
            k = 0
        if k > math.floor(self.max_gap_s * fs + 1e-9):
            return self._restart(start, x, fs)
        out = np.concatenate([interpolate_gap(self._last, float(x[0]), k), x]) if k else x
        t0 = self.next_time
        self.next_time = t0 + out.size / fs
        self._last = float(out[-1])
        return [(False, t0, out)]

    def _restart(
        self, start: UTCDateTime, x: np.ndarray, fs: float
    ) -> list[tuple[bool, UTCDateTime, np.ndarray]]:
        self.fs = fs
        self.next_time = start + x.size / fs
        self._last = float(x[-1])
        return [(True, start, x)]


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
            vals[s:e] = interpolate_gap(vals[s - 1], vals[e], int(e - s))
            mask[s:e] = False
    t = tr.copy()
    t.data = np.ma.masked_array(vals, mask=mask) if mask.any() else vals
    return list(t.split()) if mask.any() else [t]


def condition_stream(
    stream: Stream,
    inventory: Inventory | None,
    cfg: PickerConfig,
    *,
    instrument: InstrumentConfig,
    despike: bool = True,
) -> list[Trace]:
    """Merged, gap-split, despiked raw segments (float64 counts) with quality flags.

    ``instrument`` gives the clip level (digitizer full scale times clip fraction).
    ``despike=False`` leaves spikes in (the picker despikes as it goes, with the same
    rule: :class:`Despiker`).

    One channel that cannot be merged (e.g. mixed sampling rates under one id) is
    logged and skipped; the others go on. Returns traces sorted by id and start.
    """
    chmap = channel_map(inventory)
    out: list[Trace] = []
    for sid in sorted({tr.id for tr in stream}):
        # float64 copies of the channel's traces (the input stream is never modified)
        sub = Stream(
            [
                Trace(
                    data=tr.data.astype(np.float64),  # a copy, masked arrays stay masked
                    header={k: v for k, v in tr.stats.items() if k not in ("npts", "endtime")},
                )
                for tr in stream
                if tr.id == sid
            ]
        )
        try:
            sub.merge(method=1, fill_value=None)
        except Exception as exc:  # ObsPy raises plain Exception for mixed rates
            log.warning("cannot merge %s: %s", sid, exc)
            continue
        info = chmap.get(sid)
        kind = channel_kind_of(info, sid)
        for tr in sub:
            for seg in _fill_and_split(tr, cfg.max_gap_s):
                out.append(
                    _flag(seg, kind, info, cfg, instrument.clip_level_counts, despike)
                )
    out.sort(key=lambda t: (t.id, t.stats.starttime))
    return out


def window_segments(segments: list[Trace], start: UTCDateTime, end: UTCDateTime,
                    cfg: PickerConfig) -> list[Trace]:
    """Segments of :func:`condition_stream` cut to ``[start, end)``, flagged as
    :func:`condition_stream` flags a window's own data.

    A window's samples are those the feeds would deliver for it (the half-open rule,
    :func:`seismo.model.half_open_range`; the data are views, not copies). Its clipped
    samples and its "dead" flag (std and clipped share) are those of the window; the
    despiking is that of the longer segment (its median and MAD: the same spikes unless
    one lies near the threshold).
    """
    out: list[Trace] = []
    for tr in segments:
        st = tr.stats
        fs = float(st.sampling_rate)
        i0, i1 = half_open_range(st.starttime, fs, int(st.npts), start, end)
        if i1 <= i0:
            continue
        meta = st.seismo
        x = tr.data[i0:i1]
        clip = np.asarray(meta["clipped_idx"])
        clipped_idx = clip[(clip >= i0) & (clip < i1)] - i0 if clip.size else clip
        std = float(np.std(x)) if x.size else 0.0
        dead = bool(x.size < 2 or std < cfg.flat_std_counts or clipped_idx.size > 0.5 * x.size)
        header = {
            "network": st.network, "station": st.station, "location": st.location,
            "channel": st.channel, "sampling_rate": fs, "starttime": st.starttime + i0 / fs,
        }
        cut = Trace(data=x, header=header)
        cut.stats.seismo = {
            **meta, "clipped_idx": clipped_idx, "n_clipped": int(clipped_idx.size), "dead": dead,
        }
        out.append(cut)
    return out


def _flag(
    tr: Trace,
    kind: Any,
    info: ChannelInfo | None,
    cfg: PickerConfig,
    clip_level: float,
    despike: bool = True,
) -> Trace:
    x = tr.data  # float64, owned by this segment (condition_stream copied the input)
    if isinstance(x, np.ma.MaskedArray) or x.dtype != np.float64 or not x.flags.c_contiguous:
        x = np.array(x, dtype=np.float64)
    bounds = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if -clip_level < bounds[0] and bounds[1] < clip_level:
        clipped_idx = np.zeros(0, dtype=np.int64)  # nothing near full scale (the usual case)
    else:
        clipped_idx = np.flatnonzero((x >= clip_level) | (x <= -clip_level))
    n_spikes = despike_in_place(x, cfg.spike_mad, float(tr.stats.sampling_rate)) if despike else 0
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
