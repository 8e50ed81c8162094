"""Redis Streams: the broker between the picker parts and the associator of a split
``seismo stream`` (docs/streaming.md, "Split").

One stream key carries JSON messages (one field, ``data``). Producers append with
``XADD ... MAXLEN ~ n`` (approximate trimming: Redis drops whole macro nodes, cheap); the
consumer reads through a consumer group (``XREADGROUP``), acknowledges what it processed
(``XACK``) and after a restart first re-reads its pending entries (delivered, not
acknowledged), then the new ones. ``XRANGE`` re-reads what the stream still holds.

Only the public API of the ``redis`` package (redis-py); every Redis failure becomes a
:class:`~seismo.errors.BrokerError` naming the (masked) URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from seismo.config import mask_url
from seismo.errors import BrokerError

log = logging.getLogger(__name__)

#: A stream entry: its id ("1712345678901-0") and its message.
Entry = tuple[str, dict[str, Any]]


class StreamBroker:
    """One Redis stream ``key`` at ``url`` (module docstring).

    Args:
        url: ``redis://host:port/db`` (a password in it is used, but better given apart).
        key: the stream's key.
        maxlen: entries kept (approximately).
        password: Redis's password (None: the URL's, or none).
        timeout_s: connection and socket timeout.
    """

    def __init__(self, url: str, key: str, *, maxlen: int, password: str | None = None,
                 timeout_s: float = 5.0) -> None:
        try:
            import redis
        except ImportError:
            raise BrokerError("the split stream needs the redis package (pip install "
                              "redis, in requirements.lock)") from None
        self._redis = redis
        self.url, self.key, self.maxlen = url, key, maxlen
        self.shown = mask_url(url)
        try:
            self.client = redis.Redis.from_url(
                url, password=password, socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s, decode_responses=True)
        except ValueError as exc:
            raise BrokerError(f"broker URL {self.shown}: {exc}") from None

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        try:
            yield
        except self._redis.RedisError as exc:
            raise BrokerError(f"Redis {self.shown}, {what} on {self.key}: {exc}") from exc

    def ping(self) -> str:
        """Redis's version; raises :class:`BrokerError` when it does not answer."""
        with self._call("PING"):
            self.client.ping()
            info = cast(dict[str, Any], self.client.info("server"))
            return str(info.get("redis_version", "?"))

    def add(self, message: Mapping[str, Any]) -> str:
        """Append ``message`` (JSON); its entry id."""
        data = json.dumps(message, separators=(",", ":"), allow_nan=False)
        with self._call("XADD"):
            return str(self.client.xadd(self.key, {"data": data}, maxlen=self.maxlen,
                                        approximate=True))

    def ensure_group(self, group: str) -> None:
        """Create consumer group ``group`` reading from the stream's start (the stream is
        created empty when missing); an existing group keeps its position."""
        with self._call("XGROUP CREATE"):
            try:
                self.client.xgroup_create(self.key, group, id="0", mkstream=True)
            except self._redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def last_delivered(self, group: str) -> str | None:
        """The id of the last entry delivered to ``group`` (None: no such group)."""
        with self._call("XINFO GROUPS"):
            try:
                groups = cast(list[dict[str, Any]], self.client.xinfo_groups(self.key))
            except self._redis.ResponseError:  # no such key
                return None
        for g in groups:
            if g.get("name") == group:
                return str(g.get("last-delivered-id"))
        return None

    def read_group(self, group: str, consumer: str, *, count: int, block_ms: int | None,
                   pending: bool = False) -> list[Entry]:
        """Entries for ``consumer`` of ``group``: new ones (waiting up to ``block_ms``), or
        with ``pending`` those delivered to it before and not acknowledged."""
        with self._call("XREADGROUP"):
            try:
                got = self._read_group(group, consumer, count, block_ms, pending)
            except self._redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis restarted without its data: the group (and stream) start afresh
                log.warning("Redis %s: group %s of %s is gone, created again", self.shown,
                            group, self.key)
                self.client.xgroup_create(self.key, group, id="0", mkstream=True)
                got = self._read_group(group, consumer, count, block_ms, pending)
        return [(i, self._decode(i, f)) for _, entries in got or [] for i, f in entries
                if f is not None]

    def _read_group(self, group: str, consumer: str, count: int, block_ms: int | None,
                    pending: bool) -> list[Any]:
        return cast(list[Any], self.client.xreadgroup(
            group, consumer, {self.key: "0" if pending else ">"}, count=count,
            block=None if pending else block_ms))

    def ack(self, group: str, ids: list[str]) -> None:
        if ids:
            with self._call("XACK"):
                self.client.xack(self.key, group, *ids)

    def range(self, start: str, end: str, count: int) -> list[Entry]:
        """Up to ``count`` entries from ``start`` to ``end`` (ids, inclusive; "-" and "+"
        for the stream's ends)."""
        with self._call("XRANGE"):
            got = cast(list[Any], self.client.xrange(self.key, start, end, count=count))
        return [(i, self._decode(i, f)) for i, f in got]

    def last_id(self) -> str:
        """The id of the newest entry ("0-0" when the stream is empty or missing)."""
        with self._call("XREVRANGE"):
            got = cast(list[Any], self.client.xrevrange(self.key, "+", "-", count=1))
        return str(got[0][0]) if got else "0-0"

    def read_after(self, after: str, count: int) -> list[Entry]:
        """Up to ``count`` entries after id ``after``, without waiting (XREAD: every reader
        sees every entry, no group)."""
        with self._call("XREAD"):
            got = cast(list[Any], self.client.xread({self.key: after}, count=count))
        return [(i, self._decode(i, f)) for _, entries in got or [] for i, f in entries]

    def length(self) -> int:
        with self._call("XLEN"):
            return int(cast(int, self.client.xlen(self.key)))

    def _decode(self, entry: str, fields: Mapping[str, str]) -> dict[str, Any]:
        try:
            msg = json.loads(fields["data"])
        except (KeyError, ValueError) as exc:
            raise BrokerError(f"{self.key} entry {entry}: not a message ({exc})") from None
        if not isinstance(msg, dict):
            raise BrokerError(f"{self.key} entry {entry}: not a JSON object")
        return msg

    def close(self) -> None:
        self.client.close()
