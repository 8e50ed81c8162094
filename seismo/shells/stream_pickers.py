"""The station pickers of ``seismo stream``: records in, picks and amplitude peaks out.

Each record feeds its station's :class:`~seismo.station.realtime.StationState` (the
same picker and amplitude classes as a window, state carried from record to record):
final picks, provisional picks, per-second peaks. A station that lags or stops delays
nobody else; one bad record or channel costs that record or channel only.

What leaves this part are small serialisable messages, :class:`StationPicks` (a
station's new final picks and its current provisional ones), and, when the measurement
asks, a station's per-second peaks since a time (:meth:`StationPickers.series`, an
:class:`~seismo.model.AmplitudeSeries`; :class:`AmplitudeSource` is the interface).
A deployment that runs the pickers apart from the associator would carry both over a
broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from obspy import Inventory, UTCDateTime

from seismo.errors import FeedError, SeismoError
from seismo.event.settings import IntensityConfig
from seismo.inventory import StationInfo
from seismo.io.seedlink.client import Position, Record
from seismo.model import AmplitudeSeries, Pick
from seismo.shells.settings import StreamConfig
from seismo.station.picker.settings import PickerConfig
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
        #: called with (station id, start, end (epoch s), raw record) for every live record
        #: decoded (the stream's event waveform archive); None: records are not kept
        self.recorder: Callable[[str, float, float, bytes], None] | None = None

    def resume(self, positions: Mapping[str, Position]) -> None:
        """Continue after a restart: ``positions`` processed before; picks before them were
        made then (those a warm-up re-read gives are dropped)."""
        self.positions = {k: v for k, v in positions.items() if k in self.states}
        self.resume_after.update(
            {k: v.time for k, v in self.positions.items() if v.time is not None})

    def process(self, rec: Record) -> StationPicks | None:
        """One record in real time: the station's picks (None: not a station of ours or an
        unreadable record); its position counts as processed."""
        out = self.feed(rec)
        try:
            self.positions[rec.station_id] = rec.position
        except FeedError:  # unreadable (logged by feed): the position stays where it was
            return None
        self.n_records += 1
        return out

    def warm(self, rec: Record) -> None:
        """One record of the warm-up re-read: the state learns, the picks are dropped."""
        self.feed(rec, warm=True)

    def feed(self, rec: Record, *, warm: bool = False) -> StationPicks | None:
        state = self.states.get(rec.station_id)
        if state is None:
            return None
        try:
            st = rec.stream(copy=False)  # StationState.feed does not modify traces
        except FeedError as exc:
            log.warning("%s", exc)
            return None
        if self.recorder is not None and len(st) and not warm:
            self.recorder(rec.station_id, float(st[0].stats.starttime),
                          float(st[0].stats.endtime), rec.payload)
        new: list[Pick] = []
        for tr in st:
            try:
                new += state.feed(tr)
            except SeismoError as exc:  # one bad record or channel never stops the others
                log.warning("station %s: %s", rec.station_id, exc)
        if warm:
            return None
        after = self.resume_after.get(rec.station_id)
        prov = state.provisional()
        if after is not None:
            new = [p for p in new if p.time >= after]
            prov = [p for p in prov if p.time >= after]
        self.n_picks += len(new)
        self._log(prov, "provisional")
        self._log(new, "final")
        return StationPicks(rec.station_id, tuple(new), tuple(prov))

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

    def live(self, now: float) -> set[str]:
        """The stations that delivered data in the last ``[stream] live_s``."""
        return {sid for sid, s in self.states.items()
                if s.newest is not None and now - float(s.newest) <= self.cfg.live_s}

    def lag_s(self, now: float) -> float | None:
        """Seconds from the newest sample of any station to ``now`` (None: no data yet)."""
        newest = [float(s.newest) for s in self.states.values() if s.newest is not None]
        return round(now - max(newest), 2) if newest else None
