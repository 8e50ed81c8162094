"""The stations' per-second peaks carried from the picker parts to the associator.

In the split stream (docs/streaming.md, "Split") the station states live in the picker
parts, the measurement in the associator. A picker part sends, for each station whose
state changed, a *station update* (:func:`station_update`, JSON-able): the steps of its
peaks that changed (:meth:`~seismo.station.amplitudes.StationMotion.take_changes`),
the time just after its newest sample and after each channel's newest sample, the
steps dropped for age, and the host time its newest record came. The associator
applies them to an :class:`AmplitudeMirror`, which answers the
:class:`~seismo.shells.stream_pickers.AmplitudeSource` calls (``series``, ``newest``,
``reached``) with the same functions as the station state
(:func:`~seismo.station.peaks.assemble_series`,
:func:`~seismo.station.realtime.reached_time`,
:func:`~seismo.station.realtime.complete_span`), so it answers as the in-process
pickers did when they sent the update; and the network's data time and the live
stations (:func:`~seismo.shells.stream_pickers.data_clock`) as they do.

Times travel as integer nanoseconds (``UTCDateTime.ns``): exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from obspy import UTCDateTime

from seismo.errors import DataError
from seismo.model import AmplitudeSeries
from seismo.shells.settings import StreamConfig
from seismo.shells.stream_pickers import data_clock, data_lag_s, live_stations
from seismo.station.peaks import SensorPeaks, assemble_series
from seismo.station.realtime import StationState, complete_span, reached_time

#: The station states' step grid (:class:`~seismo.station.realtime.StationState`).
ORIGIN = UTCDateTime(0)
STEP_S = 1.0


def _ns(t: UTCDateTime | None) -> int | None:
    return None if t is None else int(t.ns)


def _utc(ns: Any) -> UTCDateTime | None:
    return None if ns is None else UTCDateTime(ns=int(ns))


def station_update(state: StationState, arrived: float | None,
                   sent_newest: int | None) -> dict[str, Any] | None:
    """What changed in ``state`` since the last update (JSON-able; module docstring), or
    None when nothing did (``sent_newest``: the ``newest`` of the last update sent)."""
    sensors = state.motion.take_changes()
    newest = _ns(state.newest)
    if not sensors and newest == sent_newest:
        return None
    return {"station_id": state.station_id, "newest": newest, "arrived": arrived,
            "ends": {k: _ns(t) for k, t in state.ends.items()},
            "pruned_to": state.motion.pruned_to, "sensors": sensors}


@dataclass
class _Station:
    network: str
    station: str
    newest: UTCDateTime | None = None
    ends: dict[str, UTCDateTime] = field(default_factory=dict)
    sensors: dict[tuple[str, str], SensorPeaks] = field(default_factory=dict)
    pruned_to: int = -(2**62)


class AmplitudeMirror:
    """The stations' peaks, newest samples and arrivals as the picker parts sent them
    (module docstring): an :class:`~seismo.shells.stream_pickers.AmplitudeSource`, with
    the data clock of :class:`~seismo.shells.stream_pickers.StationPickers`.

    Args:
        stations: the station ids of the network (``"NET.STA"``).
        cfg: the ``[stream]`` section (``lag_s``, ``live_s``).
    """

    def __init__(self, stations: Iterable[str], cfg: StreamConfig) -> None:
        self.cfg = cfg
        self.states: dict[str, _Station] = {
            sid: _Station(sid.split(".", 1)[0], sid.split(".", 1)[-1]) for sid in stations}
        #: per station: host clock (UTC s) when its newest record passed a part's gate
        self.arrived: dict[str, float] = {}
        self.n_updates = 0
        #: per picker part: its running totals (records, picks, rejected, stations)
        self.counts: dict[str, dict[str, int]] = {}

    def note_counts(self, part: str, counts: Mapping[str, int]) -> None:
        """A part's running totals (its newest batch's)."""
        self.counts[part] = dict(counts)

    def _total(self, key: str) -> int:
        return sum(c.get(key, 0) for c in self.counts.values())

    @property
    def n_records(self) -> int:
        return self._total("records")

    @property
    def n_picks(self) -> int:
        return self._total("picks")

    @property
    def n_rejected(self) -> int:
        return self._total("rejected")

    @property
    def n_stations(self) -> int:
        return len(self.states)

    def apply(self, update: Mapping[str, Any]) -> None:
        """One :func:`station_update` (a station not of this network is ignored)."""
        st = self.states.get(str(update["station_id"]))
        if st is None:
            return
        for d in update["sensors"]:
            key = (str(d["location"]), str(d["prefix"]))
            sensor = st.sensors.get(key)
            if sensor is None:
                sensor = st.sensors[key] = SensorPeaks.from_delta(d)
            sensor.apply(d)
        pruned = int(update["pruned_to"])
        if pruned > st.pruned_to:
            st.pruned_to = pruned
            for sensor in st.sensors.values():
                sensor.prune(pruned)
        st.newest = _utc(update["newest"])
        st.ends = {str(k): t for k, v in update["ends"].items() if (t := _utc(v)) is not None}
        if update.get("arrived") is not None:
            self.arrived[str(update["station_id"])] = float(update["arrived"])
        self.n_updates += 1

    # ------------------------------------------------------------------ AmplitudeSource
    def series(self, station_id: str, since: UTCDateTime) -> AmplitudeSeries | None:
        st = self.states.get(station_id)
        if st is None:
            return None
        span = complete_span(st.newest, since)
        if span is None:
            return None
        try:
            return assemble_series(st.network, st.station, ORIGIN, STEP_S,
                                   st.sensors.values(), *span)
        except DataError:
            return None

    def newest(self, station_id: str) -> UTCDateTime | None:
        st = self.states.get(station_id)
        return None if st is None else st.newest

    def reached(self, station_id: str, channels: str) -> UTCDateTime | None:
        st = self.states.get(station_id)
        return None if st is None else reached_time(st.ends, st.newest, channels,
                                                    self.cfg.lag_s)

    # ------------------------------------------------------------------ data time
    def _newest(self) -> dict[str, UTCDateTime | None]:
        return {sid: s.newest for sid, s in self.states.items()}

    def clock(self, now: float) -> float:
        return data_clock(self._newest(), self.arrived, now, self.cfg.live_s)

    def live(self, now: float) -> set[str]:
        return live_stations(self._newest(), self.arrived, now, self.cfg.live_s)

    def lag_s(self, now: float) -> float | None:
        return data_lag_s(self._newest(), self.arrived, now)
