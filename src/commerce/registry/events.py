"""Every context's integration events, and which one is published for a domain event."""

from __future__ import annotations

from commerce.billing.messages.events import billing_event_for
from commerce.catalog.messages.events import catalog_event_for
from commerce.identity.messages.events import identity_event_for
from commerce.orders.messages.events import order_event_for
from commerce.platform.kit.events import DomainEvent
from commerce.platform.messaging.integration_event import IntegrationEvent

__all__ = ["integration_event_for"]


_MAPPERS = (identity_event_for, catalog_event_for, order_event_for, billing_event_for)


def integration_event_for(event: DomainEvent) -> IntegrationEvent:
    """Map a domain event to the integration event published for it."""
    for mapper in _MAPPERS:
        if (integration := mapper(event)) is not None:
            return integration
    msg = f"no integration event is mapped for {type(event).__name__}"
    raise LookupError(msg)
