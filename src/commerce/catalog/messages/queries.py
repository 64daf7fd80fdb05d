"""Queries of the item availability read model (kept from ``commerce.catalog.item``)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from commerce.catalog.domain.item import ItemStatus
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.messaging.queries import Query, QueryReply

__all__ = ["AvailabilityEntry", "GetItemAvailabilityV1", "ItemAvailabilityV1"]

_ITEM_ID = "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f4a6b"


class AvailabilityEntry(BaseModel):
    """Whether an item can be ordered now."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    item_id: UUID = Field(description="The item.")
    name: str = Field(description="The item's name.")
    status: ItemStatus = Field(description="`active` or `retired`.")
    stock: int = Field(description="Units in stock.")
    available: bool = Field(description="Active and in stock: it can be ordered.")
    price: MoneyPayload = Field(description="The current unit price.")
    updated_at: AwareDatetime = Field(description="When the item last changed.")
    version: int = Field(description="The item's version this row reflects.")


class ItemAvailabilityV1(QueryReply):
    """The answer to ``GetItemAvailability``: the item, or ``null`` if unknown."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item": {
                        "item_id": _ITEM_ID,
                        "name": "Analytical Engine, tabletop edition",
                        "status": "active",
                        "stock": 12,
                        "available": True,
                        "price": {"amount": 1999, "currency": "EUR"},
                        "updated_at": "2025-01-15T09:30:00.412000Z",
                        "version": 2,
                    }
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.catalog.ItemAvailability.v1"

    item: AvailabilityEntry | None = Field(description="The item; `null` when unknown.")


class GetItemAvailabilityV1(Query):
    """Whether an item can be ordered, its stock and price."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"item_id": _ITEM_ID}]})

    message_type: ClassVar[str] = "commerce.catalog.GetItemAvailability.v1"
    reply: ClassVar[type[QueryReply]] = ItemAvailabilityV1

    item_id: UUID = Field(description="The item asked for.")
