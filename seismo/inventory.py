"""StationXML -> stations, channels and responses.

Nothing here knows which network is loaded: everything comes from the
StationXML given (a file, or a directory of ``*.xml`` files).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from obspy import Inventory, UTCDateTime, read_inventory
from obspy.core.inventory import Channel, Network, Response, Station

from seismo.errors import InventoryError
from seismo.model import ChannelKind

log = logging.getLogger(__name__)

#: Response input units -> channel kind. SEED/StationXML unit strings (upper-cased).
_KIND_BY_UNITS: dict[str, ChannelKind] = {
    "M/S": "velocity",
    "M/SEC": "velocity",
    "NM/S": "velocity",
    "M/S**2": "acceleration",
    "M/S2": "acceleration",
    "M/SEC**2": "acceleration",
    "NM/S**2": "acceleration",
}


#: FDSN Source Identifiers v1.0, "Definition of identifiers"
#: (https://docs.fdsn.org/projects/source-identifiers/en/v1.0/definition.html): codes of
#: A-Z and 0-9, station and location codes also "-"; network and station 1-8 characters,
#: location 0-8 and never "--"; a channel is a SEED channel (3 characters) or
#: band_source_subsource. Lowercase letters are accepted too (the FDSN writes codes in
#: uppercase; archives hold lowercase ones, and the feeds read them:
#: seismo.io.feeds.base.check_codes). Nothing else may reach a file name (SDS archive,
#: window ledger): no "/", "\\", ".", NUL or space.
_CODE_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "network": (re.compile(r"[A-Za-z0-9]{1,8}"), "1-8 letters or digits"),
    "station": (re.compile(r"[A-Za-z0-9-]{1,8}"), "1-8 letters, digits or '-'"),
    "location": (re.compile(r"(?!--$)[A-Za-z0-9-]{0,8}"), "0-8 letters, digits or '-', not '--'"),
    "channel": (re.compile(r"[A-Za-z0-9]{3}|[A-Za-z0-9]+_[A-Za-z0-9]+_[A-Za-z0-9]*"),
                "3 letters or digits, or band_source_subsource"),
}
_PATTERN = re.compile(r"[A-Za-z0-9_*?-]{1,17}")


def code_problem(kind: str, code: str, *, wildcards: bool = False) -> str | None:
    """Why ``code`` is not a valid FDSN ``kind`` code ("network", "station", "location",
    "channel"; see ``_CODE_RULES``), or None when it is. ``wildcards``: ``*`` and ``?``
    stand for valid characters (glob patterns of the SDS reader)."""
    pattern, rule = _CODE_RULES[kind]
    if isinstance(code, str):
        if wildcards and ("*" in code or "?" in code):
            pattern = _PATTERN  # a glob: the codes' characters and the two wildcards
        if pattern.fullmatch(code):
            return None
    return f"invalid {kind} code {code!r} (FDSN source identifiers: {rule})"


def check_codes(*, wildcards: bool = False, **codes: str) -> None:
    """Raise InventoryError unless every code is valid (:func:`code_problem`), e.g.
    ``check_codes(network="SZ", station="FUT")``; used wherever codes make file names."""
    problems = [p for k, c in codes.items() if (p := code_problem(k, c, wildcards=wildcards))]
    if problems:
        raise InventoryError("; ".join(problems))


def drop_invalid_codes(inv: Inventory, source: str | Path) -> Inventory:
    """``inv`` (as read from ``source``) without the networks, stations and channels whose
    codes are invalid (:func:`code_problem`), each logged at ERROR with the code and the
    file: the other stations keep working. Changes ``inv`` in place and returns it."""
    def bad(kind: str, code: str, where: str) -> bool:
        why = code_problem(kind, code)
        if why:
            log.error("StationXML %s: %s%s: ignored", source, why, where)
        return why is not None

    nets = []
    for net in inv.networks:
        if bad("network", net.code, f" ({len(net.stations)} stations)"):
            continue
        stas = []
        for sta in net.stations:
            if bad("station", sta.code, f" in network {net.code}"):
                continue
            sta.channels = [
                ch for ch in sta.channels
                if not bad("location", ch.location_code or "", f" at {net.code}.{sta.code}")
                and not bad("channel", ch.code, f" at {net.code}.{sta.code}")
            ]
            stas.append(sta)
        net.stations = stas
        nets.append(net)
    inv.networks = nets
    return inv


@dataclass(frozen=True)
class ChannelInfo:
    network: str
    station: str
    location: str
    channel: str
    latitude: float
    longitude: float
    elevation_m: float
    depth_m: float
    azimuth: float
    dip: float
    sampling_rate: float
    kind: ChannelKind | None  # None when the response units are neither velocity nor acceleration
    sensitivity: float | None  # counts per input unit at the sensitivity frequency

    @property
    def seed_id(self) -> str:
        return f"{self.network}.{self.station}.{self.location}.{self.channel}"

    @property
    def component(self) -> str:
        return self.channel[-1:]


@dataclass(frozen=True)
class StationInfo:
    network: str
    station: str
    latitude: float
    longitude: float
    elevation_m: float
    site_name: str
    channels: tuple[ChannelInfo, ...]
    #: Vs30 of the site (m/s), from a ``vs30=NNN`` token of the StationXML Site description
    #: (StationXML has no element for it); None: not stated. It sets the station's own site
    #: term when predicted intensities are conditioned on its observations.
    vs30: float | None = None

    @property
    def id(self) -> str:
        return f"{self.network}.{self.station}"

    def kinds(self) -> set[ChannelKind]:
        return {c.kind for c in self.channels if c.kind is not None}


def load_inventory(path: str | Path) -> Inventory:
    """Read StationXML from a file or from every ``*.xml`` in a directory.

    Networks, stations and channels with invalid codes are left out, each named at ERROR
    with its file (:func:`drop_invalid_codes`).

    Raises:
        InventoryError: the path does not exist, holds no StationXML, does
            not parse, or has no station with valid codes.
    """
    p = Path(path)
    if not p.exists():
        raise InventoryError(f"inventory not found: {p}")
    files = sorted(p.glob("*.xml")) if p.is_dir() else [p]
    if not files:
        raise InventoryError(f"inventory directory {p} holds no *.xml StationXML files")
    inv = Inventory(networks=[], source="seismo")
    for f in files:
        try:
            got = read_inventory(str(f))
        except Exception as exc:  # ObsPy raises many types for bad XML
            raise InventoryError(f"cannot read StationXML {f}: {exc}") from None
        inv += drop_invalid_codes(got, f)
    if not inv.networks or not any(n.stations for n in inv.networks):
        raise InventoryError(f"inventory {p} contains no stations")
    return inv


def channel_kind(channel: Channel) -> ChannelKind | None:
    """Velocity or acceleration, from the response's input units (None if unknown)."""
    resp = channel.response
    units = None
    if resp is not None:
        if resp.instrument_sensitivity is not None:
            units = resp.instrument_sensitivity.input_units
        if not units and resp.response_stages:
            units = resp.response_stages[0].input_units
    if units:
        return _KIND_BY_UNITS.get(units.strip().upper())
    # Fall back on the SEED band/instrument code convention (H = seismometer, N = accelerometer).
    inst = channel.code[1:2]
    if inst in ("H", "L"):
        return "velocity"
    if inst in ("N", "G"):
        return "acceleration"
    return None


