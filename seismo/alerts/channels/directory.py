"""Directory channel (``kind = "directory"``): each message as a CAP file (the audit trail)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from seismo.alerts.channels import ChannelConfig, register_channel
from seismo.errors import AlertError

if TYPE_CHECKING:
    from seismo.alerts.outbox import DeliveryItem

__all__ = ["DirectoryChannel", "DirectoryConfig"]


@register_channel
class DirectoryConfig(ChannelConfig):
    """``[alerts.channels.<name>]`` of a directory channel: where the files go."""

    kind: Literal["directory"] = "directory"
    path: Path

    def build(self, name: str) -> DirectoryChannel:
        return DirectoryChannel(name, self.path)


class DirectoryChannel:
    """Write each message as ``<identifier>.cap.xml`` in ``path`` (atomic; the audit trail).

    A file is written once: the same message again is a no-op, and a *different* message
    under an identifier already on file is refused (an identifier is never reused for
    other content; the audit trail keeps what was sent first)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = Path(path)

    def send(self, item: DeliveryItem) -> None:
        from seismo.alerts.outbox import safe_name  # on use: package docstring
        from seismo.durable import write_atomic

        target = self.path / f"{safe_name(item.identifier)}.cap.xml"
        data = item.xml.encode()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if write_atomic(target, data, new=True) or target.read_bytes() == data:
                return
        except OSError as exc:
            raise AlertError(f"directory channel '{self.name}' ({self.path}): {exc}") from None
        raise AlertError(
            f"directory channel '{self.name}': {target} already holds another message with "
            f"the identifier {item.identifier}; not overwritten (an identifier is never "
            "reused for other content)")
