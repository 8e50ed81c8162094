"""Feed URLs are a union keyed by scheme: each backend's model parses and validates its own
URLs, and a new backend is one module that registers itself (here: a tiny one, in this
test module)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import SplitResult, parse_qs

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime
from pydantic import Field

from seismo.config import Settings
from seismo.errors import FeedError
from seismo.io.feeds import fetch_window, open_feed
from seismo.io.feeds.base import ChannelRequest, Feed
from seismo.io.feeds.factory import (
    FeedOptions,
    FeedSource,
    feed_schemes,
    parse_feed_url,
    register_feed,
)
from seismo.io.feeds.fdsn import FDSNSource
from seismo.io.feeds.sds import SDSSource
from seismo.io.feeds.seedlink import SeedLinkSource
from seismo.io.feeds.sim import SimSource

T0 = UTCDateTime(2026, 3, 1, 12, 0, 0)


# --------------------------------------------------------------------------- a new backend
class RampFeed(Feed):
    """Every channel asked for is a ramp of counts, one per sample, from the epoch second."""

    scheme = "ramp"

    def __init__(self, url: str, rate_hz: float, **kwargs: float) -> None:
        super().__init__(url, **kwargs)  # type: ignore[arg-type]
        self.rate_hz = rate_hz

    def _request(self, req: ChannelRequest, warnings: list[str]) -> Stream:
        n = round((req.end - req.start) * self.rate_hz)
        first = float(req.start.timestamp) * self.rate_hz
        header = {"network": req.network, "station": req.station, "location": "00",
                  "channel": "HHZ", "sampling_rate": self.rate_hz, "starttime": req.start}
        return Stream([Trace(np.arange(n, dtype=np.float64) + first, header)])


@register_feed
class RampSource(FeedSource):
    """``ramp://?rate=HZ``."""

    schemes = ("ramp",)
    label = "ramp"

    rate_hz: Annotated[float, Field(gt=0, le=1000)] = 100.0

    @classmethod
    def from_url(cls, url: str, parts: SplitResult) -> RampSource:
        query = parse_qs(parts.query)
        data: dict[str, object] = {"url": url}
        if "rate" in query:
            data["rate_hz"] = query["rate"][0]
        return cls.model_validate(data)

    def open(self, options: FeedOptions) -> RampFeed:
        return RampFeed(self.url, self.rate_hz, **options.common)


def test_a_backend_registered_by_its_own_module_serves_fetch_window(settings: Settings) -> None:
    assert feed_schemes()["ramp"] is RampSource
    feed = open_feed("ramp://?rate=50", retries=0)
    st = feed.get_waveforms("XX", "AAA", "*", "*", T0, T0 + 2)
    assert st[0].stats.npts == 100 and st[0].data[0] == T0.timestamp * 50
    feeds = settings.feeds.model_copy(update={"default": "ramp://", "overrides": {
        "XX.BBB": "ramp://?rate=20"}})
    res = fetch_window(feeds, None, T0, T0 + 10, stations=["XX.AAA", "XX.BBB"])
    assert {sid: r.n_samples for sid, r in res.items()} == {"XX.AAA": 1000, "XX.BBB": 200}
    assert res["XX.BBB"].feed_url == "ramp://?rate=20"


def test_each_backend_validates_its_own_urls() -> None:
    with pytest.raises(FeedError, match=r"ramp URL ramp://\?rate=0: rate_hz Input should be "
                                        r"greater than 0"):
        open_feed("ramp://?rate=0")
    with pytest.raises(FeedError, match=r"unknown feed scheme 'ftp' .*ramp"):
        open_feed("ftp://h/x")
    with pytest.raises(FeedError, match=r"SeedLink URL seedlink:// names no host"):
        open_feed("seedlink://")
    with pytest.raises(FeedError, match=r"sim URL sim://\?reference=soon: reference is not"):
        open_feed("sim://?reference=soon")
    with pytest.raises(FeedError, match=r"malformed feed URL"):
        open_feed("seedlink://h:99999")


def test_built_in_schemes_and_their_models() -> None:
    schemes = feed_schemes()
    assert {s: schemes[s] for s in ("seedlink", "fdsnws", "http", "https", "sds", "sim")} == {
        "seedlink": SeedLinkSource, "fdsnws": FDSNSource, "http": FDSNSource,
        "https": FDSNSource, "sds": SDSSource, "sim": SimSource}
    sl = parse_feed_url("seedlink://Host.example")
    assert isinstance(sl, SeedLinkSource) and (sl.host, sl.port) == ("host.example", 18000)
    fd = parse_feed_url("fdsnws://ops:s%40cret@h:8080/prefix/")
    assert isinstance(fd, FDSNSource)
    assert (fd.base_url, fd.user, fd.password) == ("http://h:8080/prefix", "ops", "s@cret")
    assert "s@cret" not in repr(fd) and "s%40cret" not in repr(fd)
    sds = parse_feed_url("sds:///data/sds%20archive")
    assert isinstance(sds, SDSSource) and sds.directory == "/data/sds archive"
    sim = parse_feed_url("sim://?scenario=&reference=2026-01-01T00:00:00")
    assert isinstance(sim, SimSource)
    assert (sim.scenario, sim.use_config_scenario, sim.reference) == (
        "", False, "2026-01-01T00:00:00")
    assert parse_feed_url("sim://").use_config_scenario is True  # type: ignore[attr-defined]
