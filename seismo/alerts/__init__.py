"""Alerts: rules, CAP 1.2 messages, a persistent outbox and delivery channels.

See ``docs/alerts.md``. The entry point is
:class:`seismo.alerts.service.AlertService`.
"""

from __future__ import annotations

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
