"""Domain events of the orders context: the stream an :class:`~commerce.orders.domain.order.Order`
is rebuilt from.

They are the order's source of truth, so they carry everything its state needs:
``OrderLineAdded`` holds the unit price captured from the catalogue when the line was
added, and ``OrderConfirmed`` the total at confirmation (the fact downstream contexts act
on; on replay the aggregate checks it against its lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import ItemId, OrderId, UserId
from commerce.platform.kit.money import Money

__all__ = [
    "ORDER_EVENT_TYPES",
    "ORDER_TRANSITIONS",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderEvent",
    "OrderLineAdded",
    "OrderLineRemoved",
    "OrderPlaced",
    "OrderShipped",
    "OrderStatus",
    "next_status",
]


class OrderStatus(StrEnum):
    """States of an order; see :mod:`commerce.orders.domain.order` for the transitions."""

    DRAFT = "draft"
    PLACED = "placed"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(DomainEvent):
    """A customer opened an order (always the first event, version 1)."""

    event_type: ClassVar[str] = "commerce.orders.OrderPlaced.v1"

    order_id: OrderId
    customer_id: UserId
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLineAdded(DomainEvent):
    """A line was added, at the item's price and under its name when it was added.

    Version 2 added ``item_name``. Lines stored as version 1 load through an upcaster
    (:mod:`commerce.orders.application.upcasters`) with ``item_name`` ``None``: the name was not
    recorded then.
    """

    event_type: ClassVar[str] = "commerce.orders.OrderLineAdded.v2"

    order_id: OrderId
    item_id: ItemId
    quantity: int
    unit_price: Money
    item_name: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLineRemoved(DomainEvent):
    """The line of an item was removed."""

    event_type: ClassVar[str] = "commerce.orders.OrderLineRemoved.v1"

    order_id: OrderId
    item_id: ItemId


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderConfirmed(DomainEvent):
    """The customer confirmed the order; its lines are now fixed. Billing invoices it."""

    event_type: ClassVar[str] = "commerce.orders.OrderConfirmed.v1"

    order_id: OrderId
    customer_id: UserId
    total: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(DomainEvent):
    """The order was cancelled from ``previous_status`` (placed or confirmed)."""

    event_type: ClassVar[str] = "commerce.orders.OrderCancelled.v1"

    order_id: OrderId
    previous_status: OrderStatus
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderShipped(DomainEvent):
    """A confirmed order left the warehouse."""

    event_type: ClassVar[str] = "commerce.orders.OrderShipped.v1"

    order_id: OrderId


type OrderEvent = (
    OrderPlaced | OrderLineAdded | OrderLineRemoved | OrderConfirmed | OrderCancelled | OrderShipped
)
"""Any event of an order's stream."""

ORDER_EVENT_TYPES: Mapping[str, type[DomainEvent]] = MappingProxyType(
    {
        cls.event_type: cls
        for cls in (
            OrderPlaced,
            OrderLineAdded,
            OrderLineRemoved,
            OrderConfirmed,
            OrderCancelled,
            OrderShipped,
        )
    }
)
"""Event class by versioned type name, for an event store reading a stream back."""

_S = OrderStatus
ORDER_TRANSITIONS: Mapping[OrderStatus, Mapping[type[DomainEvent], OrderStatus]] = MappingProxyType(
    {
        _S.DRAFT: {OrderPlaced: _S.PLACED},
        _S.PLACED: {
            OrderLineAdded: _S.PLACED,
            OrderLineRemoved: _S.PLACED,
            OrderConfirmed: _S.CONFIRMED,
            OrderCancelled: _S.CANCELLED,
        },
        _S.CONFIRMED: {OrderShipped: _S.SHIPPED, OrderCancelled: _S.CANCELLED},
        _S.SHIPPED: {},
        _S.CANCELLED: {},
    }
)
"""The grammar of a stream: for each state, the events that may follow and where they lead.

``draft`` is the state of an empty stream; ``shipped`` and ``cancelled`` are final.
"""


def next_status(status: OrderStatus, event_type: type[DomainEvent]) -> OrderStatus | None:
    """The state ``event_type`` leads to from ``status``, or ``None`` if it may not follow."""
    return ORDER_TRANSITIONS[status].get(event_type)
