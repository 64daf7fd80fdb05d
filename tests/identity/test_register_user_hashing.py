"""RegisterUser's password is hashed before the message's transaction opens (ADR 0024).

The identity subscribers are built on an intake that records, when ``execute`` is called
(the moment the message would take a connection and its group-commit turn), whether the
hash is already done; and the use case it is handed stores that hash without hashing again.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest

from commerce.identity.adapters.passwords import Argon2PasswordHasher
from commerce.identity.messages.channels import REGISTER_USER
from commerce.identity.messages.commands import RegisterUser
from commerce.identity.subscribers import identity_router
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.transactions.processing import process_command
from tests.support.commands import context_for
from tests.support.fakes import FakeClock, InMemoryUnitOfWorkFactory

pytestmark = pytest.mark.unit


@dataclass
class RecordingHasher:
    """argon2id at a tiny cost, counting the hashes begun and finished."""

    begun: int = 0
    finished: int = 0
    argon2: Argon2PasswordHasher = field(
        default_factory=lambda: Argon2PasswordHasher(memory_kib=1024, time_cost=1, parallelism=1)
    )

    async def hash(self, password: str) -> str:
        self.begun += 1
        hashed = await self.argon2.hash(password)
        self.finished += 1
        return hashed

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self.argon2.verify(password_hash, password)


@dataclass
class RecordingIntake:
    """An intake that keeps the raw handlers and runs a use case in an in-memory unit of work."""

    hasher: RecordingHasher
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    hashes_at_execute: list[tuple[int, int]] = field(default_factory=list)
    stored_hashes: list[str] = field(default_factory=list)

    def router(self) -> Any:
        return object()

    def command_subscriber(self, router: Any, channel: Any) -> Callable[..., Any]:
        def keep(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers[channel.name] = handler
            return handler

        return keep

    async def execute(self, channel: Any, envelope: Envelope, command: Any, handler: Any) -> Any:
        self.hashes_at_execute.append((self.hasher.begun, self.hasher.finished))
        hashes_before = self.hasher.begun
        factory = InMemoryUnitOfWorkFactory()
        outcome = await process_command(
            consumer=channel.name,
            context=context_for(TenantId(envelope.tenant_id), envelope.id),
            aggregate_id=str(envelope.subject),
            handler=handler,
            open_unit_of_work=factory,
        )
        assert self.hasher.begun == hashes_before, "the use case hashed inside the transaction"
        self.stored_hashes += [user.password_hash for user in factory.store.users.values()]
        return outcome


async def test_the_password_is_hashed_once_before_the_transaction_and_stored_as_hashed() -> None:
    hasher = RecordingHasher()
    intake = RecordingIntake(hasher)
    identity_router(intake, clock=FakeClock(), hasher=hasher)  # type: ignore[arg-type]
    body = RegisterUser(
        user_id=uuid4(),
        email="ada@example.com",
        display_name="Ada",
        password="correct horse battery staple",  # type: ignore[arg-type]
    )
    envelope = Envelope.new(type="commerce.identity.RegisterUser.v1", source="t", tenant_id=uuid4())

    await intake.handlers[REGISTER_USER.name](body, envelope)

    assert intake.hashes_at_execute == [(1, 1)]
    [stored] = intake.stored_hashes
    assert await hasher.verify(stored, "correct horse battery staple")
