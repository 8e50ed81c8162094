"""The SDS archive layout (SeisComP Data Structure): where each day file lives.

One file per channel and UTC day::

    ROOT/YEAR/NET/STA/CHAN.TYPE/NET.STA.LOC.CHAN.TYPE.YEAR.DOY

``TYPE`` is ``D`` for waveform data, ``DOY`` the day of the year on three
digits, and an empty location code leaves two dots. Reference: "SeisComP Data
Structure (SDS) 1.0" (seiscomp.de/seiscomp3/doc/applications/slarchive/SDS.html),
the layout written by slarchive and scart.

A day file holds the records that *start* on that day, so its last record may
reach into the next day. :func:`day_files` therefore also looks at the
neighbouring day when the window comes close to midnight, by the same margin
as ObsPy's SDS client: 30 s, or 5000 samples at the lowest rate the band code
allows, whichever is longer.

This module is the one home of the layout: the SDS feed reads with it, and
:func:`write_sds` writes any waveform source (the simulator) with it.

Writing: miniSEED records of 512 bytes, Steim-2 compressed, readable by the SDS
feed and by ``obspy.clients.filesystem.sds.Client``. Data are produced one
station and one chunk (default 1 h, never across a day boundary) at a time and
appended, so memory stays bounded for any range. The first time a call touches
an existing day file, the data it already holds inside the written range are
removed (the file is rewritten without them), so re-running a range replaces it
instead of duplicating it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from obspy import Stream, Trace, UTCDateTime

from seismo.errors import InventoryError, SimulationError
from seismo.inventory import StationInfo, check_codes
from seismo.io.feeds.base import ChannelRequest
from seismo.io.mseed import MiniSeedError, read_mseed, write_mseed

log = logging.getLogger(__name__)

#: Waveform data type of SDS directories and files.
DATA_TYPE = "D"

#: Margin around a window within which a neighbouring day file may hold data: seconds
#: and samples (the defaults of ObsPy's ``obspy.clients.filesystem.sds.Client``).
FILE_BORDER_S = 30.0
FILE_BORDER_SAMPLES = 5000

#: Lower bound of the sample rate (Hz) of each SEED band code (SEED Reference Manual
#: v2.4, Appendix A, "Channel naming"). Unknown or wildcard band: 20 Hz, as ObsPy does.
_BAND_MIN_RATE_HZ = {
    "F": 1000.0, "G": 1000.0, "D": 250.0, "C": 250.0, "E": 80.0, "H": 80.0,
    "S": 10.0, "B": 10.0, "M": 1.0, "L": 1.0, "V": 0.1, "U": 0.01,
    "R": 0.0001, "P": 1e-6, "T": 1e-7, "Q": 1e-8,
}
_UNKNOWN_BAND_RATE_HZ = 20.0

#: Upper bound of the sample rate (Hz) of each band code (same source); unknown: 5000 Hz.
_BAND_MAX_RATE_HZ = {
    "F": 5000.0, "G": 5000.0, "D": 1000.0, "C": 1000.0, "E": 250.0, "H": 250.0,
    "S": 80.0, "B": 80.0, "M": 10.0, "L": 1.0, "V": 0.1, "U": 0.01,
}
_UNKNOWN_BAND_MAX_RATE_HZ = 5000.0
#: Bytes per sample in the worst case: 64-bit floats (8 bytes), plus record headers and
#: blockettes (64 of 512 bytes: x 1.25 is generous); Steim-compressed data are smaller.
_MAX_BYTES_PER_SAMPLE = 8.0 * 1.25


def max_day_file_bytes(channel: str) -> int:
    """The largest size a day file of ``channel`` can reach: one day at the highest rate
    its band code allows, in the least compact encoding (plus 1 MiB).

    A larger file cannot be a day file of this channel (it is corrupt, or something
    else was copied there); reading it would only cost time (ObsPy parses the
    whole file: a sparse 1 GB file takes minutes).
    """
    rate = _BAND_MAX_RATE_HZ.get(channel[:1], _UNKNOWN_BAND_MAX_RATE_HZ)
    return int(rate * 86400 * _MAX_BYTES_PER_SAMPLE) + 2**20


def day_file(
    root: str | Path,
    network: str,
    station: str,
    location: str,
    channel: str,
    day: UTCDateTime,
    sds_type: str = DATA_TYPE,
) -> Path:
    """The day file of one channel for the UTC day containing ``day``.

    Codes may hold the glob wildcards ``*`` and ``?`` (for :func:`day_files`); any other
    character outside the FDSN codes (``/``, ``..``, NUL, spaces) is refused, so no path
    leaves ``root``.

    Raises:
        InventoryError: a code is not a valid FDSN code (:func:`seismo.inventory.check_codes`).
    """
    check_codes(network=network, station=station, location=location, channel=channel,
                wildcards=True)
    year, doy = day.year, day.julday
    name = f"{network}.{station}.{location}.{channel}.{sds_type}.{year:04d}.{doy:03d}"
    return Path(root) / f"{year:04d}" / network / station / f"{channel}.{sds_type}" / name


def border_s(channel: str) -> float:
    """How far beyond a window a neighbouring day file may hold its data, seconds."""
    rate = _BAND_MIN_RATE_HZ.get(channel[:1], _UNKNOWN_BAND_RATE_HZ)
    return max(FILE_BORDER_S, FILE_BORDER_SAMPLES / rate)


def day_files(
    root: str | Path, request: ChannelRequest, sds_type: str = DATA_TYPE
) -> list[Path]:
    """Existing day files that may hold data of ``request`` (its channels over
    ``[start, end)``), sorted.

    ``location`` and ``channel`` may hold ``*``/``?`` wildcards; network and
    station are taken literally.
    """
    root = Path(root)
    margin = border_s(request.channel)
    first = UTCDateTime((request.start - margin).date)
    last = request.end + margin
    found: set[Path] = set()
    day = first
    while day <= last:
        pattern = day_file(".", request.network, request.station, request.location,
                           request.channel, day, sds_type)
        found.update(root.glob(str(pattern)))
        day += 86400
    return sorted(p for p in found if p.is_file())


# --------------------------------------------------------------------------- writing
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
    """The SDS day file of trace ``tr`` for the day starting at ``day``.

    Raises:
        InventoryError: a code of the trace is not a valid FDSN code (no wildcards either).
    """
    s = tr.stats
    check_codes(network=s.network, station=s.station, location=s.location, channel=s.channel)
    return day_file(root, s.network, s.station, s.location, s.channel, day)


def _day_start(t: UTCDateTime) -> UTCDateTime:
    return UTCDateTime(t.year, t.month, t.day)


def _clear_range(path: Path, start: UTCDateTime, end: UTCDateTime) -> None:
    """Remove data inside ``[start, end)`` from an existing day file."""
    try:
        old = read_mseed(str(path))
    except MiniSeedError as exc:
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
        write_mseed(keep, str(path), reclen=RECLEN, encoding=ENCODING)
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

    Returns the number of distinct day files written. A station whose codes are not valid
    FDSN codes (:func:`seismo.inventory.check_codes`) is logged at ERROR and not written;
    the others are.
    """
    if end <= start:
        raise SimulationError(f"SDS range is empty: start {start} >= end {end}")
    if chunk_s <= 0:
        raise SimulationError(f"chunk_s ({chunk_s}) must be > 0")
    ids = stations if stations is not None else sim.station_ids
    touched: set[Path] = set()
    for sid in ids:
        info = sim.station(sid)
        try:
            check_codes(network=info.network, station=info.station)
            for ch in info.channels:
                check_codes(location=ch.location, channel=ch.channel)
        except InventoryError as exc:
            log.error("station %r not written to %s: %s", sid, root, exc)
            continue
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
                    write_mseed(Stream([tr]), fh, reclen=RECLEN, encoding=ENCODING)
            t = t_next
        log.info("station %s: wrote %s to %s", sid, f"{start} - {end}", root)
    return len(touched)
