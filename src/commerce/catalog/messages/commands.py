"""Command payloads of the catalog context (the catalogue item)."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field

from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.money import MoneyPayload

__all__ = ["AdjustStock", "ChangePrice", "CreateItem", "RetireItem"]

_ITEM_ID = "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f4a6b"


class CreateItem(Command):
    """Add an item to the catalogue; the sender chooses the item id (idempotent retries)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item_id": _ITEM_ID,
                    "name": "Analytical Engine, tabletop edition",
                    "price": {"amount": 1999, "currency": "EUR"},
                    "stock": 12,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.catalog.CreateItem.v1"
    key_field: ClassVar[str] = "item_id"

    item_id: UUID = Field(description="Identifier of the new item, chosen by the sender.")
    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The item's name."
    )
    price: MoneyPayload = Field(description="The unit price; greater than zero.")
    stock: int = Field(default=0, description="Units in stock at creation; not negative.")


class ChangePrice(Command):
    """Set a new price of an active item, in the currency it was created with."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"item_id": _ITEM_ID, "price": {"amount": 2499, "currency": "EUR"}}]
        }
    )

    message_type: ClassVar[str] = "commerce.catalog.ChangePrice.v1"
    key_field: ClassVar[str] = "item_id"

    item_id: UUID = Field(description="The item whose price changes.")
    price: MoneyPayload = Field(description="The new unit price; greater than zero.")


class AdjustStock(Command):
    """Add ``delta`` units to the stock (negative to take); refused below zero."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"item_id": _ITEM_ID, "delta": -2, "reason": "damaged in transit"}]
        }
    )

    message_type: ClassVar[str] = "commerce.catalog.AdjustStock.v1"
    key_field: ClassVar[str] = "item_id"

    item_id: UUID = Field(description="The item whose stock changes.")
    delta: int = Field(description="Units to add (positive) or take (negative); 0 is a no-op.")
    reason: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        default="adjustment", description="Why the stock changes (goods received, write-off)."
    )


class RetireItem(Command):
    """Withdraw an item from sale; retiring a retired item changes nothing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"item_id": _ITEM_ID}]})

    message_type: ClassVar[str] = "commerce.catalog.RetireItem.v1"
    key_field: ClassVar[str] = "item_id"

    item_id: UUID = Field(description="The item to retire.")
