"""Reading the item availability read model: its rows as the read side's records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.catalog.application.read_models import ItemAvailability
from commerce.platform.postgres.tables import (
    item_availability,
)

__all__ = ["SqlItemAvailabilityReader", "availability_of"]


def availability_of(row: Row[Any] | Mapping[str, Any]) -> ItemAvailability:
    """An ``item_availability`` row as a record."""
    values = row._mapping if isinstance(row, Row) else row
    return ItemAvailability(
        item_id=values["item_id"],
        name=values["name"],
        status=values["status"],
        stock=values["stock"],
        price=values["price"],
        currency=values["currency"],
        updated_at=values["updated_at"],
        version=values["version"],
    )


class SqlItemAvailabilityReader:
    """:class:`~commerce.catalog.application.read_models.ItemAvailabilityReader` on
    ``item_availability``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, item_id: UUID) -> ItemAvailability | None:
        query = select(item_availability).where(item_availability.c.item_id == item_id)
        row = (await self._connection.execute(query)).first()
        return availability_of(row) if row is not None else None
