"""One contract, three implementations: in memory, Postgres, and Postgres group commit.

Every scenario runs against each, so the fake used by unit tests cannot drift from what
the database really does (inbox dedup, all-or-nothing commit, tenant isolation).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import uuid4

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.identity.application.directory import DirectoryEntry
from commerce.identity.application.use_cases import RegisterUserCommand, register_user
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.messaging.rejections import CommandRejectedV1
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox, outbox, users
from commerce.platform.transactions.group_commit import GroupCommit
from commerce.platform.transactions.ports import UnitOfWork, UnitOfWorkFactory
from commerce.platform.transactions.processing import Outcome, process_command
from commerce.platform.transactions.shared_unit_of_work import SharedUnitOfWorkFactory
from commerce.platform.transactions.unit_of_work import SqlUnitOfWorkFactory
from commerce.registry.events import integration_event_for
from commerce.registry.unit_of_work import shared_units_of_work, units_of_work
from tests.support.commands import CONSUMER, PASSWORD_HASH, context_for, register
from tests.support.fakes import FakeClock, InMemoryUnitOfWorkFactory

pytestmark = pytest.mark.contract


class Probe(Protocol):
    """Reads what a unit of work committed, for one implementation."""

    factory: UnitOfWorkFactory

    async def emails(self, tenant: TenantId) -> list[str]: ...

    async def event_types(self, tenant: TenantId) -> list[str]: ...

    async def inbox_size(self, tenant: TenantId) -> int: ...


@dataclass
class MemoryProbe:
    factory: InMemoryUnitOfWorkFactory

    async def emails(self, tenant: TenantId) -> list[str]:
        return sorted(
            u.email.value for u in self.factory.store.users.values() if u.tenant_id == tenant
        )

    async def event_types(self, tenant: TenantId) -> list[str]:
        store = self.factory.store
        published = [
            integration_event_for(e).message_type for e in store.published if e.tenant_id == tenant
        ]
        return published + [CommandRejectedV1.message_type for _ in store.rejections]

    async def inbox_size(self, tenant: TenantId) -> int:
        return len(self.factory.store.inbox)


@dataclass
class PostgresProbe:
    factory: SqlUnitOfWorkFactory | SharedUnitOfWorkFactory
    app_engine: AsyncEngine
    relay_engine: AsyncEngine

    async def _tenant_rows(self, tenant: TenantId, column: ColumnElement[object]) -> list[object]:
        async with tenant_transaction(self.app_engine, tenant.value) as connection:
            return list((await connection.scalars(select(column))).all())

    async def emails(self, tenant: TenantId) -> list[str]:
        return sorted(str(email) for email in await self._tenant_rows(tenant, users.c.email))

    async def event_types(self, tenant: TenantId) -> list[str]:
        # The app role may insert outbox rows but not read them; the relay role reads all.
        query = (
            select(outbox.c.event_type)
            .where(outbox.c.tenant_id == tenant.value)
            .order_by(outbox.c.position)
        )
        async with self.relay_engine.connect() as connection:
            return list((await connection.scalars(query)).all())

    async def inbox_size(self, tenant: TenantId) -> int:
        return len(await self._tenant_rows(tenant, inbox.c.message_id))


@pytest.fixture(params=["memory", "postgres", "postgres-group-commit"])
def probe(request: pytest.FixtureRequest) -> Probe:
    if request.param == "memory":
        return MemoryProbe(InMemoryUnitOfWorkFactory())
    app_engine: AsyncEngine = request.getfixturevalue("app_engine")
    relay_engine: AsyncEngine = request.getfixturevalue("relay_engine")
    factory = (
        units_of_work(app_engine, source="/contract")
        if request.param == "postgres"
        else shared_units_of_work(GroupCommit(app_engine, max_members=8), source="/contract")
    )
    return PostgresProbe(factory, app_engine, relay_engine)


async def test_applied_command_commits_state_inbox_and_outbox_together(probe: Probe) -> None:
    tenant = TenantId(uuid4())
    assert await register(probe.factory, context_for(tenant), "ada@example.com") is Outcome.APPLIED
    assert await probe.emails(tenant) == ["ada@example.com"]
    assert await probe.event_types(tenant) == ["commerce.identity.UserRegistered.v1"]
    assert await probe.inbox_size(tenant) == 1


async def test_duplicate_message_is_recognised_and_changes_nothing(probe: Probe) -> None:
    tenant = TenantId(uuid4())
    context, user_id = context_for(tenant), uuid4()
    await register(probe.factory, context, "ada@example.com", user_id)
    assert await register(probe.factory, context, "ada@example.com", user_id) is Outcome.DUPLICATE
    assert await probe.event_types(tenant) == ["commerce.identity.UserRegistered.v1"]


async def test_rule_violation_keeps_inbox_and_rejection_but_no_state(probe: Probe) -> None:
    tenant = TenantId(uuid4())
    await register(probe.factory, context_for(tenant), "ada@example.com")
    assert await register(probe.factory, context_for(tenant), "ADA@example.com") is Outcome.REJECTED
    assert await probe.emails(tenant) == ["ada@example.com"]
    assert await probe.inbox_size(tenant) == 2
    assert (await probe.event_types(tenant))[-1] == CommandRejectedV1.message_type


async def test_tenants_do_not_see_each_other(probe: Probe) -> None:
    first, second = TenantId(uuid4()), TenantId(uuid4())
    await register(probe.factory, context_for(first), "ada@example.com")
    assert await probe.emails(second) == []
    assert await register(probe.factory, context_for(second), "ada@example.com") is Outcome.APPLIED


async def test_failure_rolls_everything_back(probe: Probe) -> None:
    tenant = TenantId(uuid4())
    context = context_for(tenant)

    async def fail_after_work(uow: UnitOfWork) -> None:
        await register_user(
            RegisterUserCommand(tenant, uuid4(), "ada@example.com", "Ada", PASSWORD_HASH),
            uow,
            clock=FakeClock(),
        )
        raise ConnectionError("lost the database mid-way")

    with pytest.raises(ConnectionError):
        await process_command(
            consumer=CONSUMER,
            context=context,
            aggregate_id="x",
            handler=fail_after_work,
            open_unit_of_work=probe.factory,
        )
    assert await probe.emails(tenant) == []
    assert await probe.inbox_size(tenant) == 0
    assert await probe.event_types(tenant) == []


async def test_the_user_directory_keeps_the_newest_version_of_each_user(probe: Probe) -> None:
    """Projection idempotency: an older or repeated version never overwrites a newer one."""
    tenant, user_id = TenantId(uuid4()), UserId(uuid4())
    now = datetime.now(UTC)

    async def record(version: int, email: str) -> bool:
        async with probe.factory(context_for(tenant)) as uow:
            changed = await uow.user_directory.record(
                DirectoryEntry(user_id, email, "Ada", version, now)
            )
            await uow.commit()
        return changed

    assert await record(2, "new@example.com")
    assert not await record(1, "old@example.com"), "an older version changes nothing"
    assert not await record(2, "again@example.com"), "a repeated version changes nothing"
    assert await record(3, "newest@example.com")
