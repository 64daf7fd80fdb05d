"""Units of work on Postgres, scoped to the message's tenant.

:class:`SqlUnitOfWork` is what every SQL unit of work offers the use cases (repositories,
outbox, event store, inbox claim, all on one connection). Two kinds exist:

* :class:`OwnTransactionUnitOfWork` (:class:`SqlUnitOfWorkFactory`): one transaction of its
  own per message;
* :class:`SharedUnitOfWork`: a savepoint inside a
  transaction shared with concurrent messages (group commit, ``docs/adr/0016``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

from opentelemetry.trace import NoOpTracer, Tracer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from commerce.platform.eventsourcing.streams import UpcasterRegistry
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.observability.tracing import database_span
from commerce.platform.outbox.writer import OutboxWriter, PublishedAs
from commerce.platform.postgres.engine import driver_of, set_tenant
from commerce.platform.postgres.event_store import PostgresEventStore
from commerce.platform.postgres.inbox import claim_message

__all__ = ["OwnTransactionUnitOfWork", "SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """Repositories, outbox and event store of one message, bound to one connection.

    Implements the parts of :class:`commerce.platform.transactions.ports.UnitOfWork` that do not
    depend on who owns the transaction; subclasses open, commit and undo it.
    """

    def __init__(
        self,
        context: MessageContext,
        *,
        source: str,
        tracer: Tracer | None = None,
        upcasters: UpcasterRegistry | None = None,
        published_as: PublishedAs,
    ) -> None:
        self._context = context
        self._source = source
        self._tracer = tracer or NoOpTracer()
        self._upcasters = upcasters
        self._connection: AsyncConnection | None = None
        self.outbox = OutboxWriter(context, source=source, published_as=published_as)

    def _bind(self, connection: AsyncConnection, raw: Any) -> None:
        """Bind the event store to ``connection`` (``raw``: the asyncpg one under it), then
        the bounded contexts' repositories (:meth:`_bind_repositories`)."""
        self._connection = connection
        self.events = PostgresEventStore.for_message(
            connection, self._context, upcasters=self._upcasters
        )
        self._bind_repositories(connection, raw)

    def _bind_repositories(self, connection: AsyncConnection, raw: Any) -> None:
        """Bind the repositories a subclass hands out (the composition root's; none here)."""

    def _touch(self) -> None:
        """Called whenever a repository or the connection is handed out (work may follow)."""

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection (only inside the ``async with`` block)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        self._touch()
        return self._connection

    async def claim(self, consumer: str) -> bool:
        """Insert the inbox row for this message and ``consumer``."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return await claim_message(
            self._connection,
            consumer=consumer,
            message_id=self._context.message_id,
            tenant_id=self._context.tenant_id.value,
        )

    async def _write_outbox(self, *, notify: bool) -> int:
        """Raise an append's conflict again, else insert the staged outbox rows.

        Postgres would silently roll back a transaction an append doomed. Spans: ``outbox
        write`` around the insert (the rows store that span's trace context, which the
        relay's publish span continues).
        """
        if self.events.conflict is not None:
            raise self.events.conflict
        with database_span(self._tracer, "outbox write") as span:
            rows = await self.outbox.flush(self.connection, notify=notify)
            span.set_attribute("commerce.outbox.rows", rows)
        return rows


class OwnTransactionUnitOfWork(SqlUnitOfWork):
    """A unit of work with a transaction of its own on a pooled connection.

    The tenant is set with ``set_config(..., true)``: transaction-local, so it can never
    leak to the next user of the pooled connection.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        context: MessageContext,
        *,
        source: str,
        tracer: Tracer | None = None,
        upcasters: UpcasterRegistry | None = None,
        published_as: PublishedAs,
    ) -> None:
        super().__init__(
            context,
            source=source,
            tracer=tracer,
            upcasters=upcasters,
            published_as=published_as,
        )
        self._engine = engine
        self._transaction: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        connection = await self._engine.connect()
        try:
            self._transaction = await connection.begin()
            await set_tenant(connection, self._context.tenant_id.value)
            raw = await driver_of(connection)
        except BaseException:
            await connection.close()
            raise
        self._bind(connection, raw)
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

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """``SAVEPOINT`` … ``RELEASE``, rolled back to if the block raises.

        Rolling back also forgets a concurrency conflict met inside the block and the
        events staged inside it: the transaction is usable again.
        """
        conflict, staged = self.events.conflict, self.outbox.mark()
        try:
            async with self.connection.begin_nested():
                yield
        except BaseException:
            self.events.conflict = conflict
            self.outbox.rewind(staged)
            raise

    async def commit(self) -> None:
        """Write the outbox rows and notify the relay, then commit everything at once."""
        with database_span(self._tracer, "db commit"):
            await self._write_outbox(notify=True)
            if self._transaction is None:
                raise RuntimeError("the unit of work is not open")
            await self._transaction.commit()


class SqlUnitOfWorkFactory[U: OwnTransactionUnitOfWork]:
    """:class:`UnitOfWorkFactory`: a transaction per message, units of work of ``kind``
    (the composition root's subclass, which hands out the contexts' repositories)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        kind: type[U],
        source: str,
        tracer: Tracer | None = None,
        upcasters: UpcasterRegistry | None = None,
        published_as: PublishedAs,
    ) -> None:
        self._kind = kind
        self._engine = engine
        self._source = source
        self._tracer = tracer
        self._upcasters = upcasters
        self._published_as = published_as

    def __call__(self, context: MessageContext) -> U:
        return self._kind(
            self._engine,
            context,
            source=self._source,
            tracer=self._tracer,
            upcasters=self._upcasters,
            published_as=self._published_as,
        )
