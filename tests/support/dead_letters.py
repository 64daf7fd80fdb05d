"""Read the dead-letter store the way the broker delivered the DLQ messages into it.

The worker's archivers drain every consumer's DLQ (on RabbitMQ a queue has one set of
competing consumers), so tests observe dead letters in the store, not on the broker.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic import SecretStr
from sqlalchemy import insert, select

from commerce.identity.messages.channels import REGISTER_USER
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.delivery.dead_letter_store import DeadLetterRecord
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.postgres.engine import create_engine
from commerce.platform.postgres.tables import dead_letters
from tests.support.brokers import Received
from tests.support.database import ProvisionedDatabase

__all__ = ["archived_dead_letters", "dead_letter_of", "park", "register_user_body"]


def register_user_body(
    user_id: UUID | None = None, *, password: str = "correct horse battery"
) -> bytes:
    """A ``RegisterUser`` body (``password`` may be made invalid on purpose)."""
    user = user_id or uuid4()
    return RegisterUser.model_construct(
        user_id=user,
        email=f"{user.hex}@example.com",
        display_name="Ada",
        password=SecretStr(password),
    ).wire_body()


def dead_letter_of(
    body: bytes,
    *,
    style: HeaderStyle,
    subject: str,
    tenant: UUID | None = None,
    consumer: str = REGISTER_USER.consumer,
    reason: str = "retries-exhausted",
    exception_type: str = "builtins.ConnectionError",
) -> DeadLetterRecord:
    """What the archiver would store for a ``RegisterUser`` that failed on ``consumer``."""
    envelope = Envelope.new(
        type=RegisterUser.message_type,
        source="/tests",
        tenant_id=tenant or uuid4(),
        subject=subject,
    )
    now = datetime.now(UTC)
    fault = {
        "x-fault-reason": reason,
        "x-fault-exception-type": exception_type,
        "x-fault-message": "the database went away",
        "x-fault-stack": "Traceback (most recent call last):\n  ...",
        "x-fault-consumer": consumer,
        "x-fault-channel": REGISTER_USER.name,
        "x-fault-attempts": "6",
        "x-fault-first-failure-at": now.isoformat(),
        "x-fault-last-failure-at": now.isoformat(),
        "x-retry-round": "3",
        "x-retry-not-before-ms": "1",
    }
    headers = envelope.headers(style) | fault
    return DeadLetterRecord(
        consumer=consumer,
        channel=REGISTER_USER.name,
        message_id=str(envelope.id),
        tenant_id=envelope.tenant_id,
        aggregate_key=subject,
        reason=reason,
        exception_type=exception_type,
        error_message=fault["x-fault-message"],
        stack=fault["x-fault-stack"],
        attempts=6,
        first_failed_at=now,
        last_failed_at=now,
        headers=headers,
        body=body,
        content_type="application/json",
    )


async def park(database: ProvisionedDatabase, record: DeadLetterRecord) -> int:
    """Insert ``record`` into the store as the owner; returns its id."""
    engine = create_engine(database.owner_url, pool_size=1, application_name="commerce-tests")
    try:
        async with engine.begin() as connection:
            statement = insert(dead_letters).values(**asdict(record)).returning(dead_letters.c.id)
            return int((await connection.execute(statement)).scalar_one())
    finally:
        await engine.dispose()


async def archived_dead_letters(
    database: ProvisionedDatabase,
    consumer: str,
    predicate: Callable[[Received], bool],
    count: int,
    timeout: float = 20.0,
) -> list[Received]:
    """Wait until ``count`` archived dead letters of ``consumer`` match (or time runs out).

    ``Received.key`` is the row's aggregate key.
    """
    engine = create_engine(database.owner_url, pool_size=1, application_name="commerce-tests")
    statement = (
        select(
            dead_letters.c.body,
            dead_letters.c.headers,
            dead_letters.c.content_type,
            dead_letters.c.aggregate_key,
        )
        .where(dead_letters.c.consumer == consumer)
        .order_by(dead_letters.c.id)
    )
    found: list[Received] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as connection:
                rows = (await connection.execute(statement)).all()
            found = [
                message
                for body, headers, content_type, key in rows
                if predicate(message := Received(bytes(body), headers, content_type, key))
            ]
            if len(found) >= count:
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    return found
