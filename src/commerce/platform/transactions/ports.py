"""Ports: the Protocols the use cases need, implemented by adapters and fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from commerce.billing.domain.invoice import Invoice
from commerce.catalog.domain.item import Item
from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.identity.domain.user import User
from commerce.platform.eventsourcing.streams import NewEvent, RecordedEvent, Snapshot, StreamId
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import EmailAddress, InvoiceId, ItemId, UserId
from commerce.platform.kit.message_context import MessageContext, Rejection

__all__ = [
    "Clock",
    "EventStore",
    "InvoiceRepository",
    "ItemRepository",
    "Outbox",
    "PasswordHasher",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserDirectory",
    "UserRepository",
]


class Clock(Protocol):
    """Tells the time; always timezone-aware."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        ...


class PasswordHasher(Protocol):
    """One-way password hashing (argon2id in production)."""

    async def hash(self, password: str) -> str:
        """Hash ``password`` with a fresh salt; CPU-heavy work runs off the event loop."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``."""
        ...


class UserRepository(Protocol):
    """Users of the current tenant."""

    async def get(self, user_id: UserId) -> User | None:
        """The user, or ``None`` when this tenant has no such user."""
        ...

    async def email_taken(self, email: EmailAddress) -> bool:
        """Whether a user of this tenant already has ``email``."""
        ...

    async def add(self, user: User) -> None:
        """Insert a new user.

        Raises ``EmailAlreadyRegistered`` or ``UserAlreadyExists`` when the database's
        unique constraints refuse it (a concurrent registration).
        """
        ...

    async def update(self, user: User, *, expected_version: int) -> None:
        """Write the changed state of ``user``, loaded at ``expected_version``.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the
        stored row is no longer at ``expected_version`` (another command changed it): the
        whole command is retried.
        """
        ...


class ItemRepository(Protocol):
    """Catalogue items of the current tenant (state-stored, versioned)."""

    async def get(self, item_id: ItemId) -> Item | None:
        """The item, or ``None`` when this tenant has no such item."""
        ...

    async def add(self, item: Item) -> None:
        """Insert a new item; ``ItemAlreadyExists`` if the id is taken."""
        ...

    async def update(self, item: Item, *, expected_version: int) -> None:
        """Write the changed state of ``item``, loaded at ``expected_version``.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the
        stored row moved on; the whole command is retried.
        """
        ...


class InvoiceRepository(Protocol):
    """Invoices of the current tenant (state-stored, versioned)."""

    async def get(self, invoice_id: InvoiceId) -> Invoice | None:
        """The invoice, or ``None`` when this tenant has no such invoice."""
        ...

    async def add(self, invoice: Invoice) -> None:
        """Insert a new invoice.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when an
        invoice with this id or for this order exists already (a concurrent writer won):
        the retried command then finds it.
        """
        ...

    async def update(self, invoice: Invoice, *, expected_version: int) -> None:
        """Write the changed state of ``invoice``, loaded at ``expected_version``.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the
        stored row moved on; the whole command is retried.
        """
        ...


class UserDirectory(Protocol):
    """The user directory read model of the current tenant."""

    async def record(self, entry: DirectoryEntry) -> bool:
        """Upsert ``entry`` if it is newer than the stored row; whether anything changed."""
        ...

    async def change(self, change: DirectoryChange) -> bool:
        """Apply ``change`` to the user's row if the row holds an older version.

        Whether anything changed: a repeated or older change, or a user the directory does
        not know yet, changes nothing.
        """
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

    Leaving the context without :meth:`commit` rolls everything back.
    """

    @property
    def users(self) -> UserRepository:
        """Users of the message's tenant."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Integration events to publish on commit."""
        ...

    @property
    def items(self) -> ItemRepository:
        """Catalogue items of the message's tenant."""
        ...

    @property
    def invoices(self) -> InvoiceRepository:
        """Invoices of the message's tenant."""
        ...

    @property
    def user_directory(self) -> UserDirectory:
        """The user directory read model of the message's tenant."""
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


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work for the message described by ``context``."""

    def __call__(self, context: MessageContext) -> UnitOfWork: ...
