"""The feed interface: one call returns the waveforms of one station for one window.

Every backend (SeedLink, FDSN dataselect, SDS archive, built-in simulator)
derives from :class:`Feed` and implements :meth:`Feed._request`. The base class
adds what all of them share:

* station and channel codes are checked before any I/O (miniSEED 2 limits:
  network 1-2, station 1-5, location 0-2, channel 1-3 characters; letters,
  digits and ``-``; ``*``/``?`` globs allowed in location and channel);
* transient failures (timeout, refused connection, garbage answer) are retried
  ``retries`` times, ``retry_delay_s`` apart, then raised as
  :class:`~seismo.errors.FeedError` naming the station, the URL (without
  credentials) and the cause;
* the result is trimmed to the half-open window ``[start, end)``, traces are
  merged only where they join seamlessly (gaps stay gaps), and sorted.

Waveform samples are raw counts as delivered by the feed.
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from seismo.config import mask_url
from seismo.errors import DataError, FeedError, SeismoError
from seismo.model import half_open_range

log = logging.getLogger(__name__)

# miniSEED 2 fixed-header field widths (SEED manual v2.4, ch. 8, fixed section of data header).
_NET_RE = re.compile(r"^[A-Za-z0-9-]{1,2}$")
_STA_RE = re.compile(r"^[A-Za-z0-9-]{1,5}$")
_LOC_RE = re.compile(r"^[A-Za-z0-9*?-]{0,2}$|^\*$")
_CHA_RE = re.compile(r"^[A-Za-z0-9*?]{1,3}$")



def check_codes(network: str, station: str, location: str, channel: str) -> None:
    """Raise FeedError (naming the code) unless the codes fit miniSEED 2."""
    sid = f"{network}.{station}"
    if not _NET_RE.match(network):
        raise FeedError(
            f"network code {network!r} of {sid} is not 1-2 letters/digits/'-'", station=sid
        )
    if not _STA_RE.match(station):
        raise FeedError(
            f"station code {station!r} of {sid} is not 1-5 letters/digits/'-'", station=sid
        )
    if not _LOC_RE.match(location):
        raise FeedError(f"location code {location!r} for {sid} is not valid", station=sid)
    if not _CHA_RE.match(channel):
        raise FeedError(f"channel code {channel!r} for {sid} is not valid", station=sid)


def trim_half_open(stream: Stream, start: UTCDateTime, end: UTCDateTime) -> Stream:
    """Keep the samples whose time t satisfies ``start <= t < end`` (new Stream).

    Traces left without samples are dropped. Data arrays are copied.
    """
    out = Stream()
    for tr in stream:
        i0, i1 = half_open_range(
            tr.stats.starttime, float(tr.stats.sampling_rate), int(tr.stats.npts), start, end
        )
        if i1 <= i0:
            continue
        t0, sr = tr.stats.starttime, float(tr.stats.sampling_rate)
        header = {k: v for k, v in tr.stats.items() if k not in ("npts", "endtime")}
        header["starttime"] = t0 + i0 / sr
        out.append(Trace(data=np.array(tr.data[i0:i1]), header=header))
    return out


def tidy(stream: Stream) -> Stream:
    """Merge seamless pieces (ObsPy's cleanup merge, ``method=-1``), keep gaps, sort."""
    if len(stream) > 1:
        stream.merge(method=-1)
    stream.sort(keys=["network", "station", "location", "channel", "starttime"])
    return stream


@dataclass(frozen=True)
class ChannelRequest:
    """What a feed is asked for: channels of one station over ``[start, end)``.

    ``location``/``channel`` may be globs (``*``, ``?``).
    """

    network: str
    station: str
    location: str
    channel: str
    start: UTCDateTime
    end: UTCDateTime

    @property
    def station_id(self) -> str:
        """``NET.STA``."""
        return f"{self.network}.{self.station}"


@dataclass
class FeedData:
    """What one request returned: the stream and non-fatal problems (e.g. a corrupt file)."""

    stream: Stream
    warnings: list[str] = field(default_factory=list)


class Feed(ABC):
    """A source of waveforms for one station at a time.

    Subclasses implement :meth:`_request` and may override :meth:`close`.
    ``get_waveforms`` is safe to call from several threads at once.
    """

    #: URL scheme(s) served, for messages.
    scheme: str = "?"

    def __init__(
        self, url: str, *, timeout_s: float = 10.0, retries: int = 2, retry_delay_s: float = 1.0
    ) -> None:
        if timeout_s <= 0:
            raise FeedError(f"timeout_s ({timeout_s}) must be positive for feed {mask_url(url)}")
        if retries < 0:
            raise FeedError(f"retries ({retries}) must be >= 0 for feed {mask_url(url)}")
        if retry_delay_s < 0:
            raise FeedError(f"retry_delay_s ({retry_delay_s}) must be >= 0 for {mask_url(url)}")
        self.url = mask_url(url)
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.retry_delay_s = float(retry_delay_s)

    # ------------------------------------------------------------------ API
    def get_waveforms(
        self,
        network: str,
        station: str,
        location: str,
        channel: str,
        start: UTCDateTime,
        end: UTCDateTime,
    ) -> Stream:
        """Waveforms (counts) of one station in ``[start, end)``; empty Stream if none.

        ``location``/``channel`` may be globs (``*``, ``?``).

        Raises:
            FeedError: bad codes, or the feed failed on every attempt.
            DataError: the feed answered with unusable data (e.g. only corrupt files).
        """
        data = self.fetch(ChannelRequest(network, station, location, channel, start, end))
        for w in data.warnings:
            log.warning("%s.%s from %s: %s", network, station, self.url, w)
        return data.stream

    def fetch(self, request: ChannelRequest) -> FeedData:
        """Like :meth:`get_waveforms`, but also returns the non-fatal problems met."""
        check_codes(request.network, request.station, request.location, request.channel)
        sid = request.station_id
        start, end = UTCDateTime(request.start), UTCDateTime(request.end)
        if not end > start:
            raise FeedError(f"empty window for {sid}: end {end} is not after start {start}", sid)
        request = replace(request, start=start, end=end)
        attempts = self.retries + 1
        cause: Exception | None = None
        for attempt in range(1, attempts + 1):
            warnings: list[str] = []
            try:
                raw = self._request(request, warnings)
            except DataError:
                raise
            except SeismoError as exc:
                if not isinstance(exc, FeedError):  # e.g. the simulator rejects the station
                    raise FeedError(f"station {sid}: feed {self.url}: {exc}", station=sid) from exc
                cause = exc
            except Exception as exc:  # transient, retried: ObsPy's clients raise plain Exception
                cause = exc
            else:
                loc, cha = request.location or "", request.channel
                sel = raw.select(location=loc, channel=cha) if raw else raw
                stream = tidy(trim_half_open(sel, start, end))
                return FeedData(stream=stream, warnings=warnings)
            log.info(
                "%s from %s: attempt %d/%d failed: %s", sid, self.url, attempt, attempts, cause
            )
            if attempt < attempts and self.retry_delay_s > 0:
                time.sleep(self.retry_delay_s)
        raise FeedError(
            f"station {sid}: feed {self.url} failed after {attempts} attempt(s): "
            f"{_describe(cause)}",
            station=sid,
        )

    def close(self) -> None:
        """Release connections (no-op by default)."""
        return None

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # ------------------------------------------------------------------ backend
    @abstractmethod
    def _request(self, req: ChannelRequest, warnings: list[str]) -> Stream:
        """Fetch raw data covering ``[start, end)`` (may exceed it; the base trims).

        Raise any exception for a transient failure (it is retried), DataError for
        unusable data (not retried); append non-fatal problems to ``warnings``.
        """


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, SeismoError):
        return text
    if isinstance(exc, TimeoutError):
        text = f"timed out ({text})"
    elif isinstance(exc, ConnectionRefusedError):
        text = f"connection refused ({text})"
    return f"{type(exc).__name__}: {text}"
