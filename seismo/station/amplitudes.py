"""One station's stream -> per-second peak amplitudes (:class:`~seismo.model.AmplitudeSeries`).

Waveforms never leave the station task. What leaves it is, for every second of
the window:

* the Wood-Anderson (magnification 1) displacement peak on each horizontal
  component, nm, for ML (IASPEI standard, see :mod:`seismo.event.magnitude`);
* the peak 3-component vector sum of acceleration (m/s²) and velocity (m/s)
  after a zero-phase 0.1-10 Hz band-pass, for instrumental intensity
  (GB/T 17742-2020 processing as described by Song et al. 2021);
* the larger horizontal peak of *unfiltered* (instrument-corrected, ``pre_filt``
  only) acceleration and velocity, for MMI: Worden et al. (2012) fitted MMI to
  the larger horizontal peak of unfiltered records, not to a band-passed
  vector sum (which reads lower for small events);
* the peak vertical ground velocity in the Ms_BB band (periods 3-60 s, IASPEI
  2013 standard; within the ``pre_filt`` pass band, i.e. below ~25 s with the
  default) in nm/s, on the velocity sensor, for the broadband surface-wave
  magnitude (:mod:`seismo.event.surface`);
* the seconds where a used channel touched digitizer full scale.

Processing of one contiguous segment of one channel (one FFT, all outputs):

1. counts -> float, remove mean and linear trend, cosine taper of
   ``min(taper_s, 10 % of the segment)`` at each end, zero-pad to >= 2 n;
2. divide by the channel response to ground velocity (ObsPy
   ``Response.get_evalresp_response_for_frequencies(output="VEL")``) with a
   water level (60 dB below the peak response, ObsPy's ``remove_response``
   default) and a cosine pre-filter ``pre_filt`` (ObsPy convention
   (f1, f2, f3, f4), Hz; default (0.02, 0.04, 0.75 fN, 0.9 fN));
3. Wood-Anderson: multiply ground velocity by ``H_WA(s) / s``
   (:func:`seismo.station.response.wood_anderson_response`, displacement in ->
   displacement out, gain 1), then m -> nm;
4. velocity / acceleration: ground velocity (and ``s`` times it) multiplied by
   ``|B(f)|**2`` where ``B`` is a 4-pole Butterworth band-pass
   ``cfg.freqmin``-``cfg.freqmax`` (squared magnitude = forward-backward,
   zero-phase filtering as ObsPy's ``zerophase=True``).

Edge effects: the first and last ``taper_s`` seconds of each contiguous
segment are attenuated by the taper, and the 0.1 Hz filter rings for ~10 s, so
peaks there are biased low. Give the function data that extends beyond the
seconds you care about (the pipeline's pre/post-roll) and start the series at
the data start so that every window reports its full span.

Sensor choice (a "sensor" is the channels sharing location and the first two
channel letters, e.g. ``00.HH?``): WA prefers a velocity sensor that did not
clip in the window, then an accelerometer; PGA/PGV prefer an accelerometer that
did not clip, then a velocity sensor (a broadband sensor clips at ~13 mm/s on a
typical 24-bit network; a ±2 g accelerometer does not for felt events).
``clipped`` lists the seconds where a raw sample of a *used* channel reached the
``[instrument]`` clip level (:class:`seismo.config.InstrumentConfig`) - a clipped
broadband sensor replaced by an unclipped accelerometer does not mark the series
as clipped.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.fft
from numpy.typing import NDArray
from obspy import Inventory, Stream, Trace, UTCDateTime
from obspy.core.inventory import Response

from seismo.config import InstrumentConfig, IntensityConfig
from seismo.errors import DataError
from seismo.inventory import channel_at, channel_kind, usable_response
from seismo.model import AmplitudeSeries, ChannelKind
from seismo.station.response import (
    bandpass_power,
    inverse_velocity_response,
    wood_anderson_response,
)
from seismo.station.series import series_values as series_values  # re-exported
from seismo.station.series import series_window as series_window  # re-exported

log = logging.getLogger(__name__)

#: Shortest contiguous segment processed, seconds.
MIN_SEGMENT_S = 2.0
#: Ms_BB pass band (Hz): periods 3-60 s (IASPEI 2013 standard, Bormann & Dewey 2014 [3P]).
MS_BB_BAND_HZ = (1.0 / 60.0, 1.0 / 3.0)


@dataclass
class _Sensor:
    location: str
    prefix: str  # first two channel letters, e.g. "HH"
    kind: ChannelKind
    traces: dict[str, list[Trace]] = field(default_factory=dict)  # channel code -> traces
    comps: dict[str, str] = field(default_factory=dict)  # "Z"/"N"/"E" slot -> channel code
    responses: dict[str, Response] = field(default_factory=dict)
    clipped: set[int] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.location}.{self.prefix}?"


def _detrend(data: NDArray) -> NDArray:
    """``data`` minus its least-squares line (a new float64 array); the closed form of
    ``scipy.signal.detrend(type="linear")``."""
    x = np.array(data, dtype=np.float64)
    n = x.size
    if n < 2:
        return x - x.mean() if n else x
    tc = np.arange(n, dtype=np.float64) - 0.5 * (n - 1)
    # einsum, not np.dot: no BLAS thread pool (it stalls on a busy machine)
    slope = float(np.einsum("i,i->", tc, x)) / (n * (n * n - 1.0) / 12.0)  # sum(tc**2)
    x -= x.mean()
    x -= slope * tc
    return x


@functools.lru_cache(maxsize=64)
def _spectral_factors(
    nfft: int, fs: float, freqmin: float, freqmax: float
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """On the rfft grid (length ``nfft``, ``fs`` Hz): velocity -> WA displacement
    ``H_WA(s) / s`` (0 at DC), the band-pass power ``|B|^2``, ``|B|^2 s`` (velocity ->
    acceleration) and ``s = 2 pi i f``; read-only, cached per grid (they depend on no
    channel)."""
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    s = 2j * np.pi * freqs
    wa = np.zeros(freqs.size, dtype=np.complex128)
    nz = freqs > 0
    wa[nz] = wood_anderson_response(freqs[nz]) / s[nz]
    bp = bandpass_power(freqs, freqmin, freqmax)
    bp_s = bp * s
    for a in (wa, bp, bp_s, s):
        a.setflags(write=False)
    return wa, bp, bp_s, s


@functools.lru_cache(maxsize=16)
def _band_power(nfft: int, fs: float, lo: float, hi: float) -> NDArray:
    """``|B|^2`` of the ``lo``-``hi`` Hz band-pass on the rfft grid; read-only, cached."""
    bp = bandpass_power(np.fft.rfftfreq(nfft, 1.0 / fs), lo, hi)
    bp.setflags(write=False)
    return bp


def _process_segment(
    data: NDArray,
    fs: float,
    response: Response,
    cfg: IntensityConfig,
    want_wa: bool,
    want_motion: bool,
    taper_s: float,
    pre_filt: tuple[float, float, float, float] | None,
    want_lp: bool = False,
) -> dict[str, NDArray]:
    """Counts -> {"wa": nm, "vel"/"acc" (band-passed) and "vel_raw"/"acc_raw"
    (unfiltered): m/s, m/s², "lp" (Ms_BB band velocity): nm/s} for one segment."""
    n = data.size
    x = _detrend(data)
    nt = min(round(taper_s * fs), n // 10)
    if nt > 1:
        ramp = 0.5 * (1 - np.cos(np.pi * np.arange(nt) / nt))
        x[:nt] *= ramp
        x[-nt:] *= ramp[::-1]
    nfft = scipy.fft.next_fast_len(2 * n, real=True)
    spec = scipy.fft.rfft(x, nfft)
    nyq = fs / 2.0
    pf = pre_filt or (0.02, 0.04, 0.75 * nyq, 0.9 * nyq)
    vel_spec = spec * inverse_velocity_response(response, nfft, fs, pf)  # m/s
    wa_f, bp, bp_s, s = _spectral_factors(nfft, float(fs), cfg.freqmin, cfg.freqmax)
    out: dict[str, NDArray] = {}
    if want_wa:
        out["wa"] = scipy.fft.irfft(vel_spec * wa_f, nfft)[:n] * 1e9  # m -> nm
    if want_motion:
        out["vel"] = scipy.fft.irfft(vel_spec * bp, nfft)[:n]
        out["acc"] = scipy.fft.irfft(vel_spec * bp_s, nfft)[:n]
        out["vel_raw"] = scipy.fft.irfft(vel_spec, nfft)[:n]
        out["acc_raw"] = scipy.fft.irfft(vel_spec * s, nfft)[:n]
    if want_lp:
        lp = _band_power(nfft, float(fs), MS_BB_BAND_HZ[0], MS_BB_BAND_HZ[1])
        out["lp"] = scipy.fft.irfft(vel_spec * lp, nfft)[:n] * 1e9  # m/s -> nm/s
    return out


def _step_max(grid: NDArray, fs: float, step_s: float, n_steps: int) -> NDArray:
    """Per-step max of a sample grid starting at the series start (NaN = no data)."""
    edges = np.ceil(np.arange(n_steps) * step_s * fs - 1e-9).astype(int)
    edges = np.clip(edges, 0, grid.size)
    out = np.full(n_steps, np.nan)
    filled = np.where(np.isnan(grid), -np.inf, grid)
    if grid.size == 0:
        return out
    valid = edges < grid.size
    red = np.maximum.reduceat(filled, edges[valid])
    # reduceat of equal consecutive edges returns the element itself; treat empty steps.
    nxt = np.append(edges[1:], grid.size)[valid]
    red = np.where(nxt > edges[valid], red, -np.inf)
    out[: valid.sum()] = np.where(np.isfinite(red), red, np.nan)
    return out


def _group_sensors(stream: Stream, inventory: Inventory) -> dict[tuple[str, str], _Sensor]:
    sensors: dict[tuple[str, str], _Sensor] = {}
    for tr in stream:
        st = tr.stats
        key = (st.location or "", st.channel[:2])
        sensor = sensors.get(key)
        if sensor is None or st.channel not in sensor.responses:
            ch = channel_at(inventory, tr.id, st.starttime)
            response = usable_response(ch) if ch is not None else None
            if ch is None or response is None:  # said once at start-up
                # (seismo.inventory.report_response_gaps)
                log.debug("amplitudes: no usable response for %s at %s, skipped", tr.id,
                          st.starttime)
                continue
            kind = channel_kind(ch)
            if kind is None:
                log.warning("amplitudes: %s is neither velocity nor acceleration", tr.id)
                continue
            if sensor is None:
                sensor = sensors[key] = _Sensor(location=key[0], prefix=key[1], kind=kind)
            sensor.responses[st.channel] = response
            dip = ch.dip if ch.dip is not None else 0.0
            az = ch.azimuth if ch.azimuth is not None else 0.0
            sensor.traces.setdefault(st.channel, [])
            sensor.comps.setdefault(
                "Z" if abs(dip) > 45 else f"H{abs(math.sin(math.radians(az))):.6f}", st.channel
            )
        sensor.traces[st.channel].append(tr)
    for sensor in sensors.values():
        # Horizontal slots: the most north-pointing channel fills "N", the other "E".
        hor = sorted(k for k in sensor.comps if k.startswith("H"))
        new = {"Z": sensor.comps["Z"]} if "Z" in sensor.comps else {}
        for slot, k in zip(("N", "E"), hor, strict=False):
            new[slot] = sensor.comps[k]
        sensor.comps = new
    return sensors


def _merged(traces: list[Trace]) -> list[Trace]:
    if len(traces) == 1 and not isinstance(traces[0].data, np.ma.MaskedArray):
        return traces  # one gap-free trace: nothing to merge or split (read only)
    st = Stream(traces=[t.copy() for t in traces])
    try:
        st.merge(method=1, fill_value=None)
    except Exception as exc:  # differing sampling rates or data types
        raise DataError(f"cannot merge traces of {traces[0].id}: {exc}") from None
    return list(st.split())


def _clipped_steps(
    traces: list[Trace], start: UTCDateTime, step_s: float, n_steps: int, limit: float
) -> set[int]:
    out: set[int] = set()
    for tr in traces:
        if isinstance(tr.data, np.ma.MaskedArray):
            data: np.ma.MaskedArray = np.ma.masked_invalid(np.ma.asarray(tr.data, dtype=float))
            hit = np.flatnonzero(np.ma.filled(np.abs(data) >= limit, False))
        else:
            d = tr.data
            with np.errstate(invalid="ignore"):  # NaN compares False
                hit = np.flatnonzero((d >= limit) | (d <= -limit))
        if hit.size:
            t = (tr.stats.starttime - start) + hit / tr.stats.sampling_rate
            idx = np.floor(t / step_s).astype(int)
            out.update(int(i) for i in idx if 0 <= i < n_steps)
    return out


def _choose(sensors: list[_Sensor], need: Sequence[str]) -> _Sensor | None:
    cands = [s for s in sensors if any(c in s.comps for c in need)]
    if not cands:
        return None
    clean = [s for s in cands if not s.clipped]
    return clean[0] if clean else min(cands, key=lambda s: len(s.clipped))


@dataclass
class _Peaks:
    """Per-step peaks being filled (NaN = no data)."""

    wa: dict[str, NDArray]  # "N"/"E" -> nm
    pga: NDArray  # m/s²
    pgv: NDArray  # m/s
    pga_h: NDArray  # m/s², larger horizontal, unfiltered
    pgv_h: NDArray  # m/s, same
    lp_z: NDArray  # nm/s, vertical, Ms_BB band

    @classmethod
    def empty(cls, n_steps: int) -> _Peaks:
        nan = np.full(n_steps, np.nan)
        return cls(
            {"N": nan.copy(), "E": nan.copy()}, nan.copy(), nan.copy(), nan.copy(), nan.copy(),
            nan.copy(),
        )


@dataclass(frozen=True)
class _Processing:
    """How a sensor's segments are processed (see :func:`station_amplitudes`)."""

    cfg: IntensityConfig
    start: UTCDateTime
    n_seconds: int
    step_s: float
    n_steps: int
    taper_s: float
    pre_filt: tuple[float, float, float, float] | None