_VS30_TOKEN = re.compile(r"(?:^|[\s;,])vs30=(\d+(?:\.\d+)?)(?:$|[\s;,])", re.IGNORECASE)


def site_vs30(description: str | None) -> float | None:
    """The ``vs30=NNN`` (m/s) of a StationXML Site description, when it states a plausible
    one (50-3000 m/s); None otherwise."""
    m = _VS30_TOKEN.search(description or "")
    if m is None:
        return None
    v = float(m.group(1))
    return v if 50.0 < v <= 3000.0 else None


def stations(inv: Inventory, time: UTCDateTime | None = None) -> list[StationInfo]:
    """Stations and their channels, sorted by id; ``time`` selects active epochs."""
    out: list[StationInfo] = []
    for net in inv.networks:
        for sta in net.stations:
            if time is not None and not sta.is_active(time=time):
                continue
            chans = []
            for ch in sta.channels:
                if time is not None and not ch.is_active(time=time):
                    continue
                sens = None
                if ch.response is not None and ch.response.instrument_sensitivity is not None:
                    sens = ch.response.instrument_sensitivity.value
                chans.append(
                    ChannelInfo(
                        network=net.code,
                        station=sta.code,
                        location=ch.location_code or "",
                        channel=ch.code,
                        latitude=ch.latitude if ch.latitude is not None else sta.latitude,
                        longitude=ch.longitude if ch.longitude is not None else sta.longitude,
                        elevation_m=ch.elevation if ch.elevation is not None else sta.elevation,
                        depth_m=ch.depth or 0.0,
                        azimuth=ch.azimuth if ch.azimuth is not None else 0.0,
                        dip=ch.dip if ch.dip is not None else 0.0,
                        sampling_rate=float(ch.sample_rate or 0.0),
                        kind=channel_kind(ch),
                        sensitivity=sens,
                    )
                )
            out.append(
                StationInfo(
                    network=net.code,
                    station=sta.code,
                    latitude=sta.latitude,
                    longitude=sta.longitude,
                    elevation_m=sta.elevation,
                    site_name=(sta.site.name if sta.site and sta.site.name else ""),
                    channels=tuple(sorted(chans, key=lambda c: (c.location, c.channel))),
                    vs30=site_vs30(sta.site.description if sta.site else None),
                )
            )
    out.sort(key=lambda s: s.id)
    return out


