"""Group commit: the units of work of concurrent messages share one Postgres transaction.

Each message still gets the all-or-nothing of its own transaction: its work runs inside a
savepoint of the shared transaction, so a failure rolls back that message alone, and its
handler returns (and the broker message is acked) only once the shared transaction has
committed. What is shared is the cost: one ``BEGIN``, one ``NOTIFY`` and one ``COMMIT``
(with its WAL flush) for up to ``max_members`` messages instead of one each.

Batches form by themselves, without a timer: a message joins the batch that is filling,
waits for its turn on the batch's connection (one message at a time), and the batch
commits as soon as every message that joined it is done. At low load a batch is one
message and nothing waits; under load, messages that arrive while a batch works join it.
See ``docs/adr/0016-group-commit.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.platform.observability.metrics import record_group_commit
from commerce.platform.outbox.writer import notify_relay
from commerce.platform.postgres.engine import set_tenant

__all__ = ["BatchAbortedError", "GroupCommit", "InboxClaim", "SharedTransaction"]

_SAVEPOINT = "message"
_CONSUMER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_log = structlog.get_logger("commerce.group_commit")


class BatchAbortedError(ConnectionError):
    """The shared transaction failed; the messages of the batch are retried."""


class SharedTransaction:
    """One transaction on one pooled connection, used by its members one at a time."""

    def __init__(self, engine: AsyncEngine, *, max_members: int) -> None:
        self._engine = engine
        self._max_members = max_members
        self._turn = asyncio.Lock()
        self._joined = 0
        self._pending = 0
        self._notify = False
        self._tenant: UUID | None = None
        self._savepoint = False
        self._connection: AsyncConnection | None = None
        self._raw: Any = None
        self._failure: BaseException | None = None
        self.closed = False
        self.outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._finisher: asyncio.Task[None] | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The shared connection (only during a member's turn)."""
        if self._connection is None:
            raise RuntimeError("the shared transaction has no connection")
        return self._connection

    @property
    def raw(self) -> Any:
        """The shared connection's asyncpg connection (only during a member's turn)."""
        if self._raw is None:
            raise RuntimeError("the shared transaction has no connection")
        return self._raw

    @property
    def pending(self) -> int:
        """Members that joined and are not done yet."""
        return self._pending

    def join(self) -> None:
        """Count one more member; the batch closes to newcomers when it is full."""
        self._joined += 1
        self._pending += 1
        if self._joined >= self._max_members:
            self.closed = True

    async def begin_turn(self, tenant_id: UUID, *, claim: InboxClaim | None = None) -> bool | None:
        """Wait for the connection, then open the member's savepoint, scoped to its tenant.

        With ``claim``, the message's inbox row is inserted in the same round trip; returns
        whether it was new (``None`` without ``claim``). On failure (or cancellation) the
        member has left the batch: nothing more to call.
        """
        try:
            await self._turn.acquire()
        except BaseException:
            self._leave()
            raise
        try:
            if self._failure is not None:
                raise BatchAbortedError("the shared transaction failed") from self._failure
            statements = await self._open(tenant_id) if self._connection is None else []
            statements.extend(self._next_savepoint(tenant_id))
            if claim is not None:
                statements.append(claim.statement())
            status = await self._raw.execute("; ".join(statements))
            self._savepoint = True
        except BaseException as error:
            self._fail(error)
            self._turn.release()
            self._leave()
            raise
        return None if claim is None else status.endswith(" 1")

    async def _open(self, tenant_id: UUID) -> list[str]:
        """Check out a connection and begin; nothing left to say but the savepoint."""
        connection = await self._engine.connect()
        try:
            await connection.begin()
            await set_tenant(connection, tenant_id)  # SQLAlchemy starts the transaction here
            raw: Any = (await connection.get_raw_connection()).driver_connection
        except BaseException:
            await _discard(connection)
            raise
        self._connection, self._raw, self._tenant = connection, raw, tenant_id
        return []

    def _next_savepoint(self, tenant_id: UUID) -> list[str]:
        """Close the previous member's savepoint, open this one's, scope it to the tenant."""
        statements = [f"RELEASE SAVEPOINT {_SAVEPOINT}"] if self._savepoint else []
        statements.append(f"SAVEPOINT {_SAVEPOINT}")
        if tenant_id != self._tenant:
            statements.append(_tenant_statement(tenant_id))
            self._tenant = tenant_id
        return statements

    async def undo_turn(self) -> None:
        """Roll the member's work back to its savepoint (the transaction stays usable)."""
        try:
            await self._raw.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        except BaseException as error:
            self._fail(error)
            raise

    def end_turn(self, *, wrote_outbox: bool) -> None:
        """Hand the connection to the next member; commit when the last one is done."""
        self._notify = self._notify or wrote_outbox
        self._turn.release()
        self._leave()

    def _leave(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.closed = True
            self._finisher = asyncio.create_task(self._finish(), name="group-commit")

    def abandon_turn(self, error: BaseException) -> None:
        """The member's turn broke the connection (or was cancelled mid-statement)."""
        self._fail(error)

    async def _finish(self) -> None:
        connection = self._connection
        try:
            if self._failure is not None:
                raise BatchAbortedError("the shared transaction failed") from self._failure
            if connection is not None:
                if self._notify:
                    await notify_relay(connection)
                await connection.commit()
                record_group_commit(self._joined)
        except BaseException as error:
            self._fail(error)
            self.outcome.set_exception(
                error
                if isinstance(error, BatchAbortedError)
                else BatchAbortedError(f"commit failed: {type(error).__name__}: {error}")
            )
            self.outcome.exception()  # members that did not commit never look at it
        else:
            self.outcome.set_result(None)
        finally:
            if connection is not None:
                await _discard(connection)

    def _fail(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error
            self.closed = True


class GroupCommit:
    """Hands out the shared transaction a new message should join.

    Up to ``transactions`` fill at once, each on its own connection, so that while one
    waits for Postgres the others' messages run: a newcomer joins the least busy one, and
    starts a new one where a slot is free.
    """

    def __init__(
        self, engine: AsyncEngine, *, max_members: int = 32, transactions: int = 4
    ) -> None:
        if max_members < 1 or transactions < 1:
            raise ValueError("max_members and transactions must be at least 1")
        self._engine = engine
        self._max_members = max_members
        self._filling: list[SharedTransaction | None] = [None] * transactions

    @property
    def engine(self) -> AsyncEngine:
        """The engine whose pool the shared transactions use."""
        return self._engine

    def join(self) -> SharedTransaction:
        """The transaction the caller's message belongs to (counted as one member)."""
        slot = min(range(len(self._filling)), key=self._load)
        batch = self._filling[slot]
        if batch is None or batch.closed:
            batch = SharedTransaction(self._engine, max_members=self._max_members)
            self._filling[slot] = batch
        batch.join()
        return batch

    def _load(self, slot: int) -> int:
        batch = self._filling[slot]
        return 0 if batch is None or batch.closed else batch.pending


@dataclass(frozen=True, slots=True)
class InboxClaim:
    """The inbox row a member claims as its turn begins."""

    consumer: str
    message_id: UUID
    tenant_id: UUID

    def statement(self) -> str:
        """The ``INSERT`` as SQL text: UUIDs and a consumer name checked to be plain."""
        if not _CONSUMER_NAME.fullmatch(self.consumer):
            raise ValueError(f"not a consumer name: {self.consumer!r}")
        message_id, tenant_id = UUID(str(self.message_id)), UUID(str(self.tenant_id))
        return (
            "INSERT INTO inbox (consumer, message_id, tenant_id)"  # noqa: S608 - checked above
            f" VALUES ('{self.consumer}', '{message_id}', '{tenant_id}')"
            " ON CONFLICT (consumer, message_id) DO NOTHING"
        )


def _tenant_statement(tenant_id: UUID) -> str:
    """``set_config`` for a tenant, as SQL text (a UUID renders only hex digits and dashes)."""
    if not isinstance(tenant_id, UUID):
        raise TypeError(f"tenant_id must be a UUID, not {type(tenant_id).__name__}")
    return f"SELECT set_config('app.tenant_id', '{tenant_id}', true)"


async def _discard(connection: AsyncConnection) -> None:
    """Return the connection to the pool (rolling back whatever is left), never raising."""
    with contextlib.suppress(Exception, asyncpg.PostgresError):
        await connection.close()
