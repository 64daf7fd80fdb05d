"""Seeding the rebuild sources (event store, state tables) and checking read models."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.orders.application.use_cases import ORDER_CODEC, ORDER_STREAM
from commerce.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
)
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import ItemId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import events as event_rows

__all__ = ["append_orders", "order_history", "rows_of", "shuffled_days"]


def order_history(
    tenant: TenantId,
    order_id: UUID,
    customer_id: UUID,
    *,
    at: datetime,
    lines: int = 2,
    removed: int = 0,
    ending: str = "confirmed",
    first_version: int = 1,
) -> list[DomainEvent]:
    """An order's events: placed, ``lines`` lines (line ``n`` is 2 x ``100 * (n + 1)``),
    the first ``removed`` of them removed again, then confirmed / cancelled / shipped."""
    order, version = OrderId(order_id), first_version

    def header() -> dict[str, Any]:
        nonlocal version, at
        values = {"tenant_id": tenant, "aggregate_id": str(order_id), "version": version}
        values["occurred_at"] = at
        version += 1
        at += timedelta(seconds=1)
        return values

    history: list[DomainEvent] = [
        OrderPlaced(**header(), order_id=order, customer_id=UserId(customer_id), currency="EUR")
    ]
    added: list[OrderLineAdded] = []
    for n in range(lines):
        price = Money(100 * (n + 1), "EUR")
        added.append(
            OrderLineAdded(
                **header(),
                order_id=order,
                item_id=ItemId(uuid4()),
                quantity=2,
                unit_price=price,
                item_name=f"item {n}",
            )
        )
    history.extend(added)
    for line in added[:removed]:
        history.append(OrderLineRemoved(**header(), order_id=order, item_id=line.item_id))
    total = sum(2 * line.unit_price.amount for line in added[removed:])
    if ending in ("confirmed", "cancelled", "shipped"):
        history.append(
            OrderConfirmed(
                **header(),
                order_id=order,
                customer_id=UserId(customer_id),
                total=Money(total, "EUR"),
            )
        )
    if ending == "cancelled":
        history.append(
            OrderCancelled(
                **header(), order_id=order, previous_status=OrderStatus.CONFIRMED, reason="test"
            )
        )
    if ending == "shipped":
        history.append(OrderShipped(**header(), order_id=order))
    return history


async def append_orders(
    engine: AsyncEngine, tenant: TenantId, histories: list[list[DomainEvent]]
) -> int:
    """Insert the events of ``histories`` into the event store in one transaction (fast path
    for seeding: the rows the store would write); returns how many."""
    rows = [
        {
            "tenant_id": tenant.value,
            "stream_type": ORDER_STREAM,
            "stream_id": UUID(event.aggregate_id),
            "version": event.version,
            "event_type": event.event_type,
            "payload": ORDER_CODEC.encode(event).payload,
            "metadata": {"event_id": str(uuid4())},
        }
        for history in histories
        for event in history
    ]
    async with tenant_transaction(engine, tenant.value) as connection:
        await connection.execute(insert(event_rows), rows)
    return len(rows)


async def rows_of(
    engine: AsyncEngine, tenant: TenantId, table: str, order_by: str
) -> list[dict[str, object]]:
    """Every row of ``table`` the app role sees in ``tenant`` (row-level security)."""
    async with tenant_transaction(engine, tenant.value) as connection:
        result = await connection.execute(text(f"SELECT * FROM {table} ORDER BY {order_by}"))
        return [dict(row._mapping) for row in result]


def shuffled_days(count: int, seed: int = 7) -> list[datetime]:
    """``count`` instants spread over a week (UTC), reproducibly."""
    generator = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [start + timedelta(minutes=generator.randrange(7 * 24 * 60)) for _ in range(count)]
