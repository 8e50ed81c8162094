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

This module is the one home of the layout: the SDS feed reads with it and the
simulator writes with it.
"""

from __future__ import annotations

from pathlib import Path

from obspy import UTCDateTime

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

    Codes may hold the glob wildcards ``*`` and ``?`` (for :func:`day_files`).
    """
    year, doy = day.year, day.julday
    name = f"{network}.{station}.{location}.{channel}.{sds_type}.{year:04d}.{doy:03d}"
    return Path(root) / f"{year:04d}" / network / station / f"{channel}.{sds_type}" / name


def border_s(channel: str) -> float:
    """How far beyond a window a neighbouring day file may hold its data, seconds."""
    rate = _BAND_MIN_RATE_HZ.get(channel[:1], _UNKNOWN_BAND_RATE_HZ)
    return max(FILE_BORDER_S, FILE_BORDER_SAMPLES / rate)


def day_files(
    root: str | Path,
    network: str,
    station: str,
    location: str,
    channel: str,
    start: UTCDateTime,
    end: UTCDateTime,
    sds_type: str = DATA_TYPE,
) -> list[Path]:
    """Existing day files that may hold data of ``[start, end)``, sorted.

    ``location`` and ``channel`` may hold ``*``/``?`` wildcards; network and
    station are taken literally.
    """
    root = Path(root)
    margin = border_s(channel)
    first = UTCDateTime((start - margin).date)
    last = end + margin
    found: set[Path] = set()
    day = first
    while day <= last:
        pattern = day_file(".", network, station, location, channel, day, sds_type)
        found.update(root.glob(str(pattern)))
        day += 86400
    return sorted(p for p in found if p.is_file())
