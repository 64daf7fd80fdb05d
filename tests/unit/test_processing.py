"""Exactly-once command processing, on the in-memory unit of work."""

from functools import partial
from uuid import UUID, uuid4

import pytest

from commerce.application.context import MessageContext
from commerce.application.identity import RegisterUserCommand, register_user
from commerce.application.ports import UnitOfWork
from commerce.application.processing import Outcome, process_command
from commerce.domain.values import TenantId, new_uuid7
from tests.support.fakes import FakeClock, FakeHasher, InMemoryUnitOfWorkFactory

pytestmark = pytest.mark.unit

CONSUMER = "commerce.identity.register-user"


def _context(tenant: TenantId, message_id: UUID | None = None) -> MessageContext:
    message_id = message_id or new_uuid7()
    return MessageContext(
        message_id=message_id,
        message_type="commerce.identity.RegisterUser.v1",
        tenant_id=tenant,
        correlation_id=message_id,
    )


async def _register(
    uow_factory: InMemoryUnitOfWorkFactory,
    context: MessageContext,
    email: str = "ada@example.com",
    user_id: UUID | None = None,
) -> Outcome:
    command = RegisterUserCommand(
        tenant_id=context.tenant_id,
        user_id=user_id or uuid4(),
        email=email,
        display_name="Ada",
        password="correct horse battery staple",
    )
    return await process_command(
        consumer=CONSUMER,
        context=context,
        aggregate_id=str(command.user_id),
        handler=partial(register_user, command, hasher=FakeHasher(), clock=FakeClock()),
        open_unit_of_work=uow_factory,
    )


async def test_a_command_is_applied_and_its_event_staged() -> None:
    factory = InMemoryUnitOfWorkFactory()
    assert await _register(factory, _context(TenantId(uuid4()))) is Outcome.APPLIED
    assert len(factory.store.users) == 1
    assert len(factory.store.published) == 1


async def test_a_redelivered_message_has_no_second_effect() -> None:
    factory = InMemoryUnitOfWorkFactory()
    context = _context(TenantId(uuid4()))
    user_id = uuid4()
    assert await _register(factory, context, user_id=user_id) is Outcome.APPLIED
    assert await _register(factory, context, user_id=user_id) is Outcome.DUPLICATE
    assert len(factory.store.users) == 1
    assert len(factory.store.published) == 1


async def test_a_rule_violation_is_rejected_once_and_changes_nothing_else() -> None:
    factory = InMemoryUnitOfWorkFactory()
    tenant = TenantId(uuid4())
    await _register(factory, _context(tenant))
    duplicate_email = _context(tenant)
    assert await _register(factory, duplicate_email) is Outcome.REJECTED
    assert await _register(factory, duplicate_email) is Outcome.DUPLICATE
    assert len(factory.store.users) == 1
    [rejection] = factory.store.rejections
    assert rejection.reason_code == "email_already_registered"


async def test_an_invalid_email_is_a_rejection_not_a_crash() -> None:
    factory = InMemoryUnitOfWorkFactory()
    outcome = await _register(factory, _context(TenantId(uuid4())), email="not-an-email")
    assert outcome is Outcome.REJECTED
    assert factory.store.rejections[0].reason_code == "invalid_email"


async def test_the_same_email_in_another_tenant_is_a_different_user() -> None:
    factory = InMemoryUnitOfWorkFactory()
    assert await _register(factory, _context(TenantId(uuid4()))) is Outcome.APPLIED
    assert await _register(factory, _context(TenantId(uuid4()))) is Outcome.APPLIED
    assert len(factory.store.users) == 2


async def test_an_unexpected_failure_commits_nothing_so_redelivery_applies_it() -> None:
    factory = InMemoryUnitOfWorkFactory()
    context = _context(TenantId(uuid4()))

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
    assert await _register(factory, context) is Outcome.APPLIED
