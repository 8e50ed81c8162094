"""Write simulated data to an SDS archive (the layout of SeisComP's slarchive).

Layout: ``ROOT/YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY`` (see
:mod:`seismo.io.sds`), miniSEED records of 512 bytes, Steim-2 compressed,
readable by the SDS feed and by ``obspy.clients.filesystem.sds.Client``.
Data are produced one station and one chunk (default 1 h, never across a day
boundary) at a time and appended, so memory stays bounded for any range. The
first time a call touches an existing day file, the data it already holds
inside the written range are removed (the file is rewritten without them), so
re-running a range replaces it instead of duplicating it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from obspy import Stream, Trace, UTCDateTime, read

from seismo.errors import SimulationError
from seismo.inventory import StationInfo
from seismo.io.sds import day_file

log = logging.getLogger(__name__)

RECLEN = 512
ENCODING = "STEIM2"


class WaveformSource(Protocol):
    """What :func:`write_sds` needs from a simulator (:class:`~seismo.simulate.Simulator`)."""

    @property
    def station_ids(self) -> list[str]: ...

    def station(self, station_id: str) -> StationInfo: ...

    def waveforms(
        self, network: str, station: str, start: UTCDateTime, end: UTCDateTime
    ) -> Stream: ...


def sds_path(root: Path, tr: Trace, day: UTCDateTime) -> Path:
    """The SDS day file of trace ``tr`` for the day starting at ``day``."""
    s = tr.stats
    return day_file(root, s.network, s.station, s.location, s.channel, day)


def _day_start(t: UTCDateTime) -> UTCDateTime:
    return UTCDateTime(t.year, t.month, t.day)


def _clear_range(path: Path, start: UTCDateTime, end: UTCDateTime) -> None:
    """Remove data inside ``[start, end)`` from an existing day file."""
    try:
        old = read(str(path), format="MSEED")
    except Exception as exc:
        raise SimulationError(f"cannot read existing SDS file {path}: {exc}") from None
    keep = Stream()
    for tr in old:
        eps = 0.1 / tr.stats.sampling_rate
        for part in (
            tr.slice(endtime=start - eps, nearest_sample=False),
            tr.slice(starttime=end, nearest_sample=False),
        ):
            if part.stats.npts:
                keep.append(part)
    if len(keep):
        keep.write(str(path), format="MSEED", reclen=RECLEN, encoding=ENCODING)
    else:
        path.unlink()


def write_sds(
    sim: WaveformSource,
    root: Path,
    start: UTCDateTime,
    end: UTCDateTime,
    stations: list[str] | None = None,
    chunk_s: float = 3600.0,
) -> int:
    """Write ``[start, end)`` of ``stations`` (``NET.STA``; default all) under ``root``.

    Returns the number of distinct day files written.
    """
    if end <= start:
        raise SimulationError(f"SDS range is empty: start {start} >= end {end}")
    if chunk_s <= 0:
        raise SimulationError(f"chunk_s ({chunk_s}) must be > 0")
    ids = stations if stations is not None else sim.station_ids
    touched: set[Path] = set()
    for sid in ids:
        info = sim.station(sid)
        t = start
        while t < end:
            t_next = min(t + chunk_s, _day_start(t) + 86400, end)
            st: Stream = sim.waveforms(info.network, info.station, t, t_next)
            for tr in st:
                path = sds_path(root, tr, _day_start(tr.stats.starttime))
                if path not in touched:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    if path.exists():
                        _clear_range(path, start, end)
                    touched.add(path)
                with path.open("ab") as fh:
                    tr.write(fh, format="MSEED", reclen=RECLEN, encoding=ENCODING)
            t = t_next
        log.info("station %s: wrote %s to %s", sid, f"{start} - {end}", root)
    return len(touched)
