"""Delivery channels: one module per kind, each registering its own settings model.

A channel's ``send(item)`` delivers one outbox item or raises
:class:`~seismo.errors.AlertError`; retries and backoff belong to the outbox.
Secrets (bearer token, SMTP password) are read from the environment variable
named in the configuration at send time and never appear in messages or logs.

``[alerts.channels.<name>]`` tables are told apart by ``kind``: validating one as
:class:`ChannelConfig` validates it with the model registered for its kind (a
discriminated union open to new kinds). A kind is a module of this package (found
by name, like the CLI's subcommands) that defines a :class:`ChannelConfig` subclass
with ``kind: Literal["<kind>"]`` and a ``build(name)`` method returning its channel,
decorated with :func:`register_channel`: ``webhook`` (HTTP POST), ``smtp`` (e-mail),
``directory`` (the audit trail). Adding a kind is one new module and its tests.

The kinds' modules are imported when a channel table is first validated, so they
import nothing heavy at module level (loading the configuration stays cheap,
``tests/test_architecture.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, get_args

from pydantic import Field, ValidationError, ValidationInfo, model_validator

from seismo.config.base import StrictModel
from seismo.lazy import import_modules, lazy_exports

if TYPE_CHECKING:
    from seismo.alerts.channels.directory import DirectoryChannel, DirectoryConfig
    from seismo.alerts.channels.smtp import (
        SMTP_PORT_PLAIN,
        SMTP_PORT_STARTTLS,
        SmtpChannel,
        SmtpConfig,
    )
    from seismo.alerts.channels.webhook import WebhookChannel, WebhookConfig
    from seismo.alerts.outbox import DeliveryItem

__all__ = [
    "SMTP_PORT_PLAIN",
    "SMTP_PORT_STARTTLS",
    "Channel",
    "ChannelConfig",
    "DirectoryChannel",
    "DirectoryConfig",
    "SmtpChannel",
    "SmtpConfig",
    "WebhookChannel",
    "WebhookConfig",
    "build_channel",
    "channel_kinds",
    "register_channel",
]


class Channel(Protocol):
    """Something that delivers outbox items."""

    name: str

    def send(self, item: DeliveryItem) -> None:
        """Deliver ``item`` or raise AlertError."""
        ...


#: Registered kinds: ``kind`` -> its settings model (filled by :func:`register_channel`).
_KINDS: dict[str, type[ChannelConfig]] = {}


class ChannelConfig(StrictModel):
    """One delivery channel, ``[alerts.channels.<name>]``; validated by its kind's model."""

    kind: str = Field(description="the channel kind: a registered module of seismo.alerts.channels")

    @model_validator(mode="wrap")
    @classmethod
    def _by_kind(cls, data: Any, handler: Callable[[Any], Any], info: ValidationInfo) -> Any:
        if cls is not ChannelConfig or isinstance(data, ChannelConfig):
            return handler(data)
        kind = data.get("kind") if isinstance(data, dict) else None
        model = channel_kinds().get(kind) if isinstance(kind, str) else None
        if model is None:
            raise ValueError(
                f"unknown channel kind {kind!r} (known: {', '.join(sorted(channel_kinds()))})"
            )
        try:
            if info.mode == "json":  # the loader's strict TOML/JSON types
                return model.model_validate_json(json.dumps(data, default=str), strict=True)
            return model.model_validate(data)
        except ValidationError as exc:
            missing = [".".join(map(str, e["loc"])) for e in exc.errors()
                       if e["type"] in ("missing", "string_too_short", "too_short")]
            if missing and len(missing) == len(exc.errors()):
                raise ValueError(
                    f"a {kind} channel needs " + ", ".join(f"'{k}'" for k in missing)
                ) from None
            raise

    @classmethod
    def model_for(cls, data: Any) -> type[ChannelConfig]:
        """The registered model that validates ``data`` (the loader resolves its paths)."""
        kind = data.get("kind") if isinstance(data, dict) else None
        return channel_kinds().get(kind, cls) if isinstance(kind, str) else cls

    def build(self, name: str) -> Channel:
        """The channel these settings describe, named ``name``."""
        raise NotImplementedError(f"channel kind {self.kind!r} does not build a channel")


M = TypeVar("M", bound=ChannelConfig)


def register_channel(model: type[M]) -> type[M]:
    """Register ``model`` (a :class:`ChannelConfig` with ``kind: Literal["<kind>"]``) for
    its kind; usable as a class decorator."""
    kinds = get_args(model.model_fields["kind"].annotation)
    if len(kinds) != 1 or not isinstance(kinds[0], str):
        raise TypeError(f"{model.__name__}.kind must be Literal['<kind>']")
    _KINDS[kinds[0]] = model
    return model


def channel_kinds() -> dict[str, type[ChannelConfig]]:
    """Every registered kind and its model (the package's own modules loaded first)."""
    import_modules(__name__)
    return dict(_KINDS)


def build_channel(name: str, cfg: ChannelConfig) -> Channel:
    """The channel described by ``cfg`` (``alerts.channels.<name>``)."""
    return cfg.build(name)


__getattr__ = lazy_exports(__name__, {
    "DirectoryChannel": f"{__name__}.directory",
    "DirectoryConfig": f"{__name__}.directory",
    "SMTP_PORT_PLAIN": f"{__name__}.smtp",
    "SMTP_PORT_STARTTLS": f"{__name__}.smtp",
    "SmtpChannel": f"{__name__}.smtp",
    "SmtpConfig": f"{__name__}.smtp",
    "WebhookChannel": f"{__name__}.webhook",
    "WebhookConfig": f"{__name__}.webhook",
})
