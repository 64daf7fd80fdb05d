"""Two tenants' full order life cycles at once, on RabbitMQ and on Kafka (issue #4).

The worker and the outbox relay run in-process against the real broker, Postgres and
Redis. Each tenant registers a customer, creates two items, and runs two orders side by
side: one placed, given lines, confirmed (billing issues the invoice), paid and shipped;
one confirmed and then cancelled (billing voids the invoice). Both tenants do this
concurrently, with the same customer e-mail address.

Afterwards the read models answer, over the broker, what each tenant did; a repeated query
comes from the cache until a change in the tenant invalidates it; and no tenant ever sees
the other's data: not through queries, not in the tables under its row-level security,
and every published event carries the tenant of the aggregate it is about.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.billing.messages.channels import INVOICES
from commerce.bootstrap.operators import query_client
from commerce.bootstrap.service import Service
from commerce.catalog.messages.channels import ITEMS
from commerce.catalog.messages.queries import GetItemAvailabilityV1
from commerce.config import Settings
from commerce.identity.messages.channels import USERS
from commerce.identity.messages.queries import GetUserV1, ListUsersV1
from commerce.orders.messages.channels import ORDERS
from commerce.orders.messages.queries import (
    GetDailyRevenueV1,
    GetOrderSummaryV1,
    ListCustomerOrdersV1,
)
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.envelope import parse_envelope
from commerce.platform.messaging.queries import Query, QueryReply
from commerce.platform.observability.metrics import REGISTRY
from commerce.platform.read_side.query_client import QueryClient
from commerce.platform.read_side.query_service import cache_key
from tests.support.brokers import BrokerProbe, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.lifecycle import Lifecycle, Tenant, invoice_of
from tests.support.read_models import rows_of
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.e2e

STREAMS = {"identity": USERS, "catalog": ITEMS, "orders": ORDERS, "billing": INVOICES}
"""The event stream of each bounded context (``commerce.<context>.<Event>.v1``)."""

type Event = tuple[UUID, str, str]
"""A published event as (tenant id header, type, subject)."""


@pytest.fixture
def settings(
    provisioned_database: ProvisionedDatabase, broker_url: str, redis_url: str
) -> Settings:
    settings = settings_for(provisioned_database, broker_url)
    settings.redis.url = SecretStr(redis_url)
    settings.cache.l1_ttl_seconds = 600  # only an invalidation can refresh a cached answer
    return settings


async def test_two_tenants_live_through_orders_concurrently_and_never_meet(
    settings: Settings, app_engine: AsyncEngine
) -> None:
    """Both life cycles complete; each tenant's queries and read models show exactly its
    own customer, items, orders (shipped and cancelled), invoices and revenue; a repeated
    query is a cache hit until the tenant's next order invalidates it (the other tenant's
    cached answer stays); and every event carries its aggregate's tenant."""
    ada = Tenant("Ada", prices=(1999, 500), stock=(10, 4))
    grace = Tenant("Grace", prices=(4250, 120), stock=(7, 30))
    probe = await probe_for(settings)
    try:
        for stream in STREAMS.values():
            await probe.watch(stream.name, stream=True)
        async with (
            running_worker(settings) as service,
            running_relay(service),
            query_client(settings) as client,
        ):
            lifecycles = [Lifecycle(service, app_engine, tenant) for tenant in (ada, grace)]
            await asyncio.gather(*(lifecycle.run() for lifecycle in lifecycles))

            for tenant in (ada, grace):
                await _queries_show_the_life_cycle(client, tenant)
            for tenant, other in ((ada, grace), (grace, ada)):
                await _queries_find_nothing_of_the_other(client, tenant, other)
                await _read_models_hold_only_own_rows(app_engine, tenant, other)
            extra = await _cached_until_an_order_invalidates(service, client, lifecycles[0], grace)

            expected = ada.expected_events() + grace.expected_events() + extra
            published = await _published(probe, expected)  # the relay may still be sending
    finally:
        await probe.close()
    assert published == expected, "each event carries the tenant of its aggregate"


# -- queries over the broker ----------------------------------------------------------------


