"""Authoritative external solutions: an FDSN event web service, or QuakeML files in a folder.

Tsunami centres act on authoritative bulletins as well as on their own network.
:class:`ExternalSource` reads solutions from

* an FDSN event service (FDSN web services specification 1.2, ``event`` 1:
  ``/fdsnws/event/1/query?starttime=&endtime=&minmagnitude=&format=xml``, answered
  with QuakeML, 204 for nothing), polled for the time span of the events being
  published; and/or
* a directory where QuakeML files are dropped (every ``*.xml``; a file that is not
  QuakeML is logged and left where it is).

Each QuakeML event becomes an :class:`~seismo.model.ExternalSolution` (preferred
origin and magnitude, or the first ones). :func:`match` pairs them with seismo's
events by origin time and epicentral distance (``[external]`` in the configuration).
A failing service is logged and never stops publication (the alert path).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

from obspy import UTCDateTime
from obspy.core.event import Catalog

from seismo.boundary import boundary
from seismo.errors import DataError, FeedError
from seismo.geo import distance_km
from seismo.io.output import read_quakeml
from seismo.io.settings import ExternalConfig
from seismo.model import Event, ExternalSolution, Magnitude

log = logging.getLogger(__name__)


def solutions_from_catalog(cat: Catalog, source: str) -> list[ExternalSolution]:
    """One solution per QuakeML event that has an origin (magnitude optional)."""
    out = []
    for ev in cat:
        origin = ev.preferred_origin() or (ev.origins[0] if ev.origins else None)
        if origin is None or origin.latitude is None or origin.longitude is None:
            continue
        mag = ev.preferred_magnitude() or (ev.magnitudes[0] if ev.magnitudes else None)
        agency = ""
        for info in (mag and mag.creation_info, origin.creation_info, ev.creation_info):
            if info is not None and info.agency_id:
                agency = str(info.agency_id)
                break
        out.append(
            ExternalSolution(
                agency=agency or "external",
                public_id=str(ev.resource_id),
                time=UTCDateTime(origin.time),
                latitude=float(origin.latitude),
                longitude=float(origin.longitude),
                depth_km=None if origin.depth is None else float(origin.depth) / 1000.0,
                magnitude=None if mag is None or mag.mag is None else float(mag.mag),
                magnitude_type=None if mag is None else mag.magnitude_type,
                source=source,
            )
        )
    return out


def fetch_fdsn(
    base_url: str, start: UTCDateTime, end: UTCDateTime, *, min_magnitude: float,
    timeout_s: float,
) -> list[ExternalSolution]:
    """Solutions of an FDSN event service between ``start`` and ``end``.

    Raises:
        FeedError: the service is unreachable or answers with an error or non-QuakeML.
    """
    query = urlencode(
        {
            "starttime": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "endtime": end.strftime("%Y-%m-%dT%H:%M:%S"),
            "minmagnitude": f"{min_magnitude:g}",
            "format": "xml",
        }
    )
    url = f"{base_url.rstrip('/')}/fdsnws/event/1/query?{query}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            if resp.status == 204:
                return []
            body = resp.read()
    except (urllib.error.URLError, OSError) as exc:
        raise FeedError(f"FDSN event service {url}: {exc}") from None
    if not body.strip():
        return []
    try:
        cat = read_quakeml(io.BytesIO(body), what=f"from the FDSN event service {url}")
    except DataError as exc:
        raise FeedError(str(exc)) from None
    return solutions_from_catalog(cat, url)


def read_quakeml_dir(path: Path) -> list[ExternalSolution]:
    """Solutions of every QuakeML file (``*.xml``) in ``path``; bad files are logged."""
    out: list[ExternalSolution] = []
    if not path.is_dir():
        log.warning("external QuakeML directory %s does not exist", path)
        return out
    for f in sorted(path.glob("*.xml")):
        # a bad file must not hide the others
        with boundary("external QuakeML read", logger=log, file=f):
            out += solutions_from_catalog(read_quakeml(f, what=f"file {f}"), str(f))
    return out


def match(
    event: Event, solutions: Sequence[ExternalSolution], cfg: ExternalConfig
) -> tuple[ExternalSolution, ...]:
    """The solutions of the same earthquake: origin times within ``cfg.max_time_s`` and
    epicentres within ``cfg.max_distance_km``, nearest in time first."""
    if not (math.isfinite(event.latitude) and math.isfinite(event.longitude)):
        return ()
    hits = []
    for s in solutions:
        dt = abs(float(s.time - event.time))
        if dt > cfg.max_time_s:
            continue
        d = float(distance_km(event.latitude, event.longitude, s.latitude, s.longitude))
        if d <= cfg.max_distance_km:
            hits.append((dt, s))
    return tuple(s for _, s in sorted(hits, key=lambda x: x[0]))


class ExternalSource:
    """The configured external sources; :meth:`attach` adds matches to events."""

    def __init__(self, cfg: ExternalConfig) -> None:
        self.cfg = cfg

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.fdsn_url) or self.cfg.quakeml_dir is not None

    def solutions(self, start: UTCDateTime, end: UTCDateTime) -> list[ExternalSolution]:
        out: list[ExternalSolution] = []
        if self.cfg.fdsn_url:
            try:
                out += fetch_fdsn(
                    self.cfg.fdsn_url, start, end, min_magnitude=self.cfg.min_magnitude,
                    timeout_s=self.cfg.timeout_s,
                )
            except FeedError as exc:
                log.warning("external solutions: %s", exc)
        if self.cfg.quakeml_dir is not None:
            out += [s for s in read_quakeml_dir(self.cfg.quakeml_dir) if start <= s.time <= end]
        return out

    def attach(self, events: Sequence[Event]) -> list[Event]:
        """``events`` with their matching external solutions in ``Event.external``, and an
        authoritative moment magnitude (:func:`with_authoritative_moment`) as preferred."""
        if not self.enabled or not events:
            return list(events)
        pad = self.cfg.max_time_s
        sols = self.solutions(min(e.time for e in events) - pad, max(e.time for e in events) + pad)
        out = []
        for e in events:
            m = match(e, sols, self.cfg)
            if m:
                log.info("event %s: external solution(s) %s", e.id,
                         ", ".join(f"{s.agency} {s.magnitude_type} {s.magnitude}" for s in m))
            out.append(with_authoritative_moment(dataclasses.replace(e, external=m)) if m else e)
        return out


def with_authoritative_moment(event: Event) -> Event:
    """``event`` with the largest moment magnitude (Mww, Mw, Mwc, ...) of its external
    solutions among its magnitudes (with its agency) and as its preferred magnitude: an
    agency's moment tensor supersedes seismo's own magnitudes (the alert service then
    sends an Update). Without one, ``event`` unchanged."""
    ext = [e for e in event.external if e.magnitude is not None and math.isfinite(e.magnitude)
           and (e.magnitude_type or "").startswith("Mw")]
    if not ext:
        return event
    best = max(ext, key=lambda e: float(e.magnitude or 0.0))
    mag = Magnitude(best.magnitude_type or "Mw", round(float(best.magnitude or 0.0), 2),
                    agency=best.agency)
    mags = (*(m for m in event.magnitudes if not m.agency), mag)
    return dataclasses.replace(
        event, magnitudes=mags, magnitude=mag.value, magnitude_type=mag.type,
        magnitude_uncertainty=None, magnitude_lower_bound=False,
    )
