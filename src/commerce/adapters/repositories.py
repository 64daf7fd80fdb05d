"""Repositories over SQLAlchemy Core; row-level security scopes them to the tenant."""

from __future__ import annotations

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.adapters.orm import users
from commerce.domain.errors import EmailAlreadyRegistered, UserAlreadyExists
from commerce.domain.user import User, UserStatus
from commerce.domain.values import EmailAddress, TenantId, UserId

__all__ = ["SqlUserRepository"]


def _violated_constraint(error: IntegrityError) -> str | None:
    cause = error.orig.__cause__ if error.orig is not None else None
    if isinstance(cause, UniqueViolationError):
        return str(cause.constraint_name)
    return None


class SqlUserRepository:
    """:class:`commerce.application.ports.UserRepository` on the ``users`` table."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

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
        )

    async def email_taken(self, email: EmailAddress) -> bool:
        """Whether the tenant has a user with ``email``."""
        query = select(exists().where(users.c.email == email.value))
        return bool(await self._connection.scalar(query))

    async def add(self, user: User) -> None:
        """Insert ``user``; unique violations become domain errors."""
        try:
            await self._connection.execute(
                users.insert().values(
                    tenant_id=user.tenant_id.value,
                    id=user.id.value,
                    email=user.email.value,
                    display_name=user.display_name,
                    password_hash=user.password_hash,
                    status=user.status.value,
                    version=user.version,
                    created_at=user.registered_at,
                    updated_at=user.registered_at,
                )
            )
        except IntegrityError as error:
            constraint = _violated_constraint(error) or ""
            if "email" in constraint:
                raise EmailAlreadyRegistered(f"{user.email} is already registered") from None
            if constraint:
                raise UserAlreadyExists(f"user {user.id} already exists") from None
            raise
