"""FastStream subscribers of the read models kept through the read side: order summaries,
revenue per day and item availability, each an ordered consumer of its stream (ADR 0012).

Each handler folds the event into the projection's row through
:meth:`commerce.bootstrap.read_side.ReadSide.project`: in the consumer's inbox transaction, version
guarded, then the cached answers built from the changed rows are invalidated.
"""

from collections.abc import Awaitable
from functools import partial
from typing import Any

from commerce.bootstrap.service import Service
from commerce.catalog.messages.channels import ITEM_AVAILABILITY
from commerce.catalog.messages.events import (
    ItemCreatedV1,
    ItemPriceChangedV1,
    ItemRetiredV1,
    StockAdjustedV1,
)
from commerce.orders.messages.channels import ORDER_SUMMARIES, REVENUE
from commerce.orders.messages.events import (
    OrderCancelledV1,
    OrderConfirmedV1,
    OrderLineAddedV1,
    OrderLineRemovedV1,
    OrderPlacedV1,
    OrderShippedV1,
)
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.subscribing import CurrentEnvelope, handles
from commerce.platform.messaging.transport import AnyRouter

__all__ = ["read_models_router"]


def read_models_router(service: Service) -> AnyRouter:
    """The projections of orders and catalogue items (one handler per event type)."""
    router = service.transport.router()
    summaries = service.event_subscriber(router, ORDER_SUMMARIES)
    revenue = service.event_subscriber(router, REVENUE)
    availability = service.event_subscriber(router, ITEM_AVAILABILITY)

    def summary(body: IntegrationEvent, envelope: CurrentEnvelope) -> Awaitable[None]:
        return _project(service, ORDER_SUMMARIES.consumer, "order-summaries", envelope, body)

    def booking(body: IntegrationEvent, envelope: CurrentEnvelope) -> Awaitable[None]:
        return _project(service, REVENUE.consumer, "revenue", envelope, body)

    def item(body: IntegrationEvent, envelope: CurrentEnvelope) -> Awaitable[None]:
        return _project(service, ITEM_AVAILABILITY.consumer, "item-availability", envelope, body)

    @handles(summaries, OrderPlacedV1)
    async def on_placed(body: OrderPlacedV1, envelope: CurrentEnvelope) -> None:
        """Start the order's summary (``OrderPlaced.v1``)."""
        await summary(body, envelope)

    @handles(summaries, OrderLineAddedV1)
    async def on_line_added(body: OrderLineAddedV1, envelope: CurrentEnvelope) -> None:
        """Add the line to the summary (``OrderLineAdded.v1``)."""
        await summary(body, envelope)

    @handles(summaries, OrderLineRemovedV1)
    async def on_line_removed(body: OrderLineRemovedV1, envelope: CurrentEnvelope) -> None:
        """Remove the line from the summary (``OrderLineRemoved.v1``)."""
        await summary(body, envelope)

    @handles(summaries, OrderConfirmedV1)
    async def on_confirmed(body: OrderConfirmedV1, envelope: CurrentEnvelope) -> None:
        """Mark the summary confirmed with its total (``OrderConfirmed.v1``)."""
        await summary(body, envelope)

    @handles(summaries, OrderCancelledV1)
    async def on_cancelled(body: OrderCancelledV1, envelope: CurrentEnvelope) -> None:
        """Mark the summary cancelled (``OrderCancelled.v1``)."""
        await summary(body, envelope)

    @handles(summaries, OrderShippedV1)
    async def on_shipped(body: OrderShippedV1, envelope: CurrentEnvelope) -> None:
        """Mark the summary shipped (``OrderShipped.v1``)."""
        await summary(body, envelope)

    @handles(revenue, OrderConfirmedV1)
    async def on_booked(body: OrderConfirmedV1, envelope: CurrentEnvelope) -> None:
        """Book the order's total on its confirmation day (``OrderConfirmed.v1``)."""
        await booking(body, envelope)

    @handles(revenue, OrderCancelledV1)
    async def on_unbooked(body: OrderCancelledV1, envelope: CurrentEnvelope) -> None:
        """Take a cancelled confirmed order's total back (``OrderCancelled.v1``)."""
        await booking(body, envelope)

    @handles(revenue, OrderPlacedV1, OrderLineAddedV1, OrderLineRemovedV1, OrderShippedV1)
    async def on_no_revenue(body: Any) -> None:
        """Order events that change no revenue: acknowledged, nothing written."""

    @handles(availability, ItemCreatedV1)
    async def on_item_created(body: ItemCreatedV1, envelope: CurrentEnvelope) -> None:
        """Show the new item (``ItemCreated.v1``)."""
        await item(body, envelope)

    @handles(availability, ItemPriceChangedV1)
    async def on_price_changed(body: ItemPriceChangedV1, envelope: CurrentEnvelope) -> None:
        """Show the new price (``ItemPriceChanged.v1``)."""
        await item(body, envelope)

    @handles(availability, StockAdjustedV1)
    async def on_stock_adjusted(body: StockAdjustedV1, envelope: CurrentEnvelope) -> None:
        """Show the new stock (``StockAdjusted.v1``)."""
        await item(body, envelope)

    @handles(availability, ItemRetiredV1)
    async def on_item_retired(body: ItemRetiredV1, envelope: CurrentEnvelope) -> None:
        """Show the item as retired (``ItemRetired.v1``)."""
        await item(body, envelope)

    return router


async def _project(
    service: Service,
    consumer: str,
    projection: str,
    envelope: CurrentEnvelope,
    body: IntegrationEvent,
) -> None:
    channel = service.ordered_consumers[consumer]
    execute = partial(service.execute, channel, envelope, body)
    await service.read_side.project(execute, projection, envelope, body)
