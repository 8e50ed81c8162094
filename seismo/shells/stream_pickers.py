"""The station pickers of ``seismo stream``: records in, picks and amplitude peaks out.

Each record first passes the gate (:class:`~seismo.shells.stream_gate.RecordGate`: rate,
time, frames, order), then feeds its station's
:class:`~seismo.station.realtime.StationState` (the same picker and amplitude classes as
a window, state carried from record to record): final picks, provisional picks,
per-second peaks. A station that lags or stops delays nobody else; one bad record or
channel costs that record or channel only, and no exception from one record leaves
this module (each is fed inside :func:`~seismo.boundary.boundary`).

**Data time.** Whether a station delivers is judged by the data, not by this host's
clock: :meth:`StationPickers.clock` is the network's data time now (the median over the
stations that delivered lately of their newest sample, carried forward by the host time
since it came), and a station is live while its newest sample is within
``[stream] live_s`` of it. Data that arrive 300 s late, or a backlog caught up at full
speed, are associated as if they were on time.

What leaves this part are small serialisable messages, :class:`StationPicks` (a
station's new final picks and its current provisional ones), and, when the measurement
asks, a station's per-second peaks since a time (:meth:`StationPickers.series`, an
:class:`~seismo.model.AmplitudeSeries`; :class:`AmplitudeSource` is the interface).
A deployment that runs the pickers apart from the associator would carry both over a
broker.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from obspy import Inventory, Trace, UTCDateTime

from seismo.boundary import boundary
from seismo.event.settings import IntensityConfig
from seismo.inventory import StationInfo
from seismo.io.seedlink.client import Position, Record
from seismo.model import AmplitudeSeries, Pick
from seismo.shells.settings import StreamConfig
from seismo.shells.stream_gate import RecordGate
from seismo.station.picker.settings import PickerConfig
from seismo.station.processing import channel_map
from seismo.station.realtime import StationState
from seismo.station.settings import InstrumentConfig

log = logging.getLogger(__name__)

#: (pick id, final/provisional) pairs remembered so each pick is logged once.
_SEEN_MAX = 5000


@dataclass(frozen=True)
class StationPicks:
    """What one record of a station gave: its new final picks and its current provisional
    picks (replacing the previous ones). JSON-able (:meth:`to_dict`)."""

    station_id: str
    final: tuple[Pick, ...] = ()
    provisional: tuple[Pick, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"station_id": self.station_id, "final": [p.to_dict() for p in self.final],
                "provisional": [p.to_dict() for p in self.provisional]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StationPicks:
        return cls(str(d["station_id"]), tuple(Pick.from_dict(p) for p in d["final"]),
                   tuple(Pick.from_dict(p) for p in d["provisional"]))


class AmplitudeSource(Protocol):
    """Where the measurement reads the stations' per-second peaks."""

    def series(self, station_id: str, since: UTCDateTime) -> AmplitudeSeries | None:
        """The station's per-second peaks from ``since`` to its newest complete second."""
        ...

    def newest(self, station_id: str) -> UTCDateTime | None:
        """The time just after the station's newest sample (None: no data yet)."""
        ...

    def reached(self, station_id: str, channels: str) -> UTCDateTime | None:
        """The time up to which every channel of the station whose code ends in one of
        ``channels`` (e.g. "NE12" for the horizontals) has data (None: one has none)."""
        ...


