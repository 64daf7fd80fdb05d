"""Every context's read-model readers on one connection, in read-only, tenant-scoped
transactions.

Row-level security scopes every statement to the session's tenant; the ``WHERE tenant_id``
clauses are there for the indexes, not for isolation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.catalog.adapters.availability_reader import SqlItemAvailabilityReader
from commerce.identity.adapters.directory_reader import SqlUserDirectoryReader
from commerce.orders.adapters.readers import (
    SqlOrderSummaryReader,
    SqlRevenueReader,
)
from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.engine import set_tenant

__all__ = ["SqlReadModels", "SqlReadSessionFactory"]


class SqlReadModels:
    """:class:`~commerce.registry.query_answers.ReadModels` on one connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.users = SqlUserDirectoryReader(connection)
        self.orders = SqlOrderSummaryReader(connection)
        self.items = SqlItemAvailabilityReader(connection)
        self.revenue = SqlRevenueReader(connection)


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
