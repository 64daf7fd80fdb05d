"""The catalogue item repository over SQLAlchemy Core (table ``catalog_items``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.catalog.domain.errors import ItemAlreadyExists
from commerce.catalog.domain.item import Item, ItemStatus
from commerce.platform.eventsourcing.streams import StreamId
from commerce.platform.kit.ids import ItemId, TenantId
from commerce.platform.kit.money import Money
from commerce.platform.postgres.tables import catalog_items
from commerce.platform.postgres.versioned_rows import update_versioned, violated_constraint

__all__ = ["ITEM_TYPE", "SqlItemRepository"]

ITEM_TYPE = "commerce.catalog.Item"
"""How a version conflict on an item names the aggregate."""


class SqlItemRepository:
    """:class:`commerce.platform.transactions.ports.ItemRepository` on ``catalog_items``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, item_id: ItemId) -> Item | None:
        """Load an item of the current tenant."""
        query = select(catalog_items).where(catalog_items.c.id == item_id.value)
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        return Item(
            id=ItemId(row.id),
            tenant_id=TenantId(row.tenant_id),
            name=row.name,
            price=Money(row.price_amount, row.currency),
            stock=row.stock,
            status=ItemStatus(row.status),
            version=row.version,
            created_at=row.created_at,
        )

    async def add(self, item: Item) -> None:
        """Insert ``item``; a taken id becomes ``ItemAlreadyExists``."""
        try:
            await self._connection.execute(
                catalog_items.insert().values(
                    tenant_id=item.tenant_id.value,
                    id=item.id.value,
                    name=item.name,
                    price_amount=item.price.amount,
                    currency=item.price.currency,
                    stock=item.stock,
                    status=item.status.value,
                    version=item.version,
                    created_at=item.created_at,
                    updated_at=item.created_at,
                )
            )
        except IntegrityError as error:
            if violated_constraint(error):
                raise ItemAlreadyExists(f"item {item.id} already exists") from None
            raise

    async def update(self, item: Item, *, expected_version: int) -> None:
        """Write price, stock, status and version if the row is at ``expected_version``."""
        await update_versioned(
            self._connection,
            catalog_items,
            aggregate=StreamId(ITEM_TYPE, item.id.value),
            expected_version=expected_version,
            values={
                "price_amount": item.price.amount,
                "stock": item.stock,
                "status": item.status.value,
                "version": item.version,
                "updated_at": func.now(),
            },
        )
