"""Orders on the real event store: racing commands, snapshots, one transaction for all.

"Two concurrent AddLine commands on the same order both end up applied (one retried after
a version conflict), never lost, never doubled", on Postgres and on the in-memory fakes;
"appending events and writing the outbox rows is one transaction" on Postgres.
"""

import asyncio
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.adapters.orm import outbox
from commerce.adapters.unit_of_work import SqlUnitOfWorkFactory
from commerce.application.event_sourcing import StreamId
from commerce.application.orders import ORDER_STREAM, AddLineCommand, add_line
from commerce.application.ports import UnitOfWork, UnitOfWorkFactory
from commerce.application.processing import Outcome
from commerce.domain.order_events import OrderLineAdded
from commerce.domain.values import TenantId
from commerce.messages.commands_orders import AddLine
from tests.support.database import ProvisionedDatabase
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.racing import RacingFactory, retrying
from tests.support.scenario import Scenario
from tests.support.shop import Shop, eventually
from tests.support.worker import running_worker, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
def factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return InMemoryUnitOfWorkFactory()
    app_engine: AsyncEngine = request.getfixturevalue("app_engine")
    return SqlUnitOfWorkFactory(app_engine, source="/tests")


async def _outbox_types(relay_engine: AsyncEngine, tenant: TenantId) -> list[str]:
    query = (
        select(outbox.c.event_type)
        .where(outbox.c.tenant_id == tenant.value)
        .order_by(outbox.c.position)
    )
    async with relay_engine.connect() as connection:
        return list((await connection.scalars(query)).all())


async def test_two_concurrent_add_lines_on_one_order_both_apply_one_after_a_retry(
    factory: UnitOfWorkFactory,
) -> None:
    """Never lost, never doubled: the loser's whole command re-runs on the winner's events."""
    scenario = Scenario(factory)
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer)
    first, second = [(await scenario.create_item())[1] for _ in range(2)]
    racing = Scenario(RacingFactory(factory), tenant=scenario.tenant)

    results = await asyncio.gather(
        retrying(lambda: racing.add_line(order_id, first)),
        retrying(lambda: racing.add_line(order_id, second)),
    )

    assert [outcome for outcome, _ in results] == [Outcome.APPLIED, Outcome.APPLIED]
    assert sorted(conflicts for _, conflicts in results) == [0, 1], "exactly one retried"
    order = await scenario.order(order_id)
    assert order is not None
    assert order.version == 4
    assert sorted(str(line.item_id) for line in order.lines[1:]) == sorted(
        [str(first), str(second)]
    )


async def test_many_racing_add_lines_all_apply_exactly_once(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    factory = SqlUnitOfWorkFactory(app_engine, source="/tests")
    scenario = Scenario(factory)
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer)
    items = [(await scenario.create_item())[1] for _ in range(6)]

    results = await asyncio.gather(
        *(retrying(partial(scenario.add_line, order_id, item), tries=10) for item in items)
    )

    assert all(outcome is Outcome.APPLIED for outcome, _ in results)
    order = await scenario.order(order_id)
    assert order is not None
    assert order.version == 2 + len(items)
    assert {line.item_id for line in order.lines} >= set(items)
    types = await _outbox_types(relay_engine, scenario.tenant)
    assert types.count(OrderLineAdded.event_type) == 1 + len(items), "one outbox row per line"


async def test_snapshots_are_saved_in_the_transaction_and_used_on_load(
    app_engine: AsyncEngine,
) -> None:
    factory = SqlUnitOfWorkFactory(app_engine, source="/tests")
    scenario = Scenario(factory, snapshot_every=2)
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer)
    for _ in range(3):
        _, item_id = await scenario.create_item()
        await scenario.add_line(order_id, item_id)
    stream = StreamId(ORDER_STREAM, order_id.value)
    snapshot = await scenario.read(lambda uow: uow.events.latest_snapshot(stream))
    assert snapshot is not None
    assert (snapshot.version, snapshot.schema_version) == (4, 1)
    assert len(snapshot.state["lines"]) == 3
    order = await scenario.order(order_id)
    assert order is not None
    assert (order.version, len(order.lines)) == (5, 4)


async def test_events_and_outbox_rows_commit_or_roll_back_together(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    factory = SqlUnitOfWorkFactory(app_engine, source="/tests")
    scenario = Scenario(factory)
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer)
    _, item_id = await scenario.create_item()
    before = await _outbox_types(relay_engine, scenario.tenant)

    async def add_then_crash(uow: UnitOfWork) -> None:
        command = AddLineCommand(order_id, item_id, 1)
        await add_line(command, uow, clock=scenario.clock, snapshot_every=50)
        raise ConnectionResetError("the worker died before commit")

    with pytest.raises(ConnectionResetError):
        await scenario.run("AddLine", order_id, add_then_crash)
    order = await scenario.order(order_id)
    assert order is not None
    assert order.version == 2, "no event appended"
    assert await _outbox_types(relay_engine, scenario.tenant) == before, "no outbox row"
    assert await scenario.add_line(order_id, item_id) is Outcome.APPLIED, "the redelivery"
    assert (await _outbox_types(relay_engine, scenario.tenant))[len(before) :] == [
        OrderLineAdded.event_type
    ]


async def test_add_lines_racing_through_the_worker_are_all_applied_once(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
) -> None:
    """The failure policy retries a conflicted command; no line is lost or doubled."""
    shop = Shop(app_engine, relay_engine)
    async with running_worker(settings_for(provisioned_database, rabbit_url)) as service:
        items = await shop.open_order(service, items=8)
        await asyncio.gather(
            *(
                shop.send(service, AddLine(order_id=shop.order_id, item_id=item, quantity=1))
                for item in items
            )
        )
        await eventually(shop.order_version, 1 + len(items))
        await asyncio.sleep(0.5)
    assert await shop.order_version() == 1 + len(items)
    assert len(await shop.published(OrderLineAdded.event_type)) == len(items)
