"""The orders context's read models: order summaries per customer and revenue per day.

Their rows as the read side sees them, their readers, their cache tags and their folds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Protocol
from uuid import UUID

from commerce.orders.messages.events import (
    OrderCancelledV1,
    OrderConfirmedV1,
    OrderLineAddedV1,
    OrderLineRemovedV1,
    OrderPlacedV1,
    OrderShippedV1,
)
from commerce.platform.kit.specification import Specification
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.read_side.ports import ReadModelTags

__all__ = [
    "ORDER_SUMMARIES",
    "REVENUE",
    "DailyRevenue",
    "OrderLine",
    "OrderSummary",
    "OrderSummaryReader",
    "RevenueContribution",
    "RevenueReader",
    "contribute",
    "summarize",
]


ORDER_SUMMARIES = ReadModelTags("order-summaries")
"""Tags of order summaries: rows by order, groups by ``customer``."""


REVENUE = ReadModelTags("revenue")
"""Tags of daily revenue: one tag per tenant (an answer spans many days and orders)."""


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
class DailyRevenue:
    """Revenue booked by confirmed orders on one day (UTC), in one currency."""

    day: date
    currency: str
    amount: int
    """Minor units: confirmed totals, less those of orders cancelled after confirmation."""
    orders: int
    """Confirmed orders counted (cancelled ones no longer count)."""


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


class RevenueReader(Protocol):
    """Daily revenue of the session's tenant."""

    async def days(self, first: date, last: date) -> list[DailyRevenue]:
        """Revenue of each day from ``first`` to ``last`` (inclusive) that has any."""
        ...


def _with_lines(summary: OrderSummary, lines: tuple[OrderLine, ...]) -> OrderSummary:
    return replace(summary, lines=lines, total=sum(line.subtotal for line in lines))


def summarize(
    summary: OrderSummary | None, event: IntegrationEvent, *, version: int, at: datetime
) -> OrderSummary | None:
    """The order's summary after ``event`` (version ``version``, at ``at``); ``None``:
    nothing to show (no placement seen) or not an order event."""
    if isinstance(event, OrderPlacedV1):
        return OrderSummary(
            order_id=event.order_id,
            customer_id=event.customer_id,
            status="placed",
            currency=event.currency,
            lines=(),
            total=0,
            placed_at=event.placed_at,
            updated_at=at,
            version=version,
        )
    if summary is None:
        return None
    moved = replace(summary, updated_at=at, version=version)
    result: OrderSummary | None = None
    match event:
        case OrderLineAddedV1():
            kept = tuple(line for line in summary.lines if line.item_id != event.item_id)
            added = OrderLine(event.item_id, event.quantity, event.subtotal.amount)
            result = _with_lines(moved, (*kept, added))
        case OrderLineRemovedV1():
            kept = tuple(line for line in summary.lines if line.item_id != event.item_id)
            result = _with_lines(moved, kept)
        case OrderConfirmedV1():
            result = replace(moved, status="confirmed", total=event.total.amount)
        case OrderCancelledV1():
            result = replace(moved, status="cancelled")
        case OrderShippedV1():
            result = replace(moved, status="shipped")
    return result


@dataclass(frozen=True, slots=True)
class RevenueContribution:
    """What one order adds to its confirmation day's revenue (0 once cancelled)."""

    order_id: UUID
    day: date | None
    currency: str | None
    amount: int
    version: int

    @property
    def counted(self) -> bool:
        """Whether the order counts towards its day (confirmed, not cancelled)."""
        return self.amount != 0 and self.day is not None and self.currency is not None


def contribute(
    contribution: RevenueContribution | None, event: IntegrationEvent, *, version: int
) -> RevenueContribution | None:
    """The order's contribution after ``event``; ``None``: the event changes nothing."""
    match event:
        case OrderConfirmedV1():
            day = event.confirmed_at.astimezone(UTC).date()
            return RevenueContribution(
                event.order_id, day, event.total.currency, event.total.amount, version
            )
        case OrderCancelledV1() if contribution is not None:
            return replace(contribution, amount=0, version=version)
        case OrderCancelledV1() if event.previous_status == "confirmed":
            return RevenueContribution(event.order_id, None, None, 0, version)
    return None
