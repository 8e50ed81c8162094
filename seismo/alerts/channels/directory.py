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
    """Write each message as ``<identifier>.cap.xml`` in ``path`` (atomic; the audit trail)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = Path(path)

    def send(self, item: DeliveryItem) -> None:
        from seismo.alerts.outbox import safe_name  # on use: package docstring
        from seismo.durable import write_atomic

        try:
            self.path.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path / f"{safe_name(item.identifier)}.cap.xml", item.xml.encode())
        except OSError as exc:
            raise AlertError(f"directory channel '{self.name}' ({self.path}): {exc}") from None
