"""Ports of the identity context: what its use cases need, implemented by adapters and fakes."""

from __future__ import annotations

from typing import Protocol

from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.identity.domain.user import User
from commerce.identity.domain.values import EmailAddress
from commerce.platform.kit.ids import UserId
from commerce.platform.transactions.ports import UnitOfWork

__all__ = ["IdentityUnitOfWork", "PasswordHasher", "UserDirectory", "UserRepository"]


class PasswordHasher(Protocol):
    """One-way password hashing (argon2id in production)."""

    async def hash(self, password: str) -> str:
        """Hash ``password`` with a fresh salt; CPU-heavy work runs off the event loop."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``."""
        ...


class UserRepository(Protocol):
    """Users of the current tenant."""

    async def get(self, user_id: UserId) -> User | None:
        """The user, or ``None`` when this tenant has no such user."""
        ...

    async def email_taken(self, email: EmailAddress) -> bool:
        """Whether a user of this tenant already has ``email``."""
        ...

    async def add(self, user: User) -> None:
        """Insert a new user.

        Raises ``EmailAlreadyRegistered`` or ``UserAlreadyExists`` when the database's
        unique constraints refuse it (a concurrent registration).
        """
        ...

    async def update(self, user: User, *, expected_version: int) -> None:
        """Write the changed state of ``user``, loaded at ``expected_version``.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the
        stored row is no longer at ``expected_version`` (another command changed it): the
        whole command is retried.
        """
        ...


class UserDirectory(Protocol):
    """The user directory read model of the current tenant."""

    async def record(self, entry: DirectoryEntry) -> bool:
        """Upsert ``entry`` if it is newer than the stored row; whether anything changed."""
        ...

    async def change(self, change: DirectoryChange) -> bool:
        """Apply ``change`` to the user's row if the row holds an older version.

        Whether anything changed: a repeated or older change, or a user the directory does
        not know yet, changes nothing.
        """
        ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of the identity context's use cases."""

    @property
    def users(self) -> UserRepository:
        """Users of the message's tenant."""
        ...

    @property
    def user_directory(self) -> UserDirectory:
        """The user directory read model of the message's tenant."""
        ...
