"""Integration events of the catalog context, on the ``commerce.catalog.item`` stream."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from commerce.catalog.domain.events import ItemCreated, ItemPriceChanged, ItemRetired, StockAdjusted
from commerce.catalog.messages.channels import ITEMS
from commerce.platform.kit.events import DomainEvent
from commerce.platform.messaging.channels import EventStream
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.money import MoneyPayload

__all__ = [
    "ItemCreatedV1",
    "ItemPriceChangedV1",
    "ItemRetiredV1",
    "StockAdjustedV1",
    "catalog_event_for",
]

_ITEM_ID = "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f4a6b"
_AT = "2025-01-15T09:30:00.412000Z"
_ITEM_FIELD = "The item (the message key / routing key)."


class ItemCreatedV1(IntegrationEvent):
    """An item was added to the catalogue, active, with a price and an initial stock."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item_id": _ITEM_ID,
                    "name": "Analytical Engine, tabletop edition",
                    "price": {"amount": 1999, "currency": "EUR"},
                    "stock": 12,
                    "created_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.catalog.ItemCreated.v1"
    stream: ClassVar[EventStream] = ITEMS

    item_id: UUID = Field(description=_ITEM_FIELD)
    name: str = Field(description="The item's name.")
    price: MoneyPayload = Field(description="The unit price (positive).")
    stock: int = Field(description="Units in stock (never negative).")
    created_at: AwareDatetime = Field(description="When the item was created.")


class ItemPriceChangedV1(IntegrationEvent):
    """An active item got a new price (same currency); orders placed earlier keep theirs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item_id": _ITEM_ID,
                    "old_price": {"amount": 1999, "currency": "EUR"},
                    "new_price": {"amount": 2499, "currency": "EUR"},
                    "changed_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.catalog.ItemPriceChanged.v1"
    stream: ClassVar[EventStream] = ITEMS

    item_id: UUID = Field(description=_ITEM_FIELD)
    old_price: MoneyPayload = Field(description="The price before.")
    new_price: MoneyPayload = Field(description="The price from now on.")
    changed_at: AwareDatetime = Field(description="When the price changed.")


class StockAdjustedV1(IntegrationEvent):
    """The stock changed by ``delta`` (negative when taken) to ``stock``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item_id": _ITEM_ID,
                    "delta": -2,
                    "stock": 10,
                    "reason": "damaged in transit",
                    "adjusted_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.catalog.StockAdjusted.v1"
    stream: ClassVar[EventStream] = ITEMS

    item_id: UUID = Field(description=_ITEM_FIELD)
    delta: int = Field(description="Units added (positive) or taken (negative).")
    stock: int = Field(description="Units in stock afterwards (never negative).")
    reason: str = Field(description="Why the stock changed.")
    adjusted_at: AwareDatetime = Field(description="When the stock changed.")


class ItemRetiredV1(IntegrationEvent):
    """The item was withdrawn from sale: its price is frozen and it cannot be ordered."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"item_id": _ITEM_ID, "retired_at": _AT}]}
    )

    message_type: ClassVar[str] = "commerce.catalog.ItemRetired.v1"
    stream: ClassVar[EventStream] = ITEMS

    item_id: UUID = Field(description=_ITEM_FIELD)
    retired_at: AwareDatetime = Field(description="When the item was retired.")


def catalog_event_for(event: DomainEvent) -> IntegrationEvent | None:
    """The integration event of a catalog domain event; ``None`` for other contexts'."""
    match event:
        case ItemCreated():
            return ItemCreatedV1(
                item_id=event.item_id.value,
                name=event.name,
                price=MoneyPayload.of(event.price),
                stock=event.stock,
                created_at=event.occurred_at,
            )
        case ItemPriceChanged():
            return ItemPriceChangedV1(
                item_id=event.item_id.value,
                old_price=MoneyPayload.of(event.old_price),
                new_price=MoneyPayload.of(event.new_price),
                changed_at=event.occurred_at,
            )
        case StockAdjusted():
            return StockAdjustedV1(
                item_id=event.item_id.value,
                delta=event.delta,
                stock=event.stock,
                reason=event.reason,
                adjusted_at=event.occurred_at,
            )
        case ItemRetired():
            return ItemRetiredV1(item_id=event.item_id.value, retired_at=event.occurred_at)
    return None
