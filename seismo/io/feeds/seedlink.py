"""SeedLink feed: time-window requests through ObsPy's SeedLink client.

URL: ``seedlink://host[:port]`` (port 18000 by default, the IANA-registered
SeedLink port). Each request opens its own connection (ObsPy's client keeps
per-request state), so one feed may serve several threads at once.
"""

from __future__ import annotations

import math
from typing import Any

from obspy import Stream, UTCDateTime
from obspy.clients.seedlink.basic_client import Client
from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection
from obspy.clients.seedlink.seedlinkexception import SeedLinkException

from seismo.errors import FeedError
from seismo.io.feeds.base import Feed

#: Default SeedLink TCP port (IANA service "seedlink", 18000/tcp).
DEFAULT_PORT = 18000


class _Connection(SeedLinkConnection):  # type: ignore[misc]
    """ObsPy's connection, but a closed socket is an error at once.

    ObsPy 1.5 reads an end-of-stream as "no data yet" and polls it for 30 s
    while waiting for a command reply, whatever the timeout.
    """

    rejected = False

    def negotiate_multi_station(self) -> None:
        try:
            super().negotiate_multi_station()
        except SeedLinkException:
            # ObsPy would reconnect and retry until its timeout; a station the server
            # refuses will not appear by waiting.
            self.rejected = True
            self.terminate_flag = True
            raise

    def receive_data(self, maxbytes: int, code: Any) -> bytes:
        data: bytes = self.socket.recv(maxbytes)
        if not data:
            raise ConnectionResetError(f"SeedLink server {code} closed the connection")
        return data


class _Client(Client):  # type: ignore[misc]
    def _connect(self) -> None:
        self._slclient.slconn = _Connection(timeout=self.timeout)
        self._slclient.slconn.set_sl_address(self._server_url)
        self._slclient.slconn.netto = self.timeout


class SeedLinkFeed(Feed):
    """Waveforms from a SeedLink v3 server (``TIME begin end`` window requests)."""

    scheme = "seedlink"

    def __init__(self, url: str, host: str, port: int = DEFAULT_PORT, **kwargs: float) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        if not host:
            raise FeedError(f"SeedLink URL {self.url} names no host")
        self.host = host
        self.port = int(port)

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
        # Turn the '*' globs into SeedLink '?' wildcards so that no INFO round trip is
        # needed: a SeedLink selector is LLCCC with '?' matching any character.
        loc = "??" if location == "*" else location
        cha = channel.replace("*", "???")[:3] if "*" in channel else channel
        if "*" in loc:
            loc = "??"
        # SeedLink TIME takes whole seconds (ObsPy truncates): widen to cover [start, end).
        t0 = UTCDateTime(math.floor(start.timestamp))
        t1 = UTCDateTime(math.ceil(end.timestamp) + 1)
        client = _Client(self.host, self.port, timeout=self.timeout_s)
        try:
            st: Stream = client.get_waveforms(network, station, loc, cha, t0, t1)
        except ValueError as exc:
            # basic_client concatenates the received records; none received -> ValueError.
            if getattr(client._slclient.slconn, "rejected", False):
                raise FeedError(
                    f"SeedLink server {self.url} does not serve {network}.{station} "
                    f"(STATION or SELECT {loc}{cha} refused)"
                ) from None
            if not getattr(client, "bulk_data_container", None):
                return Stream()
            raise FeedError(f"bad answer from {self.url}: {exc}") from exc
        return st
