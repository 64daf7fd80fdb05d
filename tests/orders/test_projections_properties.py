"""Properties of the projections: tolerance of redelivery, stale replays and reordering
across aggregates, and totality of the folds."""

import asyncio
import dataclasses
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table

from commerce.orders.application.read_models import (
    REVENUE,
    OrderSummary,
    RevenueContribution,
    summarize,
)
from commerce.orders.messages.events import order_event_for
from commerce.platform.kit.ids import TenantId
from commerce.platform.read_side.ports import ReadModelTags
from commerce.platform.read_side.projection_kit import Change, Update, apply_updates
from commerce.registry.projections import LIVE
from tests.support.read_models import order_history

pytestmark = pytest.mark.property


class MemoryRows:
    """A projection's rows in memory, behind the real projection's fold and tags."""

    def __init__(self, name: str, tags: ReadModelTags) -> None:
        self.name, self.tags, self.tables = name, tags, ()
        self.rows: dict[tuple[TenantId, UUID], Any] = {}

    async def load(
        self, connection: object, tables: Sequence[Table], tenant: TenantId, keys: list[UUID]
    ) -> dict[UUID, Any]:
        return {k: self.rows[tenant, k] for k in keys if (tenant, k) in self.rows}

    async def save(
        self, connection: object, tables: Sequence[Table], changes: list[Change[Any]]
    ) -> None:
        for change in changes:
            self.rows[change.tenant, change.key] = change.after

    def invalidated(self, change: Change[Any]) -> list[str]:
        return []


def _updates(name: str, tenant: TenantId, histories: list[list[Any]]) -> list[list[Update[Any]]]:
    live = LIVE[name]
    return [
        [
            live.update(published, tenant=tenant, version=event.version, at=event.occurred_at)
            for event in history
            if (published := order_event_for(event)) is not None
        ]
        for history in histories
    ]


def _deliver(streams: list[list[Update[Any]]], seed: int) -> list[Update[Any]]:
    """Interleave the streams at random (each in its own order), with duplicates and stale
    replays of earlier events sprinkled in: what redelivery, DLQ replays and concurrency
    across aggregates can produce."""
    generator = random.Random(seed)
    queues = [list(stream) for stream in streams]
    delivered: list[Update[Any]] = []
    while any(queues):
        queue = generator.choice([q for q in queues if q])
        delivered.append(queue.pop(0))
        if generator.random() < 0.3:
            delivered.append(generator.choice(delivered))  # a redelivery or a stale replay
    return delivered


ENDINGS = st.sampled_from(["placed", "confirmed", "cancelled", "shipped"])


ORDERS = st.tuples(ENDINGS, st.integers(0, 3), st.integers(0, 6), st.integers(0, 3)).map(
    lambda drawn: (drawn[0], drawn[1], drawn[2], min(drawn[3], drawn[1]))
)
"""(ending, lines added, day, lines removed again: at most those added)."""


@settings(max_examples=60, deadline=None)
@given(st.lists(ORDERS, min_size=1, max_size=6), st.integers(0, 2**32))
def test_projections_are_idempotent_and_tolerate_reordering_across_aggregates(
    orders: list[tuple[str, int, int, int]], seed: int
) -> None:
    """Property (projection idempotence): order summaries and revenue end the same whether
    each order's events arrive once in order, or interleaved with other orders', redelivered
    and replayed late; a summary holds exactly the lines added and not removed, and revenue
    per day is the sum of confirmed, uncancelled totals."""
    tenant = TenantId(UUID(int=1))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    histories = [
        order_history(
            tenant,
            UUID(int=100 + n),
            UUID(int=7),
            at=start + timedelta(days=day),
            lines=lines,
            removed=removed,
            ending=ending,
        )
        for n, (ending, lines, day, removed) in enumerate(orders)
    ]

    async def run(name: str, scrambled: bool) -> dict[Any, Any]:
        live = LIVE[name]
        memory = MemoryRows(name, live.projection.tags)
        streams = _updates(name, tenant, histories)
        ordered = [u for s in streams for u in s]
        for update in _deliver(streams, seed) if scrambled else ordered:
            await apply_updates(memory, None, [update])  # type: ignore[arg-type]
        return memory.rows

    for name in ("order-summaries", "revenue"):
        assert asyncio.run(run(name, True)) == asyncio.run(run(name, False))
    summaries = asyncio.run(run("order-summaries", True))
    for (_, order_id), summary in summaries.items():
        ending, lines, _, removed = orders[order_id.int - 100]
        assert summary.status == ending
        kept = range(removed, lines)
        assert [line.subtotal for line in summary.lines] == [2 * 100 * (k + 1) for k in kept]
        assert summary.total == sum(2 * 100 * (k + 1) for k in kept)
    contributions = asyncio.run(run("revenue", True)).values()
    booked = sum(c.amount for c in contributions if isinstance(c, RevenueContribution))
    expected = sum(
        summary.total
        for summary in summaries.values()
        if summary.status in ("confirmed", "shipped")
    )
    assert booked == expected
    assert REVENUE.tenant(tenant) == f"revenue:{tenant}"


def test_summarize_ignores_events_before_a_placement() -> None:
    """Property (fold totality): a fold never invents a summary without its placement."""
    tenant = TenantId(UUID(int=1))
    history = order_history(tenant, UUID(int=2), UUID(int=3), at=datetime(2026, 1, 1, tzinfo=UTC))
    published = order_event_for(history[1])
    assert published is not None
    assert summarize(None, published, version=2, at=history[1].occurred_at) is None
    assert dataclasses.is_dataclass(OrderSummary)
