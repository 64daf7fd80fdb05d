"""A command's fault event commits with its dead letter's row, once, on real Postgres (the
app role archives and writes the outbox under row-level security, as the worker does)."""

from uuid import uuid4

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.identity.messages.channels import REGISTER_USER
from commerce.platform.delivery.dead_letter_store import DeadLetterStore
from commerce.platform.delivery.fault_events import FaultAnnouncer
from commerce.platform.messaging.channels import FAULTS
from commerce.platform.messaging.command_faults import CommandFaultedV1
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.postgres.tables import dead_letters
from tests.support.dead_letters import dead_letter_of, register_user_body

pytestmark = pytest.mark.integration

_OUTBOX = text(
    "SELECT message_id, tenant_id, event_type, stream, aggregate_id, payload, headers"
    " FROM outbox WHERE aggregate_id = :subject"
)


async def test_a_dead_letter_archived_twice_stages_one_fault_event(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    subject = f"faulted-{uuid4().hex}"
    record = dead_letter_of(
        register_user_body(password="x"),
        style=HeaderStyle.RABBIT,
        subject=subject,
        reason="schema-invalid",
        exception_type="pydantic_core._pydantic_core.ValidationError",
    )
    store, announcer = DeadLetterStore(app_engine), FaultAnnouncer(source="/tests")

    first = await store.add(record, then=announcer.staging_for(record, REGISTER_USER))
    again = await store.add(record, then=announcer.staging_for(record, REGISTER_USER))

    async with relay_engine.connect() as connection:  # the relay reads every tenant's rows
        rows = (await connection.execute(_OUTBOX, {"subject": subject})).mappings().all()
    assert (first, again) == (True, False), "the redelivered copy is archived no second time"
    [row] = rows
    assert (row["event_type"], row["stream"]) == (CommandFaultedV1.message_type, FAULTS.name)
    assert row["tenant_id"] == record.tenant_id
    event = CommandFaultedV1.model_validate(row["payload"])
    assert (str(event.command_id), event.reason) == (record.message_id, "schema-invalid")
    assert (event.aggregate_id, event.consumer) == (subject, REGISTER_USER.consumer)
    assert row["headers"]["ce-causationid"] == record.message_id
    assert row["headers"]["ce-type"] == CommandFaultedV1.message_type


async def test_the_fault_event_and_the_dead_letter_commit_together_or_not_at_all(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    record = dead_letter_of(
        register_user_body(), style=HeaderStyle.KAFKA, subject=f"faulted-{uuid4().hex}"
    )
    store = DeadLetterStore(app_engine)

    async def outbox_down(connection: AsyncConnection) -> None:
        raise ConnectionError("the outbox is unreachable")

    with pytest.raises(ConnectionError):
        await store.add(record, then=outbox_down)
    count = select(func.count()).where(dead_letters.c.message_id == record.message_id)
    async with owner_engine.connect() as connection:
        archived = (await connection.execute(count)).scalar_one()
    retried = await store.add(
        record, then=FaultAnnouncer(source="/tests").staging_for(record, REGISTER_USER)
    )
    assert archived == 0, "no row without its event: the broker redelivers the dead letter"
    assert retried, "and the redelivery archives and announces it"