@dataclass(frozen=True)
class ResponseGap:
    """A channel whose full instrument response is missing or unusable.

    ``sensitivity`` is the stated overall sensitivity (counts per input unit)
    that amplitudes fall back on, None when the channel states none either.
    """

    seed_id: str
    reason: str
    sensitivity: float | None
    kind: ChannelKind | None


def evaluate_response(
    response: Response, freqs: ArrayLike, output: str, *,
    hide_sensitivity_mismatch: bool = True,
) -> NDArray[np.complex128]:
    """The complex response at ``freqs`` (Hz) to ``output`` ("DISP", "VEL" or "ACC"),
    from every stage (ObsPy's ``get_evalresp_response_for_frequencies``); counts per
    metre, per m/s or per m/s².

    Raises:
        InventoryError: the response cannot be evaluated (incomplete, no stages); the
            message gives ObsPy's exception type and message.
    """
    try:
        return np.asarray(response.get_evalresp_response_for_frequencies(
            freqs, output=output, hide_sensitivity_mismatch_warning=hide_sensitivity_mismatch
        ), dtype=np.complex128)
    except Exception as exc:  # ObsPy and evalresp raise plain Exception (and other types) here
        raise InventoryError(f"{type(exc).__name__}: {exc}") from exc


def _full_response_problem(channel: Channel) -> str | None:
    """Why ``channel``'s response cannot be evaluated to ground velocity (None: it can)."""
    resp = channel.response
    if resp is None:
        return "no response"
    if not resp.response_stages:
        return "no response stages"
    try:
        val = evaluate_response(resp, [1.0], "VEL")
    except InventoryError as exc:
        return f"response cannot be evaluated ({type(exc.__cause__).__name__})"
    if not (abs(complex(val[0])) > 0 and math.isfinite(abs(complex(val[0])))):
        return "response is zero or not finite at 1 Hz"
    return None


def _stated_sensitivity(channel: Channel) -> float | None:
    resp = channel.response
    if resp is None or resp.instrument_sensitivity is None:
        return None
    value = resp.instrument_sensitivity.value
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


_USABLE: dict[int, tuple[Channel, object, int, Response | None]] = {}
_USABLE_MAX = 4096


def usable_response(channel: Channel) -> Response | None:
    """The response to use for amplitudes (ML, PGA/PGV) of ``channel``.

    The channel's full response when it can be evaluated; else a flat response
    built from its stated overall sensitivity (counts per m/s or m/s², ObsPy's
    public ``Response.from_paz`` with no poles and zeros), exact inside the
    sensor's flat band and approximate outside it; None when the channel states
    no usable sensitivity or its input units are neither velocity nor
    acceleration (then it gives no ML and no intensity). Cached per channel
    object (the check evaluates the response).
    """
    stages = len(channel.response.response_stages) if channel.response is not None else -1
    hit = _USABLE.get(id(channel))
    if hit is not None and hit[0] is channel and hit[1] is channel.response and hit[2] == stages:
        return hit[3]
    resp = _usable_response(channel)
    if len(_USABLE) >= _USABLE_MAX:
        _USABLE.clear()
    _USABLE[id(channel)] = (channel, channel.response, stages, resp)
    return resp


def _usable_response(channel: Channel) -> Response | None:
    if _full_response_problem(channel) is None:
        return channel.response
    sens = _stated_sensitivity(channel)
    if sens is None or channel.response is None:
        return None
    sensitivity = channel.response.instrument_sensitivity
    units = (sensitivity.input_units or "").strip().upper() if sensitivity else ""
    kind = _KIND_BY_UNITS.get(units)
    if kind is None:
        return None
    scale = 1e9 if units.startswith("NM") else 1.0  # counts per nm/s -> counts per m/s
    return Response.from_paz(
        zeros=[], poles=[], stage_gain=sens * scale,
        stage_gain_frequency=float(sensitivity.frequency or 1.0) if sensitivity else 1.0,
        input_units="M/S" if kind == "velocity" else "M/S**2", output_units="COUNTS",
    )


def response_gaps(
    inv: Inventory, time: UTCDateTime | None = None, stations: Collection[str] | None = None
) -> list[ResponseGap]:
    """Channels (active at ``time``; of ``stations``, ``"NET.STA"``, if given) without a
    usable full response, sorted by id."""
    out: list[ResponseGap] = []
    for net in inv.networks:
        for sta in net.stations:
            if time is not None and not sta.is_active(time=time):
                continue
            if stations is not None and f"{net.code}.{sta.code}" not in stations:
                continue
            for ch in sta.channels:
                if time is not None and not ch.is_active(time=time):
                    continue
                why = _full_response_problem(ch)
                if why is None:
                    continue
                sens = _stated_sensitivity(ch) if usable_response(ch) is not None else None
                sid = f"{net.code}.{sta.code}.{ch.location_code or ''}.{ch.code}"
                out.append(ResponseGap(sid, why, sens, channel_kind(ch)))
    return sorted(out, key=lambda g: g.seed_id)