def _select_sensors(
    stream: Stream, inventory: Inventory, how: _Processing, clip_level: float
) -> tuple[_Sensor | None, _Sensor | None]:
    """The sensors used for WA and for PGA/PGV, their clipped steps marked.

    WA prefers a velocity sensor that did not clip, then an accelerometer;
    PGA/PGV an accelerometer that did not clip, then a velocity sensor.
    """
    sensors = _group_sensors(stream, inventory)
    for s in sensors.values():
        s.clipped = _clipped_steps(
            [t for trs in s.traces.values() for t in trs],
            how.start, how.step_s, how.n_steps, clip_level,
        )
    ordered = sorted(sensors.values(), key=lambda s: (s.location, s.prefix))
    vel = [s for s in ordered if s.kind == "velocity"]
    acc = [s for s in ordered if s.kind == "acceleration"]
    return _choose(vel + acc, ("N", "E")), _choose(acc + vel, ("Z", "N", "E"))


def _sensor_grids(
    sensor: _Sensor, fs: float, how: _Processing, do_wa: bool, do_mo: bool
) -> dict[str, dict[str, NDArray]]:
    """Slot ("Z"/"N"/"E") -> {"wa", "vel", "acc"} sample grids from the series start."""
    n_grid = math.ceil(how.n_seconds * fs - 1e-9)
    grids: dict[str, dict[str, NDArray]] = {}
    for slot, code in sensor.comps.items():
        g = {k: np.full(n_grid, np.nan) for k in ("wa", "vel", "acc", "vel_raw", "acc_raw", "lp")}
        try:
            segments = _merged(sensor.traces[code])
        except DataError as exc:
            log.warning("amplitudes: %s", exc)
            continue
        for seg in segments:
            if seg.stats.npts < MIN_SEGMENT_S * fs:
                continue
            res = _process_segment(
                np.asarray(seg.data, dtype=float),
                fs,
                sensor.responses[code],
                how.cfg,
                want_wa=do_wa and slot in ("N", "E"),
                want_motion=do_mo,
                taper_s=how.taper_s,
                pre_filt=how.pre_filt,
                want_lp=do_wa and slot == "Z" and sensor.kind == "velocity",
            )
            off = round((seg.stats.starttime - how.start) * fs)
            lo, hi = max(off, 0), min(off + seg.stats.npts, n_grid)
            if hi <= lo:
                continue
            for k, v in res.items():
                g[k][lo:hi] = v[lo - off : hi - off]
        grids[slot] = g
    return grids


