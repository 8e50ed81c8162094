"""Event files: QuakeML (through ObsPy's Catalog) and a flat JSON bulletin.

QuakeML mapping of :class:`seismo.model.Event`:

* ``Event`` (resource id ``smi:<authority>/event/<id>``) -> one Origin, one
  Magnitude "ML", picks, amplitudes, station magnitudes.
* ``Origin``: time, latitude/longitude (uncertainty in degrees from the
  horizontal uncertainty in km), depth (m) with uncertainty, ``OriginQuality``
  (rms -> ``standard_error``, azimuthal gap, used phase/station counts),
  ``OriginUncertainty`` (horizontal uncertainty, m), arrivals (residual, distance
  in degrees, azimuth, weight).
* ``Amplitude``: type "IAML" (IASPEI name of the ML amplitude), zero-to-peak
  Wood-Anderson amplitude at magnification 1 in metres (``unit="m"``).
* ``StationMagnitude`` + ``StationMagnitudeContribution`` (weight 1 used, 0 not).
* evaluation mode "automatic" (status "preliminary") for automatic events,
  "manual" with status "confirmed"/"rejected" after review.

JSON (``write_json``): ``{"events": [...]}``, each event a flat dict with
``id, origin_time, latitude, longitude, depth_km, magnitude, magnitude_type,
n_stations, rms_s, azimuthal_gap_deg, max_intensity, picks`` plus extras
(uncertainties, max_mmi, outside_network, status, station magnitudes and
intensities, site intensities). Times are ISO 8601 UTC with a trailing "Z".
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from obspy import UTCDateTime
from obspy.core import event as qml
from obspy.geodetics import kilometers2degrees

from seismo.errors import DataError
from seismo.model import Event

log = logging.getLogger(__name__)

AUTHORITY = "seismo"


def _rid(kind: str, *parts: str) -> qml.ResourceIdentifier:
    path = "/".join(quote(p, safe=".-_~") for p in parts)
    return qml.ResourceIdentifier(f"smi:{AUTHORITY}/{kind}/{path}")


def _iso(t: UTCDateTime | None) -> str | None:
    if t is None:
        return None
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _modes(ev: Event) -> tuple[str, str]:
    if ev.status == "automatic":
        return "automatic", "preliminary"
    return "manual", "confirmed" if ev.status == "confirmed" else "rejected"


def _qml_picks(ev: Event) -> tuple[list[qml.Pick], dict[tuple[str, str, str], str]]:
    """The event's picks, and the location code per (network, station, band+instrument)."""
    locs: dict[tuple[str, str, str], str] = {}
    picks = []
    for p in ev.picks:
        locs.setdefault((p.network, p.station, p.channel[:2]), p.location)
        picks.append(
            qml.Pick(
                resource_id=_rid("pick", p.id),
                time=p.time,
                time_errors=qml.QuantityError(uncertainty=p.uncertainty_s),
                waveform_id=qml.WaveformStreamID(p.network, p.station, p.location, p.channel),
                phase_hint=p.phase,
                polarity=p.polarity or "undecidable",
                evaluation_mode="automatic",
                method_id=_rid("method", "stalta"),
            )
        )
    return picks, locs


def _lower_bound_comment(ev: Event, mtype: str) -> qml.Comment:
    return qml.Comment(
        text=f"{mtype} is a lower bound: read on P amplitudes only (S not yet in the data)",
        resource_id=_rid("comment", ev.id, f"{mtype}_lower_bound"),
    )


def _qml_uncertainty(ev: Event, h_km: float) -> qml.OriginUncertainty:
    """The 90 % confidence ellipse when the locator gave one, else the 1-sigma radius."""
    a = _finite(ev.ellipse_90_major_km)
    b = _finite(ev.ellipse_90_minor_km)
    az = _finite(ev.ellipse_azimuth_deg)
    if a is None or b is None or az is None:
        return qml.OriginUncertainty(
            horizontal_uncertainty=h_km * 1000.0, preferred_description="horizontal uncertainty"
        )
    return qml.OriginUncertainty(
        horizontal_uncertainty=h_km * 1000.0,
        max_horizontal_uncertainty=a * 1000.0,
        min_horizontal_uncertainty=b * 1000.0,
        azimuth_max_horizontal_uncertainty=az,
        confidence_level=90.0,
        preferred_description="uncertainty ellipse",
    )


