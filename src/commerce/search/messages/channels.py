"""The search context's consumers of other contexts' event streams."""

from __future__ import annotations

from commerce.catalog.messages.channels import ITEMS
from commerce.platform.messaging.channels import PROJECTION_RETRY, EventConsumer

__all__ = ["ITEM_SEARCH"]

ITEM_SEARCH = EventConsumer(
    name="commerce.search.item-index",
    stream=ITEMS,
    description="Keeps the item search index (whole documents at the item's version, a "
    "tombstone once retired) from item events.",
    retry=PROJECTION_RETRY,
)
