"""SDS archive feed: miniSEED day files as written by slarchive / SeisComP.

URL: ``sds:///absolute/path`` (the SDS root, which holds
``YEAR/NET/STA/CHAN.TYPE/NET.STA.LOC.CHAN.TYPE.YEAR.DOY``). Files are read one
by one, so a corrupt file is reported by name (as a warning when other files
of the request could be read, as DataError when none could) and never hides
the good ones.
"""

from __future__ import annotations

import logging
from pathlib import Path

from obspy import Stream, UTCDateTime, read

from seismo.errors import DataError, FeedError
from seismo.io.feeds.base import Feed

log = logging.getLogger(__name__)


class SDSFeed(Feed):
    """Waveforms (counts) from an SDS directory tree; missing files mean no data."""

    scheme = "sds"

    def __init__(self, url: str, root: str | Path, *, sds_type: str = "D", **kwargs: float) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        from obspy.clients.filesystem.sds import Client

        self.root = Path(root)
        if not self.root.is_dir():
            raise FeedError(f"SDS root {self.root} (feed {self.url}) is not a directory")
        self._client = Client(str(self.root), sds_type=sds_type)

    def _request(
        self,
        network: str,
        station: str,
        location: str,
        channel: str,
        start: UTCDateTime,
        end: UTCDateTime,
        warnings: list[str],
    ) -> Stream:
        # The SDS client's own get_waveforms stops at the first unreadable file; list the
        # candidate day files with it and read them ourselves.
        paths = sorted(self._client._get_filenames(network, station, location, channel, start, end))
        out = Stream()
        bad: list[str] = []
        n_read = 0
        for path in paths:
            try:
                st = read(path, format="MSEED", starttime=start, endtime=end)
            except Exception as exc:  # ObsPy raises many types for corrupt miniSEED
                if type(exc).__name__ == "ObsPyMSEEDFilesizeTooSmallError":
                    continue  # an empty day file just opened by the writer
                bad.append(f"corrupt miniSEED file {path}: {type(exc).__name__}: {exc}")
                continue
            n_read += 1
            out += st
        if bad and n_read == 0:
            raise DataError(f"station {network}.{station}: " + "; ".join(bad))
        warnings.extend(bad)
        return out.select(network=network, station=station)