def _fill_peaks(
    peaks: _Peaks,
    grids: dict[str, dict[str, NDArray]],
    fs: float,
    how: _Processing,
    do_wa: bool,
    do_mo: bool,
) -> None:
    """Per-step WA peaks per horizontal and the 3-component vector-sum PGA/PGV peaks."""
    if do_wa:
        for slot in ("N", "E"):
            if slot in grids:
                peaks.wa[slot] = _step_max(np.abs(grids[slot]["wa"]), fs, how.step_s, how.n_steps)
    if do_wa and "Z" in grids:
        peaks.lp_z[:] = _step_max(np.abs(grids["Z"]["lp"]), fs, how.step_s, how.n_steps)
    if do_mo:
        hor = [grids[k] for k in ("N", "E") if k in grids]
        for key, target in (("acc_raw", peaks.pga_h), ("vel_raw", peaks.pgv_h)):
            if hor:
                stack = np.vstack([np.abs(g[key]) for g in hor])
                have = np.any(np.isfinite(stack), axis=0)
                top = np.max(np.where(np.isfinite(stack), stack, -1.0), axis=0)
                top = np.where(have, top, np.nan)
                target[:] = _step_max(top, fs, how.step_s, how.n_steps)
    if do_mo and grids:
        for key, target in (("acc", peaks.pga), ("vel", peaks.pgv)):
            stack = np.vstack([g[key] for g in grids.values()])
            have = np.any(np.isfinite(stack), axis=0)
            vsum = np.sqrt(np.nansum(stack**2, axis=0))
            vsum[~have] = np.nan
            target[:] = _step_max(vsum, fs, how.step_s, how.n_steps)


