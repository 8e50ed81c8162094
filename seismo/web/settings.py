"""The ``[web]`` settings section: the operations console (``seismo web``, docs/web.md).

Like every section model it lives next to its owner and is composed into
:class:`seismo.config.Settings` by :mod:`seismo.config.tree`; it is as strict as every
other section: an unknown key stops the program with the file and key named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from seismo.config.base import StrictModel


class WebConfig(StrictModel):
    """The operations console: where it listens, where its users live, how it signs sessions.

    ``users_db`` is an SQLite file holding the console's users (argon2 hashes), the
    review audit trail and the comments; ``secret_env`` names the environment variable
    holding the session-signing key (the console refuses to start without it).
    Failed logins are limited to ``login_max_failures`` per ``login_window_s`` for one
    user name or one client address (design choice, docs/web.md).
    """

    host: str = Field("127.0.0.1", description="address the console binds to")
    port: Annotated[int, Field(ge=1, le=65535)] = 8089
    public_url: str | None = Field(
        None, description="the console's address as recipients of alerts reach it (e.g. "
        "https://seismo.example.org); every CAP message links <public_url>/events/<id>. "
        "Default: http://<host>:<port>")
    users_db: Path = Field(Path("../var/web/users.sqlite"),
                           description="SQLite file: users, review audit trail, comments")
    secret_env: str = Field("SEISMO_WEB_SECRET",
                            description="environment variable holding the session key")
    session_max_age_s: Annotated[float, Field(gt=0, le=7 * 86400)] = Field(
        43200.0, description="a session expires this long after sign-in")
    login_max_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    login_window_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    poll_s: Annotated[float, Field(ge=1, le=600)] = Field(
        5.0, description="the live list asks for news this often (s); the station wall "
        "every 2 x poll_s")
    pdf_span_s: Annotated[float, Field(ge=60, le=86400)] = Field(
        3600.0, description="a station page's noise probability density covers this many "
        "seconds before now (never less than [health] window_s)")
    page_size: Annotated[int, Field(ge=10, le=1000)] = Field(
        50, description="events per page of the live list")
    live_window_s: Annotated[float, Field(gt=0, le=366 * 86400)] = Field(
        7 * 86400.0, description="the live list shows this span by default")

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("http://", "https://")) or any(c in v for c in " \r\n\t"):
            raise ValueError(f"public_url {v!r} must be an http(s) URL without spaces")
        return v.rstrip("/")

    @property
    def base_url(self) -> str:
        """The console's address for links in messages (``public_url`` or host:port)."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