def _qml_origin(ev: Event, mode: str, status: str, cinfo: qml.CreationInfo) -> qml.Origin:
    """The origin with its quality, uncertainties (degrees from km, ObsPy's
    ``kilometers2degrees``) and arrivals."""
    h_km = _finite(ev.horizontal_uncertainty_km)
    v_km = _finite(ev.vertical_uncertainty_km)
    coslat = max(math.cos(math.radians(ev.latitude)), 1e-6)
    origin = qml.Origin(
        resource_id=_rid("origin", ev.id, f"v{ev.version}"),
        time=ev.time,
        latitude=ev.latitude,
        longitude=ev.longitude,
        depth=ev.depth_km * 1000.0,
        # a fixed (unresolved) depth is "operator assigned" in QuakeML, as SeisComP marks it
        depth_type="operator assigned" if ev.depth_fixed else "from location",
        latitude_errors=qml.QuantityError(
            uncertainty=None if h_km is None else kilometers2degrees(h_km)
        ),
        longitude_errors=qml.QuantityError(
            uncertainty=None if h_km is None else kilometers2degrees(h_km) / coslat
        ),
        depth_errors=qml.QuantityError(uncertainty=None if v_km is None else v_km * 1000.0),
        quality=qml.OriginQuality(
            associated_phase_count=len(ev.arrivals) or ev.n_phases,
            used_phase_count=ev.n_phases,
            associated_station_count=len({(a.network, a.station) for a in ev.arrivals})
            or ev.n_stations,
            used_station_count=ev.n_stations,
            standard_error=_finite(ev.rms_s),
            azimuthal_gap=_finite(ev.azimuthal_gap_deg),
        ),
        origin_uncertainty=None
        if h_km is None
        else _qml_uncertainty(ev, h_km),
        evaluation_mode=mode,
        evaluation_status=status,
        creation_info=cinfo,
        method_id=_rid("method", "locate"),
    )
    for a in ev.arrivals:
        origin.arrivals.append(
            qml.Arrival(
                resource_id=_rid("arrival", ev.id, a.pick_id),
                pick_id=_rid("pick", a.pick_id),
                phase=a.phase,
                time_residual=_finite(a.residual_s),
                distance=kilometers2degrees(a.distance_km),
                azimuth=_finite(a.azimuth_deg),
                time_weight=a.weight,
            )
        )
    return origin


def _add_station_magnitudes(
    out: qml.Event,
    ev: Event,
    origin: qml.Origin,
    locs: dict[tuple[str, str, str], str],
    mode: str,
) -> list[qml.StationMagnitudeContribution]:
    """IAML amplitudes and station magnitudes into ``out``; their contributions to ML."""
    contributions = []
    for sm in ev.station_magnitudes:
        # Location code of the sensor: from a pick on the same band/instrument, else "".
        loc = locs.get((sm.network, sm.station, sm.channel[:2]), "")
        wid = qml.WaveformStreamID(sm.network, sm.station, loc, sm.channel)
        key = (ev.id, f"{sm.network}.{sm.station}.{loc}.{sm.channel}")
        amp = qml.Amplitude(
            resource_id=_rid("amplitude", *key),
            generic_amplitude=sm.amplitude_nm * 1e-9,
            type="IAML",
            category="point",
            unit="m",
            magnitude_hint="ML",
            waveform_id=wid,
            evaluation_mode=mode,
        )
        out.amplitudes.append(amp)
        stamag = qml.StationMagnitude(
            resource_id=_rid("stationmagnitude", *key),
            origin_id=origin.resource_id,
            mag=sm.ml,
            station_magnitude_type="ML",
            amplitude_id=amp.resource_id,
            waveform_id=wid,
            method_id=_rid("method", "ml_iaspei"),
        )
        out.station_magnitudes.append(stamag)
        contributions.append(
            qml.StationMagnitudeContribution(
                station_magnitude_id=stamag.resource_id,
                residual=None if ev.magnitude is None else round(sm.ml - ev.magnitude, 3),
                weight=1.0 if sm.used else 0.0,
            )
        )
    return contributions


