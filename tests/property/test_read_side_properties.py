"""Properties of the read side: wire round trips of every query and reply, the mappers
between read-model views and wire payloads, and the projections' tolerance of redelivery,
stale replays and reordering across aggregates."""

import asyncio
import dataclasses
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table

from commerce.adapters.projection_kit import Change, Update, apply_updates
from commerce.adapters.projections import LIVE
from commerce.adapters.projections_orders import RevenueContribution, summarize
from commerce.adapters.query_answers import (
    availability_entry,
    availability_view,
    directory_record,
    directory_user,
    order_summary_entry,
    order_summary_view,
    revenue_day,
    revenue_view,
)
from commerce.application.read_side import (
    REVENUE,
    DailyRevenue,
    DirectoryRecord,
    ItemAvailability,
    OrderLine,
    OrderSummary,
    ReadModelTags,
)
from commerce.domain.values import TenantId
from commerce.messages.events_orders import order_event_for
from commerce.messages.queries import Query, QueryFailedV1, QueryReply
from commerce.messages.queries_catalog import GetItemAvailabilityV1, ItemAvailabilityV1
from commerce.messages.queries_identity import GetUserV1, ListUsersV1, UserDetailsV1, UserPageV1
from commerce.messages.queries_orders import (
    MAX_REVENUE_DAYS,
    CustomerOrdersV1,
    DailyRevenueV1,
    GetDailyRevenueV1,
    GetOrderSummaryV1,
    ListCustomerOrdersV1,
    OrderSummaryV1,
)
from commerce.messages.query_catalogue import QUERY_ROUTES
from tests.support.read_models import order_history

pytestmark = pytest.mark.property

MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1))
TEXT = st.text(min_size=1, max_size=40)
CURRENCY = st.sampled_from(["EUR", "USD", "JPY"])
AMOUNT = st.integers(0, 10**12)
VERSION = st.integers(1, 10_000)

RECORDS = st.builds(
    DirectoryRecord,
    user_id=st.uuids(),
    email=st.emails().map(str.lower),
    display_name=TEXT,
    status=st.sampled_from(["active", "deactivated"]),
    roles=st.lists(st.sampled_from(["customer", "staff", "admin"]), unique=True).map(tuple),
    registered_at=MOMENTS,
    version=VERSION,
)
SUMMARIES = st.builds(
    OrderSummary,
    order_id=st.uuids(),
    customer_id=st.uuids(),
    status=st.sampled_from(["placed", "confirmed", "shipped", "cancelled"]),
    currency=CURRENCY,
    lines=st.lists(st.builds(OrderLine, st.uuids(), st.integers(1, 1000), AMOUNT), max_size=5).map(
        tuple
    ),
    total=AMOUNT,
    placed_at=MOMENTS,
    updated_at=MOMENTS,
    version=VERSION,
)
ITEMS = st.builds(
    ItemAvailability,
    item_id=st.uuids(),
    name=TEXT,
    status=st.sampled_from(["active", "retired"]),
    stock=st.integers(0, 10**6),
    price=st.integers(1, 10**9),
    currency=CURRENCY,
    updated_at=MOMENTS,
    version=VERSION,
)
REVENUES = st.builds(DailyRevenue, DAYS, CURRENCY, AMOUNT, st.integers(0, 10**6))


@st.composite
def revenue_queries(draw: st.DrawFn) -> GetDailyRevenueV1:
    first = draw(DAYS)
    span = draw(st.integers(0, MAX_REVENUE_DAYS - 1))
    return GetDailyRevenueV1(first_day=first, last_day=first + timedelta(days=span))


