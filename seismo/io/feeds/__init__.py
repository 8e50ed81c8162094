"""Station feeds: SeedLink, FDSN dataselect, SDS archive and the built-in simulator.

``open_feed(url)`` picks the backend from the URL; ``fetch_window`` pulls one
window from every station in parallel, each from its configured feed.
"""

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
