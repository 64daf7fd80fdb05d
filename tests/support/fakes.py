"""In-memory fakes of the application ports, for unit tests.

They pass the same contract tests as the Postgres adapters (the ``test_*_contract.py``
suites in tests/platform/transactions and tests/platform/eventsourcing): a fake that
behaves differently from the real thing would make unit tests lie.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from commerce.platform.eventsourcing.streams import UpcasterRegistry
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.message_context import MessageContext, Rejection
from commerce.registry.ordering import CustomersFromUsers, OrderableItemsFromCatalog
from tests.support.event_store import InMemoryEventLog, InMemoryEventStore
from tests.support.fake_repositories import (
    FakeDirectory,
    FakeInvoices,
    FakeItems,
    FakeUsers,
    RowLocks,
    Tables,
    Transaction,
)

__all__ = ["FakeClock", "InMemoryStore", "InMemoryUnitOfWorkFactory"]


@dataclass
class InMemoryStore(Tables):
    """What the fake 'database' holds: committed rows, inbox rows and outbox entries.

    ``event_log`` and ``locks`` are shared by every copy of the store (see
    ``tests/support/event_store.py``).
    """

    inbox: set[tuple[str, object]] = field(default_factory=set)
    published: list[DomainEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    event_log: InMemoryEventLog = field(default_factory=InMemoryEventLog)
    locks: RowLocks = field(default_factory=RowLocks)


class _Outbox:
    def __init__(self, state: InMemoryStore) -> None:
        self._state = state

    def publish(self, events: Iterable[DomainEvent]) -> None:
        self._state.published.extend(events)

    def reject(self, rejection: Rejection) -> None:
        self._state.rejections.append(rejection)


class InMemoryUnitOfWork:
    """Works on a copy of the store; :meth:`commit` merges what it wrote (all or nothing).

    Only this transaction's own writes reach the committed store (rows it wrote, inbox
    rows it claimed, events it staged), so concurrent units of work do not overwrite each
    other's commits, as concurrent Postgres transactions do not.
    """

    def __init__(
        self,
        committed: InMemoryStore,
        context: MessageContext,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self._committed = committed
        self._context = context
        self._upcasters = upcasters
        self._open(InMemoryStore())

    def _open(self, working: InMemoryStore) -> None:
        self._working = working
        self._tx = Transaction(
            working, self._committed, self._context.tenant_id, self._committed.locks
        )
        self._base = (len(working.published), len(working.rejections), set(working.inbox))
        lineage = {
            "correlation_id": str(self._context.correlation_id),
            "causation_id": str(self._context.message_id),
        }
        self._events = InMemoryEventStore(
            self._committed.event_log,
            self._context.tenant_id,
            lineage=lineage,
            upcasters=self._upcasters,
        )

    @property
    def users(self) -> FakeUsers:
        return FakeUsers(self._tx)

    @property
    def items(self) -> FakeItems:
        return FakeItems(self._tx)

    @property
    def invoices(self) -> FakeInvoices:
        return FakeInvoices(self._tx)

    @property
    def customers(self) -> CustomersFromUsers:
        return CustomersFromUsers(self.users)

    @property
    def orderable_items(self) -> OrderableItemsFromCatalog:
        return OrderableItemsFromCatalog(self.items)

    @property
    def outbox(self) -> _Outbox:
        return _Outbox(self._working)

    @property
    def user_directory(self) -> FakeDirectory:
        return FakeDirectory(self._tx)

    @property
    def events(self) -> InMemoryEventStore:
        return self._events

    async def __aenter__(self) -> Self:
        self._open(copy.deepcopy(self._committed))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._events.rollback()
        self._committed.locks.release(self._tx)

    async def claim(self, consumer: str) -> bool:
        key = (consumer, self._context.message_id)
        if key in self._working.inbox or key in self._committed.inbox:
            return False
        self._working.inbox.add(key)
        return True

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved, written = copy.deepcopy(self._working), set(self._tx.written)
        events = self._events.mark()
        try:
            yield
        except BaseException:
            self._working.__dict__.update(saved.__dict__)
            self._tx.written = written
            self._events.restore(events)
            raise

    async def commit(self) -> None:
        self._events.commit()
        working, committed = copy.deepcopy(self._working), self._committed
        published, rejections, inbox = self._base
        committed.published.extend(working.published[published:])
        committed.rejections.extend(working.rejections[rejections:])
        committed.inbox |= working.inbox - inbox
        for table, key in self._tx.written:
            getattr(committed, table)[key] = getattr(working, table)[key]
        self._tx.written.clear()
        committed.locks.release(self._tx)


class InMemoryUnitOfWorkFactory:
    """Opens :class:`InMemoryUnitOfWork` over one shared store."""

    def __init__(
        self, store: InMemoryStore | None = None, *, upcasters: UpcasterRegistry | None = None
    ) -> None:
        self.store = store or InMemoryStore()
        self.upcasters = upcasters

    def __call__(self, context: MessageContext) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, context, self.upcasters)


@dataclass
class ManualClock:
    """Monotonic seconds that move only when the test sets ``now``."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeClock:
    """A clock that stands still unless moved."""

    instant: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.instant