async def _queries_show_the_life_cycle(client: QueryClient, tenant: Tenant) -> None:
    """Every query of the read side answers the tenant's final state (once projected)."""
    me = tenant.tenant_id
    await _until(client, GetUserV1(user_id=tenant.customer), me, _user, _the_customer(tenant))
    await _until(client, ListUsersV1(), me, _user_ids, [tenant.customer])
    for item, price, stock in zip(tenant.items, tenant.prices, tenant.stock, strict=True):
        expected = (stock, True, price, "active")
        await _until(client, GetItemAvailabilityV1(item_id=item), me, _availability, expected)
    shipped = (tenant.customer, "shipped", tenant.shipped_lines, tenant.shipped_total, 5)
    await _until(client, GetOrderSummaryV1(order_id=tenant.shipped), me, _summary, shipped)
    cancelled_lines = [(tenant.items[0], 1, tenant.cancelled_total)]
    cancelled = (tenant.customer, "cancelled", cancelled_lines, tenant.cancelled_total, 4)
    await _until(client, GetOrderSummaryV1(order_id=tenant.cancelled), me, _summary, cancelled)
    statuses = {(tenant.shipped, "shipped"), (tenant.cancelled, "cancelled")}
    await _until(client, ListCustomerOrdersV1(customer_id=tenant.customer), me, _orders, statuses)
    revenue = [(tenant.shipped_total, "EUR", 1)]  # the cancelled order no longer counts
    await _until(client, _revenue_query(), me, _revenue, revenue)


async def _queries_find_nothing_of_the_other(
    client: QueryClient, tenant: Tenant, other: Tenant
) -> None:
    """Asked in ``tenant`` for ``other``'s customer, items and orders: none of them exist."""
    me = tenant.tenant_id
    assert _user(await _ask(client, GetUserV1(user_id=other.customer), me)) is None
    for item in other.items:
        assert _availability(await _ask(client, GetItemAvailabilityV1(item_id=item), me)) is None
    for order in (other.shipped, other.cancelled):
        assert _summary(await _ask(client, GetOrderSummaryV1(order_id=order), me)) is None
    assert (
        _orders(await _ask(client, ListCustomerOrdersV1(customer_id=other.customer), me)) == set()
    )


async def _cached_until_an_order_invalidates(
    service: Service, client: QueryClient, lifecycle: Lifecycle, other: Tenant
) -> Counter[Event]:
    """A repeated revenue query is an L1 hit; the tenant's next confirmed order drops it
    (the new revenue appears although the L1 TTL is 10 min), ``other``'s cached answer
    survives it. Returns the events the extra order published."""
    tenant, query = lifecycle.tenant, _revenue_query()
    answer = await _ask(client, query, tenant.tenant_id)
    assert cache_key(TenantId(tenant.tenant_id), query) in service.read_side.cache.local
    hits = _l1_hits()
    assert await _ask(client, query, tenant.tenant_id) == answer
    assert _l1_hits() == hits + 1, "the identical second query is served from the cache"
    others_answer = await _ask(client, query, other.tenant_id)
    assert _revenue(others_answer) == [(other.shipped_total, "EUR", 1)]

    order, quantity = uuid4(), 3
    await lifecycle.place_and_confirm(order, item=tenant.items[1], quantity=quantity)
    revenue = [(tenant.shipped_total + quantity * tenant.prices[1], "EUR", 2)]
    await _until(client, query, tenant.tenant_id, _revenue, revenue, within=20)
    customer_orders = ListCustomerOrdersV1(customer_id=tenant.customer)
    orders = await _ask(client, customer_orders, tenant.tenant_id)
    assert (order, "confirmed") in _orders(orders), "the cached order list was dropped too"
    hits = _l1_hits()
    assert await _ask(client, query, other.tenant_id) == others_answer
    assert _l1_hits() == hits + 1, "one tenant's change leaves the other's cached answer"

    invoice = str(invoice_of(order))
    return Counter(
        (tenant.tenant_id, f"commerce.{kind}.v1", subject)
        for kind, subject in [
            ("orders.OrderPlaced", str(order)),
            ("orders.OrderLineAdded", str(order)),
            ("orders.OrderConfirmed", str(order)),
            ("billing.InvoiceIssued", invoice),
        ]
    )


# -- row-level security and the published events -----------------------------------------


