"""Exactly-once command processing, on the in-memory unit of work."""

from uuid import uuid4

import pytest

from commerce.platform.kit.ids import TenantId
from commerce.platform.transactions.ports import UnitOfWork
from commerce.platform.transactions.processing import Outcome, process_command
from tests.support.commands import CONSUMER, context_for, register
from tests.support.fakes import InMemoryUnitOfWorkFactory

pytestmark = pytest.mark.unit


async def test_a_command_is_applied_and_its_event_staged() -> None:
    factory = InMemoryUnitOfWorkFactory()
    assert await register(factory, context_for(TenantId(uuid4()))) is Outcome.APPLIED
    assert len(factory.store.users) == 1
    assert len(factory.store.published) == 1


async def test_a_redelivered_message_has_no_second_effect() -> None:
    factory = InMemoryUnitOfWorkFactory()
    context = context_for(TenantId(uuid4()))
    user_id = uuid4()
    assert await register(factory, context, user_id=user_id) is Outcome.APPLIED
    assert await register(factory, context, user_id=user_id) is Outcome.DUPLICATE
    assert len(factory.store.users) == 1
    assert len(factory.store.published) == 1


async def test_a_rule_violation_is_rejected_once_and_changes_nothing_else() -> None:
    factory = InMemoryUnitOfWorkFactory()
    tenant = TenantId(uuid4())
    await register(factory, context_for(tenant))
    duplicate_email = context_for(tenant)
    assert await register(factory, duplicate_email) is Outcome.REJECTED
    assert await register(factory, duplicate_email) is Outcome.DUPLICATE
    assert len(factory.store.users) == 1
    [rejection] = factory.store.rejections
    assert rejection.reason_code == "email_already_registered"


async def test_an_invalid_email_is_a_rejection_not_a_crash() -> None:
    factory = InMemoryUnitOfWorkFactory()
    outcome = await register(factory, context_for(TenantId(uuid4())), email="not-an-email")
    assert outcome is Outcome.REJECTED
    assert factory.store.rejections[0].reason_code == "invalid_email"


async def test_the_same_email_in_another_tenant_is_a_different_user() -> None:
    factory = InMemoryUnitOfWorkFactory()
    assert await register(factory, context_for(TenantId(uuid4()))) is Outcome.APPLIED
    assert await register(factory, context_for(TenantId(uuid4()))) is Outcome.APPLIED
    assert len(factory.store.users) == 2


async def test_an_unexpected_failure_commits_nothing_so_redelivery_applies_it() -> None:
    factory = InMemoryUnitOfWorkFactory()
    context = context_for(TenantId(uuid4()))

    async def crash(uow: UnitOfWork) -> None:
        raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        await process_command(
            consumer=CONSUMER,
            context=context,
            aggregate_id="x",
            handler=crash,
            open_unit_of_work=factory,
        )
    assert factory.store.inbox == set()
    assert await register(factory, context) is Outcome.APPLIED
