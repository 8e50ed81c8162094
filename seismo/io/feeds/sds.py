"""SDS archive feed: miniSEED day files as written by slarchive / SeisComP.

URL: ``sds:///absolute/path`` (the SDS root; layout in :mod:`seismo.io.sds`).
The candidate day files come from the SDS naming convention and are read one
by one with ``obspy.read(..., starttime, endtime)`` (through
:func:`seismo.io.mseed_span.read_span`, which hands ObsPy only the records of the
span when the file has fixed-length records), so a corrupt file is
reported by name (as a warning when other files of the request could be read,
as DataError when none could) and never hides the good ones. A file larger than
one day of the channel's band can fill (:func:`seismo.io.sds.max_day_file_bytes`)
is reported the same way without being read.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated
from urllib.parse import SplitResult, unquote

from obspy import Stream
from pydantic import Field

from seismo.boundary import boundary
from seismo.errors import DataError, FeedError
from seismo.io.feeds.base import ChannelRequest, Feed
from seismo.io.feeds.factory import FeedOptions, FeedSource, register_feed
from seismo.io.mseed import MiniSeedError
from seismo.io.mseed_span import read_span
from seismo.io.sds import DATA_TYPE, day_files, max_day_file_bytes

log = logging.getLogger(__name__)


@register_feed
class SDSSource(FeedSource):
    """``sds:///path``: the root of an SDS archive."""

    schemes = ("sds",)
    label = "SDS"
    form = "sds:///path/to/archive"

    directory: Annotated[str, Field(min_length=1)]

    @classmethod
    def from_url(cls, url: str, parts: SplitResult) -> SDSSource:
        return cls.model_validate({"url": url, "directory": unquote(parts.netloc + parts.path)})

    def open(self, options: FeedOptions) -> SDSFeed:
        return SDSFeed(self.url, self.directory, timeout_s=options.timeout_s,
                       retries=options.retries, retry_delay_s=options.retry_delay_s)


class SDSFeed(Feed):
    """Waveforms (counts) from an SDS directory tree; missing files mean no data."""

    scheme = "sds"

    def __init__(
        self, url: str, root: str | Path, *, sds_type: str = DATA_TYPE, **kwargs: float
    ) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        self.root = Path(root)
        if not self.root.is_dir():
            raise FeedError(f"SDS root {self.root} (feed {self.url}) is not a directory")
        self.sds_type = sds_type

    def _request(self, req: ChannelRequest, warnings: list[str]) -> Stream:
        paths = day_files(self.root, req, self.sds_type)
        out = Stream()
        bad: list[str] = []
        n_read = 0
        for path in paths:
            channel_code = path.name.split(".")[3] if path.name.count(".") >= 3 else ""
            try:
                size = path.stat().st_size
            except OSError as exc:
                bad.append(f"cannot read {path}: {exc.strerror}")
                continue
            limit = max_day_file_bytes(channel_code)
            if size > limit:
                bad.append(
                    f"day file {path} is {size} bytes, more than one day of channel "
                    f"{channel_code} can fill ({limit} bytes): not read"
                )
                continue
            # one bad file never hides the channel's other files (said in the warnings)
            with boundary("miniSEED read", logger=log, level=None, expected=(DataError, OSError),
                          file=path) as failure:
                st = read_span(path, req.start, req.end)
            if isinstance(failure.error, MiniSeedError) and failure.error.empty:
                continue  # an empty day file just opened by the writer
            if failure:
                bad.append(f"corrupt miniSEED file {path}: {failure.reason}")
                continue
            n_read += 1
            out += st
        if bad and n_read == 0:
            raise DataError(f"station {req.station_id}: " + "; ".join(bad))
        warnings.extend(bad)
        return out.select(network=req.network, station=req.station)
