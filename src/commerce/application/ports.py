"""Ports: the Protocols the use cases need, implemented by adapters and fakes."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from commerce.application.context import MessageContext, Rejection
from commerce.domain.events import DomainEvent
from commerce.domain.user import User
from commerce.domain.values import EmailAddress, UserId

__all__ = [
    "Clock",
    "Outbox",
    "PasswordHasher",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserRepository",
]


class Clock(Protocol):
    """Tells the time; always timezone-aware."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        ...


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


class Outbox(Protocol):
    """Integration events to publish once, and only if, the transaction commits."""

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Stage the integration events of ``events``."""
        ...

    def reject(self, rejection: Rejection) -> None:
        """Stage a ``CommandRejected`` event for the command being handled."""
        ...


class UnitOfWork(Protocol):
    """One database transaction for one message, scoped to the message's tenant.

    Leaving the context without :meth:`commit` rolls everything back.
    """

    @property
    def users(self) -> UserRepository:
        """Users of the message's tenant."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Integration events to publish on commit."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def claim(self, consumer: str) -> bool:
        """Record the message in the inbox; ``False`` if ``consumer`` already handled it."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: work inside it is undone if the block raises."""
        ...

    async def commit(self) -> None:
        """Commit state, inbox record and outbox rows together."""
        ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work for the message described by ``context``."""

    def __call__(self, context: MessageContext) -> UnitOfWork: ...
