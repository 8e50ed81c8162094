"""Alerts: rules, CAP 1.2 messages, a persistent outbox and delivery channels.

See ``docs/alerts.md``. The entry point is
:class:`seismo.alerts.service.AlertService`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seismo.lazy import lazy_exports

if TYPE_CHECKING:
    from seismo.alerts.cap import CapAlert, to_xml, validate_cap
    from seismo.alerts.outbox import DeliveryReport, QueuedMessage
    from seismo.alerts.rules import AlertDecision, evaluate
    from seismo.alerts.service import AlertService

__all__ = [
    "AlertDecision",
    "AlertService",
    "CapAlert",
    "DeliveryReport",
    "QueuedMessage",
    "evaluate",
    "to_xml",
    "validate_cap",
]

# Imported on first use: the package's settings module is read by the configuration
# loader without importing the pipeline code (seismo.lazy).
__getattr__ = lazy_exports(__name__, {
    "AlertDecision": "seismo.alerts.rules",
    "AlertService": "seismo.alerts.service",
    "CapAlert": "seismo.alerts.cap",
    "DeliveryReport": "seismo.alerts.outbox",
    "QueuedMessage": "seismo.alerts.outbox",
    "evaluate": "seismo.alerts.rules",
    "to_xml": "seismo.alerts.cap",
    "validate_cap": "seismo.alerts.cap",
})
