"""Integration events of the orders context, on the ``commerce.orders.order`` stream.

Each is a pure function of the stored domain event (:func:`order_event_for`), so a
projection rebuilt from the event store sees exactly what the live stream carried. An
order's lines and total follow from its events in order: ``OrderLineAdded`` carries the
captured unit price and the line's subtotal, ``OrderConfirmed`` the total.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from commerce.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
)
from commerce.orders.messages.channels import ORDERS
from commerce.platform.kit.events import DomainEvent
from commerce.platform.messaging.channels import EventStream
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.money import MoneyPayload

__all__ = [
    "OrderCancelledV1",
    "OrderConfirmedV1",
    "OrderLineAddedV1",
    "OrderLineRemovedV1",
    "OrderPlacedV1",
    "OrderShippedV1",
    "order_event_for",
]

_ORDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_ITEM_ID = "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f4a6b"
_CUSTOMER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
_AT = "2025-01-15T09:30:00.412000Z"
_ORDER_FIELD = "The order (the message key / routing key)."


class OrderPlacedV1(IntegrationEvent):
    """A customer opened an order (always an order's first event)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": _ORDER_ID,
                    "customer_id": _CUSTOMER_ID,
                    "currency": "EUR",
                    "placed_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.OrderPlaced.v1"
    stream: ClassVar[EventStream] = ORDERS

    order_id: UUID = Field(description=_ORDER_FIELD)
    customer_id: UUID = Field(description="The user who placed the order.")
    currency: str = Field(description="ISO 4217 currency of every line and of the total.")
    placed_at: AwareDatetime = Field(description="When the order was placed.")


class OrderLineAddedV1(IntegrationEvent):
    """A line was added at the item's price (and under its name) when it was added."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": _ORDER_ID,
                    "item_id": _ITEM_ID,
                    "quantity": 2,
                    "unit_price": {"amount": 1999, "currency": "EUR"},
                    "subtotal": {"amount": 3998, "currency": "EUR"},
                    "added_at": _AT,
                    "item_name": "Analytical Engine, tabletop edition",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.OrderLineAdded.v1"
    stream: ClassVar[EventStream] = ORDERS

    order_id: UUID = Field(description=_ORDER_FIELD)
    item_id: UUID = Field(description="The catalogue item (one line per item).")
    quantity: int = Field(description="Units ordered (positive).")
    unit_price: MoneyPayload = Field(description="The item's price captured for this line.")
    subtotal: MoneyPayload = Field(description="`unit_price` times `quantity`.")
    added_at: AwareDatetime = Field(description="When the line was added.")
    item_name: str | None = Field(
        default=None,
        description=(
            "The item's name when the line was added; `null` or absent for lines added "
            "before names were recorded (optional: payloads without it stay valid)."
        ),
    )


class OrderLineRemovedV1(IntegrationEvent):
    """The line of an item was removed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"order_id": _ORDER_ID, "item_id": _ITEM_ID, "removed_at": _AT}]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.OrderLineRemoved.v1"
    stream: ClassVar[EventStream] = ORDERS

    order_id: UUID = Field(description=_ORDER_FIELD)
    item_id: UUID = Field(description="The item whose line was removed.")
    removed_at: AwareDatetime = Field(description="When the line was removed.")


class OrderConfirmedV1(IntegrationEvent):
    """The order was confirmed; its lines are fixed. Billing invoices it for ``total``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": _ORDER_ID,
                    "customer_id": _CUSTOMER_ID,
                    "total": {"amount": 3998, "currency": "EUR"},
                    "confirmed_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.OrderConfirmed.v1"
    stream: ClassVar[EventStream] = ORDERS

    order_id: UUID = Field(description=_ORDER_FIELD)
    customer_id: UUID = Field(description="The user who placed the order.")
    total: MoneyPayload = Field(description="The sum of the lines' subtotals.")
    confirmed_at: AwareDatetime = Field(description="When the order was confirmed.")


class OrderCancelledV1(IntegrationEvent):
    """The order was cancelled from ``previous_status`` (placed or confirmed)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": _ORDER_ID,
                    "previous_status": "confirmed",
                    "reason": "customer changed their mind",
                    "cancelled_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.OrderCancelled.v1"
    stream: ClassVar[EventStream] = ORDERS

    order_id: UUID = Field(description=_ORDER_FIELD)
    previous_status: OrderStatus = Field(description="`placed` or `confirmed` (then invoiced).")
    reason: str = Field(description="Why the order was cancelled.")
    cancelled_at: AwareDatetime = Field(description="When the order was cancelled.")


class OrderShippedV1(IntegrationEvent):
    """A confirmed order left the warehouse."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"order_id": _ORDER_ID, "shipped_at": _AT}]}
    )

    message_type: ClassVar[str] = "commerce.orders.OrderShipped.v1"
    stream: ClassVar[EventStream] = ORDERS

    order_id: UUID = Field(description=_ORDER_FIELD)
    shipped_at: AwareDatetime = Field(description="When the order was shipped.")


def order_event_for(event: DomainEvent) -> IntegrationEvent | None:
    """The integration event of an order domain event; ``None`` for other contexts'."""
    published: IntegrationEvent | None = None
    match event:
        case OrderPlaced():
            published = OrderPlacedV1(
                order_id=event.order_id.value,
                customer_id=event.customer_id.value,
                currency=event.currency,
                placed_at=event.occurred_at,
            )
        case OrderLineAdded():
            published = OrderLineAddedV1(
                order_id=event.order_id.value,
                item_id=event.item_id.value,
                quantity=event.quantity,
                unit_price=MoneyPayload.of(event.unit_price),
                subtotal=MoneyPayload.of(event.unit_price * event.quantity),
                added_at=event.occurred_at,
                item_name=event.item_name,
            )
        case OrderLineRemoved():
            published = OrderLineRemovedV1(
                order_id=event.order_id.value,
                item_id=event.item_id.value,
                removed_at=event.occurred_at,
            )
        case OrderConfirmed():
            published = OrderConfirmedV1(
                order_id=event.order_id.value,
                customer_id=event.customer_id.value,
                total=MoneyPayload.of(event.total),
                confirmed_at=event.occurred_at,
            )
        case OrderCancelled():
            published = OrderCancelledV1(
                order_id=event.order_id.value,
                previous_status=event.previous_status,
                reason=event.reason,
                cancelled_at=event.occurred_at,
            )
        case OrderShipped():
            published = OrderShippedV1(order_id=event.order_id.value, shipped_at=event.occurred_at)
    return published
