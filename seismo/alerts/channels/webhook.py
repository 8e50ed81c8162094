"""Webhook channel (``kind = "webhook"``): POST each message to an HTTP(S) URL."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field

from seismo.alerts.channels import ChannelConfig, register_channel
from seismo.alerts.channels.deadline import total_deadline
from seismo.config import secret, url_origin
from seismo.errors import AlertError

if TYPE_CHECKING:
    from seismo.alerts.outbox import DeliveryItem

__all__ = ["WebhookChannel", "WebhookConfig"]


@register_channel
class WebhookConfig(ChannelConfig):
    """``[alerts.channels.<name>]`` of a webhook: the URL, an optional bearer token."""

    kind: Literal["webhook"] = "webhook"
    url: Annotated[str, Field(min_length=1)]
    token_env: str | None = Field(None, description="environment variable of a bearer token")
    timeout_s: Annotated[float, Field(gt=0, le=300)] = Field(
        10.0, description="total deadline of one delivery attempt (s)"
    )
    format: Literal["cap", "json"] = Field(
        "cap", description="webhook body: CAP XML (application/cap+xml) or a JSON wrapper"
    )

    def build(self, name: str) -> WebhookChannel:
        return WebhookChannel(
            name, self.url, token_env=self.token_env, timeout_s=self.timeout_s, fmt=self.format
        )


#: Bytes of a webhook answer body read at most (the status line decides).
_MAX_ANSWER = 65536


class WebhookChannel:
    """POST each message to ``url``: CAP XML (``application/cap+xml``) or a JSON wrapper.

    A 2xx answer is a delivery; anything else (HTTP error, a redirect, refused
    connection) raises AlertError and the outbox retries. ``timeout_s`` is a
    *total* deadline for one attempt — connect, send, and the whole answer: a
    receiver that trickles its answer byte by byte is cut off when it expires
    and the attempt counts as failed (a per-read socket timeout would let it
    hold the sender indefinitely).
    ``token_env`` names the environment variable holding a bearer token.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        token_env: str | None = None,
        timeout_s: float = 10.0,
        fmt: str = "cap",
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise AlertError(f"webhook channel '{name}': url {url_origin(url)!r} is not http(s)")
        if fmt not in ("cap", "json"):
            raise AlertError(f"webhook channel '{name}': format {fmt!r} is not cap or json")
        self.name = name
        self.url = url
        self.token_env = token_env
        self.timeout_s = timeout_s
        self.fmt = fmt

    def _body(self, item: DeliveryItem) -> tuple[bytes, str]:
        from seismo.alerts.cap import CAP_MIME  # on use: see the package docstring

        if self.fmt == "json":
            doc = {
                "identifier": item.identifier,
                "sender": item.sender,
                "sent": item.sent,
                "msgType": item.msg_type,
                "group": item.group,
                "subject": item.subject,
                "text": item.text,
                "cap": item.xml,
            }
            return json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/json"
        return item.xml.encode("utf-8"), CAP_MIME

    def send(self, item: DeliveryItem) -> None:
        body, ctype = self._body(item)
        headers = {"Content-Type": ctype, "X-CAP-Identifier": item.identifier}
        if self.token_env:
            token = secret(self.token_env)
            if token is None:
                raise AlertError(
                    f"webhook channel '{self.name}': environment variable {self.token_env} "
                    "(bearer token) is not set"
                )
            headers["Authorization"] = f"Bearer {token}"
        # scheme and host only: the path or query of a webhook URL is often its secret
        where = f"webhook channel '{self.name}' ({url_origin(self.url)})"
        status, reason = self._post(body, headers, where)
        if not 200 <= status < 300:
            raise AlertError(f"{where}: HTTP {status} {reason}".rstrip())

    def _post(self, body: bytes, headers: dict[str, str], where: str) -> tuple[int, str]:
        """POST within the total deadline; return (status, reason)."""
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.username or parts.password:
            raw = f"{parts.username or ''}:{parts.password or ''}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii"),
                       **headers}
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout_s,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
        with total_deadline(self.timeout_s, lambda: conn.sock) as expired:
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read(_MAX_ANSWER)
                status, reason = resp.status, resp.reason
            except (OSError, http.client.HTTPException) as exc:
                if expired.is_set():
                    raise AlertError(
                        f"{where}: no complete answer within the {self.timeout_s:g} s deadline"
                    ) from None
                raise AlertError(f"{where}: {type(exc).__name__}: {exc}") from None
            finally:
                conn.close()
        if expired.is_set():  # the answer completed as the deadline passed: not a delivery
            raise AlertError(
                f"{where}: no complete answer within the {self.timeout_s:g} s deadline"
            )
        return status, reason
