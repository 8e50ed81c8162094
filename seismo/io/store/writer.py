"""HTTP transports: v1 ``/write`` + ``/query``, v2 through influxdb_client's WriteApi.

Errors are sorted into two kinds, both subclasses of StoreError:

* :class:`StoreUnavailable` — transient or configuration trouble (refused, timeout,
  5xx, auth): the batch stays in the spool and is retried later;
* :class:`StoreRejected` — the server refused the *data* (malformed line, field
  type conflict, body too large): the caller bisects the batch to isolate the
  bad lines.

No message ever contains a secret: every text passes through
:meth:`InfluxConnection.scrub`.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from seismo.errors import StoreError
from seismo.io.store.connection import InfluxConnection
from seismo.io.store.queries import create_database, quote_ident

log = logging.getLogger(__name__)


class StoreUnavailable(StoreError):
    """The server could not take the write now (down, timeout, 5xx, auth): spool it."""


class StoreRejected(StoreError):
    """The server refused the data itself (HTTP 400/413/422): isolate the bad lines."""


# Reasons of a 400 that concern the data, not the request/configuration.
# InfluxDB 1.x: "unable to parse", "partial write: field type conflict";
# 2.x: code "invalid" with "unable to parse"; VictoriaMetrics: "cannot parse".
_DATA_ERROR = re.compile(
    r"unable to parse|cannot parse|partial write|field type conflict|invalid field|"
    r"invalid tag|max-values-per-tag|bad timestamp|invalid number|out of range",
    re.IGNORECASE,
)


def _http(
    conn: InfluxConnection,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns (status, headers, body). Raises StoreUnavailable."""
    url = conn.base_url + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    hdrs = {"User-Agent": "seismo-store", **conn.auth_headers(), **(headers or {})}
    req = urllib.request.Request(url, data=body, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=conn.timeout_s) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        data = exc.read() if exc.fp is not None else b""
        return exc.code, dict(exc.headers.items()) if exc.headers else {}, data
    except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise StoreUnavailable(
            conn.scrub(f"InfluxDB at {conn.base_url} unreachable ({method} {path}): {reason}")
        ) from None


def _error_text(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text[:500]
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or text)[:500]
    return text[:500]


def classify(conn: InfluxConnection, status: int, reason: str, what: str) -> StoreError:
    """Map an HTTP error status to StoreRejected (data) or StoreUnavailable (retry later)."""
    msg = conn.scrub(f"{what}: HTTP {status} from {conn.base_url}: {reason}")
    if status == 413 or (status in (400, 422) and _DATA_ERROR.search(reason)):
        return StoreRejected(msg)
    if status in (401, 403):
        log.error("%s (check the token/password env vars)", msg)
    return StoreUnavailable(msg)


def ping(conn: InfluxConnection) -> str | None:
    """GET /ping; return the ``X-Influxdb-Version`` header ("" if absent).

    Raises:
        StoreUnavailable: nothing answers, or the answer is not 2xx.
    """
    status, headers, body = _http(conn, "GET", "/ping")
    if status // 100 != 2:
        raise classify(conn, status, _error_text(body), "ping")
    lower = {k.lower(): v for k, v in headers.items()}
    return lower.get("x-influxdb-version", "")


def api_for_version(version: str | None) -> Literal["v1", "v2"]:
    """v1 for InfluxDB 1.0–1.7 (no /api/v2/write); v2 for 1.8+, 2.x, 3.x and others."""
    m = re.match(r"v?(\d+)\.(\d+)", version or "")
    if m and int(m.group(1)) == 1 and int(m.group(2)) < 8:
        return "v1"
    return "v2"


def detect_api(conn: InfluxConnection) -> Literal["v1", "v2"]:
    """The API to use: ``conn.api`` unless "auto", else from /ping's version header."""
    if conn.api in ("v1", "v2"):
        return conn.api  # type: ignore[return-value]
    version = ping(conn)
    api = api_for_version(version)
    log.info("InfluxDB at %s reports version %r: using the %s write API",
             conn.base_url, version, api)
    return api


class Transport(Protocol):
    api: str

    def write(self, lines: Sequence[str]) -> None: ...

    def close(self) -> None: ...


def by_retention_policy(conn: InfluxConnection, lines: Sequence[str]) -> dict[str, list[str]]:
    """Line-protocol ``lines`` grouped by the retention policy of their measurement
    (``""``: the database's default), in their order within each group."""
    out: dict[str, list[str]] = {}
    for line in lines:
        rp = next((p for m, p in conn.retention
                   if line.startswith((m + ",", m + " "))), "")
        out.setdefault(rp, []).append(line)
    return out


def with_retention_policies(conn: InfluxConnection, q: str) -> str:
    """InfluxQL ``q`` reading each measurement that has a retention policy from it
    (``FROM "m"`` -> ``FROM "rp"."m"``)."""
    for m, rp in conn.retention:
        q = q.replace(f"FROM {quote_ident(m)}", f"FROM {quote_ident(rp)}.{quote_ident(m)}")
    return q


