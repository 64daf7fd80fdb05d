"""Group commit on real Postgres: concurrent messages share a transaction, not their fate."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.identity.application.use_cases import RegisterUserCommand, register_user
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox, outbox, users
from commerce.platform.transactions.group_commit import BatchAbortedError, GroupCommit
from commerce.platform.transactions.ports import UnitOfWork
from commerce.platform.transactions.processing import Outcome, process_command
from commerce.platform.transactions.shared_unit_of_work import (
    SharedUnitOfWork,
    SharedUnitOfWorkFactory,
)
from commerce.registry.unit_of_work import shared_units_of_work
from tests.support.commands import CONSUMER, PASSWORD_HASH, context_for, register
from tests.support.fakes import FakeClock

pytestmark = pytest.mark.integration


def _factory(
    app_engine: AsyncEngine, max_members: int = 32, transactions: int = 1
) -> SharedUnitOfWorkFactory:
    group = GroupCommit(app_engine, max_members=max_members, transactions=transactions)
    return shared_units_of_work(group, source="/t")


async def _txids(relay_engine: AsyncEngine, tenant: TenantId) -> list[int]:
    query = select(outbox.c.txid).where(outbox.c.tenant_id == tenant.value)
    async with relay_engine.connect() as connection:
        return [int(txid) for txid in (await connection.scalars(query)).all()]


async def _emails(app_engine: AsyncEngine, tenant: TenantId) -> list[str]:
    async with tenant_transaction(app_engine, tenant.value) as connection:
        return sorted((await connection.scalars(select(users.c.email))).all())


async def _inbox(app_engine: AsyncEngine, tenant: TenantId) -> int:
    async with tenant_transaction(app_engine, tenant.value) as connection:
        return len((await connection.scalars(select(inbox.c.message_id))).all())


async def test_concurrent_messages_commit_in_one_transaction(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    tenants = [TenantId(uuid4()) for _ in range(3)]
    factory = _factory(app_engine)
    outcomes = await asyncio.gather(
        *(register(factory, context_for(t), f"u{i}@example.com") for i, t in enumerate(tenants))
    )
    assert outcomes == [Outcome.APPLIED] * 3
    txids = [txid for tenant in tenants for txid in await _txids(relay_engine, tenant)]
    assert len(txids) == 3
    assert len(set(txids)) == 1, "three messages, one transaction"
    for i, tenant in enumerate(tenants):  # each row went to its own tenant (RLS checked it)
        assert await _emails(app_engine, tenant) == [f"u{i}@example.com"]


async def test_concurrent_messages_spread_over_the_transactions_filling_at_once(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    factory = _factory(app_engine, transactions=2)
    await asyncio.gather(*(register(factory, context_for(tenant), f"u{i}@x.org") for i in range(6)))
    txids = await _txids(relay_engine, tenant)
    assert len(txids) == 6
    assert len(set(txids)) == 2, "two transactions filled side by side"
    assert sorted(txids.count(txid) for txid in set(txids)) == [3, 3], "evenly"


async def test_a_batch_holds_at_most_max_members(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    factory = _factory(app_engine, max_members=2)
    await asyncio.gather(*(register(factory, context_for(tenant), f"u{i}@x.org") for i in range(5)))
    assert len(await _emails(app_engine, tenant)) == 5
    txids = await _txids(relay_engine, tenant)
    assert max(txids.count(txid) for txid in txids) <= 2
    assert len(set(txids)) >= 3


async def test_a_failing_message_is_undone_alone(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    factory = _factory(app_engine)

    async def fail_after_work(uow: UnitOfWork) -> None:
        command = RegisterUserCommand(tenant, uuid4(), "doomed@example.com", "D", PASSWORD_HASH)
        await register_user(command, uow, clock=FakeClock())
        raise ConnectionError("transient")

    failing = process_command(
        consumer=CONSUMER,
        context=context_for(tenant),
        aggregate_id="x",
        handler=fail_after_work,
        open_unit_of_work=factory,
    )
    results = await asyncio.gather(
        register(factory, context_for(tenant), "first@example.com"),
        failing,
        register(factory, context_for(tenant), "last@example.com"),
        return_exceptions=True,
    )
    assert results[0] is Outcome.APPLIED
    assert isinstance(results[1], ConnectionError)
    assert results[2] is Outcome.APPLIED
    assert await _emails(app_engine, tenant) == ["first@example.com", "last@example.com"]
    assert await _inbox(app_engine, tenant) == 2, "the failed message can be retried"
    assert len(set(await _txids(relay_engine, tenant))) == 1


async def test_rejections_and_duplicates_inside_a_batch(app_engine: AsyncEngine) -> None:
    tenant = TenantId(uuid4())
    factory = _factory(app_engine)
    repeated, user_id = context_for(tenant), uuid4()
    results = await asyncio.gather(
        register(factory, repeated, "ada@example.com", user_id),
        register(factory, repeated, "ada@example.com", user_id),
        register(factory, context_for(tenant), "ADA@example.com"),
        register(factory, context_for(tenant), "bob@example.com"),
    )
    assert sorted(results) == sorted(
        [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.REJECTED, Outcome.APPLIED]
    )
    assert await _emails(app_engine, tenant) == ["ada@example.com", "bob@example.com"]
    assert await _inbox(app_engine, tenant) == 3, "applied, rejected and the other applied"


async def test_a_lost_connection_fails_every_message_of_the_batch(
    app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    factory = _factory(app_engine)

    async def kill_own_backend(uow: UnitOfWork) -> None:
        assert isinstance(uow, SharedUnitOfWork)
        pid = await uow.connection.scalar(text("SELECT pg_backend_pid()"))
        async with admin_engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await uow.connection.execute(text("SELECT 1"))

    results = await asyncio.gather(
        _run(factory, tenant, _register(tenant, "early@example.com")),
        _run(factory, tenant, kill_own_backend),
        return_exceptions=True,
    )
    assert all(isinstance(result, Exception) for result in results), results
    assert isinstance(results[0], BatchAbortedError), "the committed-looking member is retried"
    assert await _emails(app_engine, tenant) == []
    assert await _inbox(app_engine, tenant) == 0
    # The group recovers: the next batch gets a fresh connection.
    assert await register(factory, context_for(tenant), "later@example.com") is Outcome.APPLIED


async def test_a_cancelled_waiting_message_does_not_stall_the_batch(
    app_engine: AsyncEngine,
) -> None:
    tenant = TenantId(uuid4())
    factory = _factory(app_engine)
    release = asyncio.Event()

    async def slow(uow: UnitOfWork) -> None:
        await release.wait()
        await _register(tenant, "slow@example.com")(uow)

    slow_task = asyncio.create_task(_run(factory, tenant, slow))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(register(factory, context_for(tenant), "waits@example.com"))
    await asyncio.sleep(0.05)
    waiting.cancel()
    release.set()
    assert await asyncio.wait_for(slow_task, timeout=10) is Outcome.APPLIED
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await _emails(app_engine, tenant) == ["slow@example.com"]


def _register(tenant: TenantId, email: str) -> Callable[[UnitOfWork], Awaitable[None]]:
    command = RegisterUserCommand(tenant, uuid4(), email, "X", PASSWORD_HASH)

    async def handler(uow: UnitOfWork) -> None:
        await register_user(command, uow, clock=FakeClock())

    return handler


async def _run(
    factory: SharedUnitOfWorkFactory,
    tenant: TenantId,
    handler: Callable[[UnitOfWork], Awaitable[None]],
    message_id: UUID | None = None,
) -> Outcome:
    return await process_command(
        consumer=CONSUMER,
        context=context_for(tenant, message_id),
        aggregate_id="x",
        handler=handler,
        open_unit_of_work=factory,
    )


async def test_a_message_whose_consumer_is_known_is_claimed_as_its_turn_begins(
    app_engine: AsyncEngine,
) -> None:
    tenant = TenantId(uuid4())
    factory = _factory(app_engine)

    def claimed(message_id: UUID | None = None) -> MessageContext:
        return replace(context_for(tenant, message_id), consumer=CONSUMER)

    repeated, user_id = claimed(), uuid4()
    results = await asyncio.gather(
        register(factory, repeated, "ada@example.com", user_id),
        register(factory, repeated, "ada@example.com", user_id),
        register(factory, claimed(), "ADA@example.com"),
    )
    assert sorted(results) == sorted([Outcome.APPLIED, Outcome.DUPLICATE, Outcome.REJECTED])
    assert await register(factory, repeated, "ada@example.com", user_id) is Outcome.DUPLICATE
    assert await _emails(app_engine, tenant) == ["ada@example.com"]
    assert await _inbox(app_engine, tenant) == 2, "the applied one and the rejected one"