def _labels(sensor: _Sensor | None, slots: Sequence[str]) -> tuple[str, ...]:
    if sensor is None:
        return ()
    return tuple(f"{sensor.location}.{sensor.comps[k]}" for k in slots if k in sensor.comps)


def station_amplitudes(
    stream: Stream,
    inventory: Inventory,
    start: UTCDateTime,
    n_seconds: int,
    cfg: IntensityConfig,
    *,
    instrument: InstrumentConfig,
    step_s: float = 1.0,
    taper_s: float = 5.0,
    pre_filt: tuple[float, float, float, float] | None = None,
) -> AmplitudeSeries | None:
    """Per-second WA, PGA and PGV peaks of one station over ``[start, start + n_seconds)``.

    Args:
        stream: one station's traces in counts (HH? velocity and/or HN?
            acceleration; gaps and masked arrays allowed).
        inventory: StationXML with the channels' full responses.
        start: first second of the series (use the data start, see module doc).
        n_seconds: length of the series, s.
        cfg: PGA/PGV band-pass (``freqmin``/``freqmax``, Hz).
        instrument: the digitizer (clip level of the ``clipped`` seconds).
        step_s: step of the series, s.
        taper_s: cosine taper at each segment end, s.
        pre_filt: ObsPy-style (f1, f2, f3, f4) pre-filter, Hz.
    Returns:
        The series, or None when no channel of the stream could be used.
    Raises:
        DataError: the stream mixes stations, or arguments are invalid.
    """
    if n_seconds <= 0 or step_s <= 0:
        raise DataError(f"n_seconds ({n_seconds}) and step_s ({step_s}) must be > 0")
    if len(stream) == 0:
        return None
    ids = {(tr.stats.network, tr.stats.station) for tr in stream}
    if len(ids) > 1:
        raise DataError(f"station_amplitudes needs one station's stream, got {sorted(ids)}")
    net, sta = ids.pop()
    how = _Processing(
        cfg, start, n_seconds, step_s, math.ceil(n_seconds / step_s - 1e-9), taper_s, pre_filt
    )
    wa_sensor, mo_sensor = _select_sensors(stream, inventory, how, instrument.clip_level_counts)
    if wa_sensor is None and mo_sensor is None:
        log.warning("amplitudes: no usable channel for %s.%s", net, sta)
        return None

    peaks = _Peaks.empty(how.n_steps)
    for sensor in {id(s): s for s in (wa_sensor, mo_sensor) if s is not None}.values():
        rates = {tr.stats.sampling_rate for trs in sensor.traces.values() for tr in trs}
        if len(rates) != 1:
            log.warning(
                "amplitudes: %s.%s %s mixes sampling rates %s, skipped",
                net, sta, sensor.label, sorted(rates),
            )
            continue
        fs = rates.pop()
        do_wa, do_mo = sensor is wa_sensor, sensor is mo_sensor
        grids = _sensor_grids(sensor, fs, how, do_wa, do_mo)
        _fill_peaks(peaks, grids, fs, how, do_wa, do_mo)

    clipped: set[int] = set()
    for used in (wa_sensor, mo_sensor):
        if used is not None:
            clipped |= used.clipped
    if clipped:
        log.info("amplitudes: %s.%s clipped in %d s", net, sta, len(clipped))
    return AmplitudeSeries(
        network=net,
        station=sta,
        start=start,
        step_s=float(step_s),
        wa_n_nm=tuple(float(v) for v in peaks.wa["N"]),
        wa_e_nm=tuple(float(v) for v in peaks.wa["E"]),
        pga_ms2=tuple(float(v) for v in peaks.pga),
        pgv_ms=tuple(float(v) for v in peaks.pgv),
        pga_h_ms2=tuple(float(v) for v in peaks.pga_h),
        pgv_h_ms=tuple(float(v) for v in peaks.pgv_h),
        lp_z_nms=tuple(float(v) for v in peaks.lp_z),
        clipped=tuple(sorted(clipped)),
        wa_channels=_labels(wa_sensor, ("N", "E")),
        motion_channels=_labels(mo_sensor, ("Z", "N", "E")),
    )
