"""The outbox relay: commit order, open transactions never skipped, replicas publish once."""

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.adapters.database import create_engine, set_tenant
from commerce.adapters.orm import outbox
from commerce.adapters.outbox import OutboxWriter
from commerce.application.context import MessageContext
from commerce.domain.events import UserRegistered
from commerce.domain.values import EmailAddress, TenantId, UserId, new_uuid7
from commerce.messages.channels import USERS
from tests.support.brokers import BrokerProbe, Received, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration


async def _stage(
    connection: AsyncConnection, tenant: TenantId, email: str, user_id: UserId | None = None
) -> None:
    """Write one UserRegistered outbox row in ``connection``'s open transaction."""
    await set_tenant(connection, tenant.value)
    message_id = new_uuid7()
    writer = OutboxWriter(
        MessageContext(message_id, "test", tenant, correlation_id=message_id), source="/tests"
    )
    user_id = user_id or UserId.new()
    writer.publish(
        [
            UserRegistered(
                tenant_id=tenant,
                aggregate_id=str(user_id),
                version=1,
                occurred_at=datetime.now(UTC),
                user_id=user_id,
                email=EmailAddress.parse(email),
                display_name="Relay Test",
            )
        ]
    )
    await writer.flush(connection)


def _emails(messages: list[Received]) -> list[str]:
    return [json.loads(m.body)["email"] for m in messages]


def _marked(marker: str) -> Callable[[Received], bool]:
    return lambda m: str(json.loads(m.body).get("email", "")).startswith(marker)


async def test_a_row_of_a_still_open_transaction_is_never_skipped_and_keeps_its_order(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    tenant = TenantId(uuid4())
    marker = uuid4().hex[:12]
    aggregate = UserId.new()  # one aggregate, so Kafka keeps both in one partition too
    engine = create_engine(provisioned_database.app_url, pool_size=4)
    settings = settings_for(provisioned_database, broker_url)
    probe: BrokerProbe = await probe_for(settings)
    try:
        await probe.watch(USERS.name, stream=True)
        async with running_worker(settings) as service, running_relay(service):
            async with engine.connect() as slow:
                slow_tx = await slow.begin()
                await _stage(slow, tenant, f"{marker}-first@example.com", aggregate)
                async with engine.begin() as fast:
                    await _stage(fast, tenant, f"{marker}-second@example.com", aggregate)
                held = await probe.collect(USERS.name, _marked(marker), count=1, timeout=2.0)
                await slow_tx.commit()
            published = await probe.collect(USERS.name, _marked(marker), count=2)
    finally:
        await probe.close()
        await engine.dispose()
    assert held == [], "the later row waits while an earlier transaction is still open"
    assert _emails(published) == [f"{marker}-first@example.com", f"{marker}-second@example.com"]


async def test_two_relays_publish_each_row_exactly_once(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    tenant = TenantId(uuid4())
    marker = uuid4().hex[:12]
    rows = 120
    engine = create_engine(provisioned_database.app_url, pool_size=8)
    settings = settings_for(provisioned_database, broker_url)
    probe = await probe_for(settings)

    async def write(index: int) -> None:
        async with engine.begin() as connection:
            await _stage(connection, tenant, f"{marker}-{index}@example.com")
            await asyncio.sleep(0.01 * (index % 5))  # long and short transactions interleave

    try:
        await probe.watch(USERS.name, stream=True)
        async with (
            running_worker(settings) as service,
            running_relay(service),
            running_relay(service),
        ):
            await asyncio.gather(*(write(i) for i in range(rows)))
            published = await probe.collect(USERS.name, _marked(marker), count=rows)
            extra = await probe.collect(USERS.name, _marked(marker), count=1, timeout=1.5)
    finally:
        await probe.close()
        await engine.dispose()
    emails = _emails(published)
    assert len(emails) == rows
    assert len(set(emails)) == rows, "no row was published twice"
    assert extra == []


async def test_the_relay_wakes_on_notify_rather_than_waiting_for_its_poll(
    provisioned_database: ProvisionedDatabase, rabbit_url: str
) -> None:
    settings = settings_for(provisioned_database, rabbit_url)
    settings.relay.poll_interval_seconds = 60.0  # a poll would come far too late
    tenant = TenantId(uuid4())
    marker = uuid4().hex[:12]
    engine = create_engine(provisioned_database.app_url, pool_size=2)
    probe = await probe_for(settings)
    try:
        await probe.watch(USERS.name, stream=True)
        async with running_worker(settings) as service, running_relay(service):
            await asyncio.sleep(1.0)  # let the relay drain and park on LISTEN
            async with engine.begin() as connection:
                await _stage(connection, tenant, f"{marker}@example.com")
            published = await probe.collect(USERS.name, _marked(marker), count=1, timeout=10)
    finally:
        await probe.close()
        await engine.dispose()
    assert len(published) == 1


async def test_an_unreadable_row_is_parked_and_does_not_block_the_rows_behind_it(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, relay_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    marker = uuid4().hex[:12]
    poison_id = uuid4()
    engine = create_engine(provisioned_database.app_url, pool_size=2)
    settings = settings_for(provisioned_database, rabbit_url)
    probe = await probe_for(settings)
    try:
        await probe.watch(USERS.name, stream=True)
        async with engine.begin() as connection:
            await set_tenant(connection, tenant.value)
            await connection.execute(
                outbox.insert().values(
                    message_id=poison_id,
                    tenant_id=tenant.value,
                    aggregate_type="identity.user",
                    aggregate_id="poison",
                    event_type="commerce.identity.UserRegistered.v1",
                    stream=USERS.name,
                    payload={},
                    headers={"ce-source": "no specversion, no id"},
                    occurred_at=datetime.now(UTC),
                )
            )
            await _stage(connection, tenant, f"{marker}@example.com")
        async with running_worker(settings) as service, running_relay(service):
            published = await probe.collect(USERS.name, _marked(marker), count=1)
    finally:
        await probe.close()
        await engine.dispose()
    assert len(published) == 1
    async with relay_engine.connect() as connection:
        parked = (
            await connection.execute(
                select(outbox.c.sent_at, outbox.c.failed_at, outbox.c.last_error).where(
                    outbox.c.message_id == poison_id
                )
            )
        ).one()
    assert parked.sent_at is None
    assert parked.failed_at is not None
    assert "specversion" in parked.last_error
