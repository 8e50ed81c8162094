"""Choose a feed backend from its URL.

========================  ==============================================
``seedlink://host[:port]``  SeedLink v3 server (:class:`SeedLinkFeed`)
``fdsnws://host[:port]``    FDSN dataselect over HTTP (:class:`FDSNFeed`)
``http(s)://base``          FDSN dataselect under ``base`` (:class:`FDSNFeed`)
``sds:///path``             SDS miniSEED archive (:class:`SDSFeed`)
``sim://[?scenario=..]``    built-in simulator (:class:`SimFeed`)
========================  ==============================================
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from obspy import UTCDateTime

from seismo.config import mask_url
from seismo.errors import FeedError
from seismo.io.feeds.base import Feed
from seismo.io.feeds.settings import FeedsConfig
from seismo.network import NetworkConfig
from seismo.simulate.settings import SimulatorConfig

SCHEMES = ("seedlink", "fdsnws", "http", "https", "sds", "sim")


def open_feed(
    url: str,
    *,
    simulator: SimulatorConfig | None = None,
    network: NetworkConfig | None = None,
    inventory: Any = None,
    timeout_s: float = 10.0,
    retries: int = 2,
    retry_delay_s: float = 1.0,
) -> Feed:
    """A feed for ``url`` (see the module table).

    Args:
        url: feed URL.
        simulator, network: the ``[simulator]`` and ``[network]`` sections; needed by
            ``sim://``.
        inventory: the station inventory (kept for backends that need metadata).
        timeout_s: network timeout per request, seconds.
        retries: extra attempts after a failed one.
        retry_delay_s: pause between attempts, seconds.

    Raises:
        FeedError: unknown scheme or malformed URL (the message shows the URL
            without credentials).
    """
    shown = mask_url(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FeedError(f"malformed feed URL {shown}: {exc}") from None
    scheme = parts.scheme.lower()
    common = {"timeout_s": timeout_s, "retries": retries, "retry_delay_s": retry_delay_s}
    if scheme == "seedlink":
        from seismo.io.feeds.seedlink import DEFAULT_PORT, SeedLinkFeed

        if not parts.hostname:
            raise FeedError(f"SeedLink URL {shown} names no host (seedlink://host:port)")
        return SeedLinkFeed(url, parts.hostname, port or DEFAULT_PORT, **common)
    if scheme in ("fdsnws", "http", "https"):
        from seismo.io.feeds.fdsn import FDSNFeed

        if not parts.hostname:
            raise FeedError(f"FDSN URL {shown} names no host")
        http = "http" if scheme == "fdsnws" else scheme
        host = parts.hostname if port is None else f"{parts.hostname}:{port}"
        base = f"{http}://{host}{parts.path.rstrip('/')}"
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return FDSNFeed(url, base, user=user, password=password, **common)
    if scheme == "sds":
        from seismo.io.feeds.sds import SDSFeed

        path = unquote(parts.netloc + parts.path)
        if not path:
            raise FeedError(f"SDS URL {shown} names no directory (sds:///path/to/archive)")
        return SDSFeed(url, path, timeout_s=timeout_s, retries=retries, retry_delay_s=retry_delay_s)
    if scheme == "sim":
        from seismo.io.feeds.sim import SimFeed

        query = parse_qs(parts.query, keep_blank_values=True)
        scenario = query["scenario"][0] if "scenario" in query else None
        reference = None
        if "reference" in query:
            try:
                reference = UTCDateTime(query["reference"][0])
            except (TypeError, ValueError):  # what UTCDateTime raises
                raise FeedError(f"sim URL {shown}: reference is not an ISO time") from None
        return SimFeed(
            url,
            simulator,
            network,
            scenario=scenario,
            reference=reference,
            use_config_scenario="scenario" not in query,
            **common,
        )
    raise FeedError(
        f"unknown feed scheme {parts.scheme!r} in {shown} (expected one of: {', '.join(SCHEMES)})"
    )


def feed_url_for(feeds: FeedsConfig, station_id: str) -> str:
    """The feed URL ``[feeds]`` gives ``NET.STA``: its override, else the default."""
    return str(feeds.overrides.get(station_id, feeds.default))