QUERIES: st.SearchStrategy[Query] = st.one_of(
    st.builds(GetUserV1, user_id=st.uuids()),
    st.builds(ListUsersV1, after=st.none() | st.uuids(), limit=st.integers(1, 200)),
    st.builds(GetOrderSummaryV1, order_id=st.uuids()),
    st.builds(
        ListCustomerOrdersV1,
        customer_id=st.uuids(),
        limit=st.integers(1, 100),
        cursor=st.none() | st.text(max_size=100),
    ),
    revenue_queries(),
    st.builds(GetItemAvailabilityV1, item_id=st.uuids()),
)
REPLIES: st.SearchStrategy[QueryReply] = st.one_of(
    st.builds(UserDetailsV1, user=st.none() | RECORDS.map(directory_user)),
    st.builds(
        UserPageV1,
        users=st.lists(RECORDS.map(directory_user), max_size=3),
        next_after=st.none() | st.uuids(),
    ),
    st.builds(OrderSummaryV1, order=st.none() | SUMMARIES.map(order_summary_entry)),
    st.builds(
        CustomerOrdersV1,
        orders=st.lists(SUMMARIES.map(order_summary_entry), max_size=3),
        next_cursor=st.none() | st.text(max_size=100),
    ),
    st.builds(DailyRevenueV1, days=st.lists(REVENUES.map(revenue_day), max_size=5)),
    st.builds(ItemAvailabilityV1, item=st.none() | ITEMS.map(availability_entry)),
    st.builds(QueryFailedV1, query_type=TEXT, reason_code=TEXT, reason=TEXT),
)


def test_the_strategies_cover_every_catalogued_query_and_reply() -> None:
    """Property (coverage): the generators below draw every query type and every reply."""
    queries = {route.query for route in QUERY_ROUTES}
    assert queries == {
        GetUserV1,
        ListUsersV1,
        GetOrderSummaryV1,
        ListCustomerOrdersV1,
        GetDailyRevenueV1,
        GetItemAvailabilityV1,
    }
    assert {query.reply for query in queries} | {QueryFailedV1} == {
        UserDetailsV1,
        UserPageV1,
        OrderSummaryV1,
        CustomerOrdersV1,
        DailyRevenueV1,
        ItemAvailabilityV1,
        QueryFailedV1,
    }


@given(QUERIES)
def test_every_query_survives_the_wire(query: Query) -> None:
    """Property (serialization round trip, queries): parse(wire_body(q)) == q, and the
    canonical body (the cache key) is stable."""
    parsed = type(query).model_validate_json(query.wire_body())
    assert parsed == query
    assert parsed.wire_body() == query.wire_body()


@given(REPLIES)
def test_every_reply_survives_the_wire(reply: QueryReply) -> None:
    """Property (serialization round trip, replies): parse(dump(r)) == r."""
    assert type(reply).model_validate_json(reply.model_dump_json()) == reply


@given(RECORDS)
def test_directory_mapper_round_trip(record: DirectoryRecord) -> None:
    """Property (mapper round trip): view -> DTO -> JSON -> DTO -> view is the identity."""
    dto = directory_user(record)
    assert directory_record(type(dto).model_validate_json(dto.model_dump_json())) == record


@given(SUMMARIES)
def test_order_summary_mapper_round_trip(summary: OrderSummary) -> None:
    """Property (mapper round trip): an order summary survives view -> DTO -> view."""
    dto = order_summary_entry(summary)
    assert order_summary_view(type(dto).model_validate_json(dto.model_dump_json())) == summary


@given(ITEMS)
def test_availability_mapper_round_trip(item: ItemAvailability) -> None:
    """Property (mapper round trip): an item's availability survives view -> DTO -> view,
    and ``available`` is derived, never stored."""
    dto = availability_entry(item)
    assert dto.available == (item.status == "active" and item.stock > 0)
    assert availability_view(type(dto).model_validate_json(dto.model_dump_json())) == item


@given(REVENUES)
def test_revenue_mapper_round_trip(revenue: DailyRevenue) -> None:
    """Property (mapper round trip): one day's revenue survives view -> DTO -> view."""
    dto = revenue_day(revenue)
    assert revenue_view(type(dto).model_validate_json(dto.model_dump_json())) == revenue


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