async def _read_models_hold_only_own_rows(
    engine: AsyncEngine, tenant: Tenant, other: Tenant
) -> None:
    """Under ``tenant``'s row-level security every table (read models and write side)
    shows exactly the tenant's rows, and none of ``other``'s ids."""
    orders = {tenant.shipped, tenant.cancelled}
    tables: list[tuple[str, str, set[Any]]] = [
        ("user_directory", "user_id", {tenant.customer}),
        ("item_availability", "item_id", set(tenant.items)),
        ("order_summaries", "order_id", orders),
        ("revenue_contributions", "order_id", orders),
        ("revenue_daily", "amount", {tenant.shipped_total}),
        ("users", "id", {tenant.customer}),
        ("catalog_items", "id", set(tenant.items)),
        ("invoices", "id", {invoice_of(order) for order in orders}),
        ("events", "stream_id", orders),
    ]
    foreign = {other.customer, *other.items, other.shipped, other.cancelled}
    for table, key, expected in tables:
        rows = await rows_of(engine, TenantId(tenant.tenant_id), table, key)
        assert {row["tenant_id"] for row in rows} == {tenant.tenant_id}, table
        assert {row[key] for row in rows} == expected, table
        ids = {value for row in rows for value in row.values() if isinstance(value, UUID)}
        assert not foreign & ids, table


async def _published(probe: BrokerProbe, expected: Counter[Event]) -> Counter[Event]:
    """The events the relay published on each stream, as (tenant, type, subject)."""
    published: Counter[Event] = Counter()
    for context, stream in STREAMS.items():
        count = sum(n for (_, kind, _), n in expected.items() if kind.split(".")[1] == context)
        for message in await probe.collect(stream.name, lambda _: True, count):
            envelope = parse_envelope(message.headers, message.content_type)
            published[(envelope.tenant_id, envelope.type, envelope.subject or "")] += 1
    return published


# -- asking, and reading replies --------------------------------------------------------------


async def _ask(client: QueryClient, query: Query, tenant: UUID) -> QueryReply:
    """The reply to ``query`` in ``tenant`` (retried while a Kafka consumer group joins)."""
    for _ in range(10):
        try:
            return await client.ask(query, tenant_id=tenant, within=3.0)
        except TimeoutError:
            continue
    raise AssertionError(f"{type(query).__name__} was never answered")


async def _until(
    client: QueryClient,
    query: Query,
    tenant: UUID,
    view: Callable[[Any], object],
    expected: object,
    within: float = 45.0,
) -> None:
    """Ask ``query`` until ``view(reply) == expected`` (the projections catch up)."""
    deadline = asyncio.get_running_loop().time() + within
    while (found := view(await _ask(client, query, tenant))) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"{query!r}: {found!r}"
        await asyncio.sleep(0.1)


def _revenue_query() -> GetDailyRevenueV1:
    today = datetime.now(UTC).date()
    return GetDailyRevenueV1(first_day=today - timedelta(days=1), last_day=today)


def _the_customer(tenant: Tenant) -> tuple[str, str, str, list[str]]:
    return (tenant.customer_name, tenant.email, "active", ["customer"])


def _user(reply: Any) -> tuple[str, str, str, list[str]] | None:
    user = reply.user
    return None if user is None else (user.display_name, user.email, user.status, user.roles)


def _user_ids(reply: Any) -> list[UUID]:
    return [user.user_id for user in reply.users]


def _availability(reply: Any) -> tuple[int, bool, int, str] | None:
    item = reply.item
    return None if item is None else (item.stock, item.available, item.price.amount, item.status)


def _summary(reply: Any) -> tuple[UUID, str, list[tuple[UUID, int, int]], int, int] | None:
    order = reply.order
    if order is None:
        return None
    lines = [(line.item_id, line.quantity, line.subtotal.amount) for line in order.lines]
    return (order.customer_id, order.status, lines, order.total.amount, order.version)


def _orders(reply: Any) -> set[tuple[UUID, str]]:
    return {(order.order_id, order.status) for order in reply.orders}


def _revenue(reply: Any) -> list[tuple[int, str, int]]:
    return [(day.revenue.amount, day.revenue.currency, day.orders) for day in reply.days]


def _l1_hits() -> float:
    """L1 hits of the query cache so far (the worker runs in this process: same registry)."""
    labels = {"cache": "queries.l1", "result": "hit"}
    return REGISTRY.get_sample_value("commerce_cache_requests_total", labels) or 0.0
