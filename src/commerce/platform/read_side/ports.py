"""The read side: what query handlers read (views, reader ports) and the cache they go
through, with the tags that tie cached answers to read-model rows.

A projection that changes a row invalidates the row's tags once its transaction has
committed; an answer built from rows carries their tags, so it is dropped with them (see
``docs/adr/0013-projections-and-read-side.md``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.specification import Specification

__all__ = [
    "ITEM_AVAILABILITY",
    "ORDER_SUMMARIES",
    "REVENUE",
    "USER_DIRECTORY",
    "DailyRevenue",
    "DirectoryRecord",
    "ItemAvailability",
    "ItemAvailabilityReader",
    "OrderLine",
    "OrderSummary",
    "OrderSummaryReader",
    "QueryCache",
    "ReadModelTags",
    "ReadModels",
    "ReadSessionFactory",
    "RevenueReader",
    "UserDirectoryReader",
]


@dataclass(frozen=True, slots=True)
class ReadModelTags:
    """Cache tags of one read model: the whole model, a tenant's rows, one row, a group."""

    model: str

    def everything(self) -> str:
        """Every row of every tenant (a rebuild swapped the table)."""
        return self.model

    def tenant(self, tenant: TenantId) -> str:
        """Every row of ``tenant`` (answers listing or aggregating rows)."""
        return f"{self.model}:{tenant}"

    def row(self, tenant: TenantId, key: UUID) -> str:
        """One row of ``tenant``."""
        return f"{self.model}:{tenant}:{key}"

    def group(self, tenant: TenantId, kind: str, key: UUID) -> str:
        """The rows of ``tenant`` sharing ``kind`` = ``key`` (e.g. a customer's orders)."""
        return f"{self.model}:{tenant}:{kind}:{key}"


USER_DIRECTORY = ReadModelTags("user-directory")
"""Tags of the user directory: rows by user; the tenant tag covers list pages."""
ORDER_SUMMARIES = ReadModelTags("order-summaries")
"""Tags of order summaries: rows by order, groups by ``customer``."""
ITEM_AVAILABILITY = ReadModelTags("item-availability")
"""Tags of item availability: rows by item."""
REVENUE = ReadModelTags("revenue")
"""Tags of daily revenue: one tag per tenant (an answer spans many days and orders)."""


class QueryCache(Protocol):
    """A read-through cache of serialised answers (L1 in process, L2 shared)."""

    async def get_or_load(
        self, key: str, tags: Sequence[str], loader: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The cached answer for ``key``, else ``loader()``'s, cached under ``tags``."""
        ...

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Drop every answer carrying one of ``tags``, in every worker."""
        ...


@dataclass(frozen=True, slots=True)
class DirectoryRecord:
    """A user as the user directory holds it."""

    user_id: UUID
    email: str
    display_name: str
    status: str
    roles: tuple[str, ...]
    registered_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order summary: the item, how many, their price together."""

    item_id: UUID
    quantity: int
    subtotal: int
    """Minor units of the order's currency."""


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order as its customer's order list shows it."""

    order_id: UUID
    customer_id: UUID
    status: str
    currency: str
    lines: tuple[OrderLine, ...]
    total: int
    """Minor units: the sum of the lines (the confirmed total once confirmed)."""
    placed_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class ItemAvailability:
    """Whether an item can be ordered, and how many are in stock."""

    item_id: UUID
    name: str
    status: str
    stock: int
    price: int
    currency: str
    updated_at: datetime
    version: int

    @property
    def available(self) -> bool:
        """Active and in stock."""
        return self.status == "active" and self.stock > 0


@dataclass(frozen=True, slots=True)
class DailyRevenue:
    """Revenue booked by confirmed orders on one day (UTC), in one currency."""

    day: date
    currency: str
    amount: int
    """Minor units: confirmed totals, less those of orders cancelled after confirmation."""
    orders: int
    """Confirmed orders counted (cancelled ones no longer count)."""


class UserDirectoryReader(Protocol):
    """The user directory of the session's tenant."""

    async def get(self, user_id: UUID) -> DirectoryRecord | None:
        """The user, or ``None``."""
        ...

    async def page(self, *, after: UUID | None, limit: int) -> list[DirectoryRecord]:
        """Up to ``limit`` users with an id above ``after``, in id order."""
        ...


class OrderSummaryReader(Protocol):
    """Order summaries of the session's tenant."""

    async def get(self, order_id: UUID) -> OrderSummary | None:
        """The order, or ``None``."""
        ...

    async def of_customer(
        self,
        customer_id: UUID,
        *,
        before: tuple[datetime, UUID] | None,
        limit: int,
        where: Specification[OrderSummary],
    ) -> list[OrderSummary]:
        """The customer's orders satisfying ``where`` (e.g.
        :func:`~commerce.orders.application.filters.customer_orders_filter`), newest first,
        placed before ``before`` (time, id)."""
        ...


class ItemAvailabilityReader(Protocol):
    """Item availability of the session's tenant."""

    async def get(self, item_id: UUID) -> ItemAvailability | None:
        """The item, or ``None``."""
        ...


class RevenueReader(Protocol):
    """Daily revenue of the session's tenant."""

    async def days(self, first: date, last: date) -> list[DailyRevenue]:
        """Revenue of each day from ``first`` to ``last`` (inclusive) that has any."""
        ...


class ReadModels(Protocol):
    """The read models of one tenant, in one read-only transaction."""

    @property
    def users(self) -> UserDirectoryReader: ...

    @property
    def orders(self) -> OrderSummaryReader: ...

    @property
    def items(self) -> ItemAvailabilityReader: ...

    @property
    def revenue(self) -> RevenueReader: ...


class ReadSessionFactory(Protocol):
    """Opens a read-only session on the read models of ``tenant`` (row-level security)."""

    def __call__(self, tenant: TenantId) -> AbstractAsyncContextManager[ReadModels]: ...
