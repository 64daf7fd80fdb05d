"""Command payloads of the orders context (the event-sourced order)."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field

from commerce.platform.messaging.commands import Command

__all__ = [
    "AddLine",
    "CancelOrder",
    "ConfirmOrder",
    "PlaceOrder",
    "RemoveLine",
    "ShipOrder",
]

_ORDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_ITEM_ID = "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f4a6b"
OrderRef = Annotated[UUID, Field(description="The order the command addresses.")]


class PlaceOrder(Command):
    """Open an order for a customer; the sender chooses the order id (idempotent retries)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": _ORDER_ID,
                    "customer_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "currency": "EUR",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.PlaceOrder.v1"
    key_field: ClassVar[str] = "order_id"

    order_id: UUID = Field(description="Identifier of the new order, chosen by the sender.")
    customer_id: UUID = Field(description="The user placing the order: active, a customer.")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217 currency of every line and of the total."
    )


class AddLine(Command):
    """Add ``quantity`` of an active item to a placed order, at the item's price now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"order_id": _ORDER_ID, "item_id": _ITEM_ID, "quantity": 2}]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.AddLine.v1"
    key_field: ClassVar[str] = "order_id"

    order_id: OrderRef
    item_id: UUID = Field(description="The catalogue item; one line per item.")
    quantity: int = Field(description="How many units; greater than zero.")


class RemoveLine(Command):
    """Remove the line of an item from a placed order."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"order_id": _ORDER_ID, "item_id": _ITEM_ID}]}
    )

    message_type: ClassVar[str] = "commerce.orders.RemoveLine.v1"
    key_field: ClassVar[str] = "order_id"

    order_id: OrderRef
    item_id: UUID = Field(description="The item whose line goes.")


class ConfirmOrder(Command):
    """Confirm a placed order with at least one line; confirming twice changes nothing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"order_id": _ORDER_ID}]})

    message_type: ClassVar[str] = "commerce.orders.ConfirmOrder.v1"
    key_field: ClassVar[str] = "order_id"

    order_id: OrderRef


class CancelOrder(Command):
    """Cancel a placed or confirmed order; cancelling twice changes nothing."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"order_id": _ORDER_ID, "reason": "customer changed their mind"}]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.CancelOrder.v1"
    key_field: ClassVar[str] = "order_id"

    order_id: OrderRef
    reason: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Why the order is cancelled."
    )


class ShipOrder(Command):
    """Record that a confirmed order was shipped; shipping twice changes nothing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"order_id": _ORDER_ID}]})

    message_type: ClassVar[str] = "commerce.orders.ShipOrder.v1"
    key_field: ClassVar[str] = "order_id"

    order_id: OrderRef
