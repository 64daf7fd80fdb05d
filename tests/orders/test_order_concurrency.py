"""Orders on the real event store: racing commands, snapshots, one transaction for all.

"Two concurrent AddLine commands on the same order both end up applied (one retried after
a version conflict), never lost, never doubled": through ``process_command`` on Postgres
and on the in-memory fakes, and through two real workers and their failure policy on
RabbitMQ and on Kafka. "Appending events and writing the outbox rows is one transaction"
on Postgres.
"""

import asyncio
import itertools
from functools import partial
from uuid import UUID

import pytest
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.service import Service
from commerce.bootstrap.wiring import SOURCE
from commerce.orders.application.use_cases import ORDER_STREAM, AddLineCommand, add_line
from commerce.orders.messages.channels import ADD_LINE
from commerce.orders.messages.commands import AddLine
from commerce.orders.messages.events import OrderLineAddedV1
from commerce.platform.eventsourcing.streams import StreamId
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.transport import OutgoingMessage, namespaced
from commerce.platform.observability.metrics import REGISTRY
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import events, outbox
from commerce.platform.transactions.ports import UnitOfWork, UnitOfWorkFactory
from commerce.platform.transactions.processing import Outcome
from commerce.registry.consumer_groups import COMMANDS
from commerce.registry.unit_of_work import units_of_work
from tests.support.database import ProvisionedDatabase
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.racing import Gate, RacingFactory, retrying
from tests.support.scenario import Scenario
from tests.support.shop import Shop, eventually
from tests.support.worker import running_worker, settings_for

LINE_ADDED = OrderLineAddedV1.message_type
REJECTED = "commerce.CommandRejected.v1"

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
def factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return InMemoryUnitOfWorkFactory()
    app_engine: AsyncEngine = request.getfixturevalue("app_engine")
    return units_of_work(app_engine, source="/tests")


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
    factory = units_of_work(app_engine, source="/tests")
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
    assert types.count(LINE_ADDED) == 1 + len(items), "one outbox row per line"


async def test_snapshots_are_saved_in_the_transaction_and_used_on_load(
    app_engine: AsyncEngine,
) -> None:
    factory = units_of_work(app_engine, source="/tests")
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
    factory = units_of_work(app_engine, source="/tests")
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
    assert (await _outbox_types(relay_engine, scenario.tenant))[len(before) :] == [LINE_ADDED]


def _immediate_retries() -> float:
    """``commerce_retries_total`` of the add-line consumer's immediate retries (of version
    conflicts, where the metric names the reason)."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name == "commerce_retries_total"
        and sample.labels["consumer"] == ADD_LINE.consumer
        and sample.labels["kind"] == "immediate"
        and sample.labels.get("reason", "ConcurrencyConflict").endswith("ConcurrencyConflict")
    )


def _key_on(partition: int, partitions: int) -> str:
    """A Kafka key the default partitioner puts on ``partition``."""
    every = list(range(partitions))
    for n in itertools.count():
        if DefaultPartitioner()(f"key-{n}".encode(), every, every) == partition:
            return f"key-{n}"
    raise AssertionError("unreachable")


async def _partition_of(service: Service, topic: str) -> int | None:
    """The one partition of ``topic`` this Kafka worker's group members hold, if just one."""
    for subscriber in service.transport.broker.subscribers:
        if topic in getattr(subscriber, "topic_names_for_subscribe", ()):
            members = getattr(subscriber, "consumer_subgroup", None) or [subscriber.consumer]
            held = {
                tp.partition
                for member in members
                if member is not None
                for tp in member.assignment()
                if tp.topic == topic
            }
            return held.pop() if len(held) == 1 else None
    raise LookupError(topic)


async def _send_keyed(service: Service, command: AddLine, tenant: UUID, key: str) -> None:
    """Send ``command`` as an upstream service that keys its messages by ``key`` would."""
    envelope = Envelope.new(
        type=command.message_type,
        source=SOURCE,
        tenant_id=tenant,
        subject=command.aggregate_key(),
    )
    message = OutgoingMessage(
        body=command.wire_body(),
        key=key,
        headers=envelope.headers(service.transport.style),
        content_type=envelope.content_type,
        message_id=str(envelope.id),
    )
    await service.transport.send_command(ADD_LINE, message)


async def test_two_add_lines_racing_through_two_workers_conflict_once_and_both_apply(
    provisioned_database: ProvisionedDatabase,
    broker_url: str,
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
) -> None:
    """Two workers take one AddLine each for the same order; both load version 1 before
    either appends (a gate in the event store, test-only). One append wins; the other meets
    a version conflict, which the add-line consumer's failure policy retries at once: both
    lines are applied, each once, and exactly one immediate retry is counted.

    On RabbitMQ the workers share the command queue, one unacknowledged message each. On
    Kafka an order's commands share a partition when keyed by the order, as ours are; the
    two AddLines here come from a producer keying them otherwise, so they land on the two
    partitions, one per worker, as they also can across a rebalance.
    """
    settings = settings_for(provisioned_database, broker_url)
    settings.broker.prefetch = 1
    settings.broker.partitions = 2
    settings.broker.kafka_command_members = 1  # one partition per worker, as on RabbitMQ
    shop = Shop(app_engine, relay_engine)
    kafka = broker_url.startswith("kafka://")
    async with running_worker(settings) as first, running_worker(settings) as second:
        items = await shop.open_order(first, items=2)
        commands = [AddLine(order_id=shop.order_id, item_id=item, quantity=1) for item in items]
        gate = Gate(2, timeout=30)
        for worker in (first, second):
            intake = worker.compartments[COMMANDS]
            intake.open_unit_of_work = RacingFactory(
                intake.open_unit_of_work, gate=gate, only=AddLine.message_type
            )
        retries = _immediate_retries()
        if kafka:
            topic = namespaced(settings.broker.namespace, ADD_LINE.name)
            checks = [partial(_partition_of, worker, topic) for worker in (first, second)]
            held: list[int | None] = []

            async def one_partition_each() -> bool:
                held[:] = await asyncio.gather(*(check() for check in checks))
                return sorted(held, key=str) == [0, 1]

            await eventually(one_partition_each, True)
            for partition, command in zip(held, commands, strict=True):
                assert partition is not None
                await _send_keyed(first, command, shop.tenant, _key_on(partition, 2))
        else:
            for command in commands:
                await shop.send(first, command)
        await eventually(shop.order_version, 3)

    assert gate.met, "both AddLines loaded the order before either appended"
    assert _immediate_retries() - retries == 1, "one conflict, retried at once"
    async with tenant_transaction(app_engine, shop.tenant) as connection:
        lines = await connection.scalars(
            select(events.c.payload["item_id"].astext)
            .where(events.c.stream_id == shop.order_id, events.c.version > 1)
            .order_by(events.c.version)
        )
        assert sorted(lines) == sorted(str(item) for item in items), "each line once"
    assert await shop.order_version() == 3
    assert len(await shop.published(LINE_ADDED)) == 2, "one outbox row per line"
    assert await shop.published(REJECTED) == []
