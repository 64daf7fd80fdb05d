"""A unit of work that is one message's savepoint in a shared transaction (group commit).

To the use case it behaves like a transaction of its own: its work commits entirely or not
at all, :meth:`SharedUnitOfWork.commit` returns only once it is durable, and a failure
undoes this message's work alone. See :mod:`commerce.platform.transactions.group_commit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from opentelemetry.trace import Tracer

from commerce.platform.eventsourcing.streams import UpcasterRegistry
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.observability.tracing import database_span
from commerce.platform.outbox.writer import PublishedAs
from commerce.platform.transactions.group_commit import (
    BatchAbortedError,
    GroupCommit,
    InboxClaim,
    SharedTransaction,
)
from commerce.platform.transactions.unit_of_work import SqlUnitOfWork

__all__ = ["SharedUnitOfWork", "SharedUnitOfWorkFactory"]

_INNER = "handler"


class SharedUnitOfWork(SqlUnitOfWork):
    """:class:`UnitOfWork` as a member of a shared transaction."""

    def __init__(
        self,
        group: GroupCommit,
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
        self._group = group
        self._batch: SharedTransaction | None = None
        self._claimed: str | None = None
        self._untouched_since_claim = False
        self._claimed_up_front: bool | None = None
        self._committed = False

    @property
    def _shared(self) -> SharedTransaction:
        if self._batch is None:
            raise RuntimeError("the unit of work is not open")
        return self._batch

    async def __aenter__(self) -> Self:
        """Take this message's turn; claim its inbox row already if its consumer is known."""
        context = self._context
        batch = self._group.join()
        claim = (
            InboxClaim(context.consumer, context.message_id, context.tenant_id.value)
            if context.consumer is not None
            else None
        )
        self._claimed_up_front = await batch.begin_turn(context.tenant_id.value, claim=claim)
        self._batch = batch
        self._bind(batch.connection, batch.raw)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._committed:
            return
        batch = self._shared
        if isinstance(exc, asyncio.CancelledError):
            # Cancelled mid-statement: the connection's state is unknown.
            batch.abandon_turn(exc)
            batch.end_turn(wrote_outbox=False)
            return
        try:
            await batch.undo_turn()
        finally:
            batch.end_turn(wrote_outbox=False)

    def _touch(self) -> None:
        self._untouched_since_claim = False

    async def claim(self, consumer: str) -> bool:
        """Insert the inbox row for this message and ``consumer`` (done already, if the
        context named the consumer: the turn began with it)."""
        up_front, self._claimed_up_front = self._claimed_up_front, None
        if up_front is not None and consumer == self._context.consumer:
            claimed = up_front
        else:
            claimed = await super().claim(consumer)
        self._claimed, self._untouched_since_claim = consumer, True
        return claimed

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo the block's work if it raises, keeping what came before it.

        Right after :meth:`claim` (how ``process_command`` uses it) this costs nothing
        until something fails: the member's own savepoint is rolled back and the inbox row
        claimed again. Anywhere else it is a real nested ``SAVEPOINT``.
        """
        cheap, consumer = self._untouched_since_claim, self._claimed
        conflict, staged = self.events.conflict, self.outbox.mark()
        raw = self._shared.raw
        if not cheap:
            await raw.execute(f"SAVEPOINT {_INNER}")
        try:
            yield
        except BaseException:
            self.events.conflict = conflict
            self.outbox.rewind(staged)
            if not cheap:
                await raw.execute(f"ROLLBACK TO SAVEPOINT {_INNER}; RELEASE SAVEPOINT {_INNER}")
            elif consumer is not None:
                await self._shared.undo_turn()
                if not await super().claim(consumer):  # a concurrent duplicate took it
                    raise BatchAbortedError("the message was claimed concurrently") from None
            raise
        if not cheap:
            await raw.execute(f"RELEASE SAVEPOINT {_INNER}")

    async def commit(self) -> None:
        """Write the outbox rows, then wait until the shared transaction has committed.

        Raises :class:`BatchAbortedError` when it did not
        (nothing of this message is then stored; the message is retried).
        """
        with database_span(self._tracer, "db commit"):
            rows = await self._write_outbox(notify=False)  # the batch notifies once
            self._committed = True
            batch = self._shared
            batch.end_turn(wrote_outbox=rows > 0)
            await asyncio.shield(batch.outcome)


class SharedUnitOfWorkFactory[U: SharedUnitOfWork]:
    """:class:`UnitOfWorkFactory` of group-committed messages, units of work of ``kind``."""

    def __init__(
        self,
        group: GroupCommit,
        *,
        kind: type[U],
        source: str,
        tracer: Tracer | None = None,
        upcasters: UpcasterRegistry | None = None,
        published_as: PublishedAs,
    ) -> None:
        self._kind = kind
        self._group = group
        self._source = source
        self._tracer = tracer
        self._upcasters = upcasters
        self._published_as = published_as

    def __call__(self, context: MessageContext) -> U:
        return self._kind(
            self._group,
            context,
            source=self._source,
            tracer=self._tracer,
            upcasters=self._upcasters,
            published_as=self._published_as,
        )
