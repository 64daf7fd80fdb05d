"""The item availability projection, kept live from ``commerce.catalog.item`` events.

Items are not event sourced, so a rebuild reads their current rows (``catalog_items``):
each row is the item's state as of its ``version``, which is exactly what the live
projection converges to (see ``docs/adr/0013-projections-and-read-side.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.catalog.adapters.availability_reader import availability_of
from commerce.catalog.application.read_models import ITEM_AVAILABILITY, ItemAvailability
from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.tables import item_availability
from commerce.platform.read_side.projection_kit import Change, locked_rows, upsert_newer

__all__ = ["ITEM_AVAILABILITY_PROJECTION", "availability_from_item"]


def availability_from_item(row: Row[Any]) -> ItemAvailability:
    """The availability of a ``catalog_items`` row (the item's state as of its version)."""
    return ItemAvailability(
        item_id=row.id,
        name=row.name,
        status=row.status,
        stock=row.stock,
        price=row.price_amount,
        currency=row.currency,
        updated_at=row.updated_at,
        version=row.version,
    )


class _ItemAvailability:
    name = "item-availability"
    tables: tuple[Table, ...] = (item_availability,)
    tags = ITEM_AVAILABILITY

    async def load(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        tenant: TenantId,
        keys: list[UUID],
    ) -> dict[UUID, ItemAvailability]:
        rows = await locked_rows(connection, tables[0], "item_id", tenant, keys)
        return {row.item_id: availability_of(row) for row in rows}

    async def save(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        changes: list[Change[ItemAvailability]],
    ) -> None:
        (table,) = tables
        rows = [
            {
                "tenant_id": change.tenant.value,
                "item_id": a.item_id,
                "name": a.name,
                "status": a.status,
                "stock": a.stock,
                "price": a.price,
                "currency": a.currency,
                "updated_at": a.updated_at,
                "version": a.version,
            }
            for change in changes
            for a in (change.after,)
        ]
        updated = ("name", "status", "stock", "price", "currency", "updated_at", "version")
        await upsert_newer(connection, table, "item_id", rows, updated)

    def invalidated(self, change: Change[ItemAvailability]) -> list[str]:
        return [self.tags.row(change.tenant, change.key)]


ITEM_AVAILABILITY_PROJECTION = _ItemAvailability()
"""Item availability (``item_availability``), one row per item."""
