"""Use cases of the identity context."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commerce.identity.application.ports import IdentityUnitOfWork
from commerce.identity.domain.errors import EmailAlreadyRegistered, UserNotFound
from commerce.identity.domain.user import User
from commerce.identity.domain.values import EmailAddress, Role
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.transactions.ports import Clock
from commerce.platform.transactions.state_changes import save_changes

__all__ = [
    "AssignRoleCommand",
    "ChangeProfileCommand",
    "DeactivateUserCommand",
    "RegisterUserCommand",
    "assign_role",
    "change_profile",
    "deactivate_user",
    "register_user",
]


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    """Register a user: the application's view of the ``RegisterUser`` message.

    It carries the password already hashed: hashing is slow by design, so it happens before
    the message's transaction opens (and before it takes its turn in a group commit), never
    inside it.
    """

    tenant_id: TenantId
    user_id: UUID
    email: str
    display_name: str
    password_hash: str

    def __repr__(self) -> str:
        return f"RegisterUserCommand(tenant_id={self.tenant_id}, user_id={self.user_id})"


async def register_user(
    command: RegisterUserCommand,
    uow: IdentityUnitOfWork,
    *,
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
        password_hash=command.password_hash,
        now=clock.now(),
    )
    await uow.users.add(user)
    uow.outbox.publish(user.collect_events())


@dataclass(frozen=True, slots=True)
class ChangeProfileCommand:
    """Change a user's display name: the ``ChangeProfile`` message."""

    user_id: UserId
    display_name: str


@dataclass(frozen=True, slots=True)
class DeactivateUserCommand:
    """Deactivate a user account: the ``DeactivateUser`` message."""

    user_id: UserId


@dataclass(frozen=True, slots=True)
class AssignRoleCommand:
    """Grant a user a role: the ``AssignRole`` message."""

    user_id: UserId
    role: Role


async def _existing_user(uow: IdentityUnitOfWork, user_id: UserId) -> User:
    user = await uow.users.get(user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} does not exist in this tenant")
    return user


async def change_profile(
    command: ChangeProfileCommand, uow: IdentityUnitOfWork, *, clock: Clock
) -> None:
    """Set the display name of an active user (the same name again is a no-op)."""
    user = await _existing_user(uow, command.user_id)
    user.change_profile(display_name=command.display_name, now=clock.now())
    await save_changes(user, uow.users, uow.outbox)


async def deactivate_user(
    command: DeactivateUserCommand, uow: IdentityUnitOfWork, *, clock: Clock
) -> None:
    """Deactivate the account (already deactivated: no-op); it can no longer order."""
    user = await _existing_user(uow, command.user_id)
    user.deactivate(now=clock.now())
    await save_changes(user, uow.users, uow.outbox)


async def assign_role(command: AssignRoleCommand, uow: IdentityUnitOfWork, *, clock: Clock) -> None:
    """Grant an active user a role (a role already held is a no-op)."""
    user = await _existing_user(uow, command.user_id)
    user.assign_role(command.role, now=clock.now())
    await save_changes(user, uow.users, uow.outbox)
