"""Projections of order events: order summaries per customer, and revenue per day.

The folds (:mod:`commerce.orders.application.read_models`) are pure functions of (row,
integration event); the live consumer feeds them the events of ``commerce.orders.order``,
a rebuild the same events re-derived from the event store (``order_event_for`` of each
stored domain event). This module keeps their rows in Postgres.

Revenue is booked on the day (UTC) an order is confirmed, in its currency; a confirmed
order cancelled later no longer counts. Each order's *contribution* is a row of its own
(version-guarded like any row), and ``revenue_daily`` is changed by the difference between
the contribution before and after, in the same transaction: redelivered and replayed
events change nothing, and orders may be applied in any order (sums commute).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.orders.adapters.readers import order_summary_of
from commerce.orders.application.read_models import (
    ORDER_SUMMARIES,
    REVENUE,
    OrderSummary,
    RevenueContribution,
)
from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.tables import order_summaries, revenue_contributions, revenue_daily
from commerce.platform.read_side.projection_kit import Change, locked_rows, upsert_newer

__all__ = ["ORDER_SUMMARY_PROJECTION", "REVENUE_PROJECTION"]


class _OrderSummaries:
    name = "order-summaries"
    tables: tuple[Table, ...] = (order_summaries,)
    tags = ORDER_SUMMARIES

    async def load(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        tenant: TenantId,
        keys: list[UUID],
    ) -> dict[UUID, OrderSummary]:
        rows = await locked_rows(connection, tables[0], "order_id", tenant, keys)
        return {row.order_id: order_summary_of(row) for row in rows}

    async def save(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        changes: list[Change[OrderSummary]],
    ) -> None:
        (table,) = tables
        rows = [
            {
                "tenant_id": change.tenant.value,
                "order_id": s.order_id,
                "customer_id": s.customer_id,
                "status": s.status,
                "currency": s.currency,
                "lines": [
                    {
                        "item_id": str(line.item_id),
                        "quantity": line.quantity,
                        "subtotal": line.subtotal,
                    }
                    for line in s.lines
                ],
                "total": s.total,
                "placed_at": s.placed_at,
                "updated_at": s.updated_at,
                "version": s.version,
            }
            for change in changes
            for s in (change.after,)
        ]
        updated = ("status", "lines", "total", "updated_at", "version")
        await upsert_newer(connection, table, "order_id", rows, updated)

    def invalidated(self, change: Change[OrderSummary]) -> list[str]:
        customer = change.after.customer_id
        return [
            self.tags.row(change.tenant, change.key),
            self.tags.group(change.tenant, "customer", customer),
        ]


class _Revenue:
    name = "revenue"
    tables: tuple[Table, ...] = (revenue_contributions, revenue_daily)
    tags = REVENUE

    async def load(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        tenant: TenantId,
        keys: list[UUID],
    ) -> dict[UUID, RevenueContribution]:
        rows = await locked_rows(connection, tables[0], "order_id", tenant, keys)
        return {
            row.order_id: RevenueContribution(
                row.order_id, row.day, row.currency, row.amount, row.version
            )
            for row in rows
        }

    async def save(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        changes: list[Change[RevenueContribution]],
    ) -> None:
        contributions, daily = tables
        tenant = changes[0].tenant.value
        statement = insert(contributions)
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[contributions.c.tenant_id, contributions.c.order_id],
                set_={n: statement.excluded[n] for n in ("day", "currency", "amount", "version")},
            ),
            [
                {
                    "tenant_id": tenant,
                    "order_id": c.after.order_id,
                    "day": c.after.day,
                    "currency": c.after.currency,
                    "amount": c.after.amount,
                    "version": c.after.version,
                }
                for c in changes
            ],
        )
        deltas: dict[tuple[date, str], list[int]] = {}
        for change in changes:
            for side, sign in ((change.before, -1), (change.after, 1)):
                if side is None or not side.counted or side.day is None or side.currency is None:
                    continue
                delta = deltas.setdefault((side.day, side.currency), [0, 0])
                delta[0] += sign * side.amount
                delta[1] += sign
        rows = [
            {"tenant_id": tenant, "day": day, "currency": currency, "amount": a, "orders": n}
            for (day, currency), (a, n) in sorted(deltas.items())
            if a or n
        ]
        if rows:
            upsert = insert(daily)
            await connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=[daily.c.tenant_id, daily.c.day, daily.c.currency],
                    set_={
                        "amount": daily.c.amount + upsert.excluded.amount,
                        "orders": daily.c.orders + upsert.excluded.orders,
                    },
                ),
                rows,
            )

    def invalidated(self, change: Change[RevenueContribution]) -> list[str]:
        return [self.tags.tenant(change.tenant)]


ORDER_SUMMARY_PROJECTION = _OrderSummaries()
"""Order summaries (``order_summaries``), one row per order."""
REVENUE_PROJECTION = _Revenue()
"""Revenue per day (``revenue_contributions`` and ``revenue_daily``)."""
