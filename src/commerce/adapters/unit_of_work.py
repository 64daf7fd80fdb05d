"""One Postgres transaction per message, scoped to the message's tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from opentelemetry.trace import NoOpTracer, Tracer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from commerce.adapters.database import set_tenant
from commerce.adapters.event_store import PostgresEventStore
from commerce.adapters.inbox import claim_message
from commerce.adapters.outbox import OutboxWriter
from commerce.adapters.read_models import SqlUserDirectory
from commerce.adapters.repositories import SqlUserRepository
from commerce.adapters.repositories_billing import SqlInvoiceRepository
from commerce.adapters.repositories_catalog import SqlItemRepository
from commerce.adapters.telemetry import database_span
from commerce.application.context import MessageContext
from commerce.application.event_sourcing import UpcasterRegistry

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """:class:`commerce.application.ports.UnitOfWork` on one pooled connection.

    The tenant is set with ``set_config(..., true)``: transaction-local, so it can never
    leak to the next user of the pooled connection.
    """

    users: SqlUserRepository
    items: SqlItemRepository
    invoices: SqlInvoiceRepository
    user_directory: SqlUserDirectory
    outbox: OutboxWriter
    events: PostgresEventStore

    def __init__(
        self,
        engine: AsyncEngine,
        context: MessageContext,
        *,
        source: str,
        tracer: Tracer | None = None,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self._engine = engine
        self._context = context
        self._source = source
        self._tracer = tracer or NoOpTracer()
        self._upcasters = upcasters
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        connection = await self._engine.connect()
        try:
            self._transaction = await connection.begin()
            await set_tenant(connection, self._context.tenant_id.value)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self.users = SqlUserRepository(connection)
        self.items = SqlItemRepository(connection)
        self.invoices = SqlInvoiceRepository(connection)
        self.user_directory = SqlUserDirectory(connection, self._context.tenant_id)
        self.outbox = OutboxWriter(self._context, source=self._source)
        self.events = PostgresEventStore.for_message(
            connection, self._context, upcasters=self._upcasters
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                await self._transaction.rollback()
        finally:
            if self._connection is not None:
                await self._connection.close()

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection (only inside the ``async with`` block)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    async def claim(self, consumer: str) -> bool:
        """Insert the inbox row for this message and ``consumer``."""
        return await claim_message(
            self.connection,
            consumer=consumer,
            message_id=self._context.message_id,
            tenant_id=self._context.tenant_id.value,
        )

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """``SAVEPOINT`` … ``RELEASE``, rolled back to if the block raises.

        Rolling back also forgets a concurrency conflict met inside the block: the
        transaction is usable again.
        """
        conflict = self.events.conflict
        try:
            async with self.connection.begin_nested():
                yield
        except BaseException:
            self.events.conflict = conflict
            raise

    async def commit(self) -> None:
        """Write the outbox rows, then commit everything at once (events were written already).

        Raises the :class:`~commerce.application.event_sourcing.ConcurrencyConflict` again if
        an append met one (Postgres would silently roll back an aborted transaction).

        Spans: ``db commit`` around it all, ``outbox write`` around the insert (the rows
        store that span's trace context, which the relay's publish span continues).
        """
        if self.events.conflict is not None:
            raise self.events.conflict
        with database_span(self._tracer, "db commit"):
            with database_span(self._tracer, "outbox write") as span:
                span.set_attribute("commerce.outbox.rows", await self.outbox.flush(self.connection))
            if self._transaction is None:
                raise RuntimeError("the unit of work is not open")
            await self._transaction.commit()


class SqlUnitOfWorkFactory:
    """:class:`commerce.application.ports.UnitOfWorkFactory` for one engine."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        source: str,
        tracer: Tracer | None = None,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self._engine = engine
        self._source = source
        self._tracer = tracer
        self._upcasters = upcasters

    def __call__(self, context: MessageContext) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self._engine,
            context,
            source=self._source,
            tracer=self._tracer,
            upcasters=self._upcasters,
        )
