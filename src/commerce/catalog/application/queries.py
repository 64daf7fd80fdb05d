"""How the catalog context answers its queries: item availability on the wire.

Each answer reads the session's read models and carries the cache tags of the rows it was
built from, so the item availability projection that changes one of them drops it.
"""

from __future__ import annotations

from typing import Any, Protocol

from commerce.catalog.application.read_models import (
    ITEM_AVAILABILITY,
    ItemAvailability,
    ItemAvailabilityReader,
)
from commerce.catalog.messages.queries import (
    AvailabilityEntry,
    GetItemAvailabilityV1,
    ItemAvailabilityV1,
)
from commerce.platform.read_side.answers import Answer, plain_answer

__all__ = ["CATALOG_ANSWERS", "CatalogReadModels", "availability_entry"]


class CatalogReadModels(Protocol):
    """The catalog context's read models in one read-only session."""

    @property
    def items(self) -> ItemAvailabilityReader: ...


def availability_entry(item: ItemAvailability) -> AvailabilityEntry:
    """The wire form of an item's availability."""
    return AvailabilityEntry.model_validate(
        {
            "item_id": item.item_id,
            "name": item.name,
            "status": item.status,
            "stock": item.stock,
            "available": item.available,
            "price": {"amount": item.price, "currency": item.currency},
            "updated_at": item.updated_at,
            "version": item.version,
        }
    )


async def _item(models: CatalogReadModels, query: GetItemAvailabilityV1) -> ItemAvailabilityV1:
    item = await models.items.get(query.item_id)
    return ItemAvailabilityV1(item=availability_entry(item) if item else None)


CATALOG_ANSWERS: tuple[Answer[Any, Any, CatalogReadModels], ...] = (
    plain_answer(
        GetItemAvailabilityV1,
        lambda t, q: [ITEM_AVAILABILITY.everything(), ITEM_AVAILABILITY.row(t, q.item_id)],
        _item,
    ),
)
"""The answers of the catalog context's queries."""
