"""The gate of ``seismo stream``: every record is checked before any state sees it.

A real network sends records that would kill or silently freeze the station states: a
sampling rate of 0 (a division by zero deep in the picker), a time in year 9999 (the
gap padding asks for 183 TiB), frames that cannot be decoded, one 50 Hz record among
100 Hz ones, a record dated hours ahead (the station's clock then jumps and every
later record is "old"), records out of order. :class:`RecordGate` stands between the
readers and the station states:

* **checks**, on the header first (no decoding) and then on the decoded samples: a
  readable header; a channel of the StationXML (other channels, such as state-of-health
  streams, are ignored quietly); a positive sampling rate equal to the StationXML's
  (within :data:`~seismo.station.processing.RATE_TOLERANCE`); a start no older than
  ``[stream] history_s`` and an end at most ``max_ahead_s`` after this host's clock;
  frames that decode, without integrity warnings, to the header's sample count. A record
  that fails is skipped: its position still advances (the stream resumes after it), and
  its station gets one ERROR line, then at most one a minute with the count since.
* **order**, per channel: a record that starts where the channel's previous one ended
  passes at once; one that leaves a hole is held (at most ``reorder_s`` of this host's
  clock, and :data:`MAX_HELD` records per channel) until the hole is filled, and records
  then pass in time order. When the hold runs out with the channel's timeline standing
  still, the hole is a real gap and the held records pass; when the timeline went on
  behind a held record meanwhile, that record lies ahead of its channel (a clock jump)
  and is dropped like a bad record. A record that ends before the channel's timeline
  (a repeat after a reconnection) is dropped quietly.

Pure bookkeeping besides the decode: the clock is passed in (``now``, UTC seconds).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from obspy import Trace, UTCDateTime

from seismo.errors import FeedError
from seismo.io.seedlink.client import Record
from seismo.station.processing import RATE_TOLERANCE

log = logging.getLogger(__name__)

#: Records held per channel while a hole is open (then the earliest passes).
MAX_HELD = 64
#: Seconds between two ERROR lines about one station's rejected records.
COMPLAIN_EVERY_S = 60.0


@dataclass
class _Held:
    start: float  # epoch s
    end: float
    record: Record
    trace: Trace
    since: float  # host clock when held
    passed_behind: int = 0  # records of the channel that passed while this one waited


@dataclass
class _Channel:
    next_t: float | None = None  # end of the last record passed (epoch s)
    held: list[_Held] = field(default_factory=list)


@dataclass
class _Complaint:
    last: float = -math.inf
    since_last: int = 0
    total: int = 0


class RecordGate:
    """Checks and orders records (module docstring).

    Args:
        rates: ``NET.STA.LOC.CHA`` -> the StationXML sampling rate (Hz).
        history_s: oldest record start accepted, seconds before ``now``.
        max_ahead_s: latest record end accepted, seconds after ``now``.
        reorder_s: longest hold of a record that leaves a hole (host clock, s).
    """

    def __init__(self, rates: Mapping[str, float], *, history_s: float, max_ahead_s: float,
                 reorder_s: float) -> None:
        self.rates = dict(rates)
        self.history_s = float(history_s)
        self.max_ahead_s = float(max_ahead_s)
        self.reorder_s = float(reorder_s)
        self.channels: dict[str, _Channel] = {}
        self.complaints: dict[str, _Complaint] = {}
        self._ignored: set[str] = set()

    # ------------------------------------------------------------------ checks
    def check(self, rec: Record, now: float) -> Trace | None:
        """The record's samples as one trace (counts), or None: rejected (logged) or not a
        channel of the StationXML."""
        try:
            h = rec.header
        except FeedError as exc:
            self.reject(rec.station_id, str(exc), now)
            return None
        sid = h.seed_id
        ref = self.rates.get(sid)
        if ref is None:
            if sid not in self._ignored:
                self._ignored.add(sid)
                log.info("records of %s are ignored: not a channel of the StationXML", sid)
            return None
        why = self._header_problem(h.sampling_rate, ref, h.start, h.end, h.npts, now)
        if why is None:
            try:
                tr = self._decode(rec, h.npts)
            except FeedError as exc:
                why = str(exc)
        if why is not None:
            self.reject(rec.station_id, f"record {rec.sequence:06X} of {sid} at {h.start}: "
                        f"{why}", now)
            return None
        tr.stats.sampling_rate = ref  # within the tolerance: exactly the channel's rate
        return tr

    def _header_problem(self, rate: float, ref: float, start: UTCDateTime,
                        end: UTCDateTime, npts: int, now: float) -> str | None:
        if not rate > 0 or not math.isfinite(rate):
            return f"sampling rate {rate:g} Hz"
        if abs(rate / ref - 1.0) > RATE_TOLERANCE:
            return f"sampling rate {rate:g} Hz, the StationXML says {ref:g} Hz"
        if npts <= 0:
            return "no samples"
        if float(start) < now - self.history_s:
            return (f"starts {now - float(start):.0f} s before this host's clock (history "
                    f"{self.history_s:g} s)")
        if float(end) > now + self.max_ahead_s:
            return (f"ends {float(end) - now:.0f} s after this host's clock (at most "
                    f"{self.max_ahead_s:g} s ahead; check the station's or this host's clock)")
        return None

    @staticmethod
    def _decode(rec: Record, npts: int) -> Trace:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            st = rec.stream(copy=False)
        if caught:
            raise FeedError(f"frames decode with warnings: {caught[0].message}")
        if len(st) != 1 or st[0].stats.npts != npts:
            n = sum(tr.stats.npts for tr in st)
            raise FeedError(f"frames decode to {n} samples, the header says {npts}")
        tr = st[0]
        data = np.asarray(tr.data)
        if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
            raise FeedError("samples that are not finite numbers")
        return tr

    def reject(self, station: str, why: str, now: float) -> None:
        """Count a rejected record; log one ERROR per station, then one a minute."""
        c = self.complaints.setdefault(station, _Complaint())
        c.total += 1
        if now - c.last >= COMPLAIN_EVERY_S:
            more = f" ({c.since_last} more rejected since the last message)" if c.since_last \
                else ""
            log.error("station %s: record skipped: %s%s", station, why, more)
            c.last, c.since_last = now, 0
        else:
            c.since_last += 1

    @property
    def n_rejected(self) -> int:
        return sum(c.total for c in self.complaints.values())

    # ------------------------------------------------------------------ order
    def order(self, rec: Record, tr: Trace, now: float) -> list[tuple[Record, Trace]]:
        """The records that pass now, in time order, given that ``rec`` (checked, its
        samples ``tr``) arrived."""
        cid = tr.id
        ch = self.channels.setdefault(cid, _Channel())
        delta = float(tr.stats.delta)
        start = float(tr.stats.starttime)
        end = start + tr.stats.npts * delta
        tol = 0.5 * delta
        if ch.next_t is not None and end <= ch.next_t + tol:
            log.debug("%s: record at %s repeats data already passed; dropped", cid,
                      tr.stats.starttime)
            return []
        if ch.next_t is None or start <= ch.next_t + tol:
            out = [(rec, tr)]
            ch.next_t = end if ch.next_t is None else max(ch.next_t, end)
            for h in ch.held:
                h.passed_behind += 1
            if ch.held:
                out += self._release_contiguous(ch)
            return out
        ch.held.append(_Held(start, end, rec, tr, now))
        ch.held.sort(key=lambda h: h.start)
        if len(ch.held) > MAX_HELD:
            return self._pass_first(ch)
        return []

    @staticmethod
    def _release_contiguous(ch: _Channel) -> list[tuple[Record, Trace]]:
        out: list[tuple[Record, Trace]] = []
        while ch.held and ch.next_t is not None:
            h = ch.held[0]
            tol = 0.5 * float(h.trace.stats.delta)
            if h.end <= ch.next_t + tol:
                ch.held.pop(0)  # covered meanwhile
                continue
            if h.start > ch.next_t + tol:
                break
            ch.held.pop(0)
            out.append((h.record, h.trace))
            ch.next_t = max(ch.next_t, h.end)
        return out

    def _pass_first(self, ch: _Channel) -> list[tuple[Record, Trace]]:
        """The hole before the earliest held record is a real gap: it passes."""
        h = ch.held.pop(0)
        ch.next_t = h.end
        return [(h.record, h.trace), *self._release_contiguous(ch)]

    def expire(self, now: float) -> list[tuple[Record, Trace]]:
        """Holds that ran out (module docstring): the records that pass now."""
        out: list[tuple[Record, Trace]] = []
        for cid, ch in self.channels.items():
            while ch.held and now - ch.held[0].since >= self.reorder_s:
                h = ch.held[0]
                if h.passed_behind:
                    ch.held.pop(0)
                    ahead = h.start - (ch.next_t or h.start)
                    self.reject(h.record.station_id,
                                f"record {h.record.sequence:06X} of {cid} at "
                                f"{h.trace.stats.starttime} lies {ahead:.0f} s ahead of its "
                                "channel, whose records went on behind it", now)
                    continue
                out += self._pass_first(ch)
        return out

    def held(self) -> int:
        """Records held now, all channels."""
        return sum(len(ch.held) for ch in self.channels.values())
