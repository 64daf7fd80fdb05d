"""In-memory fakes of the application ports, for unit tests.

They pass the same contract tests as the Postgres adapters (tests/contract): a fake that
behaves differently from the real thing would make unit tests lie.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from commerce.application.context import MessageContext, Rejection
from commerce.domain.errors import EmailAlreadyRegistered, UserAlreadyExists
from commerce.domain.events import DomainEvent
from commerce.domain.user import User
from commerce.domain.values import EmailAddress, TenantId, UserId

__all__ = ["FakeClock", "FakeHasher", "InMemoryStore", "InMemoryUnitOfWorkFactory"]


@dataclass
class InMemoryStore:
    """What the fake 'database' holds: committed users, inbox rows and outbox entries."""

    users: dict[UserId, User] = field(default_factory=dict)
    inbox: set[tuple[str, object]] = field(default_factory=set)
    published: list[DomainEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class _Users:
    def __init__(self, state: InMemoryStore, tenant: TenantId) -> None:
        self._state = state
        self._tenant = tenant

    def _visible(self) -> list[User]:
        return [u for u in self._state.users.values() if u.tenant_id == self._tenant]

    async def get(self, user_id: UserId) -> User | None:
        return next((u for u in self._visible() if u.id == user_id), None)

    async def email_taken(self, email: EmailAddress) -> bool:
        return any(u.email == email for u in self._visible())

    async def add(self, user: User) -> None:
        if user.tenant_id != self._tenant:
            raise PermissionError("row-level security: wrong tenant")
        if user.id in self._state.users:
            raise UserAlreadyExists(f"user {user.id} already exists")
        if await self.email_taken(user.email):
            raise EmailAlreadyRegistered(f"{user.email} is already registered")
        self._state.users[user.id] = copy.copy(user)


class _Outbox:
    def __init__(self, state: InMemoryStore) -> None:
        self._state = state

    def publish(self, events: Iterable[DomainEvent]) -> None:
        self._state.published.extend(events)

    def reject(self, rejection: Rejection) -> None:
        self._state.rejections.append(rejection)


class InMemoryUnitOfWork:
    """Works on a copy of the store; :meth:`commit` swaps it in (all or nothing)."""

    def __init__(self, committed: InMemoryStore, context: MessageContext) -> None:
        self._committed = committed
        self._context = context
        self._working = InMemoryStore()

    @property
    def users(self) -> _Users:
        return _Users(self._working, self._context.tenant_id)

    @property
    def outbox(self) -> _Outbox:
        return _Outbox(self._working)

    async def __aenter__(self) -> Self:
        self._working = copy.deepcopy(self._committed)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def claim(self, consumer: str) -> bool:
        key = (consumer, self._context.message_id)
        if key in self._working.inbox:
            return False
        self._working.inbox.add(key)
        return True

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = copy.deepcopy(self._working)
        try:
            yield
        except BaseException:
            self._working = saved
            raise

    async def commit(self) -> None:
        self._committed.__dict__.update(copy.deepcopy(self._working).__dict__)


class InMemoryUnitOfWorkFactory:
    """Opens :class:`InMemoryUnitOfWork` over one shared store."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self, context: MessageContext) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, context)


class FakeHasher:
    """Reversible 'hashing', fast enough for unit tests."""

    async def hash(self, password: str) -> str:
        return f"fake${password[::-1]}"

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"fake${password[::-1]}"


@dataclass
class FakeClock:
    """A clock that stands still unless moved."""

    instant: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.instant
