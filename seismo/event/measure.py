"""The measurement stage: from a located event and its stations' motions to a measured event.

One sequence, one home. Every shell that measures an event calls
:class:`EventMeasurer` (the window, ``seismo detect``'s chunks, ``seismo stream``,
the late magnitudes of distant events and a seismologist's relocation):

1. **magnitudes**: each magnitude type of :func:`magnitude_types` (ML, Mpd, Mwp,
   Ms_BB, Mwpd; :mod:`seismo.event.magtype`) measures its network magnitude and, where
   it keeps them, its station magnitudes; an Ms_BB the local records contradict is held
   for review (:func:`seismo.event.surface.hold_surface_magnitude`); the preferred
   magnitude and its type follow the types' own rules
   (:meth:`EventMeasurer.with_magnitudes`);
2. **observed intensities** (GB/T 17742-2020 and MMI) and the **clipped-station count**,
   in each station's arrival window (:mod:`seismo.event.arrivals`);
3. **predicted site intensities**, anchored to the observations
   (:func:`seismo.event.intensity.predict_sites`), with the note that explains a
   prediction above every observation;
4. the **consistency verdict** (:class:`Verdict`: the amplitudes must not grow with
   distance, :func:`seismo.event.consistency.check_amplitudes`). Its reasons become the
   event's ``flags``: an inconsistent event is published with them, for review
   (docs/consistency.md), not dropped.

It offers a first measurement (:meth:`EventMeasurer.measure`) and two re-measurements
with more data: the magnitude types an event still awaits, on the series of later
windows (:meth:`EventMeasurer.remeasure`, Ms_BB once the surface waves of a distant
event are in), and the event at a new hypocentre from what it stores
(:meth:`EventMeasurer.relocated`, review).

Pure: no clock, no I/O; units as in :mod:`seismo.model`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from obspy import UTCDateTime

from seismo.event.arrivals import EventRecords, TravelTimeFn, count_clipped_stations
from seismo.event.consistency import check_amplitudes
from seismo.event.intensity import intensity_note, predict_sites, station_intensities
from seismo.event.magnitude import LocalMagnitude
from seismo.event.magtype import MagnitudeReading, MagnitudeType, Motions
from seismo.event.moment import DurationMomentMagnitude, PMomentMagnitude
from seismo.event.pwave import PWaveMagnitude
from seismo.event.settings import IntensityConfig, MagnitudeConfig
from seismo.event.sites import Site
from seismo.event.surface import SurfaceMagnitude, hold_surface_magnitude
from seismo.geo import distance_km
from seismo.inventory import StationInfo
from seismo.model import AmplitudeSeries, Event, Magnitude


def magnitude_types(cfg: MagnitudeConfig) -> list[MagnitudeType]:
    """The magnitude types measured, in the order the preferred magnitude is decided:
    ML, the P-wave magnitude Mpd (only while no complete ML is known), Mwp (large events
    from the P wave), Ms_BB (surface waves beyond 2 degrees), Mwpd (great and slow
    ruptures)."""
    return [LocalMagnitude(cfg), PWaveMagnitude(cfg), PMomentMagnitude(cfg),
            SurfaceMagnitude(cfg), DurationMomentMagnitude(cfg)]


@dataclass(frozen=True)
class Verdict:
    """Whether a measured event is consistent with its data: the reasons it is not
    (empty: consistent; each reason is explained in docs/consistency.md)."""

    reasons: tuple[str, ...] = ()

    @property
    def consistent(self) -> bool:
        return not self.reasons

    def __str__(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "consistent"


@dataclass(frozen=True)
class Measurement:
    """A measured event and the verdict on it."""

    event: Event
    verdict: Verdict


@dataclass(frozen=True)
class Remeasurement:
    """What a re-measurement with later windows gave: the event with its new magnitudes
    (None: none came), and whether magnitudes are still awaited."""

    measurement: Measurement | None
    waiting: bool


class EventMeasurer:
    """The measurement stage (module docstring).

    Args:
        stations: the inventory's stations (``"NET.STA"`` -> info).
        p_time, s_time: travel times, ``fn(epicentral km, depth km) -> s``.
        pp_delay: the pP - P delay, ``fn(epicentral km, depth km) -> s``; with it the P
            windows of an event whose depth is resolved below the Moho
            (``[magnitude] mwp_moho_km``) end before the pP
            (:attr:`seismo.event.arrivals.EventRecords.pp_delay_fn`).
        sites: the sites whose intensity is predicted.
        magnitude, intensity: their settings.
        types: the magnitude types (default :func:`magnitude_types`).
    """

    def __init__(
        self,
        stations: Mapping[str, StationInfo],
        p_time: TravelTimeFn,
        s_time: TravelTimeFn,
        sites: Sequence[Site],
        magnitude: MagnitudeConfig,
        intensity: IntensityConfig,
        types: Sequence[MagnitudeType] | None = None,
        pp_delay: TravelTimeFn | None = None,
    ) -> None:
        self.stations = stations
        self.p_time = p_time
        self.s_time = s_time
        self.pp_delay = pp_delay
        self.sites = list(sites)
        self.magnitude = magnitude
        self.intensity = intensity
        self.types = list(types) if types is not None else magnitude_types(magnitude)

    # ------------------------------------------------------------------ first measurement
    def measure(
        self,
        event: Event,
        amplitudes: Mapping[str, AmplitudeSeries],
        next_p: Mapping[str, UTCDateTime] | None = None,
        others: Sequence[Event] = (),
    ) -> Measurement:
        """``event`` (located) measured on the stations' per-second peaks ``amplitudes``.

        Every station is read inside its arrival window, which ends before ``next_p``
        (per station, the predicted P of the next located event there). ``others``: the
        other located events of the data, whose waves are not this event's.
        """
        records = EventRecords(
            event.time, event.latitude, event.longitude, event.depth_km, amplitudes,
            self.stations, self.p_time, self.s_time, next_p=dict(next_p or {}),
            pp_delay_fn=self._pp_delay(event),
        )
        motions = Motions(records, event=event, others=tuple(others))
        readings = {t.name: t.measure(motions) for t in self.types}
        obs = station_intensities(records, self.intensity)
        ev = dataclasses.replace(
            event,
            station_intensities=tuple(obs),
            site_intensities=(),
            intensity_note="",
            max_intensity=max((o.intensity_cn for o in obs), default=None),
            max_mmi=max((o.mmi for o in obs), default=None),
            n_clipped_stations=count_clipped_stations(records, self.intensity.window_s),
        )
        return self._finish(ev, readings)

    def _pp_delay(self, event: Event) -> TravelTimeFn | None:
        """The pP delay function for ``event``'s P windows: only for a depth the data
        resolved (not fixed) below the Moho, where the pP leaves the P pulse."""
        deep = not event.depth_fixed and event.depth_km >= self.magnitude.mwp_moho_km
        return self.pp_delay if deep else None

    # ------------------------------------------------------------------ re-measurements
    def awaits(self, event: Event) -> bool:
        """Whether later windows may still bring a magnitude of ``event``."""
        return any(t.awaits(event, self.stations) for t in self.types)

    def remeasure(
        self,
        event: Event,
        windows: Mapping[str, Sequence[AmplitudeSeries]],
        others: Sequence[Event] = (),
    ) -> Remeasurement:
        """The magnitudes ``event`` awaits (:meth:`awaits`), measured on every window's
        series per station (``windows``); the others stay as measured. ``others``: other
        located events near in time."""
        awaited = [t for t in self.types if t.awaits(event, self.stations)]
        if not awaited:
            return Remeasurement(None, False)
        records = EventRecords(
            event.time, event.latitude, event.longitude, event.depth_km, {},
            self.stations, self.p_time, self.s_time, pp_delay_fn=self._pp_delay(event),
        )
        motions = Motions(records, windows, event=event, others=tuple(others))
        readings = {t.name: t.measure(motions) for t in awaited}
        waiting = any(r.waiting and r.magnitude is None for r in readings.values())
        got = {k: r for k, r in readings.items() if r.magnitude is not None}
        if not got:
            return Remeasurement(None, waiting)
        return Remeasurement(self._finish(event, got), waiting)

    def relocated(self, event: Event) -> Measurement:
        """``event`` measured again at its (new) hypocentre from what it stores: each
        type's :meth:`~seismo.event.magtype.MagnitudeType.relocate` (the ML from the
        stored amplitudes; a type that cannot keeps its value), the stations' epicentral
        distances, the site predictions."""
        readings: dict[str, MagnitudeReading] = {}
        for t in self.types:
            r = t.relocate(event, self.stations)
            if r is not None:
                readings[t.name] = r
        obs = tuple(
            dataclasses.replace(s, epi_distance_km=round(float(distance_km(
                event.latitude, event.longitude, s.latitude, s.longitude)), 3))
            for s in event.station_intensities
        )
        return self._finish(dataclasses.replace(event, station_intensities=obs), readings)

    # ------------------------------------------------------------------ common steps
    def with_magnitudes(self, event: Event, mags: Sequence[Magnitude]) -> Event:
        """``event`` with ``mags`` and its preferred magnitude (:func:`apply_magnitudes`)."""
        return apply_magnitudes(event, mags, self.types)

    def verdict(self, event: Event) -> Verdict:
        """The consistency verdict on a measured event."""
        why = check_amplitudes(event.station_magnitudes)
        return Verdict((why,) if why else ())

    def _finish(self, event: Event, readings: Mapping[str, MagnitudeReading]) -> Measurement:
        """``event`` with the magnitudes of ``readings`` (types not read keep theirs), its
        station magnitudes, the site predictions for its preferred magnitude, the verdict
        (its reasons become the event's flags, replacing those of an earlier verdict).

        An unconstrained event (``Event.unconstrained``) gets no magnitude: one computed
        at a location the data do not support would be as wrong as the location."""
        mags = [m for m in event.magnitudes if m.type not in readings]
        mags += [r.magnitude for r in readings.values() if r.magnitude is not None]
        if event.unconstrained:
            mags = []
        ev = self.with_magnitudes(event, hold_surface_magnitude(mags, self.magnitude))
        kept = [r.station_magnitudes for r in readings.values() if r.station_magnitudes is not None]
        if kept:
            smags = tuple(m for group in kept for m in group)
            ev = dataclasses.replace(
                ev, station_magnitudes=smags,
                n_magnitude_stations=len({(m.network, m.station) for m in smags if m.used}),
            )
        if ev.magnitude is not None and self.sites:
            site = predict_sites(
                ev.latitude, ev.longitude, ev.depth_km, ev.magnitude, self.sites,
                list(ev.station_intensities), self.intensity, ev.magnitude_type,
                {k: v.vs30 for k, v in self.stations.items()},
            )
            ev = dataclasses.replace(ev, site_intensities=tuple(site),
                                     intensity_note=intensity_note(ev.station_intensities, site))
        verdict = self.verdict(ev)
        earlier = set(self.verdict(event).reasons)
        flags = tuple(f for f in ev.flags if f not in earlier) + verdict.reasons
        return Measurement(dataclasses.replace(ev, flags=tuple(dict.fromkeys(flags))), verdict)


def apply_magnitudes(
    event: Event, mags: Sequence[Magnitude], types: Sequence[MagnitudeType]
) -> Event:
    """``event`` with ``mags`` set (in the order of ``types``) and the preferred one in the
    top-level fields: each type in turn says whether its value replaces the one chosen so
    far (:meth:`~seismo.event.magtype.MagnitudeType.preferred`)."""
    order = {t.name: k for k, t in enumerate(types)}
    mags = sorted(mags, key=lambda m: order.get(m.type, len(order)))
    pref: Magnitude | None = None
    for t in types:  # a magnitude held for review is never preferred
        mine = next((m for m in mags if m.type == t.name and m.published), None)
        if mine is not None and t.preferred(pref, mine):
            pref = mine
    if pref is None:
        return dataclasses.replace(
            event, magnitudes=tuple(mags), magnitude=None, magnitude_uncertainty=None,
            magnitude_lower_bound=False,
        )
    return dataclasses.replace(
        event,
        magnitudes=tuple(mags),
        magnitude=round(pref.value, 2),
        magnitude_type=pref.type,
        magnitude_uncertainty=pref.uncertainty,
        magnitude_lower_bound=pref.lower_bound,
    )


def with_magnitudes(event: Event, mags: Sequence[Magnitude], cfg: MagnitudeConfig) -> Event:
    """``event`` with ``mags`` and the preferred magnitude among the measured types
    (:func:`magnitude_types`)."""
    return apply_magnitudes(event, mags, magnitude_types(cfg))
