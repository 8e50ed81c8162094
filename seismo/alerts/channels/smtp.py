"""E-mail channel (``kind = "smtp"``): the SMS text as body, the CAP XML attached."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from seismo.alerts.channels import ChannelConfig, register_channel
from seismo.alerts.channels.deadline import total_deadline
from seismo.config import secret
from seismo.errors import AlertError

if TYPE_CHECKING:
    from seismo.alerts.outbox import DeliveryItem

__all__ = ["SMTP_PORT_PLAIN", "SMTP_PORT_STARTTLS", "SmtpChannel", "SmtpConfig"]

log = logging.getLogger(__name__)

#: SMTP ports when the configuration gives none: 587 (submission, RFC 6409) with
#: STARTTLS, else 25 (RFC 5321).
SMTP_PORT_STARTTLS = 587
SMTP_PORT_PLAIN = 25


@register_channel
class SmtpConfig(ChannelConfig):
    """``[alerts.channels.<name>]`` of an e-mail channel: server, sender, recipients."""

    kind: Literal["smtp"] = "smtp"
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    starttls: bool = False
    username: str | None = None
    password_env: str | None = Field(None, description="environment variable of the password")
    sender: Annotated[str, Field(min_length=1)]
    recipients: Annotated[list[str], Field(min_length=1)]
    timeout_s: Annotated[float, Field(gt=0, le=300)] = Field(
        10.0, description="total deadline of one delivery attempt (s)"
    )

    def build(self, name: str) -> SmtpChannel:
        return SmtpChannel(
            name,
            self.host,
            self.sender,
            self.recipients,
            port=self.port,
            starttls=self.starttls,
            username=self.username,
            password_env=self.password_env,
            timeout_s=self.timeout_s,
        )


class SmtpChannel:
    """Send each message as an e-mail: the SMS text as body, the CAP XML attached.

    The Message-ID is derived from the CAP identifier, so a duplicate sent in
    the at-least-once window can be recognised by the receiver. ``timeout_s`` is a
    *total* deadline for one attempt — connect, greeting, STARTTLS, login and the whole
    transaction: a server that trickles its greeting or its replies is cut off when it
    expires (smtplib's own timeout bounds each socket operation only, so a server
    answering one byte at a time could hold a delivery indefinitely).
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
        from seismo.alerts.cap import short_hash  # on use: see the package docstring
        from seismo.alerts.outbox import safe_name

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
        smtp = smtplib.SMTP(timeout=self.timeout_s)  # connects below, under the deadline
        with total_deadline(self.timeout_s, lambda: smtp.sock) as expired:
            try:
                with smtp:
                    smtp.connect(self.host, self.port)
                    if self.starttls:
                        smtp.starttls(context=ssl.create_default_context())
                    if self.username and password is not None:
                        smtp.login(self.username, password)
                    refused = smtp.send_message(self._message(item))
            except smtplib.SMTPAuthenticationError as exc:
                raise AlertError(f"{where}: authentication failed ({exc.smtp_code})") from None
            except (smtplib.SMTPException, OSError) as exc:
                if expired.is_set():
                    raise AlertError(f"{where}: no complete SMTP transaction within the "
                                     f"{self.timeout_s:g} s deadline") from None
                raise AlertError(f"{where}: {type(exc).__name__}: {exc}") from None
        # a transaction that completed is a delivery, even if the deadline passed just after
        if refused:
            # Retrying would duplicate the mail for the accepted recipients.
            log.warning("%s: recipients refused %s for %s", where, sorted(refused), item.identifier)
