"""FDSN web service feed: the ``dataselect`` service through ObsPy's FDSN client.

URLs: ``http(s)://host[:port][/prefix]`` (the base under which
``/fdsnws/dataselect/1/query`` lives) or ``fdsnws://host[:port]`` (same as
``http://``). ``user:password@`` in the URL selects ``queryauth``. Service
discovery is off: only dataselect is used, so a dataselect-only server works.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal
from urllib.parse import SplitResult, unquote

from obspy import Stream
from pydantic import Field

from seismo.errors import FeedError
from seismo.io.feeds.base import ChannelRequest, Feed
from seismo.io.feeds.factory import FeedOptions, FeedSource, register_feed
from seismo.io.mseed import MiniSeedError, read_mseed


@register_feed
class FDSNSource(FeedSource):
    """``fdsnws://host[:port]`` or ``http(s)://host[:port][/prefix]``; ``user:password@``
    selects ``queryauth``."""

    schemes = ("fdsnws", "http", "https")
    label = "FDSN"

    host: Annotated[str, Field(min_length=1)]
    port: int | None = None
    http: Literal["http", "https"] = "http"
    path: str = ""
    user: str | None = None
    password: str | None = Field(None, repr=False)

    @classmethod
    def from_url(cls, url: str, parts: SplitResult) -> FDSNSource:
        scheme = parts.scheme.lower()
        return cls.model_validate({
            "url": url,
            "host": parts.hostname or "",
            "port": parts.port,
            "http": "http" if scheme == "fdsnws" else scheme,
            "path": parts.path.rstrip("/"),
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
        })

    @property
    def base_url(self) -> str:
        """The base under which ``/fdsnws/dataselect/1/query`` lives (no credentials)."""
        host = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"{self.http}://{host}{self.path}"

    def open(self, options: FeedOptions) -> FDSNFeed:
        return FDSNFeed(self.url, self.base_url, user=self.user, password=self.password,
                        **options.common)


class FDSNFeed(Feed):
    """Waveforms from an FDSN dataselect service (HTTP 204 = no data = empty Stream)."""

    scheme = "fdsnws"

    def __init__(
        self,
        url: str,
        base_url: str,
        user: str | None = None,
        password: str | None = None,
        **kwargs: float,
    ) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        self.base_url = base_url
        self._user = user
        self._password = password
        self._client = self._make_client()

    def _make_client(self):  # type: ignore[no-untyped-def]
        from obspy.clients.fdsn import Client
        from obspy.clients.fdsn.header import FDSNException

        try:
            return Client(
                self.base_url,
                user=self._user,
                password=self._password,
                timeout=self.timeout_s,
                _discover_services=False,
            )
        except (ValueError, FDSNException) as exc:  # a bad URL; credentials and a token
            raise FeedError(f"cannot use FDSN URL {self.url}: {exc}") from None

    def _request(self, req: ChannelRequest, warnings: list[str]) -> Stream:
        from obspy.clients.fdsn.header import FDSNNoDataException

        raw = io.BytesIO()
        try:  # the raw answer only; decoded below under the miniSEED lock (seismo.io.mseed)
            self._client.get_waveforms(
                req.network, req.station, req.location, req.channel, req.start, req.end,
                filename=raw,
            )
        except FDSNNoDataException:
            return Stream()
        if not raw.getbuffer().nbytes:
            return Stream()
        raw.seek(0)
        try:
            return read_mseed(raw)
        except MiniSeedError as exc:
            raise FeedError(f"answer from {self.url} is not miniSEED: {exc}") from None
