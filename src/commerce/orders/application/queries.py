"""How the orders context answers its queries: order summaries and daily revenue on the
wire, a customer's orders page by page.

An answer first reads the query's arguments: a ``ListCustomerOrders`` can be valid JSON and
still carry a page cursor this service never handed out; that is an expected refusal, and
nothing is read or cached. Each answer carries the cache tags of the rows it was built
from, so the projection that changes one of them drops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from commerce.orders.application.filters import customer_orders_filter
from commerce.orders.application.read_models import (
    ORDER_SUMMARIES,
    REVENUE,
    DailyRevenue,
    OrderSummary,
    OrderSummaryReader,
    RevenueReader,
)
from commerce.orders.messages.queries import (
    CustomerOrdersV1,
    DailyRevenueV1,
    GetDailyRevenueV1,
    GetOrderSummaryV1,
    ListCustomerOrdersV1,
    OrderSummaryEntry,
    OrderSummaryV1,
    RevenueDay,
)
from commerce.platform.kit.result import Err, Ok, Result
from commerce.platform.kit.specification import Specification
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.read_side.answers import Answer, InvalidQuery, plain_answer

__all__ = ["ORDERS_ANSWERS", "OrdersReadModels", "order_summary_entry", "revenue_day"]


class OrdersReadModels(Protocol):
    """The orders context's read models in one read-only session."""

    @property
    def orders(self) -> OrderSummaryReader: ...

    @property
    def revenue(self) -> RevenueReader: ...


def order_summary_entry(summary: OrderSummary) -> OrderSummaryEntry:
    """The wire form of an order summary (amounts in the order's currency)."""
    money = summary.currency
    return OrderSummaryEntry.model_validate(
        {
            "order_id": summary.order_id,
            "customer_id": summary.customer_id,
            "status": summary.status,
            "lines": [
                {
                    "item_id": line.item_id,
                    "quantity": line.quantity,
                    "subtotal": {"amount": line.subtotal, "currency": money},
                }
                for line in summary.lines
            ],
            "total": {"amount": summary.total, "currency": money},
            "placed_at": summary.placed_at,
            "updated_at": summary.updated_at,
            "version": summary.version,
        }
    )


def revenue_day(revenue: DailyRevenue) -> RevenueDay:
    """The wire form of one day's revenue."""
    money = MoneyPayload(amount=revenue.amount, currency=revenue.currency)
    return RevenueDay(day=revenue.day, revenue=money, orders=revenue.orders)


def _cursor(summary: OrderSummary) -> str:
    return f"{summary.placed_at.isoformat()}|{summary.order_id}"


def _parse_cursor(cursor: str | None) -> Result[tuple[datetime, UUID] | None, InvalidQuery]:
    if cursor is None:
        return Ok(None)
    placed, _, order = cursor.partition("|")
    refused = Err(InvalidQuery(f"not a cursor of this service: {cursor[:100]!r}"))
    try:
        moment, order_id = datetime.fromisoformat(placed), UUID(order)
    except ValueError:
        return refused
    return refused if moment.tzinfo is None else Ok((moment, order_id))


@dataclass(frozen=True, slots=True)
class _CustomerOrders:
    """What a ``ListCustomerOrders`` query asks for."""

    customer_id: UUID
    where: Specification[OrderSummary]
    before: tuple[datetime, UUID] | None
    limit: int


def _customer_orders_asked(query: ListCustomerOrdersV1) -> Result[_CustomerOrders, InvalidQuery]:
    where = customer_orders_filter(
        statuses=query.statuses,
        placed_since=query.placed_since,
        placed_before=query.placed_before,
    )
    return _parse_cursor(query.cursor).map(
        lambda before: _CustomerOrders(query.customer_id, where, before, query.limit)
    )


async def _get_order(models: OrdersReadModels, query: GetOrderSummaryV1) -> OrderSummaryV1:
    summary = await models.orders.get(query.order_id)
    return OrderSummaryV1(order=order_summary_entry(summary) if summary else None)


async def _customer_orders(models: OrdersReadModels, asked: _CustomerOrders) -> CustomerOrdersV1:
    summaries = await models.orders.of_customer(
        asked.customer_id, before=asked.before, limit=asked.limit + 1, where=asked.where
    )
    page = summaries[: asked.limit]
    more = len(summaries) > asked.limit
    return CustomerOrdersV1(
        orders=[order_summary_entry(s) for s in page],
        next_cursor=_cursor(page[-1]) if more else None,
    )


async def _daily_revenue(models: OrdersReadModels, query: GetDailyRevenueV1) -> DailyRevenueV1:
    days = await models.revenue.days(query.first_day, query.last_day)
    return DailyRevenueV1(days=[revenue_day(day) for day in days])


ORDERS_ANSWERS: tuple[Answer[Any, Any, OrdersReadModels], ...] = (
    plain_answer(
        GetOrderSummaryV1,
        lambda t, q: [ORDER_SUMMARIES.everything(), ORDER_SUMMARIES.row(t, q.order_id)],
        _get_order,
    ),
    Answer(
        ListCustomerOrdersV1,
        lambda t, q: [
            ORDER_SUMMARIES.everything(),
            ORDER_SUMMARIES.group(t, "customer", q.customer_id),
        ],
        _customer_orders_asked,
        _customer_orders,
    ),
    plain_answer(
        GetDailyRevenueV1, lambda t, q: [REVENUE.everything(), REVENUE.tenant(t)], _daily_revenue
    ),
)
"""The answers of the orders context's queries."""
