"""FastStream subscribers of the identity context: its commands and its user directory.

Each handler turns the wire payload and envelope into an application command and runs
the use case through :meth:`MessageIntake.execute` (inbox, transaction, outbox).
Decoding, schema and envelope failures never reach the handler body: the consumer's
dead-letter middleware parks them.
"""

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from uuid import UUID

from commerce.identity.application.directory import USER_DIRECTORY as USER_DIRECTORY_TAGS
from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.identity.application.ports import IdentityUnitOfWork, PasswordHasher
from commerce.identity.application.use_cases import (
    AssignRoleCommand,
    ChangeProfileCommand,
    DeactivateUserCommand,
    RegisterUserCommand,
    assign_role,
    change_profile,
    deactivate_user,
    register_user,
)
from commerce.identity.application.user_directory import change_in_directory, record_in_directory
from commerce.identity.domain.user import UserStatus
from commerce.identity.messages.channels import (
    ASSIGN_ROLE,
    CHANGE_PROFILE,
    DEACTIVATE_USER,
    REGISTER_USER,
    USER_DIRECTORY,
)
from commerce.identity.messages.commands import (
    AssignRole,
    ChangeProfile,
    DeactivateUser,
    RegisterUser,
)
from commerce.identity.messages.events import (
    RoleAssignedV1,
    UserDeactivatedV1,
    UserProfileChangedV1,
    UserRegisteredV1,
)
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.subscribing import CurrentEnvelope, handles
from commerce.platform.messaging.transport import AnyRouter
from commerce.platform.transactions.intake import MessageIntake
from commerce.platform.transactions.ports import Clock
from commerce.platform.transactions.processing import Outcome

__all__ = ["identity_router", "user_directory_router"]


def identity_router(
    intake: MessageIntake[IdentityUnitOfWork], *, clock: Clock, hasher: PasswordHasher
) -> AnyRouter:
    """Subscribers of the identity context's commands."""
    router = intake.router()

    @intake.command_subscriber(router, REGISTER_USER)
    async def on_register_user(body: RegisterUser, envelope: CurrentEnvelope) -> None:
        """Register a user account (``RegisterUser.v1``).

        The password is hashed here, before :meth:`MessageIntake.execute` opens the
        transaction, so no connection or group-commit turn waits on argon2 (issue 12, item 4).
        """
        password_hash = await hasher.hash(body.password.get_secret_value())
        command = RegisterUserCommand(
            tenant_id=TenantId(envelope.tenant_id),
            user_id=body.user_id,
            email=body.email,
            display_name=body.display_name,
            password_hash=password_hash,
        )
        handler = partial(register_user, command, clock=clock)
        await intake.execute(REGISTER_USER, envelope, body, handler)

    @intake.command_subscriber(router, CHANGE_PROFILE)
    async def on_change_profile(body: ChangeProfile, envelope: CurrentEnvelope) -> None:
        """Change a user's display name (``ChangeProfile.v1``)."""
        command = ChangeProfileCommand(UserId(body.user_id), body.display_name)
        handler = partial(change_profile, command, clock=clock)
        await intake.execute(CHANGE_PROFILE, envelope, body, handler)

    @intake.command_subscriber(router, DEACTIVATE_USER)
    async def on_deactivate_user(body: DeactivateUser, envelope: CurrentEnvelope) -> None:
        """Deactivate a user account (``DeactivateUser.v1``)."""
        command = DeactivateUserCommand(UserId(body.user_id))
        handler = partial(deactivate_user, command, clock=clock)
        await intake.execute(DEACTIVATE_USER, envelope, body, handler)

    @intake.command_subscriber(router, ASSIGN_ROLE)
    async def on_assign_role(body: AssignRole, envelope: CurrentEnvelope) -> None:
        """Grant a user a role (``AssignRole.v1``)."""
        command = AssignRoleCommand(UserId(body.user_id), body.role)
        handler = partial(assign_role, command, clock=clock)
        await intake.execute(ASSIGN_ROLE, envelope, body, handler)

    return router


def user_directory_router(
    intake: MessageIntake[IdentityUnitOfWork],
    *,
    invalidate: Callable[[Sequence[str]], Awaitable[None]],
) -> AnyRouter:
    """The user directory projection: an ordered consumer of the user stream.

    ``invalidate`` drops the cached query answers carrying the given tags (the read side's
    cache), called after an event changed the user's row.
    """
    router = intake.router()
    directory = intake.event_subscriber(router, USER_DIRECTORY)

    async def directory_changed(envelope: Envelope, user_id: UUID, outcome: Outcome) -> None:
        """Drop the cached answers built from the user's row (``GetUser``) and from the
        tenant's list (``ListUsers``), if the event changed the row."""
        if outcome is Outcome.APPLIED:
            tenant = TenantId(envelope.tenant_id)
            await invalidate(
                [USER_DIRECTORY_TAGS.row(tenant, user_id), USER_DIRECTORY_TAGS.tenant(tenant)]
            )

    @handles(directory, UserRegisteredV1)
    async def on_user_registered(body: UserRegisteredV1, envelope: CurrentEnvelope) -> None:
        """Add the new user to the user directory (``UserRegistered.v1``)."""
        entry = DirectoryEntry(
            user_id=UserId(body.user_id),
            email=body.email,
            display_name=body.display_name,
            version=envelope.aggregate_version or 1,
            registered_at=body.registered_at,
        )
        outcome = await intake.execute(
            USER_DIRECTORY, envelope, body, partial(record_in_directory, entry)
        )
        await directory_changed(envelope, body.user_id, outcome)

    async def apply(
        body: UserProfileChangedV1 | UserDeactivatedV1 | RoleAssignedV1,
        envelope: Envelope,
        change: DirectoryChange,
    ) -> None:
        """Apply a partial change to the user's directory row, in the event's transaction."""
        outcome = await intake.execute(
            USER_DIRECTORY, envelope, body, partial(change_in_directory, change)
        )
        await directory_changed(envelope, body.user_id, outcome)

    @handles(directory, UserProfileChangedV1)
    async def on_profile_changed(body: UserProfileChangedV1, envelope: CurrentEnvelope) -> None:
        """Show the user's new display name (``UserProfileChanged.v1``)."""
        version = envelope.aggregate_version or 0
        entry = DirectoryChange(UserId(body.user_id), version, display_name=body.display_name)
        await apply(body, envelope, entry)

    @handles(directory, UserDeactivatedV1)
    async def on_user_deactivated(body: UserDeactivatedV1, envelope: CurrentEnvelope) -> None:
        """Mark the user deactivated (``UserDeactivated.v1``)."""
        version = envelope.aggregate_version or 0
        entry = DirectoryChange(UserId(body.user_id), version, status=UserStatus.DEACTIVATED.value)
        await apply(body, envelope, entry)

    @handles(directory, RoleAssignedV1)
    async def on_role_assigned(body: RoleAssignedV1, envelope: CurrentEnvelope) -> None:
        """Add the role to the user's roles (``RoleAssigned.v1``)."""
        version = envelope.aggregate_version or 0
        entry = DirectoryChange(UserId(body.user_id), version, added_role=body.role)
        await apply(body, envelope, entry)

    return router
