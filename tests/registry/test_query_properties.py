"""Properties of the query side: wire round trips of every query and reply, and the
mappers from read-model views to wire payloads."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.catalog.application.queries import availability_entry
from commerce.catalog.application.read_models import ItemAvailability
from commerce.catalog.messages.queries import (
    AvailabilityEntry,
    GetItemAvailabilityV1,
    ItemAvailabilityV1,
)
from commerce.identity.application.directory import DirectoryRecord
from commerce.identity.application.queries import directory_user
from commerce.identity.messages.queries import (
    DirectoryUser,
    GetUserV1,
    ListUsersV1,
    UserDetailsV1,
    UserPageV1,
)
from commerce.orders.application.filters import customer_orders_filter
from commerce.orders.application.queries import order_summary_entry, revenue_day
from commerce.orders.application.read_models import DailyRevenue, OrderLine, OrderSummary
from commerce.orders.domain.events import OrderStatus
from commerce.orders.messages.queries import (
    MAX_REVENUE_DAYS,
    CustomerOrdersV1,
    DailyRevenueV1,
    GetDailyRevenueV1,
    GetOrderSummaryV1,
    ListCustomerOrdersV1,
    OrderSummaryEntry,
    OrderSummaryV1,
    RevenueDay,
)
from commerce.platform.messaging.queries import Query, QueryFailedV1, QueryReply
from commerce.registry.queries import QUERY_ROUTES

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


@st.composite
def customer_orders_queries(draw: st.DrawFn) -> ListCustomerOrdersV1:
    since = draw(st.none() | MOMENTS)
    before = draw(st.none() | MOMENTS.filter(lambda moment: since is None or moment > since))
    return ListCustomerOrdersV1(
        customer_id=draw(st.uuids()),
        limit=draw(st.integers(1, 100)),
        cursor=draw(st.none() | st.text(max_size=100)),
        statuses=draw(st.none() | st.lists(st.sampled_from(OrderStatus), min_size=1, max_size=5)),
        placed_since=since,
        placed_before=before,
    )


QUERIES: st.SearchStrategy[Query] = st.one_of(
    st.builds(GetUserV1, user_id=st.uuids()),
    st.builds(ListUsersV1, after=st.none() | st.uuids(), limit=st.integers(1, 200)),
    st.builds(GetOrderSummaryV1, order_id=st.uuids()),
    customer_orders_queries(),
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


# What a client reads back from a reply: the views, from the wire payloads (test-side
# inverses of the service's mappers, which only ever map views to payloads).


def _record_read(user: DirectoryUser) -> DirectoryRecord:
    roles = tuple(role.value for role in user.roles)
    return DirectoryRecord(
        user.user_id,
        user.email,
        user.display_name,
        user.status,
        roles,
        user.registered_at,
        user.version,
    )


def _summary_read(entry: OrderSummaryEntry) -> OrderSummary:
    lines = tuple(OrderLine(n.item_id, n.quantity, n.subtotal.amount) for n in entry.lines)
    return OrderSummary(
        entry.order_id,
        entry.customer_id,
        entry.status.value,
        entry.total.currency,
        lines,
        entry.total.amount,
        entry.placed_at,
        entry.updated_at,
        entry.version,
    )


def _availability_read(entry: AvailabilityEntry) -> ItemAvailability:
    return ItemAvailability(
        entry.item_id,
        entry.name,
        entry.status.value,
        entry.stock,
        entry.price.amount,
        entry.price.currency,
        entry.updated_at,
        entry.version,
    )


def _revenue_read(day: RevenueDay) -> DailyRevenue:
    return DailyRevenue(day.day, day.revenue.currency, day.revenue.amount, day.orders)


@given(RECORDS)
def test_directory_mapper_round_trip(record: DirectoryRecord) -> None:
    """Property (mapper round trip): view -> DTO -> JSON -> DTO -> view is the identity: the
    payload states every field of the directory record."""
    dto = directory_user(record)
    assert _record_read(type(dto).model_validate_json(dto.model_dump_json())) == record


@given(SUMMARIES)
def test_order_summary_mapper_round_trip(summary: OrderSummary) -> None:
    """Property (mapper round trip): an order summary survives view -> DTO -> JSON -> view."""
    dto = order_summary_entry(summary)
    assert _summary_read(type(dto).model_validate_json(dto.model_dump_json())) == summary


@given(ITEMS)
def test_availability_mapper_round_trip(item: ItemAvailability) -> None:
    """Property (mapper round trip): an item's availability survives view -> DTO -> JSON ->
    view, and ``available`` is derived, never stored."""
    dto = availability_entry(item)
    assert dto.available == (item.status == "active" and item.stock > 0)
    assert _availability_read(type(dto).model_validate_json(dto.model_dump_json())) == item


@given(REVENUES)
def test_revenue_mapper_round_trip(revenue: DailyRevenue) -> None:
    """Property (mapper round trip): one day's revenue survives view -> DTO -> JSON -> view."""
    dto = revenue_day(revenue)
    assert _revenue_read(type(dto).model_validate_json(dto.model_dump_json())) == revenue


@given(
    SUMMARIES,
    st.none() | st.lists(st.sampled_from(OrderStatus), min_size=1, max_size=5),
    st.none() | MOMENTS,
    st.none() | MOMENTS,
)
def test_the_customer_orders_filter_selects_by_state_and_period(
    summary: OrderSummary,
    statuses: list[OrderStatus] | None,
    since: datetime | None,
    before: datetime | None,
) -> None:
    """Property (specification as a query): the filter of ``ListCustomerOrders`` accepts a
    summary iff its state is one of ``statuses`` (any when absent) and ``since <= placed_at
    < before`` (each bound optional), whatever the combination."""
    selected = customer_orders_filter(statuses=statuses, placed_since=since, placed_before=before)
    expected = (
        (statuses is None or summary.status in statuses)
        and (since is None or since <= summary.placed_at)
        and (before is None or summary.placed_at < before)
    )
    assert selected.is_satisfied_by(summary) == expected