class StationPickers:
    """Every station's picker and amplitude state (module docstring).

    Args:
        stations: ``"NET.STA"`` -> info (the inventory's stations).
        inventory: the inventory (responses, channels).
        picker, intensity, instrument: their settings (``picker``: one for every station,
            or one per station id).
        cfg: the ``[stream]`` section (retention, peaks kept, lag, liveness).
        at: the time the states start from (now).
    """

    def __init__(
        self,
        stations: Mapping[str, StationInfo],
        inventory: Inventory,
        picker: PickerConfig | Mapping[str, PickerConfig],
        intensity: IntensityConfig,
        instrument: InstrumentConfig,
        cfg: StreamConfig,
        *,
        at: UTCDateTime | None = None,
    ) -> None:
        self.cfg = cfg
        self.states: dict[str, StationState] = {
            sid: StationState(
                info.network, info.station, inventory,
                picker if isinstance(picker, PickerConfig) else picker[sid], intensity,
                instrument,
                retention_s=cfg.retention_s, keep_s=cfg.amplitude_keep_s, lag_s=cfg.lag_s,
                at=at,
            )
            for sid, info in stations.items()
        }
        self.positions: dict[str, Position] = {}  # per station: the last record processed
        self.resume_after: dict[str, UTCDateTime] = {}  # picks before these were made already
        self.n_records = 0
        self.n_picks = 0
        self._seen: dict[tuple[str, str], None] = {}
        ours = set(stations)
        self.gate = RecordGate(
            {cid: ch.sampling_rate for cid, ch in channel_map(inventory).items()
             if ch.sampling_rate and cid.rsplit(".", 2)[0] in ours},
            history_s=cfg.history_s, max_ahead_s=cfg.max_ahead_s, reorder_s=cfg.reorder_s)
        #: per station: host clock (UTC s) when its newest record passed the gate
        self.arrived: dict[str, float] = {}
        #: called with (station id, start, end (epoch s), raw record) for every live record
        #: decoded (the stream's event waveform archive); None: records are not kept
        self.recorder: Callable[[str, float, float, bytes], None] | None = None

    def resume(self, positions: Mapping[str, Position]) -> None:
        """Continue after a restart: ``positions`` processed before; picks before them were
        made then (those a warm-up re-read gives are dropped)."""
        self.positions = {k: v for k, v in positions.items() if k in self.states}
        self.resume_after.update(
            {k: v.time for k, v in self.positions.items() if v.time is not None})

    def process(self, rec: Record, now: float | None = None) -> StationPicks | None:
        """One record in real time at ``now`` (host clock, UTC s; default: the clock).

        Its position counts as processed whatever becomes of it (a bad record is stepped
        past). Returns the station's picks from the records that passed the gate with it
        (usually itself; an out-of-order record can release held ones), None when it is
        not a station of ours or the record was rejected (logged)."""
        now = time.time() if now is None else now
        sid = rec.station_id
        self.positions[sid] = rec.position
        if sid not in self.states:
            return None
        self.n_records += 1
        tr = self.gate.check(rec, now)
        if tr is None:
            return None
        got = self._feed_passed(self.gate.order(rec, tr, now), now)
        msg = got.get(sid)
        return msg if msg is not None else StationPicks(sid, (), tuple(self._provisional(sid)))

    def flush(self, now: float | None = None) -> list[StationPicks]:
        """Records whose hold for a missing record ran out (the gate), fed now."""
        now = time.time() if now is None else now
        return list(self._feed_passed(self.gate.expire(now), now).values())

    def warm(self, rec: Record, now: float | None = None) -> None:
        """One record of the warm-up re-read: the state learns, the picks are dropped."""
        now = time.time() if now is None else now
        if rec.station_id not in self.states:
            return
        tr = self.gate.check(rec, now)
        if tr is not None:
            for r, t in self.gate.order(rec, tr, now):
                self.feed(r, t, warm=True)

    def _feed_passed(self, passed: Iterable[tuple[Record, Trace]],
                     now: float) -> dict[str, StationPicks]:
        out: dict[str, StationPicks] = {}
        for rec, tr in passed:
            sid = rec.station_id
            msg = None
            with boundary("stream record", logger=log, station=sid,
                          record=f"{rec.sequence:06X}"):
                msg = self.feed(rec, tr)
            self.arrived[sid] = now
            if msg is None:
                continue
            old = out.get(sid)
            out[sid] = msg if old is None else StationPicks(sid, old.final + msg.final,
                                                            msg.provisional)
        return out

    def feed(self, rec: Record, tr: Trace, *, warm: bool = False) -> StationPicks | None:
        """One checked record (its samples ``tr``) into its station's state; the station's
        new final picks and current provisional ones (None when ``warm``)."""
        state = self.states[rec.station_id]
        if self.recorder is not None and not warm:
            self.recorder(rec.station_id, float(tr.stats.starttime),
                          float(tr.stats.endtime), rec.payload)
        new = state.feed(tr)
        if warm:
            return None
        after = self.resume_after.get(rec.station_id)
        if after is not None:
            new = [p for p in new if p.time >= after]
        prov = self._provisional(rec.station_id)
        self.n_picks += len(new)
        self._log(prov, "provisional")
        self._log(new, "final")
        return StationPicks(rec.station_id, tuple(new), tuple(prov))

    def _provisional(self, sid: str) -> list[Pick]:
        prov = self.states[sid].provisional()
        after = self.resume_after.get(sid)
        return prov if after is None else [p for p in prov if p.time >= after]

    def _log(self, picks: list[Pick], kind: str) -> None:
        for p in picks:
            key = (p.id, kind)
            if key not in self._seen:
                self._seen[key] = None
                log.info("pick %s %s %s (%s)", p.seed_id, p.phase, p.time, kind)
        while len(self._seen) > _SEEN_MAX:
            self._seen.pop(next(iter(self._seen)))

    # ------------------------------------------------------------------ amplitudes, liveness
    def series(self, station_id: str, since: UTCDateTime) -> AmplitudeSeries | None:
        state = self.states.get(station_id)
        return None if state is None else state.series(since)

    def newest(self, station_id: str) -> UTCDateTime | None:
        state = self.states.get(station_id)
        return None if state is None else state.newest

    def reached(self, station_id: str, channels: str) -> UTCDateTime | None:
        state = self.states.get(station_id)
        return None if state is None else state.reached(channels)

    def clock(self, now: float) -> float:
        """The network's data time at host time ``now`` (:func:`data_clock`)."""
        return data_clock(self._newest(), self.arrived, now, self.cfg.live_s)

    def live(self, now: float) -> set[str]:
        """The stations whose newest sample is within ``[stream] live_s`` of the network's
        data time (:meth:`clock`) at host time ``now``."""
        return live_stations(self._newest(), self.arrived, now, self.cfg.live_s)

    def lag_s(self, now: float) -> float | None:
        """Seconds from the network's data time to ``now`` (None: no data yet)."""
        return data_lag_s(self._newest(), self.arrived, now)

    def _newest(self) -> dict[str, UTCDateTime | None]:
        return {sid: s.newest for sid, s in self.states.items()}

    @property
    def n_stations(self) -> int:
        return len(self.states)

    @property
    def n_rejected(self) -> int:
        return self.gate.n_rejected


