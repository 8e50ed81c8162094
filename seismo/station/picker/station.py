"""One station's picks from its channels' samples, in one piece or as they arrive.

:class:`StationPicker` holds a :class:`~seismo.station.picker.segment.ChannelSegment`
per channel (a new one after a gap longer than ``max_gap_s``) and merges their
candidates into one pick per station per onset, labelled P or S (the rules of
:mod:`seismo.station.picker.pick`). It is the one implementation behind both
paths:

* a window (:func:`~seismo.station.picker.pick.pick_stream`): every conditioned
  segment is added whole (:meth:`StationPicker.add_segment`), then
  :meth:`StationPicker.flush`;
* real time (``seismo stream``): each record is fed as it arrives
  (:meth:`StationPicker.feed`);
* a long range (``seismo detect``): each chunk of an archive, every channel's
  traces of the chunk at once, then the station settles
  (:meth:`StationPicker.feed_span`). The state carries from chunk to chunk, so
  every sample is picked once and the picks are those of the same samples fed
  record by record (tests/station/test_picker_state.py).

Final and provisional picks
    An onset cluster (candidates of the station within ``station_merge_s`` of its
    first) is *final* once no candidate can still join it: its first onset plus
    ``station_merge_s`` lies before the horizon of every channel that is not lagging
    (:meth:`ChannelSegment.horizon`; a channel more than ``lag_s`` behind the
    station's newest one is not waited for). Then the same data exist in both paths
    and the pick is the same. Until then :meth:`StationPicker.provisional` gives the
    cluster's pick from what exists so far (real time: ~1 s after the trigger
    instead of ~3 s), which a final pick of the same onset replaces.

Memory
    With ``retention_s`` the samples older than ``retention_s`` before the newest
    one *and* before every onset still to be settled are dropped after each
    settling (:meth:`StationPicker.trim`): the S refinement reads back to the
    station's P (``picker.s_max_delay_s``), so ``retention_s`` must exceed that.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from obspy import Trace, UTCDateTime

from seismo.errors import SeismoError
from seismo.inventory import ChannelInfo
from seismo.model import Pick
from seismo.station.picker.onset import _filter_snippet, _refine_s, _slice
from seismo.station.picker.polarization import onset_polarization
from seismo.station.picker.segment import Candidate, ChannelSegment, _is_vertical
from seismo.station.picker.settings import PickerConfig
from seismo.station.picker.split import min_lag_s, split_cluster
from seismo.station.processing import ChannelJoin, channel_kind_of
from seismo.station.settings import InstrumentConfig

log = logging.getLogger(__name__)

#: Seconds subtracted from :meth:`StationPicker.settled_until`: an S pick is snapped
#: to its channel's sample grid, which can move it by half a sample.
_SETTLE_MARGIN_S = 0.05


@functools.cache
def _warn_zero_phase() -> None:
    log.warning("picker.causal = false is not used by the picker: its filters are causal "
                "(they run on a window and in real time alike; docs/picker.md)")


def _vertical(tr: Trace) -> bool:
    return _is_vertical(tr.stats.seismo.get("dip"), tr.stats.channel)


def _rank(c: Candidate) -> tuple[bool, bool, bool, float, str]:
    """Sort key, best first: unclipped, velocity, vertical, higher SNR, seed id."""
    seg = c.segment
    return (
        c.clipped(),
        seg.kind != "velocity",
        not _is_vertical(seg.dip, seg.header["channel"]),
        -c.snr,
        seg.seed_id,
    )


def candidate_pick(c: Candidate) -> Pick:
    """The P pick of one candidate (amplitude from the samples that exist now)."""
    seg = c.segment
    h = seg.header
    time = c.time
    return Pick(
        id=Pick.make_id(seg.seed_id, "P", time),
        network=h["network"],
        station=h["station"],
        location=h["location"],
        channel=h["channel"],
        phase="P",
        time=time,
        uncertainty_s=c.uncertainty_s,
        snr=c.snr,
        amplitude=c.amplitude(),
        polarity=c.polarity,
        kind=seg.kind or "velocity",
        trigger_on=c.trigger_on,
        trigger_off=c.trigger_off,
    )


def _instrument_zne(
    segs: list[Trace], t: UTCDateTime, half_s: float, cfg: PickerConfig,
    after_s: float | None = None,
) -> tuple[NDArray, int] | None:
    """Band-passed (Z, H1, H2) of one instrument from ``half_s`` before ``t`` to
    ``after_s`` (default ``half_s``) after it, and the index of ``t``.

    The horizontal orientation does not matter: only the dip of the principal axis is
    used. None without a vertical and two horizontals covering the span.
    """
    pad = 2.0  # s of filter run-in before the span
    after = half_s if after_s is None else after_s
    for z in (tr for tr in segs if _vertical(tr)):
        fs = float(z.stats.sampling_rate)
        t0 = t - half_s - pad
        n = round((half_s + after + pad) * fs)
        rz = _slice(z, t0, n)
        if rz is None:
            continue
        hs = [
            _slice(h, t0, n)
            for h in segs
            if not _vertical(h) and float(h.stats.sampling_rate) == fs
        ]
        rows = [rz, *[h for h in hs if h is not None][:2]]
        if len(rows) < 3:
            return None
        band = cfg.bands.get(z.stats.seismo.get("kind") or "", next(iter(cfg.bands.values())))
        k0 = round(pad * fs)
        zne = np.vstack([_filter_snippet(r, fs, band, zerophase=False)[k0:] for r in rows])
        return zne, round(half_s * fs)
    return None


def _polarization_label(
    cl: list[Candidate], best: Pick, inst: list[Trace], cfg: PickerConfig
) -> tuple[str | None, UTCDateTime | None]:
    """P or S of an onset cluster from the particle motion it adds (None: undecided),
    and the time of an S onset inside the cluster after a P one
    (:mod:`seismo.station.picker.split`; None: no such second onset)."""
    verticals = [c for c in cl if _is_vertical(c.segment.dip, c.segment.header["channel"])]
    ref = min(verticals, key=_rank).time if verticals else best.time
    w = cfg.polarization_window_s
    # the cluster's samples: up to station_merge_s after its first onset (they exist
    # when it settles)
    after = float(min(c.time for c in cl) + cfg.station_merge_s - ref)
    got = _instrument_zne(inst, ref, w, cfg, after_s=after) if cfg.inner_s else None
    if got is not None:
        zne, k = got
        fs = float(cl[0].segment.fs)
        band = cfg.bands.get(cl[0].segment.kind or "", next(iter(cfg.bands.values())))
        split = split_cluster(zne, k, fs, cfg, band)
        if split is not None:
            log.debug("%s: P at %s (dip %.0f) and S %.2f s later (dip %.0f, energy x %.0f)",
                      best.seed_id, ref, split.p_dip_deg, split.lag / fs, split.s_dip_deg,
                      split.energy_ratio)
            return "P", ref + split.lag / fs
    got = _instrument_zne(inst, ref, w, cfg)
    if got is None:
        return None, None
    zne, k = got
    pol = onset_polarization(zne, k, k)
    return (None if pol is None else pol.phase(cfg.polarization_dip_deg)), None


@dataclass
class _Channel:
    join: ChannelJoin
    kind: str | None
    dip: float | None
    segments: list[ChannelSegment] = field(default_factory=list)

    @property
    def current(self) -> ChannelSegment | None:
        return self.segments[-1] if self.segments else None


class StationPicker:
    """P and S picks of one station (module docstring).

    Args:
        cfg, instrument: picker settings and the digitizer (clip level).
        channels: ``NET.STA.LOC.CHA`` -> inventory metadata (kind, dip); channels not in
            it take their kind from the channel code.
        retention_s: seconds of samples kept per channel (None: all, a window).
        lag_s: a channel this far behind the station's newest is not waited for.
    """

    def __init__(
        self,
        cfg: PickerConfig,
        instrument: InstrumentConfig,
        channels: Mapping[str, ChannelInfo] | None = None,
        *,
        retention_s: float | None = None,
        lag_s: float = 10.0,
    ) -> None:
        if not cfg.causal:
            _warn_zero_phase()
        self.cfg = cfg
        self.instrument = instrument
        self.info = dict(channels or {})
        self.retention_s = retention_s
        self.lag_s = float(lag_s)
        self.channels: dict[str, _Channel] = {}
        self.pending: list[Candidate] = []
        self.last_p: UTCDateTime | None = None
        self._prov: tuple[tuple[int, ...], list[Pick]] = ((), [])  # provisional, by pending

    # ------------------------------------------------------------------ input
    def _channel(self, seed_id: str, kind: str | None = None, dip: float | None = None) -> _Channel:
        ch = self.channels.get(seed_id)
        if ch is None:
            info = self.info.get(seed_id)
            if kind is None:
                kind = channel_kind_of(info, seed_id)
            if dip is None and info is not None:
                dip = info.dip
            ch = self.channels[seed_id] = _Channel(ChannelJoin(self.cfg.max_gap_s), kind, dip)
        return ch

    def _new_segment(self, ch: _Channel, header: dict[str, str], start: UTCDateTime,
                     fs: float) -> ChannelSegment:
        if ch.current is not None:
            self._take(ch.current, ch.current.finish)
        seg = ChannelSegment(
            header, start, fs, ch.kind, ch.dip, self.cfg, self.instrument,  # type: ignore[arg-type]
        )
        ch.segments.append(seg)
        return seg

    def _take(self, seg: ChannelSegment, step, *args) -> None:  # type: ignore[no-untyped-def]
        """Run one segment step; a failing channel is logged and stops picking."""
        try:
            self.pending.extend(step(*args))
        except SeismoError as exc:
            log.warning("picker skipped %s from %s: %s", seg.seed_id, seg.end_time, exc)
            seg.picking = False
            seg.pending = []

    def add_segment(self, tr: Trace) -> None:
        """A whole conditioned gap-free segment (``condition_stream``; ``stats.seismo``
        kind and dip) as a new segment of its channel."""
        meta = getattr(tr.stats, "seismo", {}) or {}
        ch = self._channel(tr.id, meta.get("kind"), meta.get("dip"))
        header = {k: tr.stats[k] for k in ("network", "station", "location", "channel")}
        seg = self._new_segment(ch, header, tr.stats.starttime, float(tr.stats.sampling_rate))
        self._take(seg, seg.feed, np.asarray(tr.data, dtype=np.float64))

    def feed(self, tr: Trace) -> list[Pick]:
        """A trace of raw counts as it arrives (e.g. one SeedLink record); returns the
        picks that became final. Overlap is dropped, short gaps are filled, a longer
        gap starts a new segment (``max_gap_s``)."""
        self._join(tr)
        return self._settle_new()

    def feed_span(self, traces: Iterable[Trace]) -> list[Pick]:
        """Every channel's traces of one span of raw counts (e.g. a chunk of an
        archive; samples already fed are dropped); returns the picks that became final.

        The same picks as the same samples fed record by record (:meth:`feed`), in
        far fewer calls: the station settles once, after all its channels reached the
        end of the span. Channels fed one after another and settled in between would
        not wait for each other (``lag_s``). Masked (gappy) traces are split at their
        gaps.
        """
        for tr in sorted(traces, key=lambda t: (t.id, t.stats.starttime)):
            if isinstance(tr.data, np.ma.MaskedArray):
                for piece in tr.split():
                    self._join(piece)
            else:
                self._join(tr)
        return self._settle_new()

    def _join(self, tr: Trace) -> None:
        ch = self._channel(tr.id)
        header = {k: tr.stats[k] for k in ("network", "station", "location", "channel")}
        fs = float(tr.stats.sampling_rate)
        for new, start, x in ch.join.add(tr.stats.starttime, np.asarray(tr.data), fs):
            seg = ch.current
            if new or seg is None:
                seg = self._new_segment(ch, header, start, fs)
            self._take(seg, seg.feed, x)

    def _settle_new(self) -> list[Pick]:
        out = self.update()
        if self.retention_s is not None:
            self.trim(self.retention_s)
        return out

    def flush(self) -> list[Pick]:
        """End of the data: finish every segment; return the remaining picks (final)."""
        for ch in self.channels.values():
            if ch.current is not None:
                self._take(ch.current, ch.current.finish)
        return self.update(final=True)

    # ------------------------------------------------------------------ output
    def newest(self) -> UTCDateTime | None:
        """End of the newest data received from any channel."""
        ends = [ch.current.received_end for ch in self.channels.values() if ch.current]
        return max(ends) if ends else None

    def horizon(self) -> UTCDateTime | None:
        """No onset before this time can still appear (None: nothing known yet)."""
        newest = self.newest()
        if newest is None:
            return None
        out = newest
        for ch in self.channels.values():
            seg = ch.current
            if seg is None or seg.received_end < newest - self.lag_s:
                continue
            h = seg.horizon()
            if h is not None and h < out:
                out = h
        return out

    def settled_until(self) -> UTCDateTime | None:
        """No pick with an earlier time can still come (None: nothing known yet).

        Onsets still to come lie after :meth:`horizon`; a pending onset's pick is one
        of its cluster's candidates, an S one re-picked no earlier than
        ``aic_window_s`` before its trigger (:func:`~seismo.station.picker.onset._refine_s`).
        """
        out = self.horizon()
        if out is None:
            return None
        for c in self.pending:
            first = min(c.time, c.trigger_on - self.cfg.aic_window_s)
            if first < out:
                out = first
        return out - _SETTLE_MARGIN_S

    def _clusters(self) -> list[list[Candidate]]:
        clusters: list[list[Candidate]] = []
        for c in sorted(self.pending, key=lambda c: float(c.time)):
            if clusters and float(c.time) - float(clusters[-1][0].time) <= self.cfg.station_merge_s:
                clusters[-1].append(c)
            else:
                clusters.append([c])
        return clusters

    def update(self, final: bool = False) -> list[Pick]:
        """Picks of the clusters that became final (all of them when ``final``)."""
        if not self.pending:
            return []
        horizon = None if final else self.horizon()
        out: list[Pick] = []
        for cl in self._clusters():
            if not final and (horizon is None or
                              float(cl[0].time) + self.cfg.station_merge_s >= float(horizon)):
                break
            picks = self._settle(cl, self.last_p)
            done = {id(c) for c in cl}
            self.pending = [c for c in self.pending if id(c) not in done]
            out.extend(picks)
            for pick in picks:
                if pick.phase == "P":
                    self.last_p = pick.time
        return out

    def provisional(self) -> list[Pick]:
        """Picks of the clusters not final yet, from the samples that exist now.

        Recomputed only when the pending candidates changed (their labels and onsets
        do not change with later samples; their amplitudes may, and are then those of
        the first computation: the final pick has the full ones).
        """
        key = tuple(id(c) for c in self.pending)
        if key == self._prov[0]:
            return list(self._prov[1])
        out: list[Pick] = []
        last_p = self.last_p
        for cl in self._clusters():
            picks = self._settle(cl, last_p)
            out.extend(picks)
            for pick in picks:
                if pick.phase == "P":
                    last_p = pick.time
        self._prov = (key, out)
        return list(out)

    def _traces(self, instrument: str) -> list[Trace]:
        return [
            seg.trace()
            for sid, ch in self.channels.items()
            if sid[:-1] == instrument
            for seg in ch.segments
            if seg.raw.data.size
        ]

    def _settle(self, cl: list[Candidate], last_p: UTCDateTime | None) -> list[Pick]:
        """The pick of an onset cluster, labelled P or S (module docstring of ``pick``), or
        its P and its S when an S-polarised onset follows a P one inside it
        (:mod:`seismo.station.picker.split`)."""
        cfg = self.cfg
        ranked = sorted(cl, key=_rank)
        best = ranked[0]
        best_pick = candidate_pick(best)
        since_p = None if last_p is None else float(best.time - last_p)
        after_p = since_p is not None and cfg.s_min_delay_s <= since_p <= cfg.s_max_delay_s
        label = "P"
        if cfg.s_picks:
            inst = self._traces(best.segment.seed_id[:-1])
            got, s_time = _polarization_label(ranked, best_pick, inst, cfg)
            if s_time is not None:
                return [best_pick, self._inner_s(ranked, best_pick, s_time)]
            label = got or ""
            if not label:
                # no three components: a horizontal-dominant onset after a P is the S
                z_snr = max((c.snr for c in cl if _is_vertical(c.segment.dip,
                             c.segment.header["channel"])), default=0.0)
                h_snr = max((c.snr for c in cl if not _is_vertical(c.segment.dip,
                             c.segment.header["channel"])), default=0.0)
                label = "S" if after_p and h_snr > z_snr else "P"
        if label != "S":
            return [best_pick]
        # the S onset is taken on a horizontal (the best one) when there is one
        horizontal = [c for c in ranked
                      if not _is_vertical(c.segment.dip, c.segment.header["channel"])]
        p = candidate_pick(horizontal[0]) if horizontal else best_pick
        s = replace(p, phase="S", polarity=None, id=Pick.make_id(p.seed_id, "S", p.time))
        if not after_p or last_p is None:
            return [s]  # no P before it on this station: its own channel's onset
        return [self._refined_s(s, last_p)]

    def _refined_s(
        self, s: Pick, p_time: UTCDateTime, lo: UTCDateTime | None = None,
        hi: UTCDateTime | None = None,
    ) -> Pick:
        """``s`` re-picked on the transverse component (:func:`_refine_s`)."""
        trs = [
            tr
            for tr in self._traces(s.seed_id[:-1])
            if not _vertical(tr) and tr.stats.starttime <= s.time <= tr.stats.endtime
        ]
        try:
            return _refine_s(s, p_time, trs, self.cfg, lo=lo, hi=hi)
        except SeismoError as exc:
            log.warning("S refinement skipped %s: %s", s.seed_id, exc)
            return s

    def _inner_s(self, ranked: list[Candidate], p: Pick, s_time: UTCDateTime) -> Pick:
        """The S pick of an S onset at ``s_time`` inside the cluster of the P pick ``p``:
        on the best horizontal, refined between the earliest S a split considers and the
        cluster's end (:mod:`seismo.station.picker.split`)."""
        cfg = self.cfg
        horizontal = [c for c in ranked
                      if not _is_vertical(c.segment.dip, c.segment.header["channel"])]
        c = horizontal[0] if horizontal else ranked[0]
        h = candidate_pick(c)
        band = cfg.bands.get(c.segment.kind or "", next(iter(cfg.bands.values())))
        first = min(x.time for x in ranked)
        s = replace(h, phase="S", polarity=None, time=s_time, trigger_on=s_time,
                    trigger_off=None, id=Pick.make_id(h.seed_id, "S", s_time))
        lo = p.time + min_lag_s(band)
        hi = first + cfg.station_merge_s
        return self._refined_s(s, p.time, lo=lo, hi=min(hi, s_time + (s_time - lo)))

    def trim(self, keep_s: float) -> None:
        """Drop the samples older than ``keep_s`` before the newest one and before
        every onset still to be settled (module docstring, Memory)."""
        newest = self.newest()
        if newest is None:
            return
        old = newest - keep_s
        for c in self.pending:
            first = min(c.time, c.trigger_on) - keep_s
            if first < old:
                old = first
        for ch in self.channels.values():
            ch.segments = [s for s in ch.segments[:-1] if s.end_time >= old] + ch.segments[-1:]
            for seg in ch.segments:
                seg.trim(seg.index_of(old))
