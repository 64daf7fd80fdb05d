"""Queries over the broker, on RabbitMQ and Kafka: request/reply through a running worker,
answered from the read models in the request's tenant (row-level security), through the
cache, and answered with ``QueryFailed`` instead of silence when they cannot be."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from commerce.bootstrap.operators import query_client
from commerce.bootstrap.service import Service
from commerce.config import Settings
from commerce.entrypoints.cli import common
from commerce.entrypoints.cli.main import app
from commerce.identity.application.directory import USER_DIRECTORY
from commerce.identity.messages.queries import GetUserV1, ListUsersV1, UserDetailsV1, UserPageV1
from commerce.orders.messages.queries import CustomerOrdersV1, ListCustomerOrdersV1
from commerce.platform.kit.ids import TenantId, new_uuid7
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.queries import Query
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import order_summaries, user_directory
from commerce.platform.read_side.query_client import QueryClient, QueryFailedError
from commerce.registry.queries import query_route_of
from tests.support.database import ProvisionedDatabase
from tests.support.worker import environment_for, running_worker, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["rabbit", "kafka"])
def settings(
    request: pytest.FixtureRequest, provisioned_database: ProvisionedDatabase, redis_url: str
) -> Settings:
    """One worker per transport for the whole module (starting one costs seconds)."""
    if request.param == "rabbit":
        url = str(request.getfixturevalue("rabbit_url"))
    else:
        url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    settings = settings_for(provisioned_database, url)
    settings.redis.url = SecretStr(redis_url)
    return settings


@pytest.fixture(scope="module")
async def worker(settings: Settings) -> AsyncIterator[Service]:
    async with running_worker(settings) as service:
        yield service


@pytest.fixture(scope="module")
async def client(settings: Settings, worker: Service) -> AsyncIterator[QueryClient]:
    async with query_client(settings) as client:
        yield client


async def _add_user(engine: AsyncEngine, tenant: UUID, name: str) -> UUID:
    user_id = new_uuid7()
    async with tenant_transaction(engine, tenant) as connection:
        await connection.execute(
            insert(user_directory).values(
                tenant_id=tenant,
                user_id=user_id,
                email=f"{name.lower()}@example.com",
                display_name=name,
                version=1,
                registered_at=datetime.now(UTC),
            )
        )
    return user_id


async def _ask(client: QueryClient, query: Query, tenant: UUID) -> object:
    for _ in range(20):  # a Kafka consumer group may still be joining
        try:
            return await client.ask(query, tenant_id=tenant, within=3.0)
        except TimeoutError:
            continue
    raise AssertionError("no answer")


async def test_get_user_is_answered_in_the_requests_tenant_only(
    client: QueryClient, app_engine: AsyncEngine
) -> None:
    tenant, other = uuid4(), uuid4()
    ada = await _add_user(app_engine, tenant, "Ada")

    reply = await _ask(client, GetUserV1(user_id=ada), tenant)
    assert isinstance(reply, UserDetailsV1)
    assert reply.user is not None
    assert (reply.user.display_name, reply.user.roles) == ("Ada", ["customer"])
    assert await client.ask(GetUserV1(user_id=ada), tenant_id=other) == UserDetailsV1(user=None)
    assert await client.ask(GetUserV1(user_id=uuid4()), tenant_id=tenant) == UserDetailsV1(
        user=None
    )


async def test_list_users_pages_through_the_tenant(
    client: QueryClient, app_engine: AsyncEngine
) -> None:
    tenant = uuid4()
    ids = sorted([await _add_user(app_engine, tenant, f"User{n}") for n in range(5)])
    await _ask(client, ListUsersV1(limit=1), tenant)
    seen: list[UUID] = []
    after: UUID | None = None
    while True:
        page = await client.ask(ListUsersV1(after=after, limit=2), tenant_id=tenant)
        assert isinstance(page, UserPageV1)
        seen += [user.user_id for user in page.users]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == ids


async def test_answers_come_from_the_cache_until_the_row_is_invalidated(
    client: QueryClient, worker: Service, app_engine: AsyncEngine
) -> None:
    tenant = uuid4()
    ada = await _add_user(app_engine, tenant, "Ada")
    await _ask(client, GetUserV1(user_id=ada), tenant)
    async with tenant_transaction(app_engine, tenant) as connection:
        await connection.execute(
            update(user_directory).values(display_name="Ada King", version=2)
        )  # behind the cache's back: no invalidation
    cached = await client.ask(GetUserV1(user_id=ada), tenant_id=tenant)
    assert isinstance(cached, UserDetailsV1)
    assert cached.user
    assert cached.user.display_name == "Ada"

    await worker.read_side.cache.invalidate([USER_DIRECTORY.row(TenantId(tenant), ada)])
    fresh = await client.ask(GetUserV1(user_id=ada), tenant_id=tenant)
    assert isinstance(fresh, UserDetailsV1)
    assert fresh.user
    assert fresh.user.display_name == "Ada King"


async def test_many_concurrent_queries_each_get_their_own_answer(
    client: QueryClient, app_engine: AsyncEngine
) -> None:
    tenant = uuid4()
    users = {await _add_user(app_engine, tenant, f"Name{n}"): f"Name{n}" for n in range(10)}
    await _ask(client, GetUserV1(user_id=next(iter(users))), tenant)
    asks = [GetUserV1(user_id=user) for user in users for _ in range(5)]
    replies = await asyncio.gather(*(client.ask(q, tenant_id=tenant) for q in asks))
    for query, reply in zip(asks, replies, strict=True):
        assert isinstance(reply, UserDetailsV1)
        assert reply.user
        assert reply.user.display_name == users[query.user_id]


async def test_bad_requests_are_answered_with_query_failed(
    client: QueryClient, worker: Service
) -> None:
    tenant = uuid4()
    await _ask(client, GetUserV1(user_id=uuid4()), tenant)
    channel = query_route_of(GetUserV1).channel.name
    style = worker.transport.style

    envelope = Envelope.new(type=GetUserV1.message_type, source="/tests", tenant_id=tenant)
    raw = await client.requester.request(
        channel, b'{"user_id": "not-a-uuid"}', envelope.headers(style), key="k1", within=5
    )
    with pytest.raises(QueryFailedError) as failed:
        QueryClient.parse(GetUserV1(user_id=uuid4()), raw)
    assert failed.value.failure.reason_code == "invalid_query"
    assert "user_id" in failed.value.failure.reason

    headers = {k: v for k, v in envelope.headers(style).items() if "tenantid" not in k}
    raw = await client.requester.request(
        channel, GetUserV1(user_id=uuid4()).wire_body(), headers, key="k2", within=5
    )
    with pytest.raises(QueryFailedError) as failed:
        QueryClient.parse(GetUserV1(user_id=uuid4()), raw)
    assert failed.value.failure.reason_code == "missing_tenant"


async def test_the_cli_asks_a_query_and_prints_the_reply(
    settings: Settings,
    client: QueryClient,
    app_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(common, "configure_logging_from", lambda settings: None)
    tenant = uuid4()
    ada = await _add_user(app_engine, tenant, "Ada")
    await _ask(client, GetUserV1(user_id=ada), tenant)
    env = environment_for(settings)
    arguments = ["query", "GetUser", "--tenant", str(tenant), "--json", f'{{"user_id": "{ada}"}}']
    result = await asyncio.to_thread(CliRunner().invoke, app, arguments, env=env)
    assert result.exit_code == 0, result.output
    assert UserDetailsV1.model_validate_json(result.stdout).user is not None
    invalid = ["query", "GetUser", "--tenant", str(tenant), "--json", '{"user_id": 1}']
    assert (await asyncio.to_thread(CliRunner().invoke, app, invalid, env=env)).exit_code == 2


async def test_customer_orders_are_filtered_and_a_foreign_cursor_is_refused(
    client: QueryClient, app_engine: AsyncEngine
) -> None:
    """``ListCustomerOrders`` with a state and period filter (a specification the reader
    turns into SQL) answers the matching orders only; a cursor the service never handed
    out is an expected failure, answered with ``QueryFailed`` (invalid_query)."""
    tenant, customer = uuid4(), uuid4()
    start = datetime(2026, 5, 1, tzinfo=UTC)
    orders = [
        (uuid4(), status, start.replace(day=day))
        for day, status in enumerate(
            ["placed", "confirmed", "shipped", "confirmed", "cancelled"], start=1
        )
    ]
    async with tenant_transaction(app_engine, tenant) as connection:
        await connection.execute(
            insert(order_summaries),
            [
                {
                    "tenant_id": tenant,
                    "order_id": order,
                    "customer_id": customer,
                    "status": status,
                    "currency": "EUR",
                    "lines": [],
                    "total": 0,
                    "placed_at": placed,
                    "updated_at": placed,
                    "version": 1,
                }
                for order, status, placed in orders
            ],
        )
    query = ListCustomerOrdersV1(
        customer_id=customer,
        statuses=["confirmed", "shipped"],
        placed_since=start.replace(day=2),
        placed_before=start.replace(day=4),
    )
    reply = await _ask(client, query, tenant)
    assert isinstance(reply, CustomerOrdersV1)
    assert [o.order_id for o in reply.orders] == [orders[2][0], orders[1][0]], "newest first"

    foreign = ListCustomerOrdersV1(customer_id=customer, cursor="not a cursor of ours")
    with pytest.raises(QueryFailedError) as failed:
        await client.ask(foreign, tenant_id=tenant, within=10)
    assert failed.value.failure.reason_code == "invalid_query"
    assert "cursor" in failed.value.failure.reason
