"""Use cases of the orders context: the order is event sourced (ADR 0011).

Each command loads the order from its snapshot and the events after it, decides, appends
the new events with the loaded version as the expected version, and stages them in the
outbox: events and outbox rows commit in one transaction. Two commands racing on one
order both load version N; the second append raises
:class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict`, the unit of work rolls
back and the failure policy retries the whole command, which then sees the winner's
events. Nothing is lost and nothing is applied twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from commerce.orders.application.ports import OrdersUnitOfWork
from commerce.orders.domain.errors import (
    CustomerNotFound,
    OrderAlreadyExists,
    OrderedItemNotFound,
    OrderNotFound,
)
from commerce.orders.domain.events import ORDER_EVENT_TYPES, OrderEvent
from commerce.orders.domain.order import Order
from commerce.orders.domain.state import SNAPSHOT_SCHEMA
from commerce.platform.eventsourcing.codec import DataclassEventCodec
from commerce.platform.eventsourcing.repository import EventSourcedRepository
from commerce.platform.kit.ids import ItemId, OrderId, TenantId, UserId
from commerce.platform.transactions.ports import Clock, EventStore

__all__ = [
    "ORDER_CODEC",
    "ORDER_STREAM",
    "AddLineCommand",
    "CancelOrderCommand",
    "ConfirmOrderCommand",
    "PlaceOrderCommand",
    "RemoveLineCommand",
    "ShipOrderCommand",
    "add_line",
    "cancel_order",
    "confirm_order",
    "order_repository",
    "place_order",
    "remove_line",
    "ship_order",
]

ORDER_STREAM = "commerce.orders.Order"
"""The event store's stream type of orders."""

ORDER_CODEC = DataclassEventCodec(cast("dict[str, type[OrderEvent]]", dict(ORDER_EVENT_TYPES)))
"""Order events to stored events and back."""


def order_repository(
    store: EventStore, *, snapshot_every: int
) -> EventSourcedRepository[Order, OrderEvent]:
    """Orders in ``store`` (``uow.events``), snapshotted every ``snapshot_every`` events."""
    return EventSourcedRepository(
        store,
        stream_type=ORDER_STREAM,
        aggregate_type=Order,
        codec=ORDER_CODEC,
        snapshot_every=snapshot_every,
        snapshot_schema=SNAPSHOT_SCHEMA,
    )


@dataclass(frozen=True, slots=True)
class PlaceOrderCommand:
    """Open an order: the ``PlaceOrder`` message."""

    tenant_id: TenantId
    order_id: OrderId
    customer_id: UserId
    currency: str


@dataclass(frozen=True, slots=True)
class AddLineCommand:
    """Add a line for a catalogue item: the ``AddLine`` message."""

    order_id: OrderId
    item_id: ItemId
    quantity: int


@dataclass(frozen=True, slots=True)
class RemoveLineCommand:
    """Remove an item's line: the ``RemoveLine`` message."""

    order_id: OrderId
    item_id: ItemId


@dataclass(frozen=True, slots=True)
class ConfirmOrderCommand:
    """Confirm an order: the ``ConfirmOrder`` message."""

    order_id: OrderId


@dataclass(frozen=True, slots=True)
class CancelOrderCommand:
    """Cancel an order: the ``CancelOrder`` message."""

    order_id: OrderId
    reason: str


@dataclass(frozen=True, slots=True)
class ShipOrderCommand:
    """Ship an order: the ``ShipOrder`` message."""

    order_id: OrderId


async def _change(
    uow: OrdersUnitOfWork,
    order_id: OrderId,
    snapshot_every: int,
    decide: Callable[[Order], Awaitable[None]],
) -> None:
    """Load the order, let ``decide`` run a command on it, append and stage its events."""
    orders = order_repository(uow.events, snapshot_every=snapshot_every)
    order = await orders.load(order_id.value)
    if order is None:
        raise OrderNotFound(f"order {order_id} does not exist in this tenant")
    await decide(order)
    uow.outbox.publish(await orders.save(order_id.value, order))


async def place_order(
    command: PlaceOrderCommand, uow: OrdersUnitOfWork, *, clock: Clock, snapshot_every: int
) -> None:
    """Open the order of an active customer; the order id must be new."""
    orders = order_repository(uow.events, snapshot_every=snapshot_every)
    if await orders.load(command.order_id.value) is not None:
        raise OrderAlreadyExists(f"order {command.order_id} was already placed")
    customer = await uow.customers.get(command.customer_id)
    if customer is None:
        raise CustomerNotFound(f"user {command.customer_id} does not exist in this tenant")
    order = Order.place(
        order_id=command.order_id,
        tenant_id=command.tenant_id,
        customer=customer,
        currency=command.currency,
        now=clock.now(),
    )
    uow.outbox.publish(await orders.save(command.order_id.value, order))


async def add_line(
    command: AddLineCommand, uow: OrdersUnitOfWork, *, clock: Clock, snapshot_every: int
) -> None:
    """Add a line at the item's current price (the item must be active)."""

    async def decide(order: Order) -> None:
        item = await uow.orderable_items.get(command.item_id)
        if item is None:
            raise OrderedItemNotFound(f"item {command.item_id} does not exist in this tenant")
        order.add_line(item, command.quantity, now=clock.now())

    await _change(uow, command.order_id, snapshot_every, decide)


async def remove_line(
    command: RemoveLineCommand, uow: OrdersUnitOfWork, *, clock: Clock, snapshot_every: int
) -> None:
    """Remove the item's line from a placed order."""

    async def decide(order: Order) -> None:
        order.remove_line(command.item_id, now=clock.now())

    await _change(uow, command.order_id, snapshot_every, decide)


async def confirm_order(
    command: ConfirmOrderCommand, uow: OrdersUnitOfWork, *, clock: Clock, snapshot_every: int
) -> None:
    """Confirm a placed order with lines (already confirmed: no-op)."""

    async def decide(order: Order) -> None:
        order.confirm(now=clock.now())

    await _change(uow, command.order_id, snapshot_every, decide)


async def cancel_order(
    command: CancelOrderCommand, uow: OrdersUnitOfWork, *, clock: Clock, snapshot_every: int
) -> None:
    """Cancel a placed or confirmed order (already cancelled: no-op)."""

    async def decide(order: Order) -> None:
        order.cancel(reason=command.reason, now=clock.now())

    await _change(uow, command.order_id, snapshot_every, decide)


async def ship_order(
    command: ShipOrderCommand, uow: OrdersUnitOfWork, *, clock: Clock, snapshot_every: int
) -> None:
    """Ship a confirmed order (already shipped: no-op)."""

    async def decide(order: Order) -> None:
        order.ship(now=clock.now())

    await _change(uow, command.order_id, snapshot_every, decide)
