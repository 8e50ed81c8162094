"""Windows and the network context: what every window of every shell is cut by and read
with.

Windows
    Windows are aligned on a grid of ``pipeline.window_s`` seconds (shifted by
    ``pipeline.window_offset_s``: the shipped setting makes a run on the minute
    process the window that became complete ``postroll_s + safety_margin_s`` before
    it). Each station
    is read over ``[start - preroll_s, end + postroll_s)``: the pre-roll warms up
    the STA/LTA and the filters, the post-roll lets events whose first pick is
    late in the window be seen at every station. A pick belongs to the window
    that contains its time; an event belongs to the window that contains its
    earliest pick. Pick and event ids depend only on pick times, so overlapping
    reads give one pick and one event with a stable identity, and reprocessing
    a window is idempotent (:class:`Window`, :func:`window_for_run`,
    :func:`windows_between`).

Context
    :class:`Context` is loaded once per process: the settings, the inventory, the
    velocity model (with its cached travel-time tables), the sites, and the thresholds
    the inventory sets (:mod:`seismo.event.geometry`) that every stage call of the
    shells takes from it.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from obspy import Inventory, UTCDateTime

from seismo.config import Settings
from seismo.errors import SeismoError
from seismo.event.depthphase import vertical_delay_s
from seismo.event.geometry import Derived, derive
from seismo.event.measure import EventMeasurer
from seismo.event.sanity import sanity_reasons
from seismo.event.settings import AssociateConfig, LocateConfig
from seismo.event.shortfall import Shortfall
from seismo.event.sites import load_sites
from seismo.event.velocity import PHASES, TravelTimeTable, VelocityModel, load_velocity_model
from seismo.inventory import StationInfo, load_inventory, report_response_gaps, station_map
from seismo.model import Event
from seismo.station.picker.settings import PickerConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """A processing window ``[start, end)`` and the data span read for it."""

    start: UTCDateTime
    end: UTCDateTime
    preroll_s: float
    postroll_s: float

    @property
    def data_start(self) -> UTCDateTime:
        return self.start - self.preroll_s

    @property
    def data_end(self) -> UTCDateTime:
        return self.end + self.postroll_s

    def to_dict(self) -> dict[str, object]:
        return {
            "start": str(self.start),
            "end": str(self.end),
            "preroll_s": self.preroll_s,
            "postroll_s": self.postroll_s,
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Window:
        return cls(
            UTCDateTime(str(d["start"])),
            UTCDateTime(str(d["end"])),
            float(d["preroll_s"]),  # type: ignore[arg-type]
            float(d["postroll_s"]),  # type: ignore[arg-type]
        )

    def __str__(self) -> str:
        return f"[{self.start} – {self.end})"


def _floor(t: UTCDateTime, step: float, offset: float = 0.0) -> UTCDateTime:
    """The latest grid time (``offset + k * step``) not after ``t``."""
    return UTCDateTime(math.floor((float(t.timestamp) - offset) / step) * step + offset)


def window_for_run(settings: Settings, run_time: UTCDateTime | datetime) -> Window:
    """The newest complete window a run at ``run_time`` can process.

    Its data end (window end + post-roll) is at least ``safety_margin_s`` before
    ``run_time``, leaving that margin for late-arriving data.
    """
    p = settings.pipeline
    t = UTCDateTime(run_time)
    end = _floor(t - p.postroll_s - p.safety_margin_s, p.window_s, p.window_offset_s)
    return Window(end - p.window_s, end, p.preroll_s, p.postroll_s)


def windows_between(settings: Settings, start: UTCDateTime, end: UTCDateTime) -> list[Window]:
    """Grid-aligned windows covering ``[start, end)``."""
    p = settings.pipeline
    if end <= start:
        raise SeismoError(f"end ({end}) must be after start ({start})")
    t = _floor(start, p.window_s, p.window_offset_s)
    out = []
    while t < end:
        out.append(Window(t, t + p.window_s, p.preroll_s, p.postroll_s))
        t = t + p.window_s
    return out


@dataclass
class Context:
    """What every window needs, loaded once: settings, inventory, model, sites, and the
    thresholds the inventory sets (:mod:`seismo.event.geometry`).

    ``velocity`` is the configured model with its datum at the highest station;
    :attr:`assoc_cfg` and :attr:`locate_cfg` are ``[associate]`` and ``[locate]`` with
    the network's grid, depth range, maximum distance and fallback depth. Every stage
    call of the shells takes them from here.
    """

    settings: Settings
    inventory: Inventory
    velocity: VelocityModel
    sites: list = field(default_factory=list)
    derived: Derived | None = None
    _pickers: dict[str, PickerConfig] = field(default_factory=dict, repr=False)
    shortfall: Shortfall = field(default_factory=Shortfall)  # summed over windows measured

    def __post_init__(self) -> None:
        if self.derived is None and self.stations:
            s = self.settings
            self.derived = derive(
                self.stations, self.velocity, s.associate, s.locate,
                merge_s=s.picker.station_merge_s, s_picks=s.picker.s_picks,
            )
            self.velocity = self.derived.model
            self.derived.log(log)

    @property
    def assoc_cfg(self) -> AssociateConfig:
        """``[associate]`` with the network's thresholds."""
        return self.derived.associate if self.derived else self.settings.associate

    @property
    def locate_cfg(self) -> LocateConfig:
        """``[locate]`` with the network's thresholds."""
        return self.derived.locate if self.derived else self.settings.locate

    @property
    def separable_s(self) -> frozenset[str] | None:
        """Stations whose S the picker can separate from their P (None: unknown)."""
        return self.derived.separable_s if self.derived else None

    @cached_property
    def max_travel_s(self) -> float:
        """The longest P travel time (s) the association grid allows (its farthest node,
        shallowest or deepest)."""
        d = self.assoc_cfg.max_distance_km
        zs = (self.velocity.min_depth_km, self.locate_cfg.depth_max_km)
        return max(float(self.velocity.travel_time("P", d, z)) for z in zs)

    def sanity(self, event: Event, start: UTCDateTime, end: UTCDateTime) -> list[str]:
        """Why ``event``, located from picks of ``[start, end)``, must not be published
        (:func:`seismo.event.sanity.sanity_reasons`; empty: it may)."""
        return sanity_reasons(event, self.locate_cfg, self.stations, (start, end),
                              self.max_travel_s)

    def picker_cfg(self, station_id: str) -> PickerConfig:
        """``[picker]`` for one station: the S inside a P's onset cluster is looked for
        only where the network expects S-P shorter than the merge span (stations without
        a separable S, :func:`seismo.event.geometry.separable_s_stations`); elsewhere an
        onset cluster that close is an S with a precursor, not a P and an S."""
        cfg = self.settings.picker
        sep = self.separable_s
        if sep is None or not cfg.inner_s or station_id not in sep:
            return cfg
        got = self._pickers.get(station_id)
        if got is None:
            got = self._pickers[station_id] = cfg.model_copy(update={"inner_s": False})
        return got

    def threshold_lines(self) -> list[str]:
        """The effective thresholds and their rules, one line each."""
        return self.derived.lines() if self.derived else []

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        inventory: str | Path | Inventory | None = None,
        *,
        check_responses: bool = True,
    ) -> Context:
        """Load the inventory, velocity model and sites of ``settings``.

        ``check_responses``: evaluate every channel's response now and warn once about
        those that give no ML or intensity (:func:`seismo.inventory.report_response_gaps`;
        ~25 ms a channel). A DAG task that handles a few stations passes False and
        checks its own stations (:func:`~seismo.shells.window_stations.report_station_responses`).
        """
        if isinstance(inventory, Inventory):
            inv = inventory
        else:
            inv = load_inventory(inventory or settings.network.inventory)
        if check_responses:
            report_response_gaps(inv)  # once, at start-up: which channels give no ML/intensity
        return cls(
            settings=settings,
            inventory=inv,
            velocity=load_velocity_model(settings.network.velocity_model),
            sites=load_sites(settings.network.sites),
        )

    def prepare_tables(self) -> None:
        """Give the velocity model its travel-time tables before the first association.

        From ``pipeline.cache_dir`` when an earlier process left them there for the
        same model and code (:meth:`~seismo.event.velocity.VelocityModel.fingerprint`),
        else built here (~1.5-3 s) and left there for the next process. A cache that
        cannot be read or written is logged and bypassed.
        """
        model = self.velocity
        cache = self.settings.pipeline.cache_dir
        if cache is None:
            model.build_tables()
            return
        path = Path(cache) / f"traveltimes-{model.fingerprint()}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    dists, depths = z["distances_km"], z["depths_km"]
                    model.use_tables({
                        ph: TravelTimeTable(ph, depths, dists, z[f"times_{ph}"]) for ph in PHASES
                    })
                return
            except (OSError, KeyError, ValueError) as exc:
                log.warning("travel-time cache %s unusable (%s); building the tables", path, exc)
        tables = model.tables()
        t = tables["P"]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            arrays: dict[str, Any] = {f"times_{ph}": tables[ph].times_s for ph in PHASES}
            np.savez(tmp, distances_km=t.distances_km, depths_km=t.depths_km, **arrays)
            os.replace(tmp, path)
        except OSError as exc:
            log.info("travel-time tables not cached in %s: %s", cache, exc)

    @cached_property
    def stations(self) -> dict[str, StationInfo]:
        return station_map(self.inventory)

    @cached_property
    def measurer(self) -> EventMeasurer:
        """The measurement stage (:mod:`seismo.event.measure`) for this network."""
        s = self.settings
        return EventMeasurer(self.stations, self.p_time, self.s_time, self.sites, s.magnitude,
                             s.intensity, pp_delay=self.pp_delay)

    def p_time(self, distance_km: float, depth_km: float) -> float:
        return float(self.velocity.travel_time("P", distance_km, depth_km))

    def s_time(self, distance_km: float, depth_km: float) -> float:
        return float(self.velocity.travel_time("S", distance_km, depth_km))

    def pp_delay(self, distance_km: float, depth_km: float) -> float:
        """pP - P delay (s) at ``distance_km`` from a source at ``depth_km``: the vertical
        slowness integral (:func:`seismo.event.depthphase.vertical_delay_s`) at the P ray
        parameter (:meth:`~seismo.event.velocity.VelocityModel.time_slowness`)."""
        p = float(self.velocity.time_slowness("P", distance_km, depth_km)[1])
        return vertical_delay_s(self.velocity, p, depth_km, "pP")
