"""How each query is answered: the read-model rows it reads, the cache tags it carries,
and the mappers between read-side views and wire payloads (both ways).

An answer is cached under the query's type, the tenant and the query's canonical JSON, and
tagged with the rows it was built from (``commerce.application.read_side`` names them), so a
projection that changes one of those rows drops it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from commerce.application.read_side import (
    ITEM_AVAILABILITY,
    ORDER_SUMMARIES,
    REVENUE,
    USER_DIRECTORY,
    DailyRevenue,
    DirectoryRecord,
    ItemAvailability,
    OrderLine,
    OrderSummary,
    ReadModels,
)
from commerce.domain.values import TenantId
from commerce.messages.money import MoneyPayload
from commerce.messages.queries import Query, QueryReply
from commerce.messages.queries_catalog import (
    AvailabilityEntry,
    GetItemAvailabilityV1,
    ItemAvailabilityV1,
)
from commerce.messages.queries_identity import (
    DirectoryUser,
    GetUserV1,
    ListUsersV1,
    UserDetailsV1,
    UserPageV1,
)
from commerce.messages.queries_orders import (
    CustomerOrdersV1,
    DailyRevenueV1,
    GetDailyRevenueV1,
    GetOrderSummaryV1,
    ListCustomerOrdersV1,
    OrderLineEntry,
    OrderSummaryEntry,
    OrderSummaryV1,
    RevenueDay,
)

__all__ = [
    "ANSWERS",
    "Answer",
    "InvalidCursor",
    "availability_entry",
    "availability_view",
    "directory_record",
    "directory_user",
    "order_summary_entry",
    "order_summary_view",
    "revenue_day",
    "revenue_view",
]


class InvalidCursor(ValueError):
    """A paging cursor that this service did not hand out."""


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


def directory_record(user: DirectoryUser) -> DirectoryRecord:
    """The read-side record of a wire directory user."""
    return DirectoryRecord(
        user_id=user.user_id,
        email=user.email,
        display_name=user.display_name,
        status=user.status,
        roles=tuple(role.value for role in user.roles),
        registered_at=user.registered_at,
        version=user.version,
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


def order_summary_view(entry: OrderSummaryEntry) -> OrderSummary:
    """The read-side summary of a wire entry."""
    return OrderSummary(
        order_id=entry.order_id,
        customer_id=entry.customer_id,
        status=entry.status.value,
        currency=entry.total.currency,
        lines=tuple(_line_view(line) for line in entry.lines),
        total=entry.total.amount,
        placed_at=entry.placed_at,
        updated_at=entry.updated_at,
        version=entry.version,
    )


def _line_view(line: OrderLineEntry) -> OrderLine:
    return OrderLine(line.item_id, line.quantity, line.subtotal.amount)


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


def availability_view(entry: AvailabilityEntry) -> ItemAvailability:
    """The read-side record of a wire availability entry."""
    return ItemAvailability(
        item_id=entry.item_id,
        name=entry.name,
        status=entry.status.value,
        stock=entry.stock,
        price=entry.price.amount,
        currency=entry.price.currency,
        updated_at=entry.updated_at,
        version=entry.version,
    )


def revenue_day(revenue: DailyRevenue) -> RevenueDay:
    """The wire form of one day's revenue."""
    money = MoneyPayload(amount=revenue.amount, currency=revenue.currency)
    return RevenueDay(day=revenue.day, revenue=money, orders=revenue.orders)


def revenue_view(day: RevenueDay) -> DailyRevenue:
    """The read-side record of one wire revenue day."""
    return DailyRevenue(day.day, day.revenue.currency, day.revenue.amount, day.orders)


def _cursor(summary: OrderSummary) -> str:
    return f"{summary.placed_at.isoformat()}|{summary.order_id}"


def _parse_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    placed, _, order = cursor.partition("|")
    try:
        moment, order_id = datetime.fromisoformat(placed), UUID(order)
    except ValueError:
        raise InvalidCursor(f"not a cursor of this service: {cursor[:100]!r}") from None
    if moment.tzinfo is None:
        raise InvalidCursor(f"not a cursor of this service: {cursor[:100]!r}")
    return moment, order_id


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


async def _customer_orders(models: ReadModels, query: ListCustomerOrdersV1) -> CustomerOrdersV1:
    summaries = await models.orders.of_customer(
        query.customer_id, before=_parse_cursor(query.cursor), limit=query.limit + 1
    )
    page = summaries[: query.limit]
    more = len(summaries) > query.limit
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


@dataclass(frozen=True, slots=True)
class Answer[Q: Query]:
    """How one query type is answered and which read-model rows its answer depends on."""

    query: type[Q]
    tags: Callable[[TenantId, Q], list[str]]
    answer: Callable[[ReadModels, Q], Awaitable[QueryReply]]


def _answers(*answers: Answer[Any]) -> dict[type[Query], Answer[Query]]:
    return {answer.query: cast("Answer[Query]", answer) for answer in answers}


ANSWERS: dict[type[Query], Answer[Query]] = _answers(
    Answer(
        GetUserV1,
        lambda t, q: [USER_DIRECTORY.everything(), USER_DIRECTORY.row(t, q.user_id)],
        _get_user,
    ),
    Answer(
        ListUsersV1,
        lambda t, q: [USER_DIRECTORY.everything(), USER_DIRECTORY.tenant(t)],
        _list_users,
    ),
    Answer(
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
        _customer_orders,
    ),
    Answer(
        GetDailyRevenueV1, lambda t, q: [REVENUE.everything(), REVENUE.tenant(t)], _daily_revenue
    ),
    Answer(
        GetItemAvailabilityV1,
        lambda t, q: [ITEM_AVAILABILITY.everything(), ITEM_AVAILABILITY.row(t, q.item_id)],
        _item,
    ),
)
"""Every query's answer, by query type."""
