"""Station feeds: SeedLink, FDSN dataselect, SDS archive and the built-in simulator.

``open_feed(url)`` picks the backend from the URL; ``fetch_window`` pulls one
window from every station in parallel, each from its configured feed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seismo.lazy import lazy_exports

if TYPE_CHECKING:
    from seismo.io.feeds.base import ChannelRequest, Feed, FeedData
    from seismo.io.feeds.factory import feed_url_for, open_feed
    from seismo.io.feeds.fetch import FetchResult, fetch_window

__all__ = [
    "ChannelRequest",
    "Feed",
    "FeedData",
    "FetchResult",
    "feed_url_for",
    "fetch_window",
    "open_feed",
]

# Imported on first use: the package's settings module is read by the configuration
# loader without importing the pipeline code (seismo.lazy).
__getattr__ = lazy_exports(__name__, {
    "ChannelRequest": "seismo.io.feeds.base",
    "Feed": "seismo.io.feeds.base",
    "FeedData": "seismo.io.feeds.base",
    "FetchResult": "seismo.io.feeds.fetch",
    "feed_url_for": "seismo.io.feeds.factory",
    "fetch_window": "seismo.io.feeds.fetch",
    "open_feed": "seismo.io.feeds.factory",
})
