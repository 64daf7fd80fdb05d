"""The catalog context's read model: item availability, its row, reader, cache tags and fold."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID

from commerce.catalog.messages.events import (
    ItemCreatedV1,
    ItemPriceChangedV1,
    ItemRetiredV1,
    StockAdjustedV1,
)
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.read_side.ports import ReadModelTags

__all__ = ["ITEM_AVAILABILITY", "ItemAvailability", "ItemAvailabilityReader", "track_availability"]


ITEM_AVAILABILITY = ReadModelTags("item-availability")
"""Tags of item availability: rows by item."""


@dataclass(frozen=True, slots=True)
class ItemAvailability:
    """Whether an item can be ordered, and how many are in stock."""

    item_id: UUID
    name: str
    status: str
    stock: int
    price: int
    currency: str
    updated_at: datetime
    version: int

    @property
    def available(self) -> bool:
        """Active and in stock."""
        return self.status == "active" and self.stock > 0


class ItemAvailabilityReader(Protocol):
    """Item availability of the session's tenant."""

    async def get(self, item_id: UUID) -> ItemAvailability | None:
        """The item, or ``None``."""
        ...


def track_availability(
    item: ItemAvailability | None, event: IntegrationEvent, *, version: int, at: datetime
) -> ItemAvailability | None:
    """The item's availability after ``event``; ``None``: no creation seen, or not an item
    event."""
    if isinstance(event, ItemCreatedV1):
        return ItemAvailability(
            item_id=event.item_id,
            name=event.name,
            status="active",
            stock=event.stock,
            price=event.price.amount,
            currency=event.price.currency,
            updated_at=at,
            version=version,
        )
    if item is None:
        return None
    moved = replace(item, updated_at=at, version=version)
    match event:
        case StockAdjustedV1():
            return replace(moved, stock=event.stock)
        case ItemPriceChangedV1():
            return replace(moved, price=event.new_price.amount, currency=event.new_price.currency)
        case ItemRetiredV1():
            return replace(moved, status="retired")
    return None
