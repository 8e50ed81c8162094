"""The simulated network: deterministic waveforms for every channel of an inventory.

``Simulator.waveforms`` returns int32 counts on the epoch sample grid: ambient
noise (:mod:`seismo.simulate.noise`) plus the scenario's earthquakes
(:mod:`seismo.simulate.source`), through each channel's full response, with
the scenario's faults (:mod:`seismo.simulate.faults`), saturated at the 24-bit
full scale. A sample depends only on (seed, channel, time, scenario), never on
the requested window.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from obspy import Inventory, Stream, Trace, UTCDateTime
from obspy.geodetics import kilometers2degrees
from scipy.fft import next_fast_len

from seismo.errors import SimulationError
from seismo.event.velocity import VelocityModel, load_velocity_model
from seismo.geo import azimuth_deg, distance_km, hypocentral_km
from seismo.inventory import ChannelInfo, StationInfo, load_inventory, stations
from seismo.simulate.faults import apply_sample_faults, noise_gain, segments
from seismo.simulate.grid import index_ceil, rate_fraction, time_of
from seismo.simulate.noise import block_amplitude, block_length, block_rng, noise_segment
from seismo.simulate.response import ResponseCache
from seismo.simulate.scenario import Scenario, ScenarioEvent, get_scenario
from seismo.simulate.source import (
    Motion,
    SourceParams,
    durations,
    peak_motion,
    rayleigh_velocity_ms,
    synthesize,
)

if TYPE_CHECKING:
    from seismo.network import NetworkConfig
    from seismo.simulate.settings import SimulatorConfig

log = logging.getLogger(__name__)

#: 24-bit digitizer full scale (counts): output saturates at [-2**23, 2**23 - 1].
FULL_SCALE = 2**23
#: Default white digitizer/self noise (counts RMS), typical of 24-bit recorders [3P].
DIGITIZER_NOISE_COUNTS = 1.0
#: StationXML Site/Description marker of an urban (noisier) station (configurable).
URBAN_MARKER = "urban=1"
_PRE_P_S = 2.0  # zero samples kept before each P arrival in the event buffers (s)
#: Rayleigh waves are added from this epicentral distance (degrees): nearer, a city
#: network's records of the events it locates are dominated by body waves.
SURFACE_MIN_DEG = 1.5


class _Default:
    """Sentinel: take the scenario named in the settings."""


SETTINGS_SCENARIO: Any = _Default()


@dataclass(frozen=True)
class TruthEvent:
    """What the simulator put in: the event and, per ``NET.STA``, its arrivals and peaks.

    ``arrivals[sta] = (P time, S time)``; distances in km; ``pga`` (m/s²) and
    ``pgv`` (m/s) are peaks of the noise-free three-component vector sum of
    ground motion (unfiltered), empty if not requested.
    """

    origin: UTCDateTime
    latitude: float
    longitude: float
    depth_km: float
    magnitude: float
    arrivals: dict[str, tuple[UTCDateTime, UTCDateTime]] = field(default_factory=dict)
    epicentral_km: dict[str, float] = field(default_factory=dict)
    hypocentral_km: dict[str, float] = field(default_factory=dict)
    pga: dict[str, float] = field(default_factory=dict)
    pgv: dict[str, float] = field(default_factory=dict)


class Simulator:
    """Synthetic waveforms for ``inventory`` (any network), optionally playing ``scenario``.

    Args:
        inventory: ObsPy Inventory (responses are used) or a StationXML path.
        velocity_model: model or its TOML path (travel times).
        scenario: events and faults; None for noise only.
        seed: master seed of every random draw.
        urban_noise_fraction, rural_noise_fraction: position of the noise PSD
            between NLNM (0) and NHNM (1) for urban / rural stations.
        urban_marker: a station is urban when its StationXML Site description
            (or name) contains this text.
        digitizer_noise_counts: white self-noise added to every channel (counts RMS).
    """

    def __init__(
        self,
        inventory: Inventory | str | Path,
        velocity_model: VelocityModel | str | Path,
        scenario: Scenario | None = None,
        *,
        seed: int = 0,
        urban_noise_fraction: float = 0.55,
        rural_noise_fraction: float = 0.35,
        urban_marker: str = URBAN_MARKER,
        digitizer_noise_counts: float = DIGITIZER_NOISE_COUNTS,
        source_params: SourceParams | None = None,
        site_sigma_log10: float = 0.0,
        emergent_fraction: float = 0.0,
    ) -> None:
        inv = inventory if isinstance(inventory, Inventory) else load_inventory(inventory)
        self.velocity_model = (
            velocity_model
            if isinstance(velocity_model, VelocityModel)
            else load_velocity_model(velocity_model)
        )
        for name, frac in (("urban", urban_noise_fraction), ("rural", rural_noise_fraction)):
            if not 0.0 <= frac <= 1.0:
                raise SimulationError(f"{name}_noise_fraction ({frac}) must be within [0, 1]")
        if digitizer_noise_counts < 0:
            raise SimulationError(f"digitizer_noise_counts ({digitizer_noise_counts}) must be >= 0")
        self.inventory = inv
        self.scenario = scenario
        self.seed = int(seed)
        self.urban_noise_fraction = float(urban_noise_fraction)
        self.rural_noise_fraction = float(rural_noise_fraction)
        self.digitizer_noise_counts = float(digitizer_noise_counts)
        self.source_params = source_params or SourceParams()
        if site_sigma_log10 < 0 or not 0.0 <= emergent_fraction <= 1.0:
            raise SimulationError(
                f"site_sigma_log10 ({site_sigma_log10}) must be >= 0 and emergent_fraction "
                f"({emergent_fraction}) within [0, 1]"
            )
        self.site_sigma_log10 = float(site_sigma_log10)
        self.emergent_fraction = float(emergent_fraction)
        self._stations: dict[str, StationInfo] = {s.id: s for s in stations(inv)}
        self._urban: set[str] = set()
        for net in inv.networks:
            for sta in net.stations:
                site = sta.site
                text = " ".join(x for x in (site.description, site.name) if x) if site else ""
                if urban_marker and urban_marker in text:
                    self._urban.add(f"{net.code}.{sta.code}")
        self._resp = ResponseCache(inv)
        self._amp: dict[tuple[str, float], NDArray] = {}
        self._motions: OrderedDict[tuple[int, str, float], Motion] = OrderedDict()
        self._quakes: OrderedDict[tuple[int, str, float], tuple[int, NDArray]] = OrderedDict()
        self._cache_max = 512

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_settings(
        cls,
        sim_cfg: SimulatorConfig,
        network: NetworkConfig,
        scenario: str | Scenario | None = SETTINGS_SCENARIO,
        reference: UTCDateTime | None = None,
        inventory: Inventory | None = None,
    ) -> Simulator:
        """Build from ``[simulator]`` (scenario catalogue, seed, noise) and ``[network]``
        (inventory, velocity model).

        ``scenario`` defaults to ``sim_cfg.scenario``; a name is looked up in
        ``sim_cfg.scenarios``; None means noise only. ``reference`` rebases the
        scenario (e.g. to "now"). ``inventory`` replaces ``network.inventory``.
        """
        if isinstance(scenario, _Default):
            scenario = sim_cfg.scenario
        scen = get_scenario(sim_cfg.scenarios, scenario) if isinstance(scenario, str) else scenario
        if scen is not None and reference is not None:
            scen = scen.rebased(UTCDateTime(reference))
        inv = inventory if inventory is not None else load_inventory(network.inventory)
        # [simulator] velocity_model: generate with another model than the locator's
        model = load_velocity_model(sim_cfg.velocity_model or network.velocity_model)
        return cls(
            inv,
            model,
            scen,
            seed=sim_cfg.seed,
            urban_noise_fraction=sim_cfg.urban_noise_fraction,
            rural_noise_fraction=sim_cfg.rural_noise_fraction,
            urban_marker=sim_cfg.urban_site_marker,
            digitizer_noise_counts=sim_cfg.digitizer_noise_counts,
            site_sigma_log10=sim_cfg.site_sigma_log10,
            emergent_fraction=sim_cfg.emergent_fraction,
        )

    # ------------------------------------------------------------------ metadata
    @property
    def station_ids(self) -> list[str]:
        """``NET.STA`` of every station, sorted."""
        return sorted(self._stations)

    def station(self, station_id: str) -> StationInfo:
        try:
            return self._stations[station_id]
        except KeyError:
            msg = f"station {station_id!r} is not in the simulated inventory"
            raise SimulationError(msg) from None

    def is_urban(self, station_id: str) -> bool:
        return station_id in self._urban

    def noise_fraction(self, station_id: str) -> float:
        """Position of the station's noise PSD between NLNM (0) and NHNM (1)."""
        return self.urban_noise_fraction if self.is_urban(station_id) else self.rural_noise_fraction

    def _faults(self, station_id: str, channel: str | None = None) -> list[Any]:
        if self.scenario is None:
            return []
        return [f for f in self.scenario.faults if f.matches(station_id, channel)]

    def latency_s(self, station_id: str, at: UTCDateTime | None = None) -> float:
        """Delivery delay (s) of the station's data from ``late`` faults (0 if none).

        With ``at``, only faults active at that time count; without, any.
        """
        delays = [
            f.param("delay_s")
            for f in self._faults(station_id)
            if f.kind == "late" and (at is None or f.active(UTCDateTime(at)))
        ]
        return max(delays, default=0.0)

    def available_until(self, station_id: str, now: UTCDateTime) -> UTCDateTime:
        """The end of the data a live feed can deliver for the station at wall time ``now``."""
        now = UTCDateTime(now)
        return now - self.latency_s(station_id, now)

    # ------------------------------------------------------------------ waveforms
    def waveforms(
        self,
        network: str,
        station: str,
        start: UTCDateTime,
        end: UTCDateTime,
        location: str = "*",
        channel: str = "*",
    ) -> Stream:
        """Counts (int32) of the matching channels over ``[start, end)``, faults applied.

        Raises:
            SimulationError: the station is not in the inventory.
        """
        sid = f"{network}.{station}"
        info = self.station(sid)
        start, end = UTCDateTime(start), UTCDateTime(end)
        st = Stream()
        if end <= start:
            return st
        for ch in info.channels:
            if not (fnmatchcase(ch.location, location) and fnmatchcase(ch.channel, channel)):
                continue
            if not self._resp.usable(ch.seed_id) or ch.sampling_rate <= 0:
                log.debug("channel %s: no usable response or rate; not simulated", ch.seed_id)
                continue
            faults = self._faults(sid, ch.channel)
            for a, b, fs in segments(faults, start, end, ch.sampling_rate):
                fr = rate_fraction(fs)
                i0, i1 = index_ceil(a, fr), index_ceil(b, fr)
                if i1 <= i0:
                    continue
                data = self._samples(ch, fr, i0, i1, faults)
                tr = Trace(data=data)
                tr.stats.network, tr.stats.station = ch.network, ch.station
                tr.stats.location, tr.stats.channel = ch.location, ch.channel
                tr.stats.sampling_rate = float(fr)
                tr.stats.starttime = time_of(i0, fr)
                st.append(tr)
        return st

    def _samples(
        self, ch: ChannelInfo, fr: Fraction, i0: int, i1: int, faults: list[Any]
    ) -> NDArray:
        fs = float(fr)
        n = i1 - i0
        amp = self._noise_amplitude(ch, fs)
        data = noise_segment(i0, i1, amp, self.seed, f"noise|{ch.seed_id}|{fs!r}")
        gain = noise_gain(faults, i0, n, fr)
        if gain is not None:
            data *= gain
        if self.scenario is not None:
            for idx, ev in enumerate(self.scenario.events):
                q = self._quake_counts(idx, ev, ch, fr, i0, i1)
                if q is None:
                    continue
                q0, counts = q
                lo, hi = max(q0, i0), min(q0 + len(counts), i1)
                if hi > lo:
                    data[lo - i0 : hi - i0] += counts[lo - q0 : hi - q0]
        apply_sample_faults(data, faults, self.seed, ch.seed_id, i0, fr)
        np.clip(data, -FULL_SCALE, FULL_SCALE - 1, out=data)
        return np.rint(data).astype(np.int32)

    def _noise_amplitude(self, ch: ChannelInfo, fs: float) -> NDArray:
        key = (ch.seed_id, fs)
        amp = self._amp.get(key)
        if amp is None:
            n = block_length(fs)
            frac = self.noise_fraction(f"{ch.network}.{ch.station}")
            resp = self._resp.acc_response(ch.seed_id, fs, n)
            amp = block_amplitude(fs, n, frac, resp, self.digitizer_noise_counts)
            self._amp[key] = amp
        return amp

    # ------------------------------------------------------------------ earthquakes
    def _geometry(self, ev: ScenarioEvent, sta: StationInfo) -> tuple[float, float, float]:
        """(epicentral km, hypocentral km, azimuth epicentre -> station in degrees)."""
        epi = float(distance_km(ev.latitude, ev.longitude, sta.latitude, sta.longitude))
        hyp = float(hypocentral_km(epi, ev.depth_km))
        az = float(azimuth_deg(ev.latitude, ev.longitude, sta.latitude, sta.longitude))
        return epi, hyp, az

    def arrivals(self, ev: ScenarioEvent, station_id: str) -> tuple[UTCDateTime, UTCDateTime]:
        """True P and S arrival times of ``ev`` at ``NET.STA`` (1-D model, first arrivals)."""
        epi, _, _ = self._geometry(ev, self.station(station_id))
        tp = float(self.velocity_model.travel_time("P", epi, ev.depth_km))
        ts = float(self.velocity_model.travel_time("S", epi, ev.depth_km))
        return ev.origin + tp, ev.origin + ts

    def _support_end(self, ev: ScenarioEvent, sta: StationInfo) -> tuple[UTCDateTime, UTCDateTime]:
        """Conservative [start, end) of an event's signal at a station (no synthesis)."""
        tp, ts = self.arrivals(ev, sta.id)
        _, hyp, _ = self._geometry(ev, sta)
        beta = self.velocity_model.velocity_at(ev.depth_km, "S")
        *_, end_s, pad_s = durations(
            ev.magnitude, ev.stress_drop_bar, beta, hyp, ts - tp, self.source_params
        )
        surf = self._surface(ev, sta, tp)
        if surf is not None:
            end_s = max(end_s, surf[1] + 5.0)
        return tp - _PRE_P_S - 1.0, tp + end_s + pad_s * 2.0 + 10.0

    def _surface(
        self, ev: ScenarioEvent, sta: StationInfo, tp: UTCDateTime
    ) -> tuple[float, float, float] | None:
        """Rayleigh-wave train (first, last arrival after P in s, peak velocity m/s) or None.

        Beyond :data:`SURFACE_MIN_DEG`; group velocities 3.6 to 2.9 km/s (continental
        fundamental-mode Rayleigh waves at 8-25 s [3P]) from the epicentre.
        """
        epi, _, _ = self._geometry(ev, sta)
        delta = float(kilometers2degrees(epi))
        if delta < SURFACE_MIN_DEG:
            return None
        t_origin_to_p = float(tp - ev.origin)
        return (
            epi / 3.6 - t_origin_to_p,
            epi / 2.9 - t_origin_to_p,
            rayleigh_velocity_ms(ev.magnitude, delta),
        )

    def _station_draws(self, ev_idx: int, sta_id: str) -> tuple[float | None, float]:
        """(P rise time or None for the default impulsive onset, site factor) of a station."""
        rng = block_rng(self.seed, f"site|{sta_id}|{ev_idx}", 0)
        sigma = self.site_sigma_log10
        site = float(10.0 ** rng.normal(0.0, sigma)) if sigma > 0 else 1.0
        emergent = self.emergent_fraction > 0 and rng.random() < self.emergent_fraction
        rise = float(rng.uniform(0.3, 1.0)) if emergent else None
        return rise, site

    def _motion(self, idx: int, ev: ScenarioEvent, sta: StationInfo, fr: Fraction) -> Motion:
        fs = float(fr)
        key = (idx, sta.id, fs)
        hit = self._motions.get(key)
        if hit is not None:
            return hit
        tp, ts = self.arrivals(ev, sta.id)
        _, hyp, az = self._geometry(ev, sta)
        ip = index_ceil(tp, fr)
        npre = max(4, math.ceil(_PRE_P_S * fs))
        p_offset = float(Fraction(ip) / fr - Fraction(tp.ns, 10**9))
        rng = block_rng(
            self.seed,
            f"quake|{sta.id}|{fs!r}|{idx}|{ev.magnitude}|{ev.latitude}|{ev.longitude}|{ev.depth_km}",
            0,
        )
        rise, site = self._station_draws(idx, sta.id)
        motion = synthesize(
            fs=fs,
            start_index=ip - npre,
            onset=npre,
            p_offset_s=p_offset,
            s_delay_s=ts - tp,
            p_travel_s=tp - ev.origin,
            s_travel_s=ts - ev.origin,
            hypo_km=hyp,
            azimuth_deg=az,
            magnitude=ev.magnitude,
            stress_drop_bar=ev.stress_drop_bar,
            beta_kms=self.velocity_model.velocity_at(ev.depth_km, "S"),
            rng=rng,
            params=self.source_params,
            p_rise_s=rise,
            site_factor=site,
            surface=self._surface(ev, sta, tp),
        )
        self._store(self._motions, key, motion)
        return motion

    def _store(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        if len(cache) > self._cache_max:
            cache.popitem(last=False)

    def _quake_counts(
        self, idx: int, ev: ScenarioEvent, ch: ChannelInfo, fr: Fraction, i0: int, i1: int
    ) -> tuple[int, NDArray] | None:
        """(first epoch-grid index, counts) of event ``idx`` on channel ``ch``, or None."""
        fs = float(fr)
        key = (idx, ch.seed_id, fs)
        hit = self._quakes.get(key)
        if hit is not None:
            return hit
        sta = self._stations[f"{ch.network}.{ch.station}"]
        t0, t1 = self._support_end(ev, sta)
        if index_ceil(t1, fr) <= i0 or index_ceil(t0, fr) >= i1:
            return None  # the request does not reach this event (nothing cached)
        motion = self._motion(idx, ev, sta, fr)
        az, dip = math.radians(ch.azimuth), math.radians(ch.dip)
        z, north, east = motion.zne
        # SEED orientation: dip is down from horizontal (-90 = up), azimuth from north.
        acc = math.cos(dip) * (north * math.cos(az) + east * math.sin(az)) - math.sin(dip) * z
        n = acc.size
        # zero-padded (linear, not circular) convolution with the response: the long tail
        # of a great event's waves must not wrap round to the buffer start (it made the
        # first 0.25 s after P horizontal-dominant at some velocity sensors)
        nfft = next_fast_len(2 * n, real=True)
        resp = self._resp.acc_response(ch.seed_id, fs, nfft)
        counts = np.fft.irfft(np.fft.rfft(acc, nfft) * resp, nfft)[:n]
        counts[: motion.onset] = 0.0  # causal: nothing before the P arrival
        taper = max(motion.pad // 2, 1)
        counts[n - taper :] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, taper)))
        out = (motion.start_index, counts)
        self._store(self._quakes, key, out)
        return out

    # ------------------------------------------------------------------ truth
    def truth(self, peaks: bool = True) -> list[TruthEvent]:
        """The scenario's events with per-station arrivals (and PGA/PGV if ``peaks``)."""
        if self.scenario is None:
            return []
        out = []
        for idx, ev in enumerate(self.scenario.events):
            arr, epi_d, hyp_d, pga, pgv = {}, {}, {}, {}, {}
            for sid, sta in self._stations.items():
                arr[sid] = self.arrivals(ev, sid)
                epi, hyp, _ = self._geometry(ev, sta)
                epi_d[sid], hyp_d[sid] = epi, hyp
                if peaks:
                    rates = [c.sampling_rate for c in sta.channels if c.sampling_rate > 0]
                    fr = rate_fraction(max(rates) if rates else 100.0)
                    motion = self._motion(idx, ev, sta, fr)
                    pga[sid], pgv[sid] = peak_motion(motion.zne, float(fr))
            out.append(
                TruthEvent(
                    ev.origin,
                    ev.latitude,
                    ev.longitude,
                    ev.depth_km,
                    ev.magnitude,
                    arr,
                    epi_d,
                    hyp_d,
                    pga,
                    pgv,
                )
            )
        return out
