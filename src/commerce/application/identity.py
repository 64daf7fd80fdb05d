"""Use cases of the identity context."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commerce.application.ports import Clock, PasswordHasher, UnitOfWork
from commerce.domain.errors import EmailAlreadyRegistered
from commerce.domain.user import User
from commerce.domain.values import EmailAddress, TenantId, UserId

__all__ = ["RegisterUserCommand", "register_user"]


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    """Register a user: the application's view of the ``RegisterUser`` message."""

    tenant_id: TenantId
    user_id: UUID
    email: str
    display_name: str
    password: str

    def __repr__(self) -> str:
        return f"RegisterUserCommand(tenant_id={self.tenant_id}, user_id={self.user_id})"


async def register_user(
    command: RegisterUserCommand,
    uow: UnitOfWork,
    *,
    hasher: PasswordHasher,
    clock: Clock,
) -> None:
    """Create the user unless the tenant already has one with the same e-mail."""
    email = EmailAddress.parse(command.email)
    if await uow.users.email_taken(email):
        raise EmailAlreadyRegistered(f"{email} is already registered in this tenant")
    user = User.register(
        user_id=UserId(command.user_id),
        tenant_id=command.tenant_id,
        email=email,
        display_name=command.display_name,
        password_hash=await hasher.hash(command.password),
        now=clock.now(),
    )
    await uow.users.add(user)
    uow.outbox.publish(user.collect_events())
