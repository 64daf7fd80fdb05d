"""What the service's composition root gives every unit of work, for tests that build one."""

from typing import Any

from commerce.orders.application.upcasters import STORED_EVENT_UPCASTERS
from commerce.registry.events import integration_event_for

__all__ = ["PUBLISHED_AS", "WRITE_SIDE"]

PUBLISHED_AS = integration_event_for
"""The service's mapping from domain events to the integration events it publishes."""

WRITE_SIDE: dict[str, Any] = {
    "upcasters": STORED_EVENT_UPCASTERS,
    "published_as": integration_event_for,
}
"""Keyword arguments of a unit-of-work factory as the service builds it."""
