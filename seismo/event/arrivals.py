"""The arrival window of a station for a located event: from P − 1 s to S + w.

Local magnitude (Wood-Anderson peaks, ``w = MagnitudeConfig.amplitude_window_s``),
observed intensity (PGA/PGV peaks, ``w = IntensityConfig.window_s``) and the
count of stations that clipped during the event (the saturation alert, same
``w`` as intensity) all read a station's per-second
:class:`~seismo.model.AmplitudeSeries` inside this one window.

P and S are the predicted arrival times from travel-time callables
``fn(epicentral_km, depth_km) -> seconds after origin``. The window opens
:data:`P_LEAD_S` before P so that an early onset (pick and model errors of a few
tenths of a second on a local network, docs/location.md) is inside it. It closes
:data:`P_LEAD_S` before the predicted P of the next located event at that station
(``EventRecords.next_p``): on the Hi-net Aizu records, events 10-20 s before a
larger one measured its S waves and got ML 1.3-2.2 units too high.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from obspy import UTCDateTime

from seismo.errors import SeismoError
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import AmplitudeSeries
from seismo.station.series import series_window

log = logging.getLogger(__name__)

#: Travel-time callable: (epicentral distance km, depth km) -> seconds after origin time.
#: It raises :class:`~seismo.errors.SeismoError` (or ValueError) when it has no time.
TravelTimeFn = Callable[[float, float], float]

#: The window opens this long before the predicted P arrival, s (design choice: a few
#: times the travel-time residuals of a local network, docs/location.md).
P_LEAD_S = 1.0


@dataclass(frozen=True)
class ArrivalWindow:
    """One station's series and the steps of it between ``P - P_LEAD_S`` and ``S + w``."""

    station: StationInfo
    series: AmplitudeSeries
    epi_km: float
    p_time: UTCDateTime
    s_time: UTCDateTime
    steps: slice  # series steps overlapping the window (never empty)

    @property
    def station_id(self) -> str:
        return f"{self.station.network}.{self.station.station}"

    @property
    def clipped(self) -> bool:
        """Whether a used channel of the station clipped inside the window."""
        return any(self.steps.start <= i < self.steps.stop for i in self.series.clipped)

    def steps_at(self, t: UTCDateTime) -> slice:
        """The step of the series that holds ``t`` (empty when the series does not)."""
        return series_window(self.series, t, t)


@dataclass(frozen=True)
class EventRecords:
    """A located event and the records to measure it on.

    The hypocentre (UTC origin time, degrees, km), every station's per-second
    peaks (``"NET.STA"`` -> :class:`~seismo.model.AmplitudeSeries`), the
    inventory (``"NET.STA"`` -> :class:`~seismo.inventory.StationInfo`) and the
    travel-time callables that place the arrivals.
    """

    origin_time: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float
    amplitudes: Mapping[str, AmplitudeSeries]
    stations: Mapping[str, StationInfo]
    p_time_fn: TravelTimeFn
    s_time_fn: TravelTimeFn
    #: per "NET.STA": the predicted P of the next located event there; the window
    #: ends :data:`P_LEAD_S` before it (where that event's own window opens)
    next_p: Mapping[str, UTCDateTime] = field(default_factory=dict)
    #: for a source whose depth is resolved below the Moho: ``fn(epicentral km, depth km)``
    #: -> the pP - P delay (s); the P windows of the moment magnitudes end before the pP
    #: (Tsuboi et al. 1999, :mod:`seismo.event.pwindow`). None: a crustal or unresolved
    #: depth, whose pP is part of the P pulse the moment magnitudes integrate.
    pp_delay_fn: TravelTimeFn | None = None


def arrival_windows(
    records: EventRecords, after_s_s: float, *, what: str = "arrival window"
) -> Iterator[ArrivalWindow]:
    """The window ``[origin + P - 1 s, origin + S + after_s_s]`` of every station.

    The window ends earlier, 1 s before the predicted P of the next located event at
    the station (``records.next_p``), so that it never holds another event's waves.

    Stations are taken in ``"NET.STA"`` order. A station missing from
    ``records.stations`` or without a travel time is skipped with a warning
    naming ``what`` (the caller, for the log); a station whose series does not
    overlap the window is skipped silently.
    """
    r = records
    for sid, series in sorted(r.amplitudes.items()):
        info = r.stations.get(sid)
        if info is None:
            log.warning("%s: station %s has amplitudes but is not in the inventory", what, sid)
            continue
        epi = float(distance_km(r.latitude, r.longitude, info.latitude, info.longitude))
        try:
            t_p = r.origin_time + float(r.p_time_fn(epi, r.depth_km))
            t_s = r.origin_time + float(r.s_time_fn(epi, r.depth_km))
        except (SeismoError, ValueError) as exc:
            log.warning("%s: no travel time for %s at %.1f km: %s", what, sid, epi, exc)
            continue
        end = t_s + after_s_s
        nxt = r.next_p.get(sid)
        if nxt is not None and nxt - P_LEAD_S < end:
            # a small event just before a larger one must not measure the larger one
            end = nxt - P_LEAD_S
            if end <= t_p - P_LEAD_S:
                continue
        steps = series_window(series, t_p - P_LEAD_S, end)
        if steps.stop <= steps.start:
            continue
        yield ArrivalWindow(info, series, epi, t_p, t_s, steps)


def count_clipped_stations(records: EventRecords, after_s_s: float) -> int:
    """Stations whose records clipped inside their arrival window (``Event.n_clipped_stations``).

    Clipping is the ``clipped`` seconds of each :class:`~seismo.model.AmplitudeSeries`:
    a raw sample of a used channel at or beyond the ``[instrument]`` clip level.
    """
    windows = arrival_windows(records, after_s_s, what="clipped stations")
    return sum(1 for w in windows if w.clipped)
