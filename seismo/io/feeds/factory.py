"""Feed backends by URL scheme: each backend module registers its own settings model.

========================  ==============================================
``seedlink://host[:port]``  SeedLink 3/4 server (:mod:`.seedlink`)
``fdsnws://host[:port]``    FDSN dataselect over HTTP (:mod:`.fdsn`)
``http(s)://base``          FDSN dataselect under ``base`` (:mod:`.fdsn`)
``sds:///path``             SDS miniSEED archive (:mod:`.sds`)
``sim://[?scenario=..]``    built-in simulator (:mod:`.sim`)
========================  ==============================================

A feed URL is a discriminated union keyed by its scheme: :func:`open_feed` finds the
:class:`FeedSource` model registered for the scheme, which parses and validates the
URL (:meth:`FeedSource.from_url`) and opens the feed (:meth:`FeedSource.open`). A
backend is a module of this package (found by name, like the CLI's subcommands)
that decorates its model with :func:`register_feed`; adding one is one new module
and its tests. The configuration keeps feed URLs as written (``[feeds]``): a URL is
validated when its feed opens, so a bad one fails its stations only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, ValidationError

from seismo.config import mask_url
from seismo.config.base import StrictModel
from seismo.errors import FeedError
from seismo.io.feeds.base import Feed
from seismo.io.feeds.settings import FeedsConfig
from seismo.lazy import import_modules
from seismo.network import NetworkConfig
from seismo.simulate.settings import SimulatorConfig

__all__ = [
    "FeedOptions",
    "FeedSource",
    "feed_schemes",
    "feed_url_for",
    "open_feed",
    "parse_feed_url",
    "register_feed",
]


@dataclass(frozen=True)
class FeedOptions:
    """What opening a feed may use besides its URL: the ``[feeds]`` deadline and retries
    of every request, the inventory, and for ``sim://`` the ``[simulator]`` and
    ``[network]`` sections."""

    timeout_s: float = 10.0
    retries: int = 2
    retry_delay_s: float = 1.0
    inventory: Any = None
    simulator: SimulatorConfig | None = None
    network: NetworkConfig | None = None

    @property
    def common(self) -> dict[str, float]:
        """The keywords every :class:`~seismo.io.feeds.base.Feed` takes."""
        return {"timeout_s": self.timeout_s, "retries": self.retries,
                "retry_delay_s": self.retry_delay_s}


class FeedSource(StrictModel):
    """A feed URL parsed and validated by the backend that serves its scheme."""

    #: URL schemes the backend serves (lower case).
    schemes: ClassVar[tuple[str, ...]] = ()
    #: The backend's name and URL form, for messages.
    label: ClassVar[str] = "feed"
    form: ClassVar[str] = ""

    url: str = Field(repr=False, description="the URL as written (may hold credentials)")

    @classmethod
    def from_url(cls, url: str, parts: SplitResult) -> FeedSource:
        """The source of ``url`` (``parts``: its :func:`~urllib.parse.urlsplit`).

        Raises:
            ValidationError: the URL lacks or mistypes a field of the model.
        """
        raise NotImplementedError

    def open(self, options: FeedOptions) -> Feed:
        """The feed (raises FeedError when it cannot be opened)."""
        raise NotImplementedError


_SCHEMES: dict[str, type[FeedSource]] = {}
S = TypeVar("S", bound=FeedSource)


def register_feed(model: type[S]) -> type[S]:
    """Register ``model`` for every scheme in ``model.schemes``; a class decorator."""
    if not model.schemes:
        raise TypeError(f"{model.__name__}.schemes names no URL scheme")
    for scheme in model.schemes:
        _SCHEMES[scheme.lower()] = model
    return model


def feed_schemes() -> dict[str, type[FeedSource]]:
    """Every registered scheme and its model (the package's own backends loaded first)."""
    import_modules("seismo.io.feeds")
    return dict(_SCHEMES)


def parse_feed_url(url: str) -> FeedSource:
    """The validated source of ``url`` (see the module doc).

    Raises:
        FeedError: unknown scheme or malformed URL (the message shows the URL
            without credentials).
    """
    shown = mask_url(url)
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise FeedError(f"malformed feed URL {shown}: {exc}") from None
    schemes = feed_schemes()
    model = schemes.get(parts.scheme.lower())
    if model is None:
        raise FeedError(f"unknown feed scheme {parts.scheme!r} in {shown} "
                        f"(expected one of: {', '.join(schemes)})")
    try:
        return model.from_url(url, parts)
    except ValidationError as exc:
        raise FeedError(_describe(model, shown, exc)) from None


def _describe(model: type[FeedSource], shown: str, exc: ValidationError) -> str:
    """What is wrong with a URL, by field, without its values (they may be secrets)."""
    form = f" ({model.form})" if model.form else ""
    out = []
    for e in exc.errors():
        field = ".".join(map(str, e["loc"]))
        if e["type"] in ("missing", "string_too_short"):
            out.append(f" names no {field}{form}")
        else:
            out.append(f": {field} {e['msg'].removeprefix('Value error, ')}")
    return f"{model.label} URL {shown}" + ";".join(out)


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
    options = FeedOptions(timeout_s=timeout_s, retries=retries, retry_delay_s=retry_delay_s,
                          inventory=inventory, simulator=simulator, network=network)
    return parse_feed_url(url).open(options)


def feed_url_for(feeds: FeedsConfig, station_id: str) -> str:
    """The feed URL ``[feeds]`` gives ``NET.STA``: its override, else the default."""
    return str(feeds.overrides.get(station_id, feeds.default))
