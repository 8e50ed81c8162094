"""What a magnitude type is to the measurement stage (:mod:`seismo.event.measure`).

A magnitude type (ML in :mod:`seismo.event.magnitude`, Ms_BB in
:mod:`seismo.event.surface`, ...) is one object with the interface
:class:`MagnitudeType`. The stage asks each type, in the order of its list:

* :meth:`~MagnitudeType.measure`: the network magnitude from the stations' motions
  (:class:`Motions`: per-second peaks of the event's window, and of later windows when
  the type waits for waves that come later);
* :meth:`~MagnitudeType.awaits`: whether later data can still bring the magnitude of an
  event that has none (the surface waves of a distant event arrive minutes after P);
* :meth:`~MagnitudeType.relocate`: the magnitude at a new hypocentre from what the
  event stores (a seismologist's relocation; the waveforms are not read again), or
  None when the type cannot and its value stays;
* :meth:`~MagnitudeType.preferred`: whether its value replaces the preferred magnitude
  chosen so far (types later in the list decide later).

A new type (a moment magnitude, a P-wave magnitude) is one module with one such
class and its settings, added to :data:`seismo.event.measure.magnitude_types`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from seismo.event.arrivals import EventRecords
from seismo.inventory import StationInfo
from seismo.model import AmplitudeSeries, Event, Magnitude, StationMagnitude


@dataclass(frozen=True)
class Motions:
    """A located event and the stations' motions it is measured on.

    ``records``: the hypocentre, the inventory, the travel times and, per station
    (``"NET.STA"``), the per-second peaks of the event's own window (arrival windows:
    ML, intensity). ``windows``: per station, the series of every window read so far
    (the event's and later ones), when the measurement has more than the event's own.
    ``event``: the event measured (its picks place the P onsets, its epicentral
    uncertainty and magnitudes so far enter some types' rules), when known. ``others``:
    other located events near in time, whose waves must not be read as this one's.
    """

    records: EventRecords
    windows: Mapping[str, Sequence[AmplitudeSeries]] | None = None
    event: Event | None = None
    others: Sequence[Event] = ()

    def series(self) -> Mapping[str, Sequence[AmplitudeSeries]]:
        """Per station, every series available (one per window read)."""
        if self.windows is not None:
            return self.windows
        return {k: [v] for k, v in self.records.amplitudes.items()}


@dataclass(frozen=True)
class MagnitudeReading:
    """One type's result for one event.

    ``magnitude``: the network magnitude (None: none could be measured). ``station_magnitudes``:
    the per-component records it rests on, when the type keeps them (None: it keeps none;
    :class:`~seismo.model.StationMagnitude` is the record of ML). ``waiting``: stations
    whose waves this type needs are not all in the data yet.
    """

    magnitude: Magnitude | None
    station_magnitudes: tuple[StationMagnitude, ...] | None = None
    waiting: bool = False


class MagnitudeType(Protocol):
    """One magnitude type (module docstring)."""

    #: The type's name, as in :attr:`seismo.model.Magnitude.type` ("ML", "Ms_BB").
    name: str

    def measure(self, motions: Motions) -> MagnitudeReading:
        """The magnitude from the stations' motions."""
        ...

    def awaits(self, event: Event, stations: Mapping[str, StationInfo]) -> bool:
        """Whether ``event`` (without this magnitude) may get it from later windows."""
        ...

    def relocate(
        self, event: Event, stations: Mapping[str, StationInfo]
    ) -> MagnitudeReading | None:
        """The magnitude at ``event``'s (new) hypocentre from what the event stores; None:
        not possible, the stored value stays."""
        ...

    def preferred(self, current: Magnitude | None, mine: Magnitude) -> bool:
        """Whether ``mine`` replaces ``current`` as the event's preferred magnitude."""
        ...