def event_to_quakeml(ev: Event) -> qml.Event:
    """One :class:`seismo.model.Event` as an ObsPy (QuakeML) event."""
    mode, status = _modes(ev)
    ctime = ev.creation_time or ev.time
    cinfo = qml.CreationInfo(
        agency_id=AUTHORITY, author=AUTHORITY, creation_time=ctime, version=str(ev.version)
    )
    out = qml.Event(
        resource_id=_rid("event", ev.id),
        event_type="not existing" if ev.status == "rejected" else "earthquake",
        creation_info=cinfo,
    )
    picks, locs = _qml_picks(ev)
    out.picks.extend(picks)
    origin = _qml_origin(ev, mode, status, cinfo)
    out.origins.append(origin)
    out.preferred_origin_id = origin.resource_id
    contributions = _add_station_magnitudes(out, ev, origin, locs, mode)
    if ev.magnitude is not None:
        mag = qml.Magnitude(
            resource_id=_rid("magnitude", ev.id, f"v{ev.version}"),
            mag=ev.magnitude,
            mag_errors=qml.QuantityError(uncertainty=_finite(ev.magnitude_uncertainty)),
            magnitude_type=ev.magnitude_type,
            origin_id=origin.resource_id,
            station_count=ev.n_magnitude_stations,
            station_magnitude_contributions=contributions if ev.magnitude_type == "ML" else [],
            evaluation_mode=mode,
            evaluation_status=status,
            method_id=_rid("method", "ml_iaspei" if ev.magnitude_type == "ML" else
                           ev.magnitude_type.lower()),
            creation_info=cinfo,
        )
        if ev.magnitude_lower_bound:
            mag.comments.append(_lower_bound_comment(ev, ev.magnitude_type))
        out.magnitudes.append(mag)
        out.preferred_magnitude_id = mag.resource_id
    for m in ev.magnitudes:  # the other network magnitudes, each with its type
        if m.type == ev.magnitude_type and not m.agency:
            continue
        other = qml.Magnitude(
            resource_id=_rid("magnitude", ev.id, f"v{ev.version}", m.type),
            mag=m.value,
            mag_errors=qml.QuantityError(uncertainty=_finite(m.uncertainty)),
            magnitude_type=m.type,
            origin_id=origin.resource_id,
            station_count=m.n_stations,
            evaluation_mode=mode,
            evaluation_status=status,
            method_id=_rid("method", m.type.lower()),
            creation_info=qml.CreationInfo(agency_id=m.agency) if m.agency else cinfo,
        )
        if m.lower_bound:
            other.comments.append(_lower_bound_comment(ev, m.type))
        out.magnitudes.append(other)
    if ev.max_intensity is not None:
        out.comments.append(
            qml.Comment(
                text=f"max observed intensity GB/T 17742-2020: {ev.max_intensity:.1f}",
                resource_id=_rid("comment", ev.id, "max_intensity"),
            )
        )
    return out


def events_to_catalog(events: Sequence[Event]) -> qml.Catalog:
    """An ObsPy :class:`~obspy.core.event.Catalog` holding ``events`` (QuakeML model)."""
    cat = qml.Catalog(resource_id=_rid("catalog", "seismo"))
    cat.creation_info = qml.CreationInfo(agency_id=AUTHORITY, creation_time=UTCDateTime())
    for ev in events:
        cat.events.append(event_to_quakeml(ev))
    return cat


