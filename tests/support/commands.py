"""Running RegisterUser through ``process_command`` in unit and contract tests."""

from functools import partial
from uuid import UUID, uuid4

from commerce.identity.application.use_cases import RegisterUserCommand, register_user
from commerce.platform.kit.ids import TenantId, new_uuid7
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.transactions.ports import UnitOfWorkFactory
from commerce.platform.transactions.processing import Outcome, process_command
from tests.support.fakes import FakeClock

__all__ = ["CONSUMER", "PASSWORD_HASH", "context_for", "register"]

CONSUMER = "tests.register-user"
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
"""A stored hash as the subscriber hands it to the use case (hashed before the transaction)."""


def context_for(tenant: TenantId, message_id: UUID | None = None) -> MessageContext:
    """A RegisterUser message's context, starting its own conversation."""
    message_id = message_id or new_uuid7()
    return MessageContext(
        message_id=message_id,
        message_type="commerce.identity.RegisterUser.v1",
        tenant_id=tenant,
        correlation_id=message_id,
    )


async def register(
    open_unit_of_work: UnitOfWorkFactory,
    context: MessageContext,
    email: str = "ada@example.com",
    user_id: UUID | None = None,
) -> Outcome:
    """Process one RegisterUser command (a fixed password hash, a fake clock)."""
    command = RegisterUserCommand(
        tenant_id=context.tenant_id,
        user_id=user_id or uuid4(),
        email=email,
        display_name="Ada",
        password_hash=PASSWORD_HASH,
    )
    return await process_command(
        consumer=CONSUMER,
        context=context,
        aggregate_id=str(command.user_id),
        handler=partial(register_user, command, clock=FakeClock()),
        open_unit_of_work=open_unit_of_work,
    )
