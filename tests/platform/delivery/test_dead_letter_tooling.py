"""Dead-letter tooling on real services: the archiver fills the store once per failure,
replays go through the inbox (applied once), edits go out as new messages, purge works."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.operators import dead_letter_console
from commerce.identity.messages.channels import REGISTER_USER
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.delivery.dead_letter_console import (
    DeadLetterNotFoundError,
    InvalidDeadLetterEditError,
)
from commerce.platform.delivery.dead_letter_store import DeadLetterFilter, DeadLetterStatus
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.dead_letters import (
    archived_dead_letters,
    dead_letter_of,
    park,
    register_user_body,
)
from tests.support.worker import running_worker, settings_for

pytestmark = pytest.mark.integration


def _style(broker_url: str) -> HeaderStyle:
    return HeaderStyle.KAFKA if broker_url.startswith("kafka") else HeaderStyle.RABBIT


async def _scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_dead_letter_is_archived_with_its_fault_once_per_failure(
    provisioned_database: ProvisionedDatabase, broker_url: str, admin_engine: AsyncEngine
) -> None:
    style = _style(broker_url)
    settings = settings_for(provisioned_database, broker_url)
    tenant, marker = uuid4(), uuid4().hex
    envelope = Envelope.new(
        type=RegisterUser.message_type, source="/tests", tenant_id=tenant, subject=marker
    )
    headers = envelope.headers(style) | {"content-type": "application/json"}
    body = b'{"user_id": "nope"}'
    probe = await probe_for(settings)
    try:
        async with running_worker(settings):
            await probe.send_command(REGISTER_USER.name, body, headers, key=marker)
            [letter] = await archived_dead_letters(
                provisioned_database,
                REGISTER_USER.consumer,
                lambda m: m.key == marker,
                count=1,
            )
            # The broker redelivers the same DLQ message: no second row. The same message
            # failing again later is a new failure: a new row (also the test's barrier).
            await probe.send_command(REGISTER_USER.dead_letters, body, letter.headers, key=marker)
            later = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
            again = letter.headers | {"x-fault-last-failure-at": later}
            await probe.send_command(REGISTER_USER.dead_letters, body, again, key=marker)
            rows = await archived_dead_letters(
                provisioned_database, REGISTER_USER.consumer, lambda m: m.key == marker, count=2
            )
            await asyncio.sleep(0.5)
    finally:
        await probe.close()

    assert len(rows) == 2
    async with admin_engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT * FROM dead_letters WHERE aggregate_key = :key"
                    " ORDER BY last_failed_at LIMIT 1"
                ),
                {"key": marker},
            )
        ).one()
    assert row.consumer == REGISTER_USER.consumer
    assert row.channel == REGISTER_USER.name
    assert row.message_id == str(envelope.id)
    assert row.tenant_id == tenant
    assert row.reason == "schema-invalid"
    assert "ValidationError" in row.exception_type
    assert row.error_message
    assert row.stack.startswith("Traceback")
    assert row.attempts == 1
    assert row.first_failed_at == row.last_failed_at
    assert row.status == "parked"
    assert row.resolved_at is None
    assert bytes(row.body) == body
    assert row.content_type == "application/json"
    assert row.headers[f"{style}id"] == str(envelope.id)


async def _outbox_events(engine: AsyncEngine, aggregate_id: UUID) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT event_type FROM outbox WHERE aggregate_id = :id ORDER BY position"),
            {"id": str(aggregate_id)},
        )
        return list(rows.scalars())


async def test_replaying_a_fixed_message_applies_it_once_however_often_it_is_replayed(
    provisioned_database: ProvisionedDatabase, broker_url: str, admin_engine: AsyncEngine
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    user_id, tenant = uuid4(), uuid4()
    record = dead_letter_of(
        register_user_body(user_id), style=_style(broker_url), subject=str(user_id), tenant=tenant
    )
    letter_id = await park(provisioned_database, record)
    users = "SELECT count(*) FROM users WHERE id = :id"

    async with running_worker(settings) as service, dead_letter_console(settings) as console:
        first = await console.replay(letter_id)
        assert first.message_id == record.message_id, "a replay keeps the message id"
        await _until(lambda: _count_is(admin_engine, users, 1, id=user_id))
        await console.replay(letter_id)
        # Barrier: the same user again, with a new id and the same key (queue / partition),
        # is rejected; once its rejection is staged, the second replay has been handled.
        await service.send_command(
            REGISTER_USER,
            RegisterUser(
                user_id=user_id,
                email="again@example.com",
                display_name="Ada",
                password="correct horse battery",
            ),
            tenant_id=tenant,
        )
        await _until(lambda: _has(admin_engine, user_id, "commerce.CommandRejected.v1"), timeout=30)
        letter = await console.show(letter_id)

    assert await _scalar(admin_engine, users, id=user_id) == 1
    events = await _outbox_events(admin_engine, user_id)
    assert events.count("commerce.identity.UserRegistered.v1") == 1, events
    inbox = "SELECT count(*) FROM inbox WHERE message_id = CAST(:id AS uuid)"
    assert await _scalar(admin_engine, inbox, id=record.message_id) == 1
    assert letter.status is DeadLetterStatus.REPLAYED
    assert letter.resolved_at is not None
    assert letter.replayed_as is None


async def _count_is(engine: AsyncEngine, sql: str, expected: int, **params: object) -> bool:
    return await _scalar(engine, sql, **params) == expected


async def _has(engine: AsyncEngine, aggregate_id: UUID, event_type: str) -> bool:
    return event_type in await _outbox_events(engine, aggregate_id)


async def test_replay_and_edit_send_what_the_operator_expects(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    style = _style(broker_url)
    settings = settings_for(provisioned_database, broker_url)
    user_id = uuid4()
    broken = dead_letter_of(
        register_user_body(user_id, password="short"),
        style=style,
        subject=str(user_id),
        reason="schema-invalid",
        exception_type="pydantic_core._pydantic_core.ValidationError",
    )
    as_is = dead_letter_of(register_user_body(), style=style, subject=str(user_id))
    broken_id = await park(provisioned_database, broken)
    as_is_id = await park(provisioned_database, as_is)
    fixed = register_user_body(user_id)
    probe = await probe_for(settings)
    try:
        await probe.watch(REGISTER_USER.name)
        async with dead_letter_console(settings) as console:
            with pytest.raises(InvalidDeadLetterEditError):
                await console.edit(broken_id, b"{not json")
            edited = await console.edit(broken_id, fixed)
            await console.replay(as_is_id)
            letter = await console.show(broken_id)
        sent = await probe.collect(
            REGISTER_USER.name, lambda m: m.headers.get(f"{style}subject") == str(user_id), count=2
        )
    finally:
        await probe.close()

    by_id = {m.headers[f"{style}id"]: m for m in sent}
    assert set(by_id) == {edited.message_id, as_is.message_id}
    copy, original = by_id[edited.message_id], by_id[as_is.message_id]
    assert edited.message_id != broken.message_id
    assert UUID(edited.message_id).version == 7
    assert copy.headers["replayed-from"] == broken.message_id
    assert copy.body == fixed
    assert copy.headers[f"{style}tenantid"] == str(broken.tenant_id)
    assert original.body == as_is.body
    assert "replayed-from" not in original.headers
    for message in sent:
        assert not [h for h in message.headers if h.startswith(("x-fault-", "x-retry-"))]
    assert letter.status is DeadLetterStatus.REPLAYED
    assert letter.replayed_as == edited.message_id


async def test_find_filters_purge_and_unknown_ids(
    provisioned_database: ProvisionedDatabase, rabbit_url: str
) -> None:
    settings = settings_for(provisioned_database, rabbit_url)
    consumer = f"tests.dlq-{uuid4().hex[:8]}"
    base = dead_letter_of(register_user_body(), style=HeaderStyle.RABBIT, subject="k")
    old = datetime.now(UTC) - timedelta(days=3)
    ids = [
        await park(provisioned_database, replace(base, consumer=consumer)),
        await park(
            provisioned_database,
            replace(
                base,
                consumer=consumer,
                message_id=str(uuid4()),
                reason="undecodable",
                exception_type="orjson.JSONDecodeError",
                first_failed_at=old,
                last_failed_at=old,
            ),
        ),
    ]
    async with dead_letter_console(settings) as console:
        mine = DeadLetterFilter(consumer=consumer)
        assert [letter.id for letter in await console.find(mine)] == ids  # newest first
        assert await console.count(replace(mine, reason="undecodable")) == 1
        assert await console.count(replace(mine, exception_type="JSONDecodeError")) == 1
        assert await console.count(replace(mine, exception_type="json%")) == 0
        recent = replace(mine, since=datetime.now(UTC) - timedelta(days=1))
        assert [letter.id for letter in await console.find(recent)] == [ids[0]]
        assert await console.count(replace(mine, until=datetime.now(UTC) - timedelta(days=1))) == 1
        assert await console.find(mine, limit=1, offset=1) == [await console.show(ids[1])]

        with pytest.raises(DeadLetterNotFoundError, match="no dead letter with id -1"):
            await console.select([ids[0], -1], None)
        assert await console.select([], mine) == ids
        assert await console.purge(ids) == 2
        assert await console.purge(ids) == 0, "purged already"
        assert await console.count(mine) == 0
        purged = replace(mine, status=DeadLetterStatus.PURGED)
        assert {letter.status for letter in await console.find(purged)} == {DeadLetterStatus.PURGED}
        assert await console.purge([ids[0]], hard=True) == 1
        with pytest.raises(DeadLetterNotFoundError):
            await console.show(ids[0])
        assert await console.count(replace(mine, status=None)) == 1
