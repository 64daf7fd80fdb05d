"""The read models kept live, on RabbitMQ and Kafka: commands in, the relay publishes the
events, the projections fold them, and queries over the broker see the result; every
change drops the cached answers it affects."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.operators import query_client
from commerce.bootstrap.service import Service
from commerce.catalog.messages.commands import AdjustStock, ChangePrice, CreateItem, RetireItem
from commerce.catalog.messages.queries import GetItemAvailabilityV1, ItemAvailabilityV1
from commerce.config import Settings
from commerce.identity.messages.commands import RegisterUser
from commerce.identity.messages.queries import GetUserV1, UserDetailsV1
from commerce.orders.messages.commands import (
    AddLine,
    CancelOrder,
    ConfirmOrder,
    PlaceOrder,
    RemoveLine,
    ShipOrder,
)
from commerce.orders.messages.queries import (
    CustomerOrdersV1,
    DailyRevenueV1,
    GetDailyRevenueV1,
    GetOrderSummaryV1,
    ListCustomerOrdersV1,
    OrderSummaryV1,
)
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.messaging.queries import Query, QueryReply
from commerce.platform.read_side.projection_rebuild import rebuild
from commerce.platform.read_side.query_client import QueryClient
from commerce.registry.channels import route_of
from commerce.registry.projections import REBUILDABLE
from tests.support.database import ProvisionedDatabase
from tests.support.read_models import rows_of
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration

type OrderCommand = PlaceOrder | AddLine | RemoveLine | ConfirmOrder | CancelOrder | ShipOrder


@pytest.fixture(scope="module", params=["rabbit", "kafka"])
def settings(
    request: pytest.FixtureRequest, provisioned_database: ProvisionedDatabase, redis_url: str
) -> Settings:
    if request.param == "rabbit":
        url = str(request.getfixturevalue("rabbit_url"))
    else:
        url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    settings = settings_for(provisioned_database, url)
    settings.redis.url = SecretStr(redis_url)
    return settings


@pytest.fixture(scope="module")
async def worker(settings: Settings) -> AsyncIterator[Service]:
    async with running_worker(settings) as service, running_relay(service):
        yield service


@pytest.fixture(scope="module")
async def client(settings: Settings, worker: Service) -> AsyncIterator[QueryClient]:
    async with query_client(settings) as client:
        yield client


async def _eventually[R: QueryReply](
    client: QueryClient,
    query: Query,
    tenant: UUID,
    expected: Callable[[R], bool],
    timeout: float = 60.0,
) -> R:
    deadline = asyncio.get_running_loop().time() + timeout
    reply: QueryReply | None = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            reply = await client.ask(query, tenant_id=tenant, within=3.0)
        except TimeoutError:
            continue
        if expected(reply):  # type: ignore[arg-type]
            return reply  # type: ignore[return-value]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{type(query).__name__} never matched; last reply: {reply}")


def _send(service: Service, tenant: UUID) -> Callable[[Command], Awaitable[object]]:
    async def send(command: Command) -> object:
        return await service.send_command(
            route_of(type(command)).channel, command, tenant_id=tenant
        )

    return send


async def test_an_order_flows_into_summaries_revenue_and_availability(
    worker: Service, client: QueryClient
) -> None:
    tenant = uuid4()
    send = _send(worker, tenant)
    customer, item, order = uuid4(), uuid4(), uuid4()
    await send(
        RegisterUser(
            user_id=customer,
            email=f"{customer.hex[:8]}@example.com",
            display_name="Ada",
            password=SecretStr("correct horse battery staple"),
        )
    )
    await send(
        CreateItem(
            item_id=item, name="Engine", price=MoneyPayload(amount=1999, currency="EUR"), stock=5
        )
    )
    await _eventually(client, GetUserV1(user_id=customer), tenant, lambda r: r.user is not None)
    availability: ItemAvailabilityV1 = await _eventually(
        client, GetItemAvailabilityV1(item_id=item), tenant, lambda r: r.item is not None
    )
    assert availability.item
    assert (availability.item.stock, availability.item.available) == (5, True)

    await send(PlaceOrder(order_id=order, customer_id=customer, currency="EUR"))
    await _eventually(client, GetOrderSummaryV1(order_id=order), tenant, lambda r: bool(r.order))
    await send(AddLine(order_id=order, item_id=item, quantity=2))  # commands to one order race
    summary: OrderSummaryV1 = await _eventually(
        client,
        GetOrderSummaryV1(order_id=order),
        tenant,
        lambda r: r.order is not None and len(r.order.lines) == 1,
    )
    assert summary.order
    assert summary.order.total.amount == 3998
    await send(ConfirmOrder(order_id=order))
    await _eventually(
        client,
        GetOrderSummaryV1(order_id=order),
        tenant,
        lambda r: r.order is not None and r.order.status == "confirmed",
    )
    listed: CustomerOrdersV1 = await _eventually(
        client, ListCustomerOrdersV1(customer_id=customer), tenant, lambda r: bool(r.orders)
    )
    assert [o.order_id for o in listed.orders] == [order]
    today = datetime.now(UTC).date()
    revenue: DailyRevenueV1 = await _eventually(
        client,
        GetDailyRevenueV1(first_day=today, last_day=today),
        tenant,
        lambda r: bool(r.days),
    )
    assert [(d.revenue.amount, d.orders) for d in revenue.days] == [(3998, 1)]

    await send(AdjustStock(item_id=item, delta=-3, reason="damaged"))
    await _eventually(
        client,
        GetItemAvailabilityV1(item_id=item),
        tenant,
        lambda r: r.item is not None and r.item.stock == 2,
    )
    await send(CancelOrder(order_id=order, reason="changed my mind"))
    await _eventually(
        client, GetDailyRevenueV1(first_day=today, last_day=today), tenant, lambda r: not r.days
    )
    await _eventually(
        client,
        ListCustomerOrdersV1(customer_id=customer),
        tenant,
        lambda r: [o.status for o in r.orders] == ["cancelled"],
    )
    other = uuid4()
    assert await client.ask(GetOrderSummaryV1(order_id=order), tenant_id=other) == OrderSummaryV1(
        order=None
    )
    assert isinstance(await client.ask(GetUserV1(user_id=customer), tenant_id=other), UserDetailsV1)


async def test_shipping_shows_on_the_summary(worker: Service, client: QueryClient) -> None:
    tenant = uuid4()
    send = _send(worker, tenant)
    customer, item, order = uuid4(), uuid4(), uuid4()
    await send(
        RegisterUser(
            user_id=customer,
            email="grace@example.com",
            display_name="Grace",
            password=SecretStr("correct horse battery staple"),
        )
    )
    await send(
        CreateItem(
            item_id=item, name="Loom", price=MoneyPayload(amount=500, currency="EUR"), stock=9
        )
    )
    await _eventually(
        client, GetItemAvailabilityV1(item_id=item), tenant, lambda r: r.item is not None
    )
    await _eventually(client, GetUserV1(user_id=customer), tenant, lambda r: r.user is not None)
    steps: list[tuple[Command, int]] = [
        (PlaceOrder(order_id=order, customer_id=customer, currency="EUR"), 1),
        (AddLine(order_id=order, item_id=item, quantity=1), 2),
        (ConfirmOrder(order_id=order), 3),
        (ShipOrder(order_id=order), 4),
    ]
    for command, version in steps:  # commands to one order race: one at a time here
        await send(command)
        await _eventually(
            client,
            GetOrderSummaryV1(order_id=order),
            tenant,
            lambda r, v=version: r.order is not None and r.order.version == v,
        )
    shipped = await client.ask(GetOrderSummaryV1(order_id=order), tenant_id=tenant)
    assert isinstance(shipped, OrderSummaryV1)
    assert shipped.order
    assert (shipped.order.status, shipped.order.total.amount) == ("shipped", 500)


async def _customer_and_items(
    send: Callable[[Command], Awaitable[object]],
    client: QueryClient,
    tenant: UUID,
    customer: UUID,
    prices: dict[UUID, int],
) -> None:
    """Register ``customer`` and create the items (EUR ``prices``, 50 in stock); wait until
    the read models show them all."""
    password = SecretStr("correct horse battery staple")
    email = f"{customer.hex[:8]}@example.com"
    await send(RegisterUser(user_id=customer, email=email, display_name="Ada", password=password))
    for item, price in prices.items():
        money = MoneyPayload(amount=price, currency="EUR")
        await send(CreateItem(item_id=item, name="Engine", price=money, stock=50))
    for item in prices:
        await _eventually(
            client, GetItemAvailabilityV1(item_id=item), tenant, lambda r: r.item is not None
        )
    await _eventually(client, GetUserV1(user_id=customer), tenant, lambda r: r.user is not None)


async def _step(
    send: Callable[[Command], Awaitable[object]],
    client: QueryClient,
    tenant: UUID,
    command: OrderCommand,
    version: int,
) -> OrderSummaryV1:
    """Send an order command and wait for the summary at ``version`` (commands to one order
    race: one at a time)."""
    await send(command)
    return await _eventually(
        client,
        GetOrderSummaryV1(order_id=command.order_id),
        tenant,
        lambda r: r.order is not None and r.order.version == version,
    )


async def test_price_changes_retirement_and_removed_lines_reach_the_read_models(
    worker: Service, client: QueryClient
) -> None:
    """ChangePrice, RetireItem and RemoveLine through the broker: availability follows
    ItemPriceChanged and ItemRetired; a line keeps the price captured when it was added;
    the summary drops a removed line and its subtotal (OrderLineRemoved)."""
    tenant = uuid4()
    send = _send(worker, tenant)
    customer, kept, dropped, order = uuid4(), uuid4(), uuid4(), uuid4()
    await _customer_and_items(send, client, tenant, customer, {kept: 1999, dropped: 500})

    await send(ChangePrice(item_id=kept, price=MoneyPayload(amount=2499, currency="EUR")))
    repriced: ItemAvailabilityV1 = await _eventually(
        client,
        GetItemAvailabilityV1(item_id=kept),
        tenant,
        lambda r: r.item is not None and r.item.version == 2,
    )
    assert repriced.item
    assert (repriced.item.price.amount, repriced.item.status, repriced.item.available) == (
        2499,
        "active",
        True,
    )

    placed = PlaceOrder(order_id=order, customer_id=customer, currency="EUR")
    await _step(send, client, tenant, placed, 1)
    await _step(send, client, tenant, AddLine(order_id=order, item_id=kept, quantity=2), 2)
    await _step(send, client, tenant, AddLine(order_id=order, item_id=dropped, quantity=1), 3)
    summary = await _step(send, client, tenant, RemoveLine(order_id=order, item_id=dropped), 4)
    assert summary.order
    lines = [(line.item_id, line.quantity, line.subtotal.amount) for line in summary.order.lines]
    assert lines == [(kept, 2, 2 * 2499)], "captured at the price of the day it was added"
    assert summary.order.total.amount == 2 * 2499

    await send(RetireItem(item_id=kept))
    retired: ItemAvailabilityV1 = await _eventually(
        client,
        GetItemAvailabilityV1(item_id=kept),
        tenant,
        lambda r: r.item is not None and r.item.version == 3,
    )
    assert retired.item
    assert (retired.item.status, retired.item.available, retired.item.price.amount) == (
        "retired",
        False,
        2499,
    )
    await send(ConfirmOrder(order_id=order))  # a retired item's line stays as it was added
    confirmed: OrderSummaryV1 = await _eventually(
        client,
        GetOrderSummaryV1(order_id=order),
        tenant,
        lambda r: r.order is not None and r.order.status == "confirmed",
    )
    assert confirmed.order
    assert confirmed.order.total.amount == 2 * 2499


async def _revenue_rows(engine: AsyncEngine, tenant: UUID) -> dict[str, list[dict[str, object]]]:
    """The tenant's rows of both revenue tables (what a revenue rebuild swaps together)."""
    return {
        table: [
            {name: value for name, value in row.items() if name != "tenant_id"}
            for row in await rows_of(engine, TenantId(tenant), table, order)
        ]
        for table, order in (
            ("revenue_contributions", "order_id"),
            ("revenue_daily", "day, currency"),
        )
    }