def describe_response_gaps(gaps: list[ResponseGap], n_channels: int) -> str | None:
    """One message saying which channels lack a usable response and what that disables."""
    if not gaps:
        return None
    flat = [g for g in gaps if g.sensitivity is not None]
    none = [g for g in gaps if g not in flat]

    def ids(gs: list[ResponseGap]) -> str:
        shown = ", ".join(f"{g.seed_id} ({g.reason})" for g in gs[:12])
        return shown + (f" and {len(gs) - 12} more" if len(gs) > 12 else "")

    parts = [f"{len(gaps)} of {n_channels} channels lack a usable instrument response."]
    if flat:
        parts.append(
            f"{len(flat)} use their stated sensitivity instead (flat response assumed: ML and "
            f"intensity from them are approximate outside the sensor's flat band): {ids(flat)}."
        )
    if none:
        parts.append(
            f"{len(none)} state no usable sensitivity either: they are picked (events are "
            f"located) but give NO ML and NO intensity: {ids(none)}."
        )
    return " ".join(parts)


def report_response_gaps(inv: Inventory, stations: Collection[str] | None = None) -> str | None:
    """Log once, as a warning, which channels (of ``stations``, ``"NET.STA"``, if given)
    lack a usable response; return the message."""
    n = sum(
        len(sta.channels) for net in inv.networks for sta in net.stations
        if stations is None or f"{net.code}.{sta.code}" in stations
    )
    msg = describe_response_gaps(response_gaps(inv, stations=stations), n)
    if msg:
        log.warning("%s", msg)
    return msg


def station_map(inv: Inventory) -> dict[str, StationInfo]:
    """``{"NET.STA": StationInfo}``."""
    return {s.id: s for s in stations(inv)}


# ----------------------------------------------------------------- per-inventory lookups
# What depends only on the inventory is computed once per inventory object: the
# station processing asks for a channel's kind, orientation and response for every
# trace of every window. The caches hold the inventory itself and compare identity,
# so a re-used id() never answers for another inventory. An inventory must not be
# modified after its first use (load a new one instead).
_T = TypeVar("_T")
_PER_INVENTORY: dict[tuple[str, int], tuple[Inventory, Any]] = {}
_PER_INVENTORY_MAX = 32


def _per_inventory(name: str, inv: Inventory, build: Callable[[Inventory], _T]) -> _T:
    key = (name, id(inv))
    hit = _PER_INVENTORY.get(key)
    if hit is not None and hit[0] is inv:
        return hit[1]  # type: ignore[no-any-return]
    value = build(inv)
    if len(_PER_INVENTORY) >= _PER_INVENTORY_MAX:
        _PER_INVENTORY.clear()
    _PER_INVENTORY[key] = (inv, value)
    return value


def channel_infos(inv: Inventory) -> Mapping[str, ChannelInfo]:
    """``{"NET.STA.LOC.CHA": ChannelInfo}`` over all epochs (the last listed wins); once
    per inventory object."""

    def build(i: Inventory) -> dict[str, ChannelInfo]:
        return {ch.seed_id: ch for sta in stations(i) for ch in sta.channels}

    return _per_inventory("channel_infos", inv, build)


def _channel_epochs(inv: Inventory) -> dict[str, list[tuple[Channel, Station, Network]]]:
    out: dict[str, list[tuple[Channel, Station, Network]]] = {}
    for net in inv.networks:
        for sta in net.stations:
            for ch in sta.channels:
                sid = f"{net.code}.{sta.code}.{ch.location_code or ''}.{ch.code}"
                out.setdefault(sid, []).append((ch, sta, net))
    return out


def channel_at(inv: Inventory, seed_id: str, time: UTCDateTime) -> Channel | None:
    """The epoch of channel ``seed_id`` (``NET.STA.LOC.CHA``) active at ``time`` (its
    station and network active too), the first that ``Inventory.select(..., time=time)``
    finds; None if none.

    The index of channel epochs is built once per inventory object.
    """
    epochs = _per_inventory("channel_epochs", inv, _channel_epochs).get(seed_id, ())
    for ch, sta, net in epochs:
        if ch.is_active(time=time) and sta.is_active(time=time) and net.is_active(time=time):
            return ch
    return None


def select_station(inv: Inventory, station_id: str) -> StationInfo:
    """One station by ``NET.STA``; InventoryError if absent."""
    smap = station_map(inv)
    try:
        return smap[station_id]
    except KeyError:
        raise InventoryError(f"station {station_id!r} is not in the inventory") from None
