"""One gap-free segment of one channel, processed as its samples arrive.

:class:`ChannelSegment` carries every stateful step of the picker from one call to
the next: the despiker (:class:`~seismo.station.despike.Despiker`), the causal
trigger-band filter (:class:`~seismo.station.processing.CausalBandpass`), the main
and the coda STA/LTA (:mod:`seismo.station.picker.detector`), both triggers
(:class:`~seismo.station.picker.trigger.Trigger`) and rolling buffers of the raw and
filtered samples for the AIC onset, SNR, polarity and amplitude. A segment fed in
one call (a window) and the same segment fed packet by packet (real time) give the
same candidates: every step waits until the samples it reads exist.

When a trigger is decided
    A main trigger is accepted once it lasted ``min_trigger_s``. A coda trigger is
    kept (re-arming, :mod:`seismo.station.picker.pick`) once the main detector has
    seen ``station_merge_s`` beyond it. The AIC onset is taken when the samples up to
    ``aic_window_s / 2`` after the trigger exist, the polarity when 0.5 s after the
    onset exist. At the end of the data (:meth:`ChannelSegment.finish`) whatever
    exists is used, as a window does at its end.

Dead channels
    A trigger is dropped when the raw samples of the LTA span before it are flat
    (std below ``flat_std_counts``) or mostly clipped: a dead or rail-stuck channel.

:meth:`ChannelSegment.horizon` is the earliest time an onset still to come can have,
which lets the station merge its channels' onsets without waiting longer than needed.
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass

import numpy as np
from obspy import Trace, UTCDateTime

from seismo.model import ChannelKind, Polarity
from seismo.station.despike import Despiker
from seismo.station.picker.detector import sta_lta_state
from seismo.station.picker.onset import (
    POLARITY_POST_S,
    POLARITY_PRE_S,
    _polarity,
    onset_uncertainty,
    two_stage_onset,
)
from seismo.station.picker.settings import PickerConfig
from seismo.station.picker.trigger import Trigger, TriggerInterval
from seismo.station.processing import CausalBandpass
from seismo.station.settings import BandConfig, InstrumentConfig

log = logging.getLogger(__name__)

#: Seconds of raw filter run-in read before the AIC window (``two_stage_onset``).
_RUN_IN_S = 1.0


class RollingBuffer:
    """Samples of a segment from absolute index ``lo`` on (older ones dropped).

    Kept as the pieces they arrived in (appending copies nothing; a read that spans
    pieces joins them). The arrays appended must not change afterwards.
    """

    def __init__(self) -> None:
        self._pieces: list[np.ndarray] = []
        self._starts: list[int] = []  # absolute index of each piece's first sample
        self.lo = 0
        self.hi = 0

    @property
    def data(self) -> np.ndarray:
        """Every kept sample, from ``lo``, as one array."""
        if len(self._pieces) > 1:
            self._pieces, self._starts = [np.concatenate(self._pieces)], [self.lo]
        return self._pieces[0] if self._pieces else np.empty(0)

    def append(self, x: np.ndarray) -> None:
        if x.size:
            self._pieces.append(x)
            self._starts.append(self.hi)
            self.hi += x.size

    def get(self, a: int, b: int) -> np.ndarray:
        """Samples ``[a, b)`` (clamped to what is kept)."""
        a = max(a, self.lo)
        b = min(b, self.hi)
        if b <= a:
            return np.empty(0)
        k = bisect.bisect_right(self._starts, a) - 1
        s0, piece = self._starts[k], self._pieces[k]
        if b <= s0 + piece.size:
            return piece[a - s0 : b - s0]
        parts = []
        while a < b:
            s0, piece = self._starts[k], self._pieces[k]
            parts.append(piece[a - s0 : min(b, s0 + piece.size) - s0])
            a = s0 + piece.size
            k += 1
        return np.concatenate(parts)

    def trim(self, keep_from: int) -> None:
        """Drop samples before ``keep_from`` (whole pieces; the piece it falls in is cut
        when most of it is older)."""
        while len(self._pieces) > 1 and self._starts[1] <= keep_from:
            self._pieces.pop(0)
            self._starts.pop(0)
        if self._pieces:
            self.lo = self._starts[0]
            cut = min(keep_from, self.hi) - self.lo
            if cut > 0 and cut * 2 >= self._pieces[0].size:
                self._pieces[0] = self._pieces[0][cut:].copy()
                self._starts[0] = self.lo = self.lo + cut


@dataclass
class Candidate:
    """An onset on one channel, before the station picks one per onset."""

    segment: ChannelSegment
    onset: int  # sample index in the segment
    trigger: TriggerInterval
    snr: float
    uncertainty_s: float
    polarity: Polarity | None

    @property
    def time(self) -> UTCDateTime:
        return self.segment.time_of(self.onset)

    @property
    def trigger_on(self) -> UTCDateTime:
        return self.segment.time_of(self.trigger.on)

    @property
    def trigger_off(self) -> UTCDateTime | None:
        """End of the trigger when it ended within the AIC window after it, else None
        (still on when the onset was picked)."""
        off = self.trigger.off
        if off is None or off > self.trigger.on + self.segment.w_after:
            return None
        return self.segment.time_of(off)

    def amplitude_window(self) -> tuple[int, int]:
        seg = self.segment
        a1 = min(seg.n, self.onset + max(1, round(seg.cfg.amplitude_window_s * seg.fs)))
        return self.onset, a1

    def amplitude(self) -> float:
        """Peak |filtered| (counts) in ``amplitude_window_s`` after the onset (so far)."""
        a0, a1 = self.amplitude_window()
        y = self.segment.filt.get(a0, a1)
        return float(np.abs(y).max()) if y.size else 0.0

    def clipped(self) -> bool:
        """A clipped sample in the amplitude window (so far)."""
        a0, a1 = self.amplitude_window()
        return self.segment.n_clipped(a0, a1) > 0


@dataclass
class _Pending:
    trigger: TriggerInterval
    onset: int | None = None
    snr: float = 0.0
    ref: np.ndarray | None = None  # refinement-band snippet from the AIC window start
    aic: np.ndarray | None = None
    k: int = 0  # onset index in ``ref``


class ChannelSegment:
    """The picker state of one gap-free segment of one channel (module docstring).

    Args:
        header: network, station, location, channel.
        start: time of the first sample; ``fs``: sampling rate (Hz).
        kind, dip: channel kind and dip (degrees) from the inventory (None: unknown).

    Every sample is kept until :meth:`trim` drops the old ones (the station does,
    :meth:`~seismo.station.picker.station.StationPicker.trim`).
    """

    def __init__(
        self,
        header: dict[str, str],
        start: UTCDateTime,
        fs: float,
        kind: ChannelKind | None,
        dip: float | None,
        cfg: PickerConfig,
        instrument: InstrumentConfig,
    ) -> None:
        self.header = dict(header)
        self.start = UTCDateTime(start)
        self.fs = float(fs)
        self.kind = kind
        self.dip = dip
        self.cfg = cfg
        self.clip_level = instrument.clip_level_counts
        self.n = 0  # samples released by the despiker (processed)
        self.raw = RollingBuffer()
        self.filt = RollingBuffer()
        self._clipped: list[np.ndarray] = []
        self.despiker = Despiker(cfg.spike_mad, self.fs)
        fsr = self.fs
        self.nsta = max(1, round(cfg.sta_s * fsr))
        self.nlta = max(self.nsta + 1, round(cfg.lta_s * fsr))
        self.w_before = round(cfg.aic_window_s * fsr)
        self.w_after = round(cfg.aic_window_s * fsr / 2)
        self.merge_n = round(cfg.station_merge_s * fsr)
        self.min_len = round(cfg.min_trigger_s * fsr)
        self.picking = kind in cfg.channel_kinds
        self.band: BandConfig | None = cfg.bands.get(kind) if kind else None
        if self.band is None:
            self.picking = False
        self.pending: list[_Pending] = []
        self._ons: list[int] = []  # accepted main ons and kept coda ons (re-arming rule)
        self._coda_wait: list[TriggerInterval] = []
        self.finished = False
        if self.picking:
            assert self.band is not None
            self.bp = CausalBandpass(fsr, self.band)
            self.main = sta_lta_state(cfg.method, self.nsta, self.nlta)
            max_len = max(1, round(cfg.max_trigger_s * fsr))
            self.trig = Trigger(cfg.trig_on, cfg.trig_off, min_len=self.min_len,
                                max_len=max_len, dead_time=round(cfg.dead_time_s * fsr))
            self.coda_on = cfg.coda_trig_on > 0
            if self.coda_on:
                c_sta = max(1, round(cfg.coda_sta_s * fsr))
                c_lta = max(c_sta + 1, round(cfg.coda_lta_s * fsr))
                self.coda = sta_lta_state("recursive", c_sta, c_lta)
                self.coda_trig = Trigger(
                    cfg.coda_trig_on, min(cfg.trig_off, 0.5 * cfg.coda_trig_on),
                    min_len=self.min_len, max_len=max_len, dead_time=0,
                )

    # ------------------------------------------------------------------ times
    @property
    def seed_id(self) -> str:
        h = self.header
        return f"{h['network']}.{h['station']}.{h['location']}.{h['channel']}"

    def time_of(self, i: int) -> UTCDateTime:
        return self.start + i / self.fs

    @property
    def end_time(self) -> UTCDateTime:
        """Time just after the last processed sample."""
        return self.start + self.n / self.fs

    @property
    def received_end(self) -> UTCDateTime:
        """Time just after the last sample received (processed or held back)."""
        return self.start + (self.n + self.despiker.held) / self.fs

    def horizon(self) -> UTCDateTime | None:
        """No onset before this time can still come from this segment (None: none can)."""
        if self.finished or not self.picking:
            return None
        first = self.n
        for p in self.pending:
            first = min(first, p.trigger.on)
        for t in self._coda_wait:
            first = min(first, t.on)
        for on in (self.trig.pending_on, self.coda_trig.pending_on if self.coda_on else None):
            if on is not None:
                first = min(first, on)
        return self.time_of(first - self.w_before)

    def n_clipped(self, a: int, b: int) -> int:
        return sum(int(np.count_nonzero((c >= a) & (c < b))) for c in self._clipped)

    def trace(self) -> Trace:
        """The kept raw samples as a Trace (``stats.seismo``: kind, dip)."""
        tr = Trace(self.raw.data, header={**self.header, "sampling_rate": self.fs,
                                          "starttime": self.time_of(self.raw.lo)})
        tr.stats.seismo = {"kind": self.kind, "dip": self.dip}
        return tr

    # ------------------------------------------------------------------ feeding
    def feed(self, x: np.ndarray) -> list[Candidate]:
        """Process the next raw samples (counts, contiguous); return new candidates."""
        return self._advance(self.despiker.process(np.asarray(x, dtype=np.float64)), False)

    def finish(self) -> list[Candidate]:
        """End of the segment: process what is held back and decide what is pending."""
        if self.finished:
            return []
        out = self._advance(self.despiker.process(np.empty(0), final=True), True)
        self.finished = True
        return out

    def _advance(self, y: np.ndarray, final: bool) -> list[Candidate]:
        i0 = self.n
        if y.size:
            if y.max() >= self.clip_level or y.min() <= -self.clip_level:  # rarely
                self._clipped.append(np.flatnonzero(np.abs(y) >= self.clip_level) + i0)
            self.raw.append(y)
        if self.picking:
            f = self.bp.process(y) if y.size else np.empty(0)
            if f.size:
                self.filt.append(f)
                for t in self.trig.feed(self.main.process(f)):
                    self.pending.append(_Pending(t))
                    self._ons.append(t.on)
                if self.coda_on:
                    cc = self.coda.process(f)
                    warm = self.nlta - i0  # the main detector's warm-up: no onset there
                    if warm > 0:
                        cc[: min(warm, cc.size)] = 0.0
                    self._coda_wait += self.coda_trig.feed(cc)
            if final:
                self.trig.finish()
                if self.coda_on:
                    self.coda_trig.finish()
        self.n += y.size
        out: list[Candidate] = []
        if self.picking:
            self._decide_coda(final)
            out = self._decide(final)
        self._prune()
        return out

    def _decide_coda(self, final: bool) -> None:
        """Keep a coda onset with no main (or kept coda) onset within ``station_merge_s``."""
        while self._coda_wait:
            t = self._coda_wait[0]
            limit = t.on + self.merge_n
            pend = self.trig.pending_on
            if not final and (self.n - 1 < limit + self.min_len or
                              (pend is not None and pend <= limit)):
                return
            self._coda_wait.pop(0)
            if all(abs(t.on - o) > self.merge_n for o in self._ons):
                self.pending.append(_Pending(t))
                self._ons.append(t.on)

    def _decide(self, final: bool) -> list[Candidate]:
        out: list[Candidate] = []
        keep: list[_Pending] = []
        for p in sorted(self.pending, key=lambda q: q.trigger.on):
            if p.onset is None:
                if not final and self.n < p.trigger.on + self.w_after:
                    keep.append(p)
                    continue
                if not self._locate(p):
                    continue
            assert p.onset is not None
            if not final and self.n < p.onset + round(POLARITY_POST_S * self.fs):
                keep.append(p)
                continue
            out.append(self._candidate(p))
        self.pending = keep
        return out

    def _locate(self, p: _Pending) -> bool:
        """AIC onset, SNR and the drop rules of a trigger; False: dropped."""
        cfg, fs = self.cfg, self.fs
        i_on = p.trigger.on
        i0, i1 = max(0, i_on - self.w_before), min(self.n, i_on + self.w_after)
        if i1 - i0 < 10:
            return False
        p0 = max(0, i0 - round(_RUN_IN_S * fs))
        assert self.band is not None
        found = two_stage_onset(self.raw.get(p0, i1), i0 - p0, fs, self.band, cfg)
        if found is None:
            return False
        k, snip, ref, aic = found
        onset = i0 + k
        noise = float(np.sqrt(np.mean(snip[:k] ** 2))) or 1e-30
        snr = float(np.sqrt(np.mean(snip[k:] ** 2))) / noise
        if snr < cfg.min_snr:
            return False
        if self.n_clipped(i0, onset):
            log.debug("%s: trigger at %s rejected, clipped before onset", self.seed_id,
                      self.time_of(i_on))
            return False
        if self._dead(i_on):
            return False
        p.onset, p.snr, p.ref, p.aic, p.k = onset, snr, ref, aic, k
        return True

    def _dead(self, i_on: int) -> bool:
        a = max(0, i_on - self.nlta)
        x = self.raw.get(a, i_on)
        if x.size < 2:
            return True
        return bool(np.std(x) < self.cfg.flat_std_counts or self.n_clipped(a, i_on) > 0.5 * x.size)

    def _candidate(self, p: _Pending) -> Candidate:
        cfg, fs = self.cfg, self.fs
        assert p.onset is not None and p.ref is not None and p.aic is not None
        unc = onset_uncertainty(p.ref, p.k, p.aic, fs, cfg.min_uncertainty_samples / fs)
        polarity = None
        if _is_vertical(self.dip, self.header["channel"]):
            pre = p.onset - max(0, p.onset - round(POLARITY_PRE_S * fs))
            seg = self.raw.get(p.onset - pre, p.onset + round(POLARITY_POST_S * fs))
            assert self.band is not None
            polarity = _polarity(seg, pre, fs, self.band, cfg, unc)
            if polarity is not None and float(self.dip or -90.0) > 0:
                polarity = "negative" if polarity == "positive" else "positive"  # dip +90: down
        return Candidate(self, p.onset, p.trigger, round(p.snr, 2), round(unc, 4), polarity)

    def _prune(self) -> None:
        keep_n = self.merge_n + self.w_before + self.w_after
        self._ons = [o for o in self._ons if o >= self.n - keep_n]

    def index_of(self, t: UTCDateTime) -> int:
        """Index of the first sample at or after ``t``."""
        return math.ceil(float(t - self.start) * self.fs - 1e-6)

    def trim(self, keep_from: int) -> None:
        """Drop the samples before index ``keep_from``, except those a trigger still to
        be decided reads (its AIC window and the filter run-in before it)."""
        lo = keep_from
        for p in self.pending:
            lo = min(lo, p.trigger.on - self.w_before - round(_RUN_IN_S * self.fs))
        self.raw.trim(lo)
        self.filt.trim(lo)
        self._clipped = [c for c in self._clipped if c.size and c[-1] >= lo]


def _is_vertical(dip: float | None, channel: str) -> bool:
    if dip is not None and abs(float(dip)) > 60.0:
        return True
    return bool(dip is None and channel.endswith("Z"))
