"""The simulated network: deterministic waveforms for every channel of an inventory.

``Simulator.waveforms`` returns int32 counts on the epoch sample grid: ambient
noise (:mod:`seismo.simulate.noise`) plus the scenario's earthquakes
(:mod:`seismo.simulate.source`), through each channel's full response, with
the scenario's faults (:mod:`seismo.simulate.faults`), saturated at the 24-bit
full scale. A sample depends only on (seed, channel, time, scenario), never on
the requested window.

Arrival times come from ObsPy TauP through the simulator's own Earth model
(:mod:`seismo.simulate.earth`), never from the locator's tables, plus each station's
elevation (through the ray parameter) and a static fixed per station. Site terms are
fixed per station too; the scenario magnitude is Mw.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from obspy import Inventory, Stream, Trace, UTCDateTime
from obspy.geodetics import locations2degrees
from scipy.fft import next_fast_len

from seismo.errors import ConfigError, SimulationError
from seismo.event.velocity import VelocityModel, load_velocity_model
from seismo.geo import azimuth_deg, distance_km, hypocentral_km
from seismo.inventory import ChannelInfo, StationInfo, load_inventory, stations
from seismo.simulate.earth import EarthModel, TravelTimes, earth_from_layers, load_earth_model
from seismo.simulate.faults import apply_sample_faults, noise_gain, segments
from seismo.simulate.grid import index_ceil, rate_fraction, time_of
from seismo.simulate.noise import block_amplitude, block_length, block_rng, noise_segment
from seismo.simulate.physics import Physics
from seismo.simulate.response import ResponseCache
from seismo.simulate.scenario import Scenario, ScenarioEvent, get_scenario
from seismo.simulate.source import Motion, Station, body_phases, peak_motion, synthesize
from seismo.simulate.source import _signal_end as signal_end

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
#: Site/Description token giving a station's own urban noise level, dB above the NHNM.
NOISE_TOKEN = "nhnm_db="
_PRE_P_S = 2.0  # zero samples kept before each P arrival in the event buffers (s)
_CACHE_BYTES = 256 * 2**20  # event buffers kept in memory


def earth_model_of(model: VelocityModel | EarthModel | str | Path) -> EarthModel:
    """An :class:`EarthModel` from a model object or file (earth-model or locator TOML).

    A locator-style model (``config/velocity_model.toml`` format) becomes its layers over
    ak135, the last layer taken as the top of the mantle.
    """
    if isinstance(model, EarthModel):
        return model
    if isinstance(model, VelocityModel):
        vs = tuple(
            v / (model.layer_vp_vs[i] if model.layer_vp_vs else model.vp_vs)
            for i, v in enumerate(model.vp)
        )
        return earth_from_layers(model.name, model.tops_km, model.vp, vs)
    try:
        return load_earth_model(model)
    except ConfigError:
        return earth_model_of(load_velocity_model(model))


class _Default:
    """Sentinel: take the scenario named in the settings."""


SETTINGS_SCENARIO: Any = _Default()


@dataclass(frozen=True)
class TruthEvent:
    """What the simulator put in: the event and, per ``NET.STA``, its arrivals and peaks.

    ``magnitude`` is the moment magnitude Mw. ``arrivals[sta] = (P time, S time)``
    as generated (TauP, elevation and the station's static included); distances in km;
    ``pga`` (m/s²) and ``pgv`` (m/s) are peaks of the noise-free three-component vector
    sum of ground motion (unfiltered), empty if not requested.
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
    magnitude_type: str = "Mw"


@dataclass(frozen=True)
class StationTerms:
    """Terms fixed per station (seeded by its id): statics (s), site factor, noise."""

    p_static_s: float
    s_static_s: float
    site_factor: float
    urban_excess_db: float | None


class Simulator:
    """Synthetic waveforms for ``inventory`` (any network), optionally playing ``scenario``.

    Args:
        inventory: ObsPy Inventory (responses are used) or a StationXML path.
        velocity_model: the simulator's Earth: an :class:`EarthModel`, a locator
            :class:`VelocityModel` (its layers over ak135) or either's TOML path.
        scenario: events and faults; None for noise only.
        seed: master seed of every random draw.
        urban_noise_fraction, rural_noise_fraction: position of the noise PSD
            between NLNM (0) and NHNM (1) for urban / rural stations (below 1 Hz for
            urban stations, which stand ``physics.urban_nhnm_excess_db`` above the NHNM
            at 1-20 Hz unless their Site description says ``nhnm_db=X``).
        urban_marker: a station is urban when its StationXML Site description
            (or name) contains this text.
        digitizer_noise_counts: white self-noise added to every channel (counts RMS).
        physics: wave physics (:class:`~seismo.simulate.physics.Physics`).
        taup_cache: directory of built TauP models.
    """

    def __init__(
        self,
        inventory: Inventory | str | Path,
        velocity_model: VelocityModel | EarthModel | str | Path,
        scenario: Scenario | None = None,
        *,
        seed: int = 0,
        urban_noise_fraction: float = 0.55,
        rural_noise_fraction: float = 0.35,
        urban_marker: str = URBAN_MARKER,
        digitizer_noise_counts: float = DIGITIZER_NOISE_COUNTS,
        physics: Physics | None = None,
        site_sigma_log10: float | None = None,
        emergent_fraction: float | None = None,
        taup_cache: str | Path | None = None,
    ) -> None:
        inv = inventory if isinstance(inventory, Inventory) else load_inventory(inventory)
        self.earth = earth_model_of(velocity_model)
        self.travel = TravelTimes(self.earth, None if taup_cache is None else Path(taup_cache))
        for name, frac in (("urban", urban_noise_fraction), ("rural", rural_noise_fraction)):
            if not 0.0 <= frac <= 1.0:
                raise SimulationError(f"{name}_noise_fraction ({frac}) must be within [0, 1]")
        if digitizer_noise_counts < 0:
            raise SimulationError(f"digitizer_noise_counts ({digitizer_noise_counts}) must be >= 0")
        phys = physics or Physics()
        if site_sigma_log10 is not None:
            phys = replace(phys, site_sigma_log10=float(site_sigma_log10))
        if emergent_fraction is not None:
            phys = replace(phys, emergent_fraction=float(emergent_fraction))
        if phys.site_sigma_log10 < 0 or not 0.0 <= phys.emergent_fraction <= 1.0:
            raise SimulationError(
                f"site_sigma_log10 ({phys.site_sigma_log10}) must be >= 0 and emergent_fraction "
                f"({phys.emergent_fraction}) within [0, 1]"
            )
        self.physics = phys
        self.inventory = inv
        self.scenario = scenario
        self.seed = int(seed)
        self.urban_noise_fraction = float(urban_noise_fraction)
        self.rural_noise_fraction = float(rural_noise_fraction)
        self.digitizer_noise_counts = float(digitizer_noise_counts)
        self._stations: dict[str, StationInfo] = {s.id: s for s in stations(inv)}
        self._urban: set[str] = set()
        self._noise_db: dict[str, float] = {}
        for net in inv.networks:
            for sta in net.stations:
                site = sta.site
                text = " ".join(x for x in (site.description, site.name) if x) if site else ""
                sid = f"{net.code}.{sta.code}"
                if urban_marker and urban_marker in text:
                    self._urban.add(sid)
                for tok in text.split():
                    if tok.startswith(NOISE_TOKEN):
                        try:
                            self._noise_db[sid] = float(tok[len(NOISE_TOKEN) :])
                        except ValueError:
                            log.warning("station %s: bad %s%r ignored", sid, NOISE_TOKEN, tok)
        self._resp = ResponseCache(inv)
        self._amp: dict[tuple[str, float], NDArray] = {}
        self._terms: dict[str, StationTerms] = {}
        self._arr: dict[tuple[float, float, float, str], dict[str, tuple[float, float, float]]] = {}
        self._motions: OrderedDict[tuple[int, str, float], Motion] = OrderedDict()
        self._quakes: OrderedDict[tuple[int, str, float], tuple[int, NDArray]] = OrderedDict()
        self._bytes = 0

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
        """Build from ``[simulator]`` (scenario catalogue, seed, noise, physics) and
        ``[network]`` (inventory, velocity model).

        ``scenario`` defaults to ``sim_cfg.scenario``; a name is looked up in
        ``sim_cfg.scenarios``; None means noise only. ``reference`` rebases the
        scenario (e.g. to "now"). ``inventory`` replaces ``network.inventory``. The
        Earth model is ``[simulator] velocity_model`` (a model-mismatch overlay), else
        ``[simulator.physics] earth_model``, else ``[network] velocity_model`` (its
        layers over ak135); travel times always come from TauP.
        """
        if isinstance(scenario, _Default):
            scenario = sim_cfg.scenario
        scen = get_scenario(sim_cfg.scenarios, scenario) if isinstance(scenario, str) else scenario
        if scen is not None and reference is not None:
            scen = scen.rebased(UTCDateTime(reference))
        inv = inventory if inventory is not None else load_inventory(network.inventory)
        pc = sim_cfg.physics
        earth: Any = (
            sim_cfg.velocity_model  # an explicit model-mismatch overlay wins
            or pc.earth_model
            or network.velocity_model
        )
        physics = Physics(
            stress_drop_bar=pc.stress_drop_bar,
            kappa_s=pc.kappa_s,
            statics_sigma_s=pc.statics_sigma_s,
            site_sigma_log10=sim_cfg.site_sigma_log10,
            emergent_fraction=sim_cfg.emergent_fraction,
            coda_q0=pc.coda_q0,
            coda_eta=pc.coda_eta,
            coda_level=pc.coda_level,
            surface_min_deg=pc.surface_min_deg,
            dispersion=pc.dispersion,
            depth_phase_min_km=pc.depth_phase_min_km,
            urban_nhnm_excess_db=pc.urban_nhnm_excess_db,
        )
        return cls(
            inv,
            earth,
            scen,
            seed=sim_cfg.seed,
            urban_noise_fraction=sim_cfg.urban_noise_fraction,
            rural_noise_fraction=sim_cfg.rural_noise_fraction,
            urban_marker=sim_cfg.urban_site_marker,
            digitizer_noise_counts=sim_cfg.digitizer_noise_counts,
            physics=physics,
            taup_cache=pc.taup_cache,
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
        return station_id in self._urban or station_id in self._noise_db

    def noise_fraction(self, station_id: str) -> float:
        """Position of the station's noise PSD between NLNM (0) and NHNM (1)."""
        return self.urban_noise_fraction if self.is_urban(station_id) else self.rural_noise_fraction

    def taup(self) -> Any:
        """The ObsPy ``TauPyModel`` of the simulator's Earth model."""
        return self.travel.taup()

    def terms(self, station_id: str) -> StationTerms:
        """The station's fixed terms: P/S statics, site factor, urban noise excess.

        Drawn once from (seed, station id): the same for every event, window and run.
        """
        hit = self._terms.get(station_id)
        if hit is not None:
            return hit
        rng = block_rng(self.seed, f"station-terms|{station_id}", 0)
        ph = self.physics
        p_static = float(rng.normal(0.0, ph.statics_sigma_s)) if ph.statics_sigma_s > 0 else 0.0
        vp0, vs0, _ = self.earth.at(0.0)
        site = (
            float(10.0 ** rng.normal(0.0, ph.site_sigma_log10)) if ph.site_sigma_log10 > 0 else 1.0
        )
        excess = self._noise_db.get(station_id)
        if excess is None and station_id in self._urban:
            excess = ph.urban_nhnm_excess_db
        out = StationTerms(p_static, p_static * vp0 / vs0, site, excess)
        self._terms[station_id] = out
        return out

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
            sid = f"{ch.network}.{ch.station}"
            frac = self.noise_fraction(sid)
            resp = self._resp.acc_response(ch.seed_id, fs, n)
            amp = block_amplitude(
                fs, n, frac, resp, self.digitizer_noise_counts, self.terms(sid).urban_excess_db
            )
            self._amp[key] = amp
        return amp

    # ------------------------------------------------------------------ earthquakes
    def _geometry(self, ev: ScenarioEvent, sta: StationInfo) -> tuple[float, float, float]:
        """(epicentral km, hypocentral km, azimuth epicentre -> station in degrees)."""
        epi = float(distance_km(ev.latitude, ev.longitude, sta.latitude, sta.longitude))
        hyp = float(hypocentral_km(epi, ev.depth_km + sta.elevation_m / 1000.0))
        az = float(azimuth_deg(ev.latitude, ev.longitude, sta.latitude, sta.longitude))
        return epi, hyp, az

    def _phase_times(self, ev: ScenarioEvent, sid: str) -> dict[str, tuple[float, float, float]]:
        """Per phase: (travel time s incl. elevation and static, ray parameter s/km, 0)."""
        key = (ev.latitude, ev.longitude, ev.depth_km, sid)
        hit = self._arr.get(key)
        if hit is not None:
            return hit
        sta = self.station(sid)
        deg = float(locations2degrees(ev.latitude, ev.longitude, sta.latitude, sta.longitude))
        terms = self.terms(sid)
        out: dict[str, tuple[float, float, float]] = {}
        for fam, static in (("P", terms.p_static_s), ("S", terms.s_static_s)):
            a = self.travel.first(fam, ev.depth_km, deg)
            dt = self.travel.elevation_delay_s(fam, sta.elevation_m, a.p_s_per_km)
            out[fam] = (a.time_s + dt + static, a.p_s_per_km, 0.0)
        if ev.depth_km >= self.physics.depth_phase_min_km:
            for name in ("pP", "sP"):
                dp = self.travel.arrival((name,), ev.depth_km, deg)
                if dp is not None:
                    dt = self.travel.elevation_delay_s("P", sta.elevation_m, dp.p_s_per_km)
                    out[name] = (dp.time_s + dt + terms.p_static_s, dp.p_s_per_km, 0.0)
        self._arr[key] = out
        return out

    def arrivals(self, ev: ScenarioEvent, station_id: str) -> tuple[UTCDateTime, UTCDateTime]:
        """True P and S arrival times of ``ev`` at ``NET.STA`` (TauP first arrivals,
        station elevation and static included)."""
        ph = self._phase_times(ev, station_id)
        return ev.origin + ph["P"][0], ev.origin + ph["S"][0]

    def _station_record(self, idx: int, ev: ScenarioEvent, sid: str) -> Station:
        """Per record draws (seeded by event and station): onset, polarity, radiation."""
        rng = block_rng(self.seed, f"record|{sid}|{idx}|{ev.magnitude}|{ev.latitude}", 0)
        ph = self.physics
        emergent = ph.emergent_fraction > 0 and rng.random() < ph.emergent_fraction
        rise = float(rng.uniform(0.3, 1.0)) if emergent else None
        polarity = 1.0 if rng.random() < 0.5 else -1.0
        rad, sv, sh = (float(x) for x in rng.uniform(0.7, 1.3, size=3))
        # incidence at the free surface from the weathered top, not the model's first layer
        vp0, vs0 = ph.surface_vp_kms, ph.surface_vs_kms
        return Station(vp0, vs0, self.terms(sid).site_factor, rise, polarity, rad, sv, sh)

    def _phases(self, idx: int, ev: ScenarioEvent, sta: StationInfo) -> tuple[list[Any], float]:
        times = self._phase_times(ev, sta.id)
        tp = times["P"][0]
        _, hyp, _ = self._geometry(ev, sta)
        src = self.earth.at(ev.depth_km + self.earth.datum_km)
        surf = self.earth.at(0.0)
        arrivals = {k: (v[0] - tp, v[0], v[1]) for k, v in times.items()}
        sd = ev.stress_drop_bar if ev.stress_drop_bar is not None else self.physics.stress_drop_bar
        phases = body_phases(
            mw=ev.magnitude,
            stress_drop_bar=sd,
            source=src,
            hypo_km=hyp,
            arrivals=arrivals,
            surface=(surf[0], surf[1]),
            physics=self.physics,
        )
        return phases, tp

    def _motion(self, idx: int, ev: ScenarioEvent, sta: StationInfo, fr: Fraction) -> Motion:
        fs = float(fr)
        key = (idx, sta.id, fs)
        hit = self._motions.get(key)
        if hit is not None:
            return hit
        phases, tp_s = self._phases(idx, ev, sta)
        tp = ev.origin + tp_s
        epi, hyp, az = self._geometry(ev, sta)
        ip = index_ceil(tp, fr)
        npre = max(4, math.ceil(_PRE_P_S * fs))
        p_offset = float(Fraction(ip) / fr - Fraction(tp.ns, 10**9))
        rng = block_rng(
            self.seed,
            f"quake|{sta.id}|{fs!r}|{idx}|{ev.magnitude}|{ev.latitude}|{ev.longitude}|{ev.depth_km}",
            0,
        )
        motion = synthesize(
            fs=fs,
            start_index=ip - npre,
            onset=npre,
            p_offset_s=p_offset,
            phases=phases,
            station=self._station_record(idx, ev, sta.id),
            hypo_km=hyp,
            epi_km=epi,
            azimuth_deg=az,
            origin_to_p_s=tp_s,
            mw=ev.magnitude,
            physics=self.physics,
            rng=rng,
        )
        self._store(self._motions, key, motion, motion.zne.nbytes)
        return motion

    def _store(self, cache: OrderedDict[Any, Any], key: Any, value: Any, nbytes: int) -> None:
        cache[key] = value
        self._bytes += nbytes
        while self._bytes > _CACHE_BYTES and (self._motions or self._quakes):
            victim = self._motions if len(self._motions) >= len(self._quakes) else self._quakes
            if not victim:
                victim = self._quakes if self._quakes else self._motions
            _, old = victim.popitem(last=False)
            arr = old.zne if isinstance(old, Motion) else old[1]
            self._bytes -= arr.nbytes

    def _support_end(
        self, idx: int, ev: ScenarioEvent, sta: StationInfo
    ) -> tuple[UTCDateTime, UTCDateTime]:
        """Conservative [start, end) of an event's signal at a station (no synthesis)."""
        phases, tp_s = self._phases(idx, ev, sta)
        epi, hyp, _ = self._geometry(ev, sta)
        end_s = signal_end(phases, hyp, epi, tp_s, ev.magnitude, self.physics)
        pad = 20.0 + 3.0 * max(1.0 / ph.fc for ph in phases)
        tp = ev.origin + tp_s
        return tp - _PRE_P_S - 1.0, tp + end_s + pad + 10.0

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
        t0, t1 = self._support_end(idx, ev, sta)
        if index_ceil(t1, fr) <= i0 or index_ceil(t0, fr) >= i1:
            return None  # the request does not reach this event (nothing cached)
        motion = self._motion(idx, ev, sta, fr)
        az, dip = math.radians(ch.azimuth), math.radians(ch.dip)
        z, north, east = motion.zne
        # SEED orientation: dip is down from horizontal (-90 = up), azimuth from north.
        acc = math.cos(dip) * (north * math.cos(az) + east * math.sin(az)) - math.sin(dip) * z
        n = acc.size
        # zero-padded (linear, not circular) convolution with the response: the long tail
        # of a great event's waves must not wrap round to the buffer start
        nfft = next_fast_len(2 * n, real=True)
        resp = self._resp.acc_response(ch.seed_id, fs, nfft)
        counts = np.fft.irfft(np.fft.rfft(acc, nfft) * resp, nfft)[:n]
        counts[: motion.onset] = 0.0  # causal: nothing before the P arrival
        taper = max(motion.pad // 2, 1)
        counts[n - taper :] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, taper)))
        out = (motion.start_index, counts)
        self._store(self._quakes, key, out, counts.nbytes)
        return out

    def motion(self, event_index: int, station_id: str, sampling_rate: float) -> Motion:
        """The noise-free ground acceleration (m/s², Z N E) of event ``event_index`` at a
        station, on the grid of ``sampling_rate`` (for tests and truth)."""
        if self.scenario is None:
            raise SimulationError("no scenario: no earthquake motion")
        ev = self.scenario.events[event_index]
        return self._motion(event_index, ev, self.station(station_id), rate_fraction(sampling_rate))

    # ------------------------------------------------------------------ truth
    def truth(self, peaks: bool = True) -> list[TruthEvent]:
        """The scenario's events with per-station arrivals (and PGA/PGV if ``peaks``)."""
        if self.scenario is None:
            return []
        out = []
        for idx, ev in enumerate(self.scenario.events):
            arr, epi_d, hyp_d, pga, pgv = {}, {}, {}, {}, {}
            for sid, sta in self._stations.items():
                times = self._phase_times(ev, sid)
                arr[sid] = (ev.origin + times["P"][0], ev.origin + times["S"][0])
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
