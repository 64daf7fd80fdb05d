"""The ordered event consumers keeping the read models of issue #4 (besides the user
directory, declared with the channel types): one queue / consumer group each."""

from __future__ import annotations

from commerce.platform.messaging.channels import ITEMS, ORDERS, PROJECTION_RETRY, EventConsumer

__all__ = ["ITEM_AVAILABILITY", "ORDER_SUMMARIES", "REVENUE"]

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

ITEM_AVAILABILITY = EventConsumer(
    name="commerce.projections.item-availability",
    stream=ITEMS,
    description="Keeps the item availability read model (status, stock, price) from item events.",
    retry=PROJECTION_RETRY,
)
