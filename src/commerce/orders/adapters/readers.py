"""Reading the orders read models: order summaries (filtered, paged) and daily revenue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.orders.application.filters import OrderStatusIs, PlacedSince
from commerce.orders.application.read_models import DailyRevenue, OrderLine, OrderSummary
from commerce.platform.kit.specification import Specification
from commerce.platform.postgres.specification_sql import LeafTranslations, where_clause
from commerce.platform.postgres.tables import (
    order_summaries,
    revenue_daily,
)

__all__ = ["SqlOrderSummaryReader", "SqlRevenueReader", "order_lines_of", "order_summary_of"]


def order_lines_of(lines: list[dict[str, Any]]) -> tuple[OrderLine, ...]:
    """The ``lines`` JSON of an order summary row."""
    return tuple(
        OrderLine(UUID(line["item_id"]), int(line["quantity"]), int(line["subtotal"]))
        for line in lines
    )


def order_summary_of(row: Row[Any] | Mapping[str, Any]) -> OrderSummary:
    """An ``order_summaries`` row as a summary."""
    values = row._mapping if isinstance(row, Row) else row
    return OrderSummary(
        order_id=values["order_id"],
        customer_id=values["customer_id"],
        status=values["status"],
        currency=values["currency"],
        lines=order_lines_of(values["lines"]),
        total=values["total"],
        placed_at=values["placed_at"],
        updated_at=values["updated_at"],
        version=values["version"],
    )


_SUMMARY_FILTERS: LeafTranslations = {
    OrderStatusIs: lambda spec: order_summaries.c.status.in_(sorted(spec.statuses)),
    PlacedSince: lambda spec: order_summaries.c.placed_at >= spec.moment,
}
"""The SQL of each order-summary filter (``order_summaries`` columns are ``NOT NULL``)."""


class SqlOrderSummaryReader:
    """:class:`~commerce.orders.application.read_models.OrderSummaryReader` on
    ``order_summaries``; filters are specifications translated to SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, order_id: UUID) -> OrderSummary | None:
        query = select(order_summaries).where(order_summaries.c.order_id == order_id)
        row = (await self._connection.execute(query)).first()
        return order_summary_of(row) if row is not None else None

    async def of_customer(
        self,
        customer_id: UUID,
        *,
        before: tuple[datetime, UUID] | None,
        limit: int,
        where: Specification[OrderSummary],
    ) -> list[OrderSummary]:
        table = order_summaries
        query = (
            select(table)
            .where(table.c.customer_id == customer_id, where_clause(where, _SUMMARY_FILTERS))
            .order_by(table.c.placed_at.desc(), table.c.order_id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(tuple_(table.c.placed_at, table.c.order_id) < tuple_(*before))
        return [order_summary_of(row) for row in await self._connection.execute(query)]


class SqlRevenueReader:
    """:class:`~commerce.orders.application.read_models.RevenueReader` on ``revenue_daily``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def days(self, first: date, last: date) -> list[DailyRevenue]:
        table = revenue_daily
        query = (
            select(table.c.day, table.c.currency, table.c.amount, table.c.orders)
            .where(table.c.day.between(first, last), or_(table.c.orders > 0, table.c.amount != 0))
            .order_by(table.c.day, table.c.currency)
        )
        return [
            DailyRevenue(row.day, row.currency, row.amount, row.orders)
            for row in await self._connection.execute(query)
        ]