class V1Transport:
    """``POST /write?db=…&precision=u`` (InfluxDB 1.x)."""

    api = "v1"

    def __init__(self, conn: InfluxConnection) -> None:
        self.conn = conn
        self._db_checked = False

    def create_database(self) -> None:
        query(self.conn, create_database(self.conn.database), method="POST", db=None)

    def ensure_database(self) -> None:
        """Create the database if it is missing, once per transport.

        An empty ``/write`` answers 404 "database not found" for a missing database
        (204 otherwise) without a body to send: a large first batch to a missing
        database would otherwise get its 404 before the body is sent, and lose the
        answer to a broken pipe.
        """
        if self._db_checked:
            return
        params = {"db": self.conn.database, "precision": "u"}
        status, _, resp = _http(self.conn, "POST", "/write", params, b"",
                                {"Content-Type": "text/plain; charset=utf-8"})
        if status == 404 and "database not found" in resp.decode("utf-8", "replace"):
            log.info("creating database %r on %s", self.conn.database, self.conn.base_url)
            try:
                self.create_database()
            except StoreError as exc:  # e.g. no admin rights: keep spooling, say why
                raise StoreUnavailable(
                    f"database {self.conn.database!r} not found and cannot be created: {exc}"
                ) from None
        elif status // 100 != 2:
            raise classify(self.conn, status, _error_text(resp), "database check")
        self._db_checked = True

    def write(self, lines: Sequence[str]) -> None:
        """Write ``lines``; those of a measurement with a retention policy
        (``[store] retention_policies``) go to that policy, one request per policy."""
        self.ensure_database()
        for rp, part in by_retention_policy(self.conn, lines).items():
            body = ("\n".join(part) + "\n").encode("utf-8")
            params = {"db": self.conn.database, "precision": "u"}
            if rp:
                params["rp"] = rp
            status, _, resp = _http(self.conn, "POST", "/write", params, body,
                                    {"Content-Type": "text/plain; charset=utf-8"})
            if status // 100 != 2:
                raise classify(self.conn, status, _error_text(resp),
                               f"write of {len(part)} points")

    def close(self) -> None:
        pass


class V2Transport:
    """influxdb_client ``WriteApi`` (SYNCHRONOUS) to ``/api/v2/write``."""

    api = "v2"

    def __init__(self, conn: InfluxConnection) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.conn = conn
        self._client = InfluxDBClient(
            url=conn.base_url, token=conn.v2_token() or "", org=conn.org,
            timeout=int(conn.timeout_s * 1000), retries=False,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: Sequence[str]) -> None:
        from influxdb_client import WritePrecision
        from influxdb_client.client.exceptions import InfluxDBError
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            self._write_api.write(bucket=self.conn.bucket, org=self.conn.org, record=list(lines),
                                  write_precision=WritePrecision.US)  # type: ignore[arg-type]
        except ApiException as exc:
            reason = _error_text((exc.body or "").encode() if isinstance(exc.body, str)
                                 else (exc.body or b""))
            raise classify(self.conn, int(exc.status or 0), reason or str(exc.reason),
                           f"write of {len(lines)} points") from None
        except (InfluxDBError, HTTPError, OSError) as exc:  # connection errors, timeouts
            raise StoreUnavailable(self.conn.scrub(
                f"InfluxDB at {self.conn.base_url} unreachable (v2 write): {type(exc).__name__}"
            )) from None

    def close(self) -> None:
        self._write_api.close()
        self._client.close()


def make_transport(conn: InfluxConnection) -> Transport:
    """Detect the API (may raise StoreUnavailable) and build its transport."""
    api = detect_api(conn)
    return V1Transport(conn) if api == "v1" else V2Transport(conn)


def query(
    conn: InfluxConnection,
    q: str,
    *,
    method: Literal["GET", "POST"] = "POST",
    db: str | None = "",
) -> list[dict[str, Any]]:
    """Run InfluxQL over ``/query`` (``epoch=u``); return rows as dicts.

    Each row has ``measurement``, ``time`` (µs since epoch) and one key per column
    (plus GROUP BY tags). ``db`` defaults to the connection's database.
    Raises:
        StoreUnavailable: the server is unreachable or failed (5xx).
        StoreError: the query was refused (syntax, unknown database, auth).
    """
    params = {"q": with_retention_policies(conn, q), "epoch": "u"}
    database = conn.database if db == "" else db
    if database:
        params["db"] = database
    if method == "GET":
        status, _, body = _http(conn, "GET", "/query", params)
    else:
        data = urllib.parse.urlencode(params).encode()
        status, _, body = _http(conn, "POST", "/query", None, data,
                                {"Content-Type": "application/x-www-form-urlencoded"})
    if status // 100 == 5:
        raise StoreUnavailable(conn.scrub(f"query failed: HTTP {status}: {_error_text(body)}"))
    if status // 100 != 2:
        raise StoreError(
            conn.scrub(f"query {q[:200]!r} refused: HTTP {status}: {_error_text(body)}")
        )
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        raise StoreError(f"query {q[:200]!r}: response is not JSON") from None
    if payload.get("error"):
        raise StoreError(conn.scrub(f"query {q[:200]!r} failed: {payload['error']}"))
    rows: list[dict[str, Any]] = []
    for result in payload.get("results", []):
        if result.get("error"):
            raise StoreError(conn.scrub(f"query {q[:200]!r} failed: {result['error']}"))
        for series in result.get("series", []) or []:
            cols = series.get("columns", [])
            tags = series.get("tags") or {}
            for values in series.get("values", []):
                row = {"measurement": series.get("name"), **tags}
                row.update({c: v for c, v in zip(cols, values, strict=False) if v is not None})
                rows.append(row)
    return rows
