"""SeedLink feed: time-window requests through seismo's own SeedLink client (protocol 4
where the server offers it, else 3; records of any length).

URL: ``seedlink://host[:port]`` (port 18000 by default, the IANA-registered
SeedLink port). Each request opens its own connection
(:meth:`~seismo.io.seedlink.client.SeedLinkClient.fetch_records`), so one feed
may serve several threads at once; the whole request (connection, handshake,
data) must finish within ``timeout_s``. A window ends at the server's ``END`` or as
soon as every channel received has reached its end (a server such as ringserver sends
``END`` only once a record past the window exists).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import SplitResult

from obspy import Stream
from pydantic import Field

from seismo.errors import FeedError
from seismo.io.feeds.base import ChannelRequest, Feed
from seismo.io.feeds.factory import FeedOptions, FeedSource, register_feed
from seismo.io.seedlink.client import (
    DEFAULT_PORT,
    SeedLinkClient,
    StationRequest,
    records_to_stream,
    selector_for,
)

__all__ = ["DEFAULT_PORT", "SeedLinkFeed", "SeedLinkSource"]


@register_feed
class SeedLinkSource(FeedSource):
    """``seedlink://host[:port]``: a SeedLink 3 or 4 server (port 18000 by default)."""

    schemes = ("seedlink",)
    label = "SeedLink"
    form = "seedlink://host:port"

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = DEFAULT_PORT

    @classmethod
    def from_url(cls, url: str, parts: SplitResult) -> SeedLinkSource:
        return cls.model_validate(
            {"url": url, "host": parts.hostname or "", "port": parts.port or DEFAULT_PORT}
        )

    def open(self, options: FeedOptions) -> SeedLinkFeed:
        return SeedLinkFeed(self.url, self.host, self.port, **options.common)


class SeedLinkFeed(Feed):
    """Waveforms from a SeedLink server (``TIME begin end`` window requests; SeedLink 4:
    ``DATA ALL begin end``)."""

    scheme = "seedlink"

    def __init__(self, url: str, host: str, port: int = DEFAULT_PORT, **kwargs: float) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        if not host:
            raise FeedError(f"SeedLink URL {self.url} names no host")
        self.host = host
        self.port = int(port)
        self.client = SeedLinkClient(host, self.port, timeout_s=self.timeout_s)

    def _request(self, req: ChannelRequest, warnings: list[str]) -> Stream:
        # '*' globs become SeedLink '?' wildcards; the base class selects exactly.
        selector = selector_for(req.location, req.channel)
        wanted = StationRequest(req.network, req.station, (selector,))
        records = self.client.fetch_records([wanted], req.start, req.end)
        st, problems = records_to_stream(records)
        warnings.extend(problems)
        return st
