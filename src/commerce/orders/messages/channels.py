"""The orders context's channels: its command channels, its event stream, its consumers."""

from __future__ import annotations

from commerce.platform.messaging.channels import (
    EVENT_SOURCED_COMMAND_RETRY,
    PROJECTION_RETRY,
    CommandChannel,
    EventConsumer,
    EventStream,
)

__all__ = [
    "ADD_LINE",
    "CANCEL_ORDER",
    "CONFIRM_ORDER",
    "ORDERS",
    "ORDER_SUMMARIES",
    "PLACE_ORDER",
    "REMOVE_LINE",
    "REVENUE",
    "SHIP_ORDER",
]


ORDERS = EventStream(
    name="commerce.orders.order",
    aggregate_type="orders.order",
    description="Integration events of orders (event sourced), keyed by order id.",
)


# orders
PLACE_ORDER = CommandChannel(
    name="commerce.orders.place-order",
    description="Open an order for an active customer, in one currency.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)


ADD_LINE = CommandChannel(
    name="commerce.orders.add-line",
    description="Add a line for an active catalogue item to a placed order, at its price now.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)


REMOVE_LINE = CommandChannel(
    name="commerce.orders.remove-line",
    description="Remove an item's line from a placed order.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)


CONFIRM_ORDER = CommandChannel(
    name="commerce.orders.confirm-order",
    description="Confirm a placed order with at least one line; billing then invoices it.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)


CANCEL_ORDER = CommandChannel(
    name="commerce.orders.cancel-order",
    description="Cancel a placed or confirmed order (before shipping); voids its invoice.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)


SHIP_ORDER = CommandChannel(
    name="commerce.orders.ship-order",
    description="Record that a confirmed order left the warehouse.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)


ORDER_SUMMARIES = EventConsumer(
    name="commerce.projections.order-summaries",
    stream=ORDERS,
    description="Keeps the order summaries read model (each customer's orders) from order events.",
    retry=PROJECTION_RETRY,
)


REVENUE = EventConsumer(
    name="commerce.projections.revenue",
    stream=ORDERS,
    description="Keeps the revenue per tenant and day from confirmed and cancelled orders.",
    retry=PROJECTION_RETRY,
)
