"""The operator signals' builder: the gauges of what waits for an operator (docs/adr/0022)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.config import Settings
from commerce.platform.delivery.operator_signals import OperatorSignals
from commerce.registry.channels import CONSUMERS, EVENT_CONSUMERS

__all__ = ["operator_signals"]


def operator_signals(settings: Settings, engine: AsyncEngine) -> OperatorSignals:
    """Counts, every ``COMMERCE_SIGNALS__REFRESH_INTERVAL_SECONDS``, each consumer's unresolved
    dead letters and each ordered consumer's holds, with ``engine`` (the app role)."""
    return OperatorSignals(
        engine,
        interval=settings.signals.refresh_interval_seconds,
        consumers=[consumer.consumer for consumer in CONSUMERS],
        ordered_consumers=[consumer.consumer for consumer in EVENT_CONSUMERS],
    )
