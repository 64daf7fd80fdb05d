"""How each query is answered: what it asks for, the read-model rows it reads, the cache
tags it carries, and the mappers from read-side views to wire payloads.

An answer first reads the query's arguments (:attr:`Answer.arguments`): a query can be
valid JSON and still ask for something this service cannot answer, such as a page cursor
it never handed out; that is an expected outcome, an :class:`~commerce.platform.kit.result.Err`
the query server turns into ``QueryFailed``, and nothing is read or cached. An answer is
cached under the query's type, the tenant and the query's canonical JSON, and tagged with
the rows it was built from (``commerce.platform.read_side.ports`` names them), so a
projection that changes one of those rows drops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from commerce.catalog.messages.queries import (
    AvailabilityEntry,
    GetItemAvailabilityV1,
    ItemAvailabilityV1,
)
from commerce.identity.messages.queries import (
    DirectoryUser,
    GetUserV1,
    ListUsersV1,
    UserDetailsV1,
    UserPageV1,
)
from commerce.orders.application.filters import customer_orders_filter
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
from commerce.platform.messaging.queries import Query
from commerce.platform.read_side.answers import Answer, InvalidQuery, answers_by_query, plain_answer
from commerce.platform.read_side.ports import (
    ITEM_AVAILABILITY,
    ORDER_SUMMARIES,
    REVENUE,
    USER_DIRECTORY,
    DailyRevenue,
    DirectoryRecord,
    ItemAvailability,
    OrderSummary,
    ReadModels,
)

__all__ = ["ANSWERS", "availability_entry", "directory_user", "order_summary_entry", "revenue_day"]


def directory_user(record: DirectoryRecord) -> DirectoryUser:
    """The wire form of a directory record."""
    return DirectoryUser.model_validate(
        {
            "user_id": record.user_id,
            "email": record.email,
            "display_name": record.display_name,
            "status": record.status,
            "roles": list(record.roles),
            "registered_at": record.registered_at,
            "version": record.version,
        }
    )


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


def availability_entry(item: ItemAvailability) -> AvailabilityEntry:
    """The wire form of an item's availability."""
    return AvailabilityEntry.model_validate(
        {
            "item_id": item.item_id,
            "name": item.name,
            "status": item.status,
            "stock": item.stock,
            "available": item.available,
            "price": {"amount": item.price, "currency": item.currency},
            "updated_at": item.updated_at,
            "version": item.version,
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


async def _get_user(models: ReadModels, query: GetUserV1) -> UserDetailsV1:
    record = await models.users.get(query.user_id)
    return UserDetailsV1(user=directory_user(record) if record else None)


async def _list_users(models: ReadModels, query: ListUsersV1) -> UserPageV1:
    records = await models.users.page(after=query.after, limit=query.limit + 1)
    page = records[: query.limit]
    more = len(records) > query.limit
    return UserPageV1(
        users=[directory_user(r) for r in page], next_after=page[-1].user_id if more else None
    )


async def _get_order(models: ReadModels, query: GetOrderSummaryV1) -> OrderSummaryV1:
    summary = await models.orders.get(query.order_id)
    return OrderSummaryV1(order=order_summary_entry(summary) if summary else None)


async def _customer_orders(models: ReadModels, asked: _CustomerOrders) -> CustomerOrdersV1:
    summaries = await models.orders.of_customer(
        asked.customer_id, before=asked.before, limit=asked.limit + 1, where=asked.where
    )
    page = summaries[: asked.limit]
    more = len(summaries) > asked.limit
    return CustomerOrdersV1(
        orders=[order_summary_entry(s) for s in page],
        next_cursor=_cursor(page[-1]) if more else None,
    )


async def _daily_revenue(models: ReadModels, query: GetDailyRevenueV1) -> DailyRevenueV1:
    days = await models.revenue.days(query.first_day, query.last_day)
    return DailyRevenueV1(days=[revenue_day(day) for day in days])


async def _item(models: ReadModels, query: GetItemAvailabilityV1) -> ItemAvailabilityV1:
    item = await models.items.get(query.item_id)
    return ItemAvailabilityV1(item=availability_entry(item) if item else None)


ANSWERS: dict[type[Query], Answer[Query, Any, Any]] = answers_by_query(
    plain_answer(
        GetUserV1,
        lambda t, q: [USER_DIRECTORY.everything(), USER_DIRECTORY.row(t, q.user_id)],
        _get_user,
    ),
    plain_answer(
        ListUsersV1,
        lambda t, q: [USER_DIRECTORY.everything(), USER_DIRECTORY.tenant(t)],
        _list_users,
    ),
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
    plain_answer(
        GetItemAvailabilityV1,
        lambda t, q: [ITEM_AVAILABILITY.everything(), ITEM_AVAILABILITY.row(t, q.item_id)],
        _item,
    ),
)
"""Every query's answer, by query type."""
