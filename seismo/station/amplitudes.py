"""One station's samples -> per-step peak amplitudes (:class:`~seismo.model.AmplitudeSeries`).

Waveforms never leave the station. What leaves it is, for every step (1 s) of a span:

* the Wood-Anderson (magnification 1) displacement peak on each horizontal
  component, nm, for ML (IASPEI standard, see :mod:`seismo.event.magnitude`);
* the peak 3-component vector sum of acceleration (m/s²) and velocity (m/s)
  after a 0.1-10 Hz band-pass, for instrumental intensity (GB/T 17742-2020
  processing as described by Song et al. 2021);
* the larger horizontal peak of *unfiltered* (instrument-corrected, ``pre_filt``
  only) acceleration and velocity, for MMI: Worden et al. (2012) fitted MMI to
  the larger horizontal peak of unfiltered records, not to a band-passed
  vector sum (which reads lower for small events);
* the peak vertical ground velocity in the Ms_BB band (periods 3-60 s, IASPEI
  2013 standard; within the ``pre_filt`` pass band, i.e. below ~25 s with the
  default) in nm/s, on the velocity sensor, for the broadband surface-wave
  magnitude (:mod:`seismo.event.surface`);
* the steps where a used channel touched digitizer full scale.

One implementation for a window and for real time: :class:`StationMotion` keeps the
state of every filter per channel and the running peaks per step, so samples fed
record by record give the same peaks as the same samples fed at once
(:func:`station_amplitudes`, the window form; tests/station/test_amplitudes.py).

Processing of one channel (causal recursive filters, state carried; the design and
its sources are in :mod:`seismo.station.response`):

1. counts -> ground velocity (m/s): :func:`~seismo.station.response.velocity_sos`
   (inverse of the StationXML poles and zeros, high-pass at ``pre_filt[1]``, low-pass
   at ``pre_filt[3]`` where needed; ObsPy's pre-filter convention (f1, f2, f3, f4),
   default (0.02, 0.04, 0.75 fN, 0.9 fN)); the filters start in the steady state of
   the first sample;
2. Wood-Anderson displacement (horizontals):
   :func:`~seismo.station.response.wood_anderson_sos`, m -> nm;
3. velocity and acceleration: a 4-corner Butterworth band-pass
   ``cfg.freqmin``-``cfg.freqmax`` (one causal pass), and its time derivative
   (:func:`~seismo.station.response.differentiator_sos`); the unfiltered
   acceleration is the derivative of the instrument-corrected velocity;
4. Ms_BB band (vertical velocity sensor): the same Butterworth band-pass over
   ``MS_BB_BAND_HZ`` (one causal pass), m/s -> nm/s.

A gap (any missing sample) restarts the channel's filters; steps without samples are
NaN. The 3-component vector sum is formed sample by sample once every component of
the sensor has the sample; a component more than ``lag_s`` behind the others is left
out of the sum for the samples it misses.

Edge effects: the 0.04 Hz high-pass needs tens of seconds to settle after a
(re)start, so peaks there can be biased; give a window data from before the seconds
it cares about (the pipeline's pre-roll).

Sensor choice (a "sensor" is the channels sharing location and the first two
channel letters, e.g. ``00.HH?``), made per span: WA prefers a velocity sensor that
did not clip in the span, then an accelerometer; PGA/PGV prefer an accelerometer
that did not clip, then a velocity sensor (a broadband sensor clips at ~13 mm/s on
a typical 24-bit network; a ±2 g accelerometer does not for felt events).
``clipped`` lists the steps where a raw sample of a *used* channel reached the
``[instrument]`` clip level (:class:`seismo.station.settings.InstrumentConfig`) - a clipped
broadband sensor replaced by an unclipped accelerometer does not mark the series
as clipped.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from obspy import Inventory, Stream, Trace, UTCDateTime
from obspy.core.inventory import Response

from seismo.errors import DataError
from seismo.inventory import channel_kind, usable_response
from seismo.model import AmplitudeSeries, ChannelKind
from seismo.station.peaks import SensorPeaks, assemble_series
from seismo.station.processing import ChannelJoin, SosState
from seismo.station.response import (
    HF_BAND_HZ,
    MS_BB_BAND_HZ,
    differentiator_sos,
    displacement_highpass_sos,
    long_period_pre_filt,
    long_period_usable,
    motion_bandpass_sos,
    velocity_sos,
    wood_anderson_sos,
)
from seismo.station.series import series_values as series_values  # re-exported
from seismo.station.series import series_window as series_window  # re-exported
from seismo.station.settings import InstrumentConfig, MotionBandConfig

log = logging.getLogger(__name__)


#: Old steps are dropped once this many more are past ``keep_s`` (a batch, not per record).
_PRUNE_EVERY_STEPS = 30


class ChannelMotion:
    """Counts of one gap-free piece of a channel -> ``vel``, ``acc`` (band-passed),
    ``vel_raw``, ``acc_raw`` (unfiltered), and (``want_wa``) ``wa``, (``vertical``) ``hf``
    and ``pd``, (``want_lp``) ``lp`` and ``dz`` sample streams (m/s, m/s², nm, nm/s),
    state carried between calls.

    A vertical of a sensor usable at long periods (``want_lp``) is corrected with
    ``lp_pre_filt`` (:func:`~seismo.station.response.long_period_pre_filt`): its ``dz`` is
    the broadband ground displacement of Mwp and Mwpd (a running sum of the velocity,
    offset arbitrary), its ``lp`` the Ms_BB band."""

    def __init__(
        self,
        response: Response,
        fs: float,
        cfg: MotionBandConfig,
        want_wa: bool,
        pre_filt: tuple[float, float, float, float] | None,
        want_lp: bool = False,
        *,
        vertical: bool = False,
        lp_pre_filt: tuple[float, float, float, float] | None = None,
    ) -> None:
        correction = (lp_pre_filt or long_period_pre_filt(fs)) if want_lp else pre_filt
        self.to_vel = SosState(velocity_sos(response, fs, correction))
        self.band = SosState(motion_bandpass_sos(fs, cfg.freqmin, cfg.freqmax))
        self.diff = SosState(differentiator_sos(fs))
        self.diff_raw = SosState(differentiator_sos(fs))
        self.wa = SosState(wood_anderson_sos(fs)) if want_wa else None
        self.lp = SosState(motion_bandpass_sos(fs, *MS_BB_BAND_HZ)) if want_lp else None
        self.want_lp = want_lp
        self.disp_nm = 0.0  # the running displacement (nm) at the end of the last sample
        self.dt = 1.0 / fs
        self.hf = SosState(motion_bandpass_sos(fs, *HF_BAND_HZ)) if vertical else None
        self.pd = SosState(displacement_highpass_sos(fs)) if vertical else None

    def process(self, counts: NDArray) -> dict[str, NDArray]:
        v = self.to_vel(np.asarray(counts, dtype=np.float64))
        vb = self.band(v)
        out = {"vel": vb, "acc": self.diff(vb), "vel_raw": v, "acc_raw": self.diff_raw(v)}
        if self.wa is not None:
            out["wa"] = self.wa(v) * 1e9  # m -> nm
        if self.lp is not None:
            out["lp"] = self.lp(v) * 1e9  # m/s -> nm/s
        if self.want_lp:  # displacement: running sum of the velocity (nm)
            d = self.disp_nm + np.cumsum(v) * (self.dt * 1e9)
            if d.size:
                self.disp_nm = float(d[-1])
            out["dz"] = d
        if self.hf is not None:
            out["hf"] = self.hf(v) * 1e9  # m/s -> nm/s
        if self.pd is not None:
            out["pd"] = self.pd(v) * 1e9  # m -> nm
        return out


@dataclass
class _Comp:
    code: str  # channel code
    slot: str  # "Z", "N", "E"
    response: Response
    join: ChannelJoin = field(default_factory=lambda: ChannelJoin(0.0))
    motion: ChannelMotion | None = None
    next_k: int | None = None  # sample index (on the sensor grid) of the next sample
    k0: int = 0  # sample index of buf[...][0]
    vel: NDArray = field(default_factory=lambda: np.empty(0))
    acc: NDArray = field(default_factory=lambda: np.empty(0))


_LP_USABLE: dict[int, tuple[Response, bool]] = {}


def _long_period_usable(response: Response, kind: ChannelKind) -> bool:
    """:func:`~seismo.station.response.long_period_usable`, once per response object."""
    hit = _LP_USABLE.get(id(response))
    if hit is not None and hit[0] is response:
        return hit[1]
    ok = long_period_usable(response, kind)
    if len(_LP_USABLE) > 1024:
        _LP_USABLE.clear()
    _LP_USABLE[id(response)] = (response, ok)
    return ok


def _step_sum(
    sums: dict[int, float], counts: dict[int, int], k0: int, values: NDArray, spp: int
) -> None:
    """Merge per-step sums and sample counts of ``values`` (sample ``k0`` first, ``spp``
    per step) into ``sums`` and ``counts`` (a step's mean: sum / count, when complete)."""
    if values.size == 0:
        return
    first = k0 // spp
    edges = np.arange((first + 1) * spp, k0 + values.size, spp) - k0
    starts = np.concatenate([[0], edges]).astype(np.int64)
    tot = np.add.reduceat(values, starts)
    num = np.diff(np.concatenate([starts, [values.size]]))
    for j, (v, c) in enumerate(zip(tot.tolist(), num.tolist(), strict=True)):
        s = first + j
        sums[s] = sums.get(s, 0.0) + v
        counts[s] = counts.get(s, 0) + c


def _step_max(peaks: dict[int, float], k0: int, values: NDArray, spp: int) -> None:
    """Merge per-step maxima of ``values`` (sample ``k0`` first, ``spp`` per step; NaN
    ignored) into ``peaks``."""
    if values.size == 0:
        return
    first = k0 // spp
    edges = np.arange((first + 1) * spp, k0 + values.size, spp) - k0
    starts = np.concatenate([[0], edges]).astype(np.int64)
    filled = np.where(np.isnan(values), -np.inf, values)
    red = np.maximum.reduceat(filled, starts)
    for j, v in enumerate(red.tolist()):
        if v != -np.inf:
            s = first + j
            old = peaks.get(s)
            peaks[s] = v if old is None or v > old else old


@dataclass
class _Sensor(SensorPeaks):
    """A sensor's peaks (:class:`~seismo.station.peaks.SensorPeaks`) and its components."""

    comps: dict[str, _Comp] = field(default_factory=dict)  # channel code -> component
    first_k: int | None = None  # first sample index any component delivered

    def slot_code(self, slot: str) -> str | None:
        return next((c.code for c in self.comps.values() if c.slot == slot), None)


class StationMotion:
    """Per-step WA, PGA and PGV peaks of one station, from samples as they arrive.

    Args:
        network, station: the station; its channels come from ``inventory`` (responses,
            orientation; channels without a usable response are left out, logged).
        cfg: PGA/PGV band-pass (``freqmin``/``freqmax``, Hz).
        instrument: the digitizer (clip level of the ``clipped`` steps).
        origin: time of step 0's start; steps are ``step_s`` long.
        pre_filt: ObsPy-style (f1, f2, f3, f4) pre-filter, Hz.
        keep_s: steps older than this (before the newest sample) are dropped (None: kept).
        lag_s: a component this far behind its sensor's newest is not waited for.
        at: time for the inventory epoch (default: every epoch; the first one of a
            channel is used).
    """

    def __init__(
        self,
        network: str,
        station: str,
        inventory: Inventory,
        cfg: MotionBandConfig,
        *,
        instrument: InstrumentConfig,
        origin: UTCDateTime,
        step_s: float = 1.0,
        pre_filt: tuple[float, float, float, float] | None = None,
        keep_s: float | None = None,
        lag_s: float = 10.0,
        at: UTCDateTime | None = None,
    ) -> None:
        if step_s <= 0:
            raise DataError(f"step_s ({step_s}) must be > 0")
        self.network, self.station = network, station
        self.cfg = cfg
        self.clip_level = instrument.clip_level_counts
        self.origin = UTCDateTime(origin)
        self.step_s = float(step_s)
        self.pre_filt = pre_filt
        self.keep_s = keep_s
        self.lag_s = float(lag_s)
        self.sensors: dict[tuple[str, str], _Sensor] = {}
        self.newest: UTCDateTime | None = None
        self._pruned_to = -(2**62)  # steps before this are dropped (:meth:`_prune`)
        self._dirty: int | None = None  # the lowest step changed since :meth:`take_changes`
        self._build(inventory, at)

    # ------------------------------------------------------------------ set-up
    def _build(self, inventory: Inventory, at: UTCDateTime | None) -> None:
        sel = inventory.select(network=self.network, station=self.station, time=at)
        chans = [(c, s) for n in sel for s in n for c in s]
        for ch, _sta in chans:
            response = usable_response(ch) if ch.sample_rate else None
            if response is None:  # said once at start-up (seismo.inventory.report_response_gaps)
                log.debug("amplitudes: no usable response for %s.%s.%s.%s, skipped",
                          self.network, self.station, ch.location_code, ch.code)
                continue
            kind = channel_kind(ch)
            if kind is None:
                log.warning("amplitudes: %s.%s.%s.%s is neither velocity nor acceleration",
                            self.network, self.station, ch.location_code, ch.code)
                continue
            key = (ch.location_code or "", ch.code[:2])
            sensor = self.sensors.get(key)
            fs = float(ch.sample_rate)
            if sensor is None:
                sensor = self.sensors[key] = _Sensor(key[0], key[1], kind, fs)
            elif sensor.fs != fs:
                log.warning("amplitudes: %s.%s %s.%s? mixes sampling rates, %s skipped",
                            self.network, self.station, key[0], key[1], ch.code)
                continue
            if ch.code in sensor.comps:
                continue
            dip = ch.dip if ch.dip is not None else 0.0
            az = ch.azimuth if ch.azimuth is not None else 0.0
            slot = "Z" if abs(dip) > 45 else f"H{abs(math.sin(math.radians(az))):.6f}"
            sensor.comps[ch.code] = _Comp(ch.code, slot, response)
            if slot == "Z":
                sensor.lp_ok = response is ch.response and _long_period_usable(response, kind)
                if not sensor.lp_ok:
                    log.debug("amplitudes: %s.%s.%s.%s not usable at 3-60 s (no Ms_BB, Mwp)",
                              self.network, self.station, ch.location_code, ch.code)
        for sensor in self.sensors.values():
            # Horizontal slots: the most north-pointing channel fills "N", the other "E".
            hor = sorted((c for c in sensor.comps.values() if c.slot.startswith("H")),
                         key=lambda c: (c.slot, c.code))
            for slot, c in zip(("N", "E"), hor, strict=False):
                c.slot = slot
            for c in hor[2:]:
                del sensor.comps[c.code]

    def _spp(self, sensor: _Sensor) -> int:
        return round(self.step_s * sensor.fs)

    # ------------------------------------------------------------------ input
    def feed(self, tr: Trace, *, advance: bool = True) -> None:
        """Raw counts of one channel of the station (any order of channels; each
        channel's samples in time order; overlap dropped, gaps restart its filters).

        ``advance=False`` leaves the vector sums to :meth:`finish` (a window: the other
        components come later in the same call, not later in time).
        """
        st = tr.stats
        if (st.network, st.station) != (self.network, self.station):
            raise DataError(
                f"StationMotion of {self.network}.{self.station} got {st.network}.{st.station}"
            )
        sensor = self.sensors.get((st.location or "", st.channel[:2]))
        comp = None if sensor is None else sensor.comps.get(st.channel)
        if sensor is None or comp is None:
            return
        fs = float(st.sampling_rate)
        if fs != sensor.fs:
            log.warning("amplitudes: %s at %s Hz, inventory says %s Hz: skipped", tr.id, fs,
                        sensor.fs)
            return
        pieces = tr.split() if isinstance(tr.data, np.ma.MaskedArray) else [tr]
        for piece in pieces:
            data = np.asarray(piece.data, dtype=np.float64)
            good = np.isfinite(data)
            if not good.all():  # NaN samples are gaps
                for seg in Stream([piece.copy()]).split():
                    self._feed_piece(sensor, comp, seg.stats.starttime, seg.data, fs)
                continue
            self._feed_piece(sensor, comp, piece.stats.starttime, data, fs)
        if advance:
            self._advance(sensor, final=False)
            self._prune()

    def _feed_piece(
        self, sensor: _Sensor, comp: _Comp, start: UTCDateTime, data: NDArray, fs: float
    ) -> None:
        for new, t0, x in comp.join.add(start, data, fs):
            if x.size == 0:
                continue
            k = round(float(t0 - self.origin) * fs)
            if new or comp.motion is None:
                comp.motion = ChannelMotion(
                    comp.response, fs, self.cfg, comp.slot in ("N", "E"), self.pre_filt,
                    want_lp=comp.slot == "Z" and sensor.lp_ok, vertical=comp.slot == "Z",
                )
            if comp.next_k is not None and k > comp.next_k:  # a gap: NaN until k
                pad = np.full(k - comp.next_k, np.nan)
                comp.vel = np.concatenate([comp.vel, pad])
                comp.acc = np.concatenate([comp.acc, pad])
            elif comp.next_k is None:
                comp.k0 = k
                if sensor.first_k is None:
                    sensor.first_k = k
            spp = self._spp(sensor)
            self._touched(k // spp)
            hit = np.flatnonzero(np.abs(x) >= self.clip_level)
            if hit.size:
                sensor.clipped.update(((k + hit) // spp).tolist())
            out = comp.motion.process(x)
            if "wa" in out:
                _step_max(sensor.wa[comp.slot], k, np.abs(out["wa"]), spp)
            if "lp" in out:
                _step_max(sensor.lp_z, k, np.abs(out["lp"]), spp)
            if "dz" in out:
                _step_sum(sensor.dz_sum, sensor.dz_n, k, out["dz"], spp)
            if "hf" in out:
                _step_max(sensor.hf_z, k, np.abs(out["hf"]), spp)
            if "pd" in out:
                _step_max(sensor.pd_z, k, np.abs(out["pd"]), spp)
            if comp.slot in ("N", "E"):  # the larger horizontal: the max over both
                _step_max(sensor.pga_h, k, np.abs(out["acc_raw"]), spp)
                _step_max(sensor.pgv_h, k, np.abs(out["vel_raw"]), spp)
            comp.vel = np.concatenate([comp.vel, out["vel"]])
            comp.acc = np.concatenate([comp.acc, out["acc"]])
            comp.next_k = k + x.size
            end = t0 + x.size / fs
            if self.newest is None or end > self.newest:
                self.newest = end

    def finish(self) -> None:
        """End of the data: form the vector sums of every sample received."""
        for sensor in self.sensors.values():
            self._advance(sensor, final=True)

    def _advance(self, sensor: _Sensor, final: bool) -> None:
        """Vector sums of the samples every (not lagging) component has."""
        live = [c for c in sensor.comps.values() if c.next_k is not None]
        if not live or sensor.first_k is None:
            return
        pos = {c.code: c.next_k if c.next_k is not None else sensor.first_k
               for c in sensor.comps.values()}
        newest = max(pos.values())
        lag = round(self.lag_s * sensor.fs)
        # a component that is behind (or has not started) is waited for up to lag_s
        frontier = newest if final else min(p for p in pos.values() if p >= newest - lag)
        start = sensor.done_k if sensor.done_k is not None else sensor.first_k
        if frontier is None or frontier <= start:
            return
        n = frontier - start
        vel = np.full((len(live), n), np.nan)
        acc = np.full((len(live), n), np.nan)
        for i, c in enumerate(live):
            a = max(start, c.k0)
            b = min(frontier, c.k0 + c.vel.size)
            if b > a:
                vel[i, a - start : b - start] = c.vel[a - c.k0 : b - c.k0]
                acc[i, a - start : b - start] = c.acc[a - c.k0 : b - c.k0]
            # drop what is summed (a lagging component's late samples are dropped too)
            cut = min(max(frontier - c.k0, 0), c.vel.size)
            c.vel, c.acc, c.k0 = c.vel[cut:], c.acc[cut:], c.k0 + cut
        spp = self._spp(sensor)
        self._touched(start // spp)
        for stack, peaks in ((acc, sensor.pga), (vel, sensor.pgv)):
            have = np.any(np.isfinite(stack), axis=0)
            vsum = np.sqrt(np.nansum(stack**2, axis=0))
            vsum[~have] = np.nan
            _step_max(peaks, start, vsum, spp)
        sensor.done_k = frontier

    def _prune(self) -> None:
        if self.keep_s is None or self.newest is None:
            return
        first = math.floor((self.newest - self.keep_s - self.origin) / self.step_s)
        if first < self._pruned_to + _PRUNE_EVERY_STEPS:
            return  # amortised: steps are dropped in batches, not at every record
        self._pruned_to = first
        for sensor in self.sensors.values():
            sensor.prune(first)

    # ------------------------------------------------------------------ output
    def series(self, start: UTCDateTime, n_seconds: float) -> AmplitudeSeries | None:
        """The series of the steps ``[start, start + n_seconds)`` (start on the step grid:
        it is rounded to it), sensors chosen over that span; None without a usable channel.
        """
        return assemble_series(self.network, self.station, self.origin, self.step_s,
                               self.sensors.values(), start, n_seconds)

    # ------------------------------------------------------------------ changes
    @property
    def pruned_to(self) -> int:
        """Steps before this one were dropped (``keep_s``)."""
        return self._pruned_to

    def take_changes(self) -> list[dict[str, Any]]:
        """The steps that changed since the last call, per sensor
        (:meth:`~seismo.station.peaks.SensorPeaks.delta`: from the lowest step fed or
        summed since then to the newest), and forget them; empty when nothing changed."""
        first, self._dirty = self._dirty, None
        if first is None or self.newest is None:
            return []
        end = math.floor(float(self.newest - self.origin) / self.step_s) + 1
        first = max(first, self._pruned_to)
        if end <= first:
            return []
        return [s.delta(first, end) for s in self.sensors.values()]

    def _touched(self, step: int) -> None:
        if self._dirty is None or step < self._dirty:
            self._dirty = step

def station_amplitudes(
    stream: Stream,
    inventory: Inventory,
    start: UTCDateTime,
    n_seconds: int,
    cfg: MotionBandConfig,
    *,
    instrument: InstrumentConfig,
    step_s: float = 1.0,
    pre_filt: tuple[float, float, float, float] | None = None,
) -> AmplitudeSeries | None:
    """Per-second WA, PGA and PGV peaks of one station over ``[start, start + n_seconds)``.

    The window form of :class:`StationMotion`: every trace fed at once.

    Args:
        stream: one station's traces in counts (HH? velocity and/or HN?
            acceleration; gaps and masked arrays allowed).
        inventory: StationXML with the channels' full responses.
        start: first second of the series (use the data start, see module doc).
        n_seconds: length of the series, s.
        cfg: PGA/PGV band-pass (``freqmin``/``freqmax``, Hz).
        instrument: the digitizer (clip level of the ``clipped`` seconds).
        step_s: step of the series, s.
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
    sm = StationMotion(net, sta, inventory, cfg, instrument=instrument, origin=start,
                       step_s=step_s, pre_filt=pre_filt, at=start)
    for tr in sorted(stream, key=lambda t: (t.id, t.stats.starttime)):
        sm.feed(tr, advance=False)
    sm.finish()
    out = sm.series(start, n_seconds)
    if out is None or (not out.wa_channels and not out.motion_channels):
        log.warning("amplitudes: no usable channel for %s.%s", net, sta)
        return None
    return out
