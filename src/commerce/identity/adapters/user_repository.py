"""Repositories over SQLAlchemy Core; row-level security scopes them to the tenant.

State-stored aggregates (users here, items and invoices in ``repositories_catalog`` and
``repositories_billing``) are written with :func:`update_versioned`: the ``UPDATE`` names
the version the aggregate was loaded at, and no row updated means another command changed
it meanwhile, a :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` that
makes the whole command retry. (A concurrent writer of the same row blocks on its row
lock until the first commits, then matches nothing.)
"""

from __future__ import annotations

from typing import Any

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.identity.domain.errors import EmailAlreadyRegistered, UserAlreadyExists
from commerce.identity.domain.user import User, UserStatus
from commerce.identity.domain.values import EmailAddress, Role
from commerce.platform.eventsourcing.streams import StreamId
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.postgres.tables import users
from commerce.platform.postgres.versioned_rows import update_versioned

__all__ = ["SqlUserRepository"]

_USER_TYPE = "commerce.identity.User"


# Per-message statements, on asyncpg directly (``database.driver_of``).
_EMAIL_TAKEN = "SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)"
_ADD_USER = (
    "INSERT INTO users (tenant_id, id, email, display_name, password_hash, status, version,"
    " created_at, updated_at, roles) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)"
)


class SqlUserRepository:
    """:class:`commerce.platform.transactions.ports.UserRepository` on the ``users`` table.

    ``raw`` is the asyncpg connection under ``connection`` (registration's statements).
    """

    def __init__(self, connection: AsyncConnection, raw: Any) -> None:
        self._connection = connection
        self._raw = raw

    async def get(self, user_id: UserId) -> User | None:
        """Load a user of the current tenant."""
        row = (
            await self._connection.execute(select(users).where(users.c.id == user_id.value))
        ).first()
        if row is None:
            return None
        return User(
            id=UserId(row.id),
            tenant_id=TenantId(row.tenant_id),
            email=EmailAddress(row.email),
            display_name=row.display_name,
            password_hash=row.password_hash,
            status=UserStatus(row.status),
            version=row.version,
            registered_at=row.created_at,
            roles=frozenset(Role(role) for role in row.roles),
        )

    async def email_taken(self, email: EmailAddress) -> bool:
        """Whether the tenant has a user with ``email``."""
        return bool(await self._raw.fetchval(_EMAIL_TAKEN, email.value))

    async def add(self, user: User) -> None:
        """Insert ``user``; unique violations become domain errors."""
        try:
            await self._raw.execute(
                _ADD_USER,
                user.tenant_id.value,
                user.id.value,
                user.email.value,
                user.display_name,
                user.password_hash,
                user.status.value,
                user.version,
                user.registered_at,
                sorted(role.value for role in user.roles),
            )
        except UniqueViolationError as error:
            constraint = str(error.constraint_name or "")
            if "email" in constraint:
                raise EmailAlreadyRegistered(f"{user.email} is already registered") from None
            raise UserAlreadyExists(f"user {user.id} already exists") from None

    async def update(self, user: User, *, expected_version: int) -> None:
        """Write profile, status, roles and version if the row is at ``expected_version``."""
        await update_versioned(
            self._connection,
            users,
            aggregate=StreamId(_USER_TYPE, user.id.value),
            expected_version=expected_version,
            values={
                "display_name": user.display_name,
                "status": user.status.value,
                "roles": sorted(role.value for role in user.roles),
                "version": user.version,
                "updated_at": func.now(),
            },
        )
