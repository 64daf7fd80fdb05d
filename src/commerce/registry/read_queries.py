"""Readers of the read models (SQL Core), in read-only, tenant-scoped transactions.

Row-level security scopes every statement to the session's tenant; the ``WHERE tenant_id``
clauses are there for the indexes, not for isolation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.catalog.adapters.availability_rows import availability_of
from commerce.identity.adapters.directory_rows import directory_record_of
from commerce.orders.adapters.summary_rows import order_summary_of
from commerce.orders.application.filters import OrderStatusIs, PlacedSince
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.specification import Specification
from commerce.platform.postgres.engine import set_tenant
from commerce.platform.postgres.specification_sql import LeafTranslations, where_clause
from commerce.platform.postgres.tables import (
    item_availability,
    order_summaries,
    revenue_daily,
    user_directory,
)
from commerce.platform.read_side.ports import (
    DailyRevenue,
    DirectoryRecord,
    ItemAvailability,
    OrderSummary,
)

__all__ = ["SqlReadModels", "SqlReadSessionFactory"]


class _Users:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, user_id: UUID) -> DirectoryRecord | None:
        query = select(user_directory).where(user_directory.c.user_id == user_id)
        row = (await self._connection.execute(query)).first()
        return directory_record_of(row) if row is not None else None

    async def page(self, *, after: UUID | None, limit: int) -> list[DirectoryRecord]:
        query = select(user_directory).order_by(user_directory.c.user_id).limit(limit)
        if after is not None:
            query = query.where(user_directory.c.user_id > after)
        return [directory_record_of(row) for row in await self._connection.execute(query)]


_SUMMARY_FILTERS: LeafTranslations = {
    OrderStatusIs: lambda spec: order_summaries.c.status.in_(sorted(spec.statuses)),
    PlacedSince: lambda spec: order_summaries.c.placed_at >= spec.moment,
}
"""The SQL of each order-summary filter (``order_summaries`` columns are ``NOT NULL``)."""


class _Orders:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, order_id: UUID) -> OrderSummary | None:
        query = select(order_summaries).where(order_summaries.c.order_id == order_id)
        row = (await self._connection.execute(query)).first()
        return order_summary_of(row) if row is not None else None

    async def of_customer(
        self,
        customer_id: UUID,
        *,
        before: tuple[datetime, UUID] | None,
        limit: int,
        where: Specification[OrderSummary],
    ) -> list[OrderSummary]:
        table = order_summaries
        query = (
            select(table)
            .where(table.c.customer_id == customer_id, where_clause(where, _SUMMARY_FILTERS))
            .order_by(table.c.placed_at.desc(), table.c.order_id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(tuple_(table.c.placed_at, table.c.order_id) < tuple_(*before))
        return [order_summary_of(row) for row in await self._connection.execute(query)]


class _Items:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, item_id: UUID) -> ItemAvailability | None:
        query = select(item_availability).where(item_availability.c.item_id == item_id)
        row = (await self._connection.execute(query)).first()
        return availability_of(row) if row is not None else None


class _Revenue:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def days(self, first: date, last: date) -> list[DailyRevenue]:
        table = revenue_daily
        query = (
            select(table.c.day, table.c.currency, table.c.amount, table.c.orders)
            .where(table.c.day.between(first, last), or_(table.c.orders > 0, table.c.amount != 0))
            .order_by(table.c.day, table.c.currency)
        )
        return [
            DailyRevenue(row.day, row.currency, row.amount, row.orders)
            for row in await self._connection.execute(query)
        ]


class SqlReadModels:
    """:class:`commerce.platform.read_side.ports.ReadModels` on one connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.users = _Users(connection)
        self.orders = _Orders(connection)
        self.items = _Items(connection)
        self.revenue = _Revenue(connection)


class SqlReadSessionFactory:
    """:class:`commerce.platform.read_side.ports.ReadSessionFactory` for one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def __call__(self, tenant: TenantId) -> AsyncIterator[SqlReadModels]:
        async with self._engine.connect() as connection:
            reading = await connection.execution_options(postgresql_readonly=True)
            async with reading.begin():
                await set_tenant(reading, tenant.value)
                yield SqlReadModels(reading)
