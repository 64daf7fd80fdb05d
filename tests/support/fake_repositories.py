"""In-memory repositories of the fake unit of work (see ``tests/support/fakes.py``).

Each reads and writes one transaction's working copy of the fake database. State-stored
aggregates are written like Postgres writes them: an update names the version it loaded
and fails with ``ConcurrencyConflict`` when the row moved on, and a row written by one
open transaction is locked for the others (they conflict at once, where Postgres would
make them wait for the first to end, then fail).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from commerce.billing.domain.invoice import Invoice
from commerce.catalog.domain.errors import ItemAlreadyExists
from commerce.catalog.domain.item import Item
from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.identity.domain.errors import EmailAlreadyRegistered, UserAlreadyExists
from commerce.identity.domain.user import User
from commerce.identity.domain.values import EmailAddress
from commerce.platform.eventsourcing.streams import ConcurrencyConflict, StreamId
from commerce.platform.kit.ids import InvoiceId, ItemId, TenantId, UserId

__all__ = [
    "FakeDirectory",
    "FakeInvoices",
    "FakeItems",
    "FakeUsers",
    "RowLocks",
    "Tables",
    "Transaction",
]


class RowLocks:
    """Rows written by open transactions, shared by every copy of the fake database."""

    def __init__(self) -> None:
        self.holders: dict[tuple[str, object], object] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    def take(
        self, row: tuple[str, object], owner: object, conflict: Callable[[], Exception]
    ) -> None:
        """Lock ``row`` for ``owner``; raise ``conflict()`` if another transaction holds it."""
        if self.holders.setdefault(row, owner) is not owner:
            raise conflict()

    def release(self, owner: object) -> None:
        """Free every row ``owner`` locked."""
        for row in [r for r, o in self.holders.items() if o is owner]:
            del self.holders[row]


@dataclass
class Tables:
    """The fake database's state tables (committed, or a transaction's working copy)."""

    users: dict[UserId, User] = field(default_factory=dict)
    items: dict[ItemId, Item] = field(default_factory=dict)
    invoices: dict[InvoiceId, Invoice] = field(default_factory=dict)
    directory: dict[tuple[TenantId, UserId], DirectoryEntry] = field(default_factory=dict)


@dataclass
class Transaction:
    """What a repository works with: the working tables, the committed ones, its writes."""

    working: Tables
    committed: Tables
    tenant: TenantId
    locks: RowLocks
    written: set[tuple[str, object]] = field(default_factory=set)

    def write(self, table: str, key: object, value: object) -> None:
        """Store ``value`` in the working copy and remember to commit it."""
        getattr(self.working, table)[key] = copy.deepcopy(value)
        self.written.add((table, key))

    def check_version(self, table: str, key: Any, stream: StreamId, expected: int) -> None:
        """Lock the row and check it is still at ``expected`` (committed or written by us)."""
        conflict = lambda: ConcurrencyConflict(stream, expected, "the row is locked")  # noqa: E731
        self.locks.take((table, key), self, conflict)
        source = self.working if (table, key) in self.written else self.committed
        row = getattr(source, table).get(key)
        if row is None or row.version != expected:
            version = None if row is None else row.version
            raise ConcurrencyConflict(stream, expected, f"the row is at version {version}")


class FakeUsers:
    """:class:`commerce.platform.transactions.ports.UserRepository` in memory."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _visible(self) -> list[User]:
        return [u for u in self._tx.working.users.values() if u.tenant_id == self._tx.tenant]

    async def get(self, user_id: UserId) -> User | None:
        return copy.deepcopy(next((u for u in self._visible() if u.id == user_id), None))

    async def email_taken(self, email: EmailAddress) -> bool:
        return any(u.email == email for u in self._visible())

    async def add(self, user: User) -> None:
        if user.tenant_id != self._tx.tenant:
            raise PermissionError("row-level security: wrong tenant")
        if user.id in self._tx.working.users:
            raise UserAlreadyExists(f"user {user.id} already exists")
        if await self.email_taken(user.email):
            raise EmailAlreadyRegistered(f"{user.email} is already registered")
        self._tx.write("users", user.id, _saved(user))

    async def update(self, user: User, *, expected_version: int) -> None:
        stream = StreamId("commerce.identity.User", user.id.value)
        self._tx.check_version("users", user.id, stream, expected_version)
        self._tx.write("users", user.id, _saved(user))


class FakeItems:
    """:class:`commerce.platform.transactions.ports.ItemRepository` in memory."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, item_id: ItemId) -> Item | None:
        item = self._tx.working.items.get(item_id)
        return copy.deepcopy(item) if item and item.tenant_id == self._tx.tenant else None

    async def add(self, item: Item) -> None:
        if item.tenant_id != self._tx.tenant:
            raise PermissionError("row-level security: wrong tenant")
        if item.id in self._tx.working.items:
            raise ItemAlreadyExists(f"item {item.id} already exists")
        self._tx.write("items", item.id, _saved(item))

    async def update(self, item: Item, *, expected_version: int) -> None:
        stream = StreamId("commerce.catalog.Item", item.id.value)
        self._tx.check_version("items", item.id, stream, expected_version)
        self._tx.write("items", item.id, _saved(item))


class FakeInvoices:
    """:class:`commerce.platform.transactions.ports.InvoiceRepository` in memory."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, invoice_id: InvoiceId) -> Invoice | None:
        invoice = self._tx.working.invoices.get(invoice_id)
        return copy.deepcopy(invoice) if invoice and invoice.tenant_id == self._tx.tenant else None

    async def add(self, invoice: Invoice) -> None:
        if invoice.tenant_id != self._tx.tenant:
            raise PermissionError("row-level security: wrong tenant")
        taken = any(
            i.id == invoice.id or i.order_id == invoice.order_id
            for i in self._tx.working.invoices.values()
        )
        if taken:
            stream = StreamId("commerce.billing.Invoice", invoice.id.value)
            raise ConcurrencyConflict(stream, 0, "the invoice exists already")
        self._tx.write("invoices", invoice.id, _saved(invoice))

    async def update(self, invoice: Invoice, *, expected_version: int) -> None:
        stream = StreamId("commerce.billing.Invoice", invoice.id.value)
        self._tx.check_version("invoices", invoice.id, stream, expected_version)
        self._tx.write("invoices", invoice.id, _saved(invoice))


class FakeDirectory:
    """:class:`commerce.platform.transactions.ports.UserDirectory` in memory."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def record(self, entry: DirectoryEntry) -> bool:
        key = (self._tx.tenant, entry.user_id)
        current = self._tx.working.directory.get(key)
        if current is not None and current.version >= entry.version:
            return False
        self._tx.write("directory", key, entry)
        return True

    async def change(self, change: DirectoryChange) -> bool:
        key = (self._tx.tenant, change.user_id)
        current = self._tx.working.directory.get(key)
        if current is None or current.version >= change.version:
            return False
        roles = current.roles
        if change.added_role is not None and change.added_role.value not in roles:
            roles = (*roles, change.added_role.value)
        updated = DirectoryEntry(
            user_id=current.user_id,
            email=current.email,
            display_name=change.display_name or current.display_name,
            version=change.version,
            registered_at=current.registered_at,
            status=change.status or current.status,
            roles=roles,
        )
        self._tx.write("directory", key, updated)
        return True


def _saved[A: (User, Item, Invoice)](aggregate: A) -> A:
    """The aggregate as a row stores it: state only, no pending events."""
    row = copy.deepcopy(aggregate)
    row.pending_events = []
    return row
