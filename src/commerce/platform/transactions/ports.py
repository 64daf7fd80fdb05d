"""Ports: the Protocols the use cases need, implemented by adapters and fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from commerce.platform.eventsourcing.streams import NewEvent, RecordedEvent, Snapshot, StreamId
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.message_context import MessageContext, Rejection

__all__ = ["Clock", "EventStore", "Outbox", "UnitOfWork", "UnitOfWorkFactory"]


class Clock(Protocol):
    """Tells the time; always timezone-aware."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        ...


class Outbox(Protocol):
    """Integration events to publish once, and only if, the transaction commits."""

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Stage the integration events of ``events``."""
        ...

    def reject(self, rejection: Rejection) -> None:
        """Stage a ``CommandRejected`` event for the command being handled."""
        ...


class EventStore(Protocol):
    """Streams of events of event-sourced aggregates, in the unit of work's transaction.

    Everything is scoped to the message's tenant (row-level security): another tenant's
    streams look empty. Appends become visible to others only when the unit of work
    commits, together with the outbox rows staged in the same transaction.
    """

    async def append(
        self, stream: StreamId, expected_version: int, events: Sequence[NewEvent]
    ) -> list[RecordedEvent]:
        """Append ``events`` as versions ``expected_version + 1`` onwards; return them.

        ``expected_version`` is the version the caller loaded (0 for a new stream). Raises
        :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the stream
        has moved on, or when a concurrent transaction appends the same version first (the
        call may block until that transaction ends). The conflict dooms the unit of work;
        the whole command is retried. Appending nothing is a no-op.
        """
        ...

    async def load(self, stream: StreamId, *, after_version: int = 0) -> list[RecordedEvent]:
        """The stream's events with a version above ``after_version``, in order, upcast."""
        ...

    async def latest_snapshot(self, stream: StreamId) -> Snapshot | None:
        """The stream's newest snapshot, or ``None``."""
        ...

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless the stream already has one of a higher version."""
        ...


class UnitOfWork(Protocol):
    """One database transaction for one message, scoped to the message's tenant.

    Leaving the context without :meth:`commit` rolls everything back. Each bounded context
    extends it with the repositories its use cases need (``IdentityUnitOfWork``, ...).
    """

    @property
    def outbox(self) -> Outbox:
        """Integration events to publish on commit."""
        ...

    @property
    def events(self) -> EventStore:
        """The event store, in this transaction: appends commit with the outbox rows."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def claim(self, consumer: str) -> bool:
        """Record the message in the inbox; ``False`` if ``consumer`` already handled it."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: work inside it is undone if the block raises."""
        ...

    async def commit(self) -> None:
        """Commit state, inbox record and outbox rows together."""
        ...


class UnitOfWorkFactory[U: UnitOfWork](Protocol):
    """Opens a unit of work (of type ``U``) for the message described by ``context``."""

    def __call__(self, context: MessageContext) -> U: ...
