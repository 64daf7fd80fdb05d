"""The item indexing fold: what the index holds after one more catalogue event.

Catalogue events are partial (a stock change carries no name), and the index takes only
whole documents (external versions cannot update in place), so each event is folded onto
the document held. A retirement writes a tombstone: the item leaves search for good.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

from commerce.catalog.messages.events import (
    ItemCreatedV1,
    ItemPriceChangedV1,
    ItemRetiredV1,
    StockAdjustedV1,
)
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.search.application.ports import ItemIndex
from commerce.search.domain.documents import Indexed, ItemDocument, ItemTombstone

__all__ = ["fold_item", "index_item_event"]


def fold_item(
    held: Indexed | None, event: IntegrationEvent, *, version: int, at: datetime
) -> Indexed | None:
    """The entry after ``event`` at ``version``; ``None``: nothing to write (stale, no
    creation seen yet, tombstoned, or not an item event)."""
    if held is not None and held.version >= version:
        return None
    if isinstance(event, ItemRetiredV1):
        return ItemTombstone(item_id=event.item_id, version=version)
    if isinstance(event, ItemCreatedV1):
        return ItemDocument(
            item_id=event.item_id,
            name=event.name,
            status="active",
            stock=event.stock,
            price=event.price.amount,
            currency=event.price.currency,
            updated_at=at,
            version=version,
        )
    return _moved(held, event, version=version, at=at)


def _moved(
    held: Indexed | None, event: IntegrationEvent, *, version: int, at: datetime
) -> ItemDocument | None:
    if not isinstance(held, ItemDocument):
        return None
    moved = replace(held, updated_at=at, version=version)
    match event:
        case StockAdjustedV1():
            return replace(moved, stock=event.stock)
        case ItemPriceChangedV1():
            return replace(moved, price=event.new_price.amount, currency=event.new_price.currency)
    return None


async def index_item_event(
    index: ItemIndex,
    tenant: UUID,
    item_id: UUID,
    event: IntegrationEvent,
    *,
    version: int,
    at: datetime,
) -> bool:
    """Fold ``event`` onto what the index holds and write it; ``True`` if it changed."""
    entry = fold_item(await index.get(tenant, item_id), event, version=version, at=at)
    if entry is None:
        return False
    return await index.put(tenant, [entry]) == 1
