"""FastStream subscriber of the search context: the item index, kept from item events.

An ordered consumer of ``commerce.catalog.item``; no unit of work: the index itself is
idempotent (a version not above the one held is already applied), so a redelivery changes
nothing. A write the backend refuses with 429/5xx raises, and the broker redelivers it.
"""

from typing import Any

from commerce.catalog.messages.events import (
    ItemCreatedV1,
    ItemPriceChangedV1,
    ItemRetiredV1,
    StockAdjustedV1,
)
from commerce.platform.messaging.subscribing import CurrentEnvelope, handles
from commerce.platform.messaging.transport import AnyRouter
from commerce.platform.transactions.intake import MessageIntake
from commerce.search.application.indexing import index_item_event
from commerce.search.application.ports import ItemIndex
from commerce.search.messages.channels import ITEM_SEARCH

__all__ = ["search_router"]

type ItemEvent = ItemCreatedV1 | ItemPriceChangedV1 | StockAdjustedV1 | ItemRetiredV1


def search_router(intake: MessageIntake[Any], index: ItemIndex) -> AnyRouter:
    """The item index's consumer."""
    router = intake.router()
    consumer = intake.event_subscriber(router, ITEM_SEARCH)

    async def fold(body: ItemEvent, envelope: CurrentEnvelope) -> None:
        version = envelope.aggregate_version
        if version is None:
            raise ValueError(f"{envelope.type} carries no aggregateversion")
        await index_item_event(
            index, envelope.tenant_id, body.item_id, body, version=version, at=envelope.time
        )

    @handles(consumer, ItemCreatedV1)
    async def on_item_created(body: ItemCreatedV1, envelope: CurrentEnvelope) -> None:
        """Index the new item."""
        await fold(body, envelope)

    @handles(consumer, ItemPriceChangedV1)
    async def on_price_changed(body: ItemPriceChangedV1, envelope: CurrentEnvelope) -> None:
        """Reindex the item at its new price."""
        await fold(body, envelope)

    @handles(consumer, StockAdjustedV1)
    async def on_stock_adjusted(body: StockAdjustedV1, envelope: CurrentEnvelope) -> None:
        """Reindex the item with its new stock."""
        await fold(body, envelope)

    @handles(consumer, ItemRetiredV1)
    async def on_item_retired(body: ItemRetiredV1, envelope: CurrentEnvelope) -> None:
        """Replace the item's document with a tombstone."""
        await fold(body, envelope)

    return router
