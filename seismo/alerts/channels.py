"""Delivery channels: HTTP webhook, e-mail over SMTP, directory (audit trail).

A channel's ``send(item)`` delivers one outbox item or raises
:class:`~seismo.errors.AlertError`; retries and backoff belong to the outbox.
Secrets (bearer token, SMTP password) are read from the environment variable
named in the configuration at send time and never appear in messages or logs.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from seismo.alerts.cap import CAP_MIME, short_hash
from seismo.alerts.outbox import DeliveryItem, safe_name, write_replace
from seismo.alerts.settings import ChannelConfig
from seismo.config import mask_url, secret
from seismo.errors import AlertError

log = logging.getLogger(__name__)

#: SMTP ports when the configuration gives none: 587 (submission, RFC 6409) with
#: STARTTLS, else 25 (RFC 5321).
SMTP_PORT_STARTTLS = 587
SMTP_PORT_PLAIN = 25


class Channel(Protocol):
    """Something that delivers outbox items."""

    name: str

    def send(self, item: DeliveryItem) -> None:
        """Deliver ``item`` or raise AlertError."""
        ...


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
            raise AlertError(f"webhook channel '{name}': url {mask_url(url)!r} is not http(s)")
        if fmt not in ("cap", "json"):
            raise AlertError(f"webhook channel '{name}': format {fmt!r} is not cap or json")
        self.name = name
        self.url = url
        self.token_env = token_env
        self.timeout_s = timeout_s
        self.fmt = fmt

    def _body(self, item: DeliveryItem) -> tuple[bytes, str]:
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
        where = f"webhook channel '{self.name}' ({mask_url(self.url)})"
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
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(self.timeout_s, cut_off)
        timer.daemon = True
        timer.start()
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
            timer.cancel()
            conn.close()
        if expired.is_set():  # the answer completed as the deadline passed: not a delivery
            raise AlertError(
                f"{where}: no complete answer within the {self.timeout_s:g} s deadline"
            )
        return status, reason


class SmtpChannel:
    """Send each message as an e-mail: the SMS text as body, the CAP XML attached.

    The Message-ID is derived from the CAP identifier, so a duplicate sent in
    the at-least-once window can be recognised by the receiver.
    """

    def __init__(
        self,
        name: str,
        host: str,
        sender: str,
        recipients: list[str],
        *,
        port: int | None = None,
        starttls: bool = False,
        username: str | None = None,
        password_env: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not recipients:
            raise AlertError(f"smtp channel '{name}' has no recipients")
        self.name = name
        self.host = host
        self.port = port or (SMTP_PORT_STARTTLS if starttls else SMTP_PORT_PLAIN)
        self.sender = sender
        self.recipients = list(recipients)
        self.starttls = starttls
        self.username = username
        self.password_env = password_env
        self.timeout_s = timeout_s

    def _message(self, item: DeliveryItem) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Subject"] = item.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{short_hash(item.identifier, 24)}.{safe_name(item.group)}@seismo>"
        msg["X-CAP-Identifier"] = item.identifier
        msg.set_content(item.text + "\n")
        msg.add_attachment(
            item.xml.encode("utf-8"),
            maintype="application",
            subtype="cap+xml",
            filename=f"{safe_name(item.identifier)}.cap.xml",
        )
        return msg

    def send(self, item: DeliveryItem) -> None:
        where = f"smtp channel '{self.name}' ({self.host}:{self.port})"
        password = None
        if self.username:
            password = secret(self.password_env)
            if password is None:
                raise AlertError(
                    f"{where}: environment variable {self.password_env} (password) is not set"
                )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username and password is not None:
                    smtp.login(self.username, password)
                refused = smtp.send_message(self._message(item))
        except smtplib.SMTPAuthenticationError as exc:
            raise AlertError(f"{where}: authentication failed ({exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AlertError(f"{where}: {type(exc).__name__}: {exc}") from None
        if refused:
            # Retrying would duplicate the mail for the accepted recipients.
            log.warning("%s: recipients refused %s for %s", where, sorted(refused), item.identifier)


class DirectoryChannel:
    """Write each message as ``<identifier>.cap.xml`` in ``path`` (atomic; the audit trail)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = Path(path)

    def send(self, item: DeliveryItem) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            write_replace(self.path / f"{safe_name(item.identifier)}.cap.xml", item.xml.encode())
        except OSError as exc:
            raise AlertError(f"directory channel '{self.name}' ({self.path}): {exc}") from None


def build_channel(name: str, cfg: ChannelConfig) -> Channel:
    """The channel described by ``cfg`` (``alerts.channels.<name>``)."""
    if cfg.kind == "webhook":
        assert cfg.url is not None  # checked by ChannelConfig
        return WebhookChannel(
            name, cfg.url, token_env=cfg.token_env, timeout_s=cfg.timeout_s, fmt=cfg.format
        )
    if cfg.kind == "smtp":
        assert cfg.host is not None and cfg.sender is not None
        return SmtpChannel(
            name,
            cfg.host,
            cfg.sender,
            cfg.recipients,
            port=cfg.port,
            starttls=cfg.starttls,
            username=cfg.username,
            password_env=cfg.password_env,
            timeout_s=cfg.timeout_s,
        )
    if cfg.kind == "directory":
        assert cfg.path is not None
        return DirectoryChannel(name, cfg.path)
    raise AlertError(f"channel '{name}': unknown kind {cfg.kind!r}")
