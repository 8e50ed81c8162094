"""One station in real time: its picker and its amplitude peaks, fed record by record.

:class:`StationState` bundles the two stateful station stages that the window path
also runs (:class:`~seismo.station.picker.station.StationPicker`,
:class:`~seismo.station.amplitudes.StationMotion`), with bounded memory: samples
are kept for ``retention_s`` (picker) and per-second peaks for ``keep_s``.
"""

from __future__ import annotations

import logging
import math

from obspy import Inventory, Trace, UTCDateTime

from seismo.errors import SeismoError
from seismo.model import AmplitudeSeries, Pick
from seismo.station.amplitudes import StationMotion
from seismo.station.picker.settings import PickerConfig
from seismo.station.picker.station import StationPicker
from seismo.station.processing import channel_map
from seismo.station.settings import InstrumentConfig, MotionBandConfig

log = logging.getLogger(__name__)


def reached_time(ends: dict[str, UTCDateTime], newest: UTCDateTime | None, components: str,
                 lag_s: float) -> UTCDateTime | None:
    """:meth:`StationState.reached` from the channels' ends (``LOC.CHA`` -> the time just
    after its newest sample) and the station's newest sample."""
    got = [t for k, t in ends.items() if k[-1:] in components]
    if not got:
        return newest
    top = max(got)
    return min(t for t in got if t >= top - lag_s)


def complete_span(newest: UTCDateTime | None,
                  start: UTCDateTime) -> tuple[UTCDateTime, int] | None:
    """The whole seconds from ``start`` (floored) to the newest complete one before
    ``newest``, as (first, count); None when there is none."""
    if newest is None:
        return None
    t0 = UTCDateTime(math.floor(float(start)))
    n = math.floor(float(newest - t0))
    return None if n <= 0 else (t0, n)


class StationState:
    """Picker and amplitude state of one station (module docstring)."""

    def __init__(
        self,
        network: str,
        station: str,
        inventory: Inventory,
        picker: PickerConfig,
        intensity: MotionBandConfig,
        instrument: InstrumentConfig,
        *,
        retention_s: float = 120.0,
        keep_s: float = 900.0,
        lag_s: float = 10.0,
        at: UTCDateTime | None = None,
    ) -> None:
        self.network, self.station = network, station
        prefix = f"{network}.{station}."
        chans = {k: v for k, v in channel_map(inventory).items() if k.startswith(prefix)}
        self.picker = StationPicker(picker, instrument, chans, retention_s=retention_s,
                                    lag_s=lag_s)
        self.motion = StationMotion(network, station, inventory, intensity,
                                    instrument=instrument, origin=UTCDateTime(0),
                                    keep_s=keep_s, lag_s=lag_s, at=at)
        self.newest: UTCDateTime | None = None
        #: per channel (``LOC.CHA``): the time just after its newest sample
        self.ends: dict[str, UTCDateTime] = {}
        self._motion_errors: set[str] = set()

    @property
    def station_id(self) -> str:
        return f"{self.network}.{self.station}"

    def feed(self, tr: Trace) -> list[Pick]:
        """One trace (e.g. a SeedLink record) of raw counts; the picks that became final."""
        picks = self.picker.feed(tr)
        try:
            self.motion.feed(tr)
        except SeismoError as exc:  # a bad response costs that channel's amplitudes only
            if tr.id not in self._motion_errors:
                self._motion_errors.add(tr.id)
                log.warning("amplitudes of %s unavailable: %s", tr.id, exc)
        end = tr.stats.endtime + tr.stats.delta
        if self.newest is None or end > self.newest:
            self.newest = end
        key = f"{tr.stats.location}.{tr.stats.channel}"
        if key not in self.ends or end > self.ends[key]:
            self.ends[key] = end
        return picks

    def reached(self, components: str, lag_s: float | None = None) -> UTCDateTime | None:
        """The time up to which every channel whose component code (last letter) is in
        ``components`` has delivered (e.g. "NE12": the horizontals), leaving out channels
        more than ``lag_s`` (default: the picker's) behind the newest of them; the
        station's newest sample when it has no such channel; None before any data.

        Channels arrive apart (a 512-byte record of each channel is sent when it is
        full, seconds apart): a measurement on the horizontals waits for both."""
        return reached_time(self.ends, self.newest, components,
                            self.picker.lag_s if lag_s is None else lag_s)

    def provisional(self) -> list[Pick]:
        """Picks of the onsets not final yet (empty when none is pending)."""
        return self.picker.provisional() if self.picker.pending else []

    def series(self, start: UTCDateTime) -> AmplitudeSeries | None:
        """Per-second peaks from ``start`` (floored to the second) to the newest complete
        second; None when there is none."""
        span = complete_span(self.newest, start)
        return None if span is None else self.motion.series(*span)