async def test_a_revenue_rebuild_over_live_data_reproduces_the_live_projection(
    worker: Service, client: QueryClient, app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    """Orders confirmed, cancelled after confirmation, shipped and left placed, folded live
    by the revenue consumer; rebuilding ``revenue`` from the event store then gives both
    tables (contributions and daily sums) exactly the rows the live consumer wrote."""
    tenant = uuid4()
    send = _send(worker, tenant)
    customer, item = uuid4(), uuid4()
    await _customer_and_items(send, client, tenant, customer, {item: 1250})
    endings: dict[UUID, list[OrderCommand]] = {}
    for quantity, ending in enumerate(("confirmed", "cancelled", "shipped", "placed"), start=1):
        order = uuid4()
        endings[order] = [
            PlaceOrder(order_id=order, customer_id=customer, currency="EUR"),
            AddLine(order_id=order, item_id=item, quantity=quantity),
        ]
        if ending != "placed":
            endings[order].append(ConfirmOrder(order_id=order))
        if ending == "cancelled":
            endings[order].append(CancelOrder(order_id=order, reason="changed my mind"))
        if ending == "shipped":
            endings[order].append(ShipOrder(order_id=order))

    async def drive(commands: list[OrderCommand]) -> None:
        for version, command in enumerate(commands, start=1):
            await _step(send, client, tenant, command, version)

    await asyncio.gather(*(drive(commands) for commands in endings.values()))
    today = datetime.now(UTC).date()
    counted = (1 + 3) * 1250  # the confirmed and the shipped order
    await _eventually(
        client,
        GetDailyRevenueV1(first_day=today, last_day=today),
        tenant,
        lambda r: [(d.revenue.amount, d.orders) for d in r.days] == [(counted, 2)],
    )
    live = await _revenue_rows(app_engine, tenant)
    assert len(live["revenue_contributions"]) == 3, "confirmed, cancelled and shipped"

    await rebuild(owner_engine, REBUILDABLE["revenue"])

    assert await _revenue_rows(app_engine, tenant) == live