def read_quakeml(
    source: str | Path | IO[bytes], *, what: str, format: str | None = "QUAKEML"
) -> qml.Catalog:
    """``obspy.read_events(source, format=format)`` (None: ObsPy guesses the format).

    Raises:
        DataError: the source is not readable QuakeML; the message names ``what``
            ("catalogue <path>") and ObsPy's reason.
    """
    from obspy import read_events

    try:
        return read_events(source if not isinstance(source, Path) else str(source), format=format)
    except Exception as exc:  # ObsPy raises plain Exception and many other types for bad XML
        raise DataError(f"cannot read QuakeML {what}: {exc}") from None


def write_quakeml(events: Sequence[Event], path: str | Path) -> Path:
    """Write ``events`` as QuakeML 1.2 to ``path`` (parent directories created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    events_to_catalog(events).write(str(p), format="QUAKEML", validate=False)
    return p


def event_to_json(ev: Event) -> dict[str, Any]:
    """The flat JSON record of one event (see module doc)."""
    d = ev.to_dict()
    return {
        "id": ev.id,
        "origin_time": _iso(ev.time),
        "latitude": ev.latitude,
        "longitude": ev.longitude,
        "depth_km": ev.depth_km,
        "depth_fixed": ev.depth_fixed,
        "depth_method": ev.depth_method,
        "unconstrained": ev.unconstrained,
        "flags": list(ev.flags),
        "magnitude": ev.magnitude,
        "magnitude_type": ev.magnitude_type,
        "magnitude_lower_bound": ev.magnitude_lower_bound,
        "magnitudes": [
            {"type": m.type, "value": m.value, "uncertainty": m.uncertainty,
             "n_stations": m.n_stations, "lower_bound": m.lower_bound, "agency": m.agency}
            for m in ev.magnitudes
        ],
        "ellipse_68_km": [_finite(ev.ellipse_68_major_km), _finite(ev.ellipse_68_minor_km)],
        "ellipse_90_km": [_finite(ev.ellipse_90_major_km), _finite(ev.ellipse_90_minor_km)],
        "ellipse_azimuth_deg": _finite(ev.ellipse_azimuth_deg),
        "n_stations": ev.n_stations,
        "rms_s": _finite(ev.rms_s),
        "azimuthal_gap_deg": _finite(ev.azimuthal_gap_deg),
        "max_intensity": ev.max_intensity,
        "picks": [
            {
                "network": p.network,
                "station": p.station,
                "location": p.location,
                "channel": p.channel,
                "phase": p.phase,
                "time": _iso(p.time),
            }
            for p in ev.picks
        ],
        "n_phases": ev.n_phases,
        "horizontal_uncertainty_km": _finite(ev.horizontal_uncertainty_km),
        "vertical_uncertainty_km": _finite(ev.vertical_uncertainty_km),
        "magnitude_uncertainty": ev.magnitude_uncertainty,
        "n_magnitude_stations": ev.n_magnitude_stations,
        "max_mmi": ev.max_mmi,
        "n_clipped_stations": ev.n_clipped_stations,
        "outside_network": ev.outside_network,
        "status": ev.status,
        "version": ev.version,
        "creation_time": _iso(ev.creation_time),
        "station_magnitudes": d["station_magnitudes"],
        "station_intensities": d["station_intensities"],
        "site_intensities": d["site_intensities"],
    }


def write_json(events: Sequence[Event], path: str | Path) -> Path:
    """Write ``{"events": [...]}`` (UTF-8, indented) to ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = {"events": [event_to_json(ev) for ev in events]}
    p.write_text(
        json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    return p


def read_json(path: str | Path) -> list[dict[str, Any]]:
    """The event records of a file written by :func:`write_json`.

    Raises:
        DataError: the file is missing, not JSON, or lacks the ``events`` list.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"event file not found: {p}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read event file {p}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise DataError(f"event file {p} has no top-level 'events' list")
    return list(data["events"])