def data_clock(newest: Mapping[str, UTCDateTime | None], arrived: Mapping[str, float],
               now: float, live_s: float) -> float:
    """The network's data time at host time ``now`` (module docstring): the median, over
    the stations that delivered in the last ``live_s`` of host time (else all that ever
    did), of their newest sample plus the host time since it came (``arrived``: host
    clock, UTC s, when a station's newest record came); ``now`` itself before any data."""
    def front(sids: Iterable[str]) -> list[float]:
        out = []
        for s in sids:
            t = newest.get(s)
            if t is not None:
                out.append(float(t) + (now - arrived[s]))
        return out

    recent = [s for s, t in arrived.items() if now - t <= live_s]
    ahead = front(recent) or front(arrived)
    return statistics.median_high(ahead) if ahead else now


def live_stations(newest: Mapping[str, UTCDateTime | None], arrived: Mapping[str, float],
                  now: float, live_s: float) -> set[str]:
    """The stations whose newest sample is within ``live_s`` of :func:`data_clock`."""
    at = data_clock(newest, arrived, now, live_s)
    return {sid for sid, t in newest.items() if t is not None and at - float(t) <= live_s}


def data_lag_s(newest: Mapping[str, UTCDateTime | None], arrived: Mapping[str, float],
               now: float) -> float | None:
    """Seconds from the median newest sample to ``now`` (None: no data yet)."""
    if not arrived:
        return None
    got = [float(t) for t in newest.values() if t is not None]
    return round(now - statistics.median_high(got), 2) if got else None
