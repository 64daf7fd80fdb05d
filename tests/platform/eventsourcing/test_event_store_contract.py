"""One event store contract, two implementations: in memory and Postgres (as the app role).

Every scenario goes through a unit of work, the way handlers use the store, so the
transactional promises are tested too: appends commit with the outbox rows or not at all,
and a concurrency conflict dooms the transaction unless its savepoint is rolled back.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import uuid4

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.eventsourcing.streams import (
    ConcurrencyConflict,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from commerce.platform.kit.ids import TenantId, new_uuid7
from commerce.platform.kit.message_context import MessageContext, Rejection
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import events, outbox
from commerce.platform.transactions.ports import UnitOfWork, UnitOfWorkFactory
from commerce.platform.transactions.processing import Outcome, process_command
from commerce.platform.transactions.unit_of_work import (
    OwnTransactionUnitOfWork,
    SqlUnitOfWorkFactory,
)
from commerce.registry.events import integration_event_for
from commerce.registry.unit_of_work import units_of_work
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.tally import (
    ADDED_V1,
    ADDED_V2,
    ADDED_V3,
    TALLY,
    Tally,
    replay_all,
    tally_repository,
    tally_upcasters,
)

pytestmark = pytest.mark.contract


@dataclass
class Harness:
    """A unit-of-work factory (with the tally upcasters) and a way to count outbox rows."""

    factory: UnitOfWorkFactory
    outbox_rows: Callable[[TenantId], Awaitable[int]]


@pytest.fixture(params=["memory", "postgres"])
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "memory":
        memory = InMemoryUnitOfWorkFactory(upcasters=tally_upcasters())

        async def memory_outbox(tenant: TenantId) -> int:
            return len(memory.store.rejections) + len(memory.store.published)

        return Harness(memory, memory_outbox)
    app_engine: AsyncEngine = request.getfixturevalue("app_engine")
    relay_engine: AsyncEngine = request.getfixturevalue("relay_engine")

    async def postgres_outbox(tenant: TenantId) -> int:
        query = select(func.count()).select_from(outbox).where(outbox.c.tenant_id == tenant.value)
        async with relay_engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    factory = SqlUnitOfWorkFactory(
        app_engine,
        kind=OwnTransactionUnitOfWork,
        source="/contract",
        upcasters=tally_upcasters(),
        published_as=integration_event_for,
    )
    return Harness(factory, postgres_outbox)


def context(tenant: TenantId) -> MessageContext:
    message_id = new_uuid7()
    return MessageContext(
        message_id=message_id,
        message_type="tests.tally.Add.v1",
        tenant_id=tenant,
        correlation_id=uuid4(),
    )


def added(amount: int, label: str = "") -> NewEvent:
    return NewEvent(event_type=ADDED_V3, payload={"amount": amount, "label": label, "unit": "each"})


async def append(
    harness: Harness, tenant: TenantId, stream: StreamId, expected: int, events: Sequence[NewEvent]
) -> list[RecordedEvent]:
    async with harness.factory(context(tenant)) as uow:
        recorded = await uow.events.append(stream, expected, events)
        await uow.commit()
    return recorded


async def load(harness: Harness, tenant: TenantId, stream: StreamId) -> list[RecordedEvent]:
    async with harness.factory(context(tenant)) as uow:
        return await uow.events.load(stream)


def new_stream() -> StreamId:
    return StreamId(TALLY, uuid4())


async def test_append_then_load_round_trips_in_version_order(harness: Harness) -> None:
    tenant, stream = TenantId(uuid4()), new_stream()
    ctx = context(tenant)
    async with harness.factory(ctx) as uow:
        await uow.events.append(stream, 0, [added(1, "a"), added(2, "b")])
        await uow.commit()
    await append(harness, tenant, stream, 2, [added(3, "c")])

    loaded = await load(harness, tenant, stream)
    assert [e.version for e in loaded] == [1, 2, 3]
    assert [e.payload["label"] for e in loaded] == ["a", "b", "c"]
    assert {e.event_type for e in loaded} == {ADDED_V3}
    assert all(e.stream == stream and e.tenant_id == tenant for e in loaded)
    assert [e.position for e in loaded] == sorted({e.position for e in loaded})
    first = loaded[0].metadata
    assert first["correlation_id"] == str(ctx.correlation_id)
    assert first["causation_id"] == str(ctx.message_id)
    assert len({e.metadata["event_id"] for e in loaded}) == 3
    assert [e.version for e in await _load_after(harness, tenant, stream, 1)] == [2, 3]


async def _load_after(
    harness: Harness, tenant: TenantId, stream: StreamId, after: int
) -> list[RecordedEvent]:
    async with harness.factory(context(tenant)) as uow:
        return await uow.events.load(stream, after_version=after)


@pytest.mark.parametrize("expected", [0, 1, 3])
async def test_a_wrong_expected_version_conflicts_and_dooms_the_transaction(
    harness: Harness, expected: int
) -> None:
    tenant, stream = TenantId(uuid4()), new_stream()
    await append(harness, tenant, stream, 0, [added(1), added(1)])
    async with harness.factory(context(tenant)) as uow:
        uow.outbox.reject(Rejection("tests.tally.Add.v1", str(stream.id), "x", "y"))
        with pytest.raises(ConcurrencyConflict, match="at version 2") as caught:
            await uow.events.append(stream, expected, [added(5)])
        assert caught.value.stream == stream
        assert caught.value.expected_version == expected
        with pytest.raises(ConcurrencyConflict):
            await uow.commit()
    assert len(await load(harness, tenant, stream)) == 2
    assert await harness.outbox_rows(tenant) == 0


async def test_concurrent_appends_one_wins_and_the_retried_loser_applies(harness: Harness) -> None:
    tenant, tally_id = TenantId(uuid4()), uuid4()
    both_loaded = asyncio.Barrier(2)

    def add(amount: int, *, race: bool) -> Callable[[UnitOfWork], Awaitable[None]]:
        async def handler(uow: UnitOfWork) -> None:
            tallies = tally_repository(uow.events)
            tally = await tallies.load(tally_id) or Tally()
            if race:
                await both_loaded.wait()
            tally.add(amount)
            await tallies.save(tally_id, tally)

        return handler

    async def run(ctx: MessageContext, amount: int, *, race: bool) -> Outcome:
        return await process_command(
            consumer="tests.tally",
            context=ctx,
            aggregate_id=str(tally_id),
            handler=add(amount, race=race),
            open_unit_of_work=harness.factory,
        )

    contexts = [context(tenant), context(tenant)]
    results = await asyncio.gather(
        *(run(ctx, n, race=True) for n, ctx in enumerate(contexts, 1)), return_exceptions=True
    )
    assert Outcome.APPLIED in results
    conflicts = [n for n, result in enumerate(results) if isinstance(result, ConcurrencyConflict)]
    assert len(conflicts) == 1
    loser = conflicts[0]
    assert len(await load(harness, tenant, StreamId(TALLY, tally_id))) == 1

    assert await run(contexts[loser], loser + 1, race=False) is Outcome.APPLIED
    async with harness.factory(context(tenant)) as uow:
        tally = await tally_repository(uow.events).load(tally_id)
    assert tally is not None
    assert (tally.version, tally.total) == (2, 3)


async def test_a_conflict_inside_a_savepoint_leaves_the_transaction_usable(
    harness: Harness,
) -> None:
    tenant, stream = TenantId(uuid4()), new_stream()
    async with (
        harness.factory(context(tenant)) as first,
        harness.factory(context(tenant)) as second,
    ):
        await first.events.append(stream, 0, [added(1, "first")])
        racing = asyncio.create_task(_append(second, stream, savepoint=True))
        await asyncio.sleep(0.2)  # Postgres: the racing append now waits on the unique key
        await first.commit()
        with pytest.raises(ConcurrencyConflict, match="another transaction won"):
            await racing
        await second.events.append(stream, 1, [added(2, "second")])
        await second.commit()
    assert [e.payload["label"] for e in await load(harness, tenant, stream)] == ["first", "second"]


async def test_a_conflict_outside_a_savepoint_makes_commit_fail(harness: Harness) -> None:
    tenant, stream = TenantId(uuid4()), new_stream()
    async with (
        harness.factory(context(tenant)) as first,
        harness.factory(context(tenant)) as second,
    ):
        await first.events.append(stream, 0, [added(1, "first")])
        racing = asyncio.create_task(_append(second, stream, savepoint=False))
        await asyncio.sleep(0.2)
        await first.commit()
        with pytest.raises(ConcurrencyConflict, match="another transaction won"):
            await racing
        with pytest.raises(ConcurrencyConflict):
            await second.commit()
    assert [e.payload["label"] for e in await load(harness, tenant, stream)] == ["first"]


async def _append(uow: UnitOfWork, stream: StreamId, *, savepoint: bool) -> None:
    if not savepoint:
        await uow.events.append(stream, 0, [added(1, "lost")])
        return
    async with uow.savepoint():
        await uow.events.append(stream, 0, [added(1, "lost")])


async def test_events_and_outbox_rows_commit_or_roll_back_together(harness: Harness) -> None:
    tenant, stream = TenantId(uuid4()), new_stream()
    rejection = Rejection("tests.tally.Add.v1", str(stream.id), "x", "y")

    async def crash_before_commit() -> None:
        async with harness.factory(context(tenant)) as uow:
            await uow.events.append(stream, 0, [added(1)])
            uow.outbox.reject(rejection)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await crash_before_commit()
    assert await load(harness, tenant, stream) == []
    assert await harness.outbox_rows(tenant) == 0

    async with harness.factory(context(tenant)) as uow:
        await uow.events.append(stream, 0, [added(1)])
        uow.outbox.reject(rejection)
        await uow.commit()
    assert len(await load(harness, tenant, stream)) == 1
    assert await harness.outbox_rows(tenant) == 1


async def test_snapshot_plus_tail_equals_full_replay(harness: Harness) -> None:
    tenant, tally_id = TenantId(uuid4()), uuid4()
    stream = StreamId(TALLY, tally_id)
    for amounts in ([1, 2], [3], [4, 5, 6], [7]):
        async with harness.factory(context(tenant)) as uow:
            tallies = tally_repository(uow.events, snapshot_every=3)
            tally = await tallies.load(tally_id) or Tally()
            for amount in amounts:
                tally.add(amount, str(amount))
            assert len(await tallies.save(tally_id, tally)) == len(amounts)
            await uow.commit()
    async with harness.factory(context(tenant)) as uow:
        snapshot = await uow.events.latest_snapshot(stream)
        assert snapshot is not None
        assert (snapshot.version, snapshot.state["total"]) == (6, 21)
        assert snapshot.taken_at is not None
        assert snapshot.taken_at.tzinfo is not None
        assert [e.version for e in await uow.events.load(stream, after_version=6)] == [7]
        from_snapshot = await tally_repository(uow.events, snapshot_every=3).load(tally_id)
        ignoring_it = await tally_repository(uow.events, snapshot_schema=2).load(tally_id)
        full = replay_all(await uow.events.load(stream))
    assert from_snapshot is not None
    assert ignoring_it is not None
    assert from_snapshot.same_state(full)
    assert ignoring_it.same_state(full)
    assert (full.version, full.total) == (7, 28)


async def test_events_stored_as_older_versions_load_upcast_through_the_chain(
    harness: Harness,
) -> None:
    tenant, tally_id = TenantId(uuid4()), uuid4()
    stream = StreamId(TALLY, tally_id)
    old = [
        NewEvent(event_type=ADDED_V1, payload={"n": 4}),
        NewEvent(event_type=ADDED_V2, payload={"amount": 5, "label": "five"}),
    ]
    await append(harness, tenant, stream, 0, [*old, added(6, "six")])
    loaded = await load(harness, tenant, stream)
    assert [e.event_type for e in loaded] == [ADDED_V3] * 3
    assert [e.payload for e in loaded] == [
        {"amount": 4, "label": "", "unit": "each"},
        {"amount": 5, "label": "five", "unit": "each"},
        {"amount": 6, "label": "six", "unit": "each"},
    ]
    async with harness.factory(context(tenant)) as uow:
        tally = await tally_repository(uow.events).load(tally_id)
    assert tally is not None
    assert tally.total == 15


async def test_another_tenant_sees_nothing_and_cannot_take_the_stream(harness: Harness) -> None:
    owner, other, tally_id = TenantId(uuid4()), TenantId(uuid4()), uuid4()
    stream = StreamId(TALLY, tally_id)
    async with harness.factory(context(owner)) as uow:
        tallies = tally_repository(uow.events, snapshot_every=1)
        tally = Tally()
        tally.add(1)
        await tallies.save(tally_id, tally)
        await uow.commit()

    async with harness.factory(context(other)) as uow:
        assert await uow.events.load(stream) == []
        assert await uow.events.latest_snapshot(stream) is None
        assert await tally_repository(uow.events).load(tally_id) is None
        with pytest.raises(ConcurrencyConflict):  # stream ids are global: no second owner
            await uow.events.append(stream, 0, [added(1)])
    assert len(await load(harness, owner, stream)) == 1


# -- Postgres only -------------------------------------------------------------------------


async def test_events_are_append_only_for_the_app_role(app_engine: AsyncEngine) -> None:
    tenant, stream = TenantId(uuid4()), new_stream()
    factory = units_of_work(app_engine, source="/contract")
    async with factory(context(tenant)) as uow:
        await uow.events.append(stream, 0, [added(1)])
        await uow.commit()
    for statement in (
        update(events).values(payload={}).where(events.c.stream_id == stream.id),
        delete(events).where(events.c.stream_id == stream.id),
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with tenant_transaction(app_engine, tenant.value) as connection:
                await connection.execute(statement)
