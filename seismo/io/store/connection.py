"""Connection settings for the InfluxDB store: config, Airflow Connection fields, environment.

Precedence (lowest first):

1. ``[store]`` in the configuration file;
2. the fields of the Airflow Connection named by ``store.airflow_conn_id``, when the
   caller passes them (the DAG tasks do, through
   :mod:`seismo.shells.airflow_connection`; this module never imports Airflow);
3. environment variables ``SEISMO_INFLUX_URL``, ``SEISMO_INFLUX_DATABASE``,
   ``SEISMO_INFLUX_BUCKET``, ``SEISMO_INFLUX_ORG``, ``SEISMO_INFLUX_API``,
   ``SEISMO_INFLUX_USER``; the token from the variable named by ``store.token_env``
   (falling back to ``SEISMO_INFLUX_TOKEN``) and the password from ``store.password_env``.

Secrets (token, password) are excluded from ``repr`` and are scrubbed from every
message the store produces (:meth:`InfluxConnection.scrub`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from seismo.errors import StoreError
from seismo.io.store.settings import StoreConfig

log = logging.getLogger(__name__)

Api = Literal["auto", "v1", "v2"]

ENV_URL = "SEISMO_INFLUX_URL"
ENV_DATABASE = "SEISMO_INFLUX_DATABASE"
ENV_BUCKET = "SEISMO_INFLUX_BUCKET"
ENV_ORG = "SEISMO_INFLUX_ORG"
ENV_API = "SEISMO_INFLUX_API"
ENV_TOKEN = "SEISMO_INFLUX_TOKEN"
ENV_USER = "SEISMO_INFLUX_USER"

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class InfluxConnection:
    """Where and how to reach the server. Secrets are hidden from ``repr``."""

    url: str
    api: Api = "auto"
    database: str = "seismo"
    bucket: str = "seismo"
    org: str = "seismo"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0
    #: (measurement, retention policy) pairs: ``[store] retention_policies`` (InfluxDB 1.x)
    retention: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(f"InfluxDB url {self.url!r} must be http(s)://host[:port]")
        if parts.username or parts.password:
            raise StoreError("InfluxDB url must not embed credentials; use token_env/password_env")
        if self.api not in ("auto", "v1", "v2"):
            raise StoreError(f"InfluxDB api {self.api!r} must be one of auto, v1, v2")

    @property
    def base_url(self) -> str:
        """The URL without a trailing slash."""
        return self.url.rstrip("/")

    @property
    def is_loopback(self) -> bool:
        return (urlsplit(self.url).hostname or "") in _LOOPBACK

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 8086)

    def auth_headers(self) -> dict[str, str]:
        """``Authorization`` header: token (``Token …``) wins over basic auth."""
        if self.token:
            return {"Authorization": f"Token {self.token}"}
        if self.username:
            raw = f"{self.username}:{self.password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        return {}

    def v2_token(self) -> str | None:
        """Token for the v2 API; InfluxDB 1.8+ accepts ``user:password`` as token."""
        if self.token:
            return self.token
        if self.username:
            return f"{self.username}:{self.password or ''}"
        return None

    def scrub(self, text: str) -> str:
        """``text`` with every secret (and its basic-auth encoding) replaced by ``***``."""
        secrets = [s for s in (self.token, self.password) if s]
        if self.username and self.password:
            raw = f"{self.username}:{self.password}".encode()
            secrets.append(base64.b64encode(raw).decode("ascii"))
        for s in sorted(secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        return text

    def describe(self) -> str:
        """A log-safe one-line description."""
        auth = "token" if self.token else ("basic" if self.username else "none")
        return f"{self.base_url} api={self.api} db={self.database} bucket={self.bucket} auth={auth}"


def _strip_userinfo(url: str) -> tuple[str, str | None, str | None]:
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url, None, None
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, parts.username, parts.password


def _apply(conn: InfluxConnection, **changes: Any) -> InfluxConnection:
    changes = {k: v for k, v in changes.items() if v is not None}
    if "url" in changes:
        url, user, pw = _strip_userinfo(changes["url"])
        changes["url"] = url
        if user:
            changes.setdefault("username", user)
        if pw:
            changes.setdefault("password", pw)
    return dataclasses.replace(conn, **changes) if changes else conn


def connection_from_settings(
    st: StoreConfig,
    env: Mapping[str, str] | None = None,
    *,
    airflow_fields: Mapping[str, Any] | None = None,
) -> InfluxConnection:
    """Build the connection from config, Airflow Connection fields and ``env``.

    Args:
        st: the ``[store]`` section.
        env: environment mapping (default ``os.environ``).
        airflow_fields: the fields of the Airflow Connection named by
            ``store.airflow_conn_id`` (keywords of :func:`connection_from_airflow_fields`:
            host, port, schema, login, password, extra), looked up by the caller.
    """
    env = os.environ if env is None else env
    url, url_user, url_pw = _strip_userinfo(st.url)
    conn = InfluxConnection(
        url=url, api=st.api, database=st.database, bucket=st.bucket, org=st.org,
        username=st.username or url_user, password=url_pw, timeout_s=st.timeout_s,
        retention=tuple(sorted(st.retention_policies.items())),
    )
    if airflow_fields is not None:
        conn = connection_from_airflow_fields(**airflow_fields, base=conn)
    elif st.airflow_conn_id:
        log.debug("store.airflow_conn_id=%r is looked up by the Airflow tasks only; "
                  "using [store] and the environment", st.airflow_conn_id)

    def get(name: str | None) -> str | None:
        return (env.get(name) or None) if name else None

    token = get(st.token_env) or get(ENV_TOKEN)
    api = get(ENV_API)
    if api is not None and api not in ("auto", "v1", "v2"):
        raise StoreError(f"{ENV_API}={api!r} must be one of auto, v1, v2")
    return _apply(
        conn, url=get(ENV_URL), database=get(ENV_DATABASE), bucket=get(ENV_BUCKET),
        org=get(ENV_ORG), api=api, username=get(ENV_USER), token=token,
        password=get(st.password_env),
    )


def connection_from_airflow_fields(
    host: str | None,
    port: int | None = None,
    schema: str | None = None,
    login: str | None = None,
    password: str | None = None,
    extra: str | Mapping[str, Any] | None = None,
    *,
    base: InfluxConnection | None = None,
) -> InfluxConnection:
    """Map the fields of an Airflow ``influxdb`` Connection onto :class:`InfluxConnection`.

    Same meaning as ``apache-airflow-providers-influxdb``'s ``InfluxDBHook.get_uri``:
    ``schema`` is the URL scheme (http/https), ``host`` and ``port`` the server. When
    ``port`` is empty we use 8086 for http and 443 for https (InfluxDB's documented
    HTTP port). Some provider versions default the port to 7687 (Neo4j's port);
    never rely on the provider default — set the port.
    ``extra`` (JSON) may hold ``token``, ``org`` (or ``org_name``), ``bucket``,
    ``database``, ``api``, ``timeout_s``. ``login``/``password`` give basic auth.
    """
    if not host:
        raise StoreError("Airflow influxdb connection has no host")
    if isinstance(extra, str):
        try:
            extras: dict[str, Any] = json.loads(extra) if extra.strip() else {}
        except json.JSONDecodeError:
            raise StoreError("Airflow influxdb connection: extra is not valid JSON") from None
    else:
        extras = dict(extra or {})
    if "://" in host:  # a full URL typed into the host field
        url, user, pw = _strip_userinfo(host)
        login = login or user
        password = password or pw
    else:
        scheme = (schema or "").lower()
        if scheme not in ("http", "https"):
            if scheme:
                raise StoreError(
                    f"Airflow influxdb connection: schema {schema!r} must be http or https "
                    "(the provider uses it as the URL scheme)"
                )
            scheme = "http" if host in _LOOPBACK else "https"
        if port is None:
            port = 443 if scheme == "https" else 8086
        if port == 7687:
            log.warning("Airflow influxdb connection uses port 7687 (Neo4j's); InfluxDB is 8086")
        hostpart = f"[{host}]" if ":" in host else host
        url = f"{scheme}://{hostpart}:{port}"
    conn = base or InfluxConnection(url=url)
    timeout = extras.get("timeout_s")
    return _apply(
        conn, url=url, token=extras.get("token") or None,
        org=extras.get("org") or extras.get("org_name") or None,
        bucket=extras.get("bucket") or None, database=extras.get("database") or None,
        api=extras.get("api") or None, username=login or None, password=password or None,
        timeout_s=float(timeout) if timeout else None,
    )
