"""FDSN web service feed: the ``dataselect`` service through ObsPy's FDSN client.

URLs: ``http(s)://host[:port][/prefix]`` (the base under which
``/fdsnws/dataselect/1/query`` lives) or ``fdsnws://host[:port]`` (same as
``http://``). ``user:password@`` in the URL selects ``queryauth``. Service
discovery is off: only dataselect is used, so a dataselect-only server works.
"""

from __future__ import annotations

import io

from obspy import Stream

from seismo.errors import FeedError
from seismo.io.feeds.base import ChannelRequest, Feed
from seismo.io.mseed import MiniSeedError, read_mseed


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
