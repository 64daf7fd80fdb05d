"""Which consumer group every consumer belongs to: each group is a bulkhead of its own.

A group's messages share its bounded concurrency, its slice of the database pool and its
units of work (``docs/adr/0021-bulkheads-per-consumer-group.md``), so a stalled group
fills its own compartment and no other. Every command channel is in :data:`COMMANDS`;
every event consumer is listed in :data:`EVENT_CONSUMER_GROUPS`.

A downstream capability that must not share a compartment (webhooks, notifications,
search) declares its group with one line there, e.g.
``WEBHOOK_DELIVERY.consumer: "webhooks"``, and gets its limits from the settings section of
the same name (``COMMERCE_BULKHEADS__WEBHOOKS__*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from commerce.billing.messages.channels import BILLING_POLICY
from commerce.catalog.messages.channels import ITEM_AVAILABILITY
from commerce.identity.messages.channels import USER_DIRECTORY
from commerce.orders.messages.channels import ORDER_SUMMARIES, REVENUE
from commerce.platform.messaging.channels import CommandChannel, Consumer
from commerce.search.messages.channels import ITEM_SEARCH

__all__ = [
    "COMMANDS",
    "EVENT_CONSUMER_GROUPS",
    "POLICIES",
    "PROJECTIONS",
    "group_of",
]

COMMANDS = "commands"
"""Every command channel: the service's intake, which nothing downstream may starve."""
PROJECTIONS = "projections"
"""Ordered consumers folding events into read models."""
POLICIES = "policies"
"""Ordered consumers running another context's use cases on events (process managers)."""

EVENT_CONSUMER_GROUPS: Mapping[str, str] = MappingProxyType(
    {
        USER_DIRECTORY.consumer: PROJECTIONS,
        ORDER_SUMMARIES.consumer: PROJECTIONS,
        REVENUE.consumer: PROJECTIONS,
        ITEM_AVAILABILITY.consumer: PROJECTIONS,
        BILLING_POLICY.consumer: POLICIES,
        ITEM_SEARCH.consumer: PROJECTIONS,
    }
)
"""The group of each event consumer, by consumer name."""


def group_of(consumer: Consumer) -> str:
    """The consumer group ``consumer`` belongs to.

    An event consumer the registry does not list (one a test or a fork wires by hand) is a
    projection; every consumer of the registry is listed (a unit test keeps it so).
    """
    if isinstance(consumer, CommandChannel):
        return COMMANDS
    return EVENT_CONSUMER_GROUPS.get(consumer.consumer, PROJECTIONS)
