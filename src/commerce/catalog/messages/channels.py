"""The catalog context's channels: its command channels, its event stream, its consumers."""

from __future__ import annotations

from commerce.platform.messaging.channels import (
    PROJECTION_RETRY,
    CommandChannel,
    EventConsumer,
    EventStream,
)

__all__ = [
    "ADJUST_STOCK",
    "CHANGE_PRICE",
    "CREATE_ITEM",
    "ITEMS",
    "ITEM_AVAILABILITY",
    "RETIRE_ITEM",
]


ITEMS = EventStream(
    name="commerce.catalog.item",
    aggregate_type="catalog.item",
    description="Integration events of catalogue items, keyed by item id.",
)


# catalog
CREATE_ITEM = CommandChannel(
    name="commerce.catalog.create-item",
    description="Add an item to a tenant's catalogue, with a price and an initial stock.",
)


CHANGE_PRICE = CommandChannel(
    name="commerce.catalog.change-price",
    description="Set a new price of an active catalogue item (same currency).",
)


ADJUST_STOCK = CommandChannel(
    name="commerce.catalog.adjust-stock",
    description="Add to or take from an item's stock; the stock never goes below zero.",
)


RETIRE_ITEM = CommandChannel(
    name="commerce.catalog.retire-item",
    description="Withdraw an item from sale: its price freezes and it cannot be ordered.",
)


ITEM_AVAILABILITY = EventConsumer(
    name="commerce.projections.item-availability",
    stream=ITEMS,
    description="Keeps the item availability read model (status, stock, price) from item events.",
    retry=PROJECTION_RETRY,
)
