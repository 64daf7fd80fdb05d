"""Two ``commerce run relay`` processes on one outbox while writers commit concurrently.

Black-box: rows go in through the outbox writer, in long transactions (open for seconds,
written before many short ones commit) and short ones; the test then reads the broker.
Whatever the relays' coordination, every row must arrive exactly once (deliveries counted
per message id), none may be skipped, and each aggregate's events arrive in version order.
"""

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.identity.domain.events import UserRegistered
from commerce.identity.domain.values import EmailAddress
from commerce.identity.messages.channels import USERS
from commerce.platform.kit.ids import TenantId, UserId, new_uuid7
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.transport import namespaced
from commerce.platform.outbox.writer import OutboxWriter, notify_relay
from commerce.platform.postgres.engine import create_engine, set_tenant, tenant_transaction
from commerce.platform.postgres.tables import outbox
from commerce.registry.events import integration_event_for
from tests.support.brokers import Received, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.processes import ServiceProcesses
from tests.support.tansu import ensure_topics
from tests.support.waiting import eventually
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

RELAYS = ("relay-a", "relay-b")
SHORT_AGGREGATES, SHORT_VERSIONS = 24, 8  # 192 short transactions, one row each
LONG_TRANSACTIONS, LONG_HOLD_SECONDS = 4, 2.5  # each opens 0.5 s after the previous
LONG_AGGREGATES, LONG_VERSIONS, LATER_VERSIONS = 2, 3, 3  # per long transaction


def _events(tenant: TenantId, user_id: UserId, versions: range) -> list[UserRegistered]:
    """Events of one aggregate, one per version (the relay reads only the envelope)."""
    return [
        UserRegistered(
            tenant_id=tenant,
            aggregate_id=str(user_id),
            version=version,
            occurred_at=datetime.now(UTC),
            user_id=user_id,
            email=EmailAddress.parse(f"{user_id.value.hex}-{version}@example.com"),
            display_name="Relay Replica",
        )
        for version in versions
    ]


async def _stage(connection: AsyncConnection, events: list[UserRegistered]) -> None:
    """Write ``events`` as outbox rows in ``connection``'s open transaction."""
    tenant = events[0].tenant_id
    await set_tenant(connection, tenant.value)
    message_id = new_uuid7()
    context = MessageContext(message_id, "test", tenant, correlation_id=message_id)
    writer = OutboxWriter(
        context, source="/tests/relay-replicas", published_as=integration_event_for
    )
    writer.publish(events)
    await writer.flush(connection)
    await notify_relay(connection)


class Writers:
    """Long and short transactions of one tenant, interleaved."""

    def __init__(self, engine: AsyncEngine, tenant: TenantId) -> None:
        self._engine = engine
        self._tenant = tenant
        self._long_written = asyncio.Event()

    async def short_history(self, index: int) -> None:
        """One aggregate's versions, each in its own short transaction, committed while
        long transactions hold rows written before them."""
        await self._long_written.wait()
        user_id = UserId.new()
        for version in range(1, SHORT_VERSIONS + 1):
            async with self._engine.begin() as connection:
                await _stage(
                    connection, _events(self._tenant, user_id, range(version, version + 1))
                )
            await asyncio.sleep(0.02 * (index % 4))

    async def long_transaction(self, index: int) -> None:
        """Open a transaction, write the first versions of a few aggregates, hold it open
        for seconds, commit; then write later versions in short transactions."""
        await asyncio.sleep(0.5 * index)
        aggregates = [UserId.new() for _ in range(LONG_AGGREGATES)]
        async with self._engine.begin() as connection:
            for user_id in aggregates:
                await _stage(
                    connection, _events(self._tenant, user_id, range(1, LONG_VERSIONS + 1))
                )
            self._long_written.set()
            await asyncio.sleep(LONG_HOLD_SECONDS)
        for user_id in aggregates:
            for version in range(LONG_VERSIONS + 1, LONG_VERSIONS + LATER_VERSIONS + 1):
                async with self._engine.begin() as connection:
                    await _stage(
                        connection, _events(self._tenant, user_id, range(version, version + 1))
                    )


async def _outbox_rows(engine: AsyncEngine, tenant: TenantId) -> dict[str, tuple[str, int]]:
    """The tenant's outbox: message id -> (aggregate id, version)."""
    async with tenant_transaction(engine, tenant.value) as connection:
        rows = await connection.execute(
            select(outbox.c.message_id, outbox.c.aggregate_id, outbox.c.aggregate_version)
        )
        return {str(row.message_id): (row.aggregate_id, row.aggregate_version) for row in rows}


async def test_two_relay_processes_publish_every_row_once_in_order_per_aggregate(
    provisioned_database: ProvisionedDatabase,
    broker_url: str,
    owner_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    style = HeaderStyle.KAFKA if broker_url.startswith("kafka") else HeaderStyle.RABBIT
    tenant = TenantId(uuid4())
    if style is HeaderStyle.KAFKA:
        topic = namespaced(settings.broker.namespace, USERS.name)
        await ensure_topics(settings.broker.kafka_bootstrap, [topic], settings.broker.partitions)
    expected_rows = SHORT_AGGREGATES * SHORT_VERSIONS + LONG_TRANSACTIONS * LONG_AGGREGATES * (
        LONG_VERSIONS + LATER_VERSIONS
    )

    def ours(message: Received) -> bool:
        return message.headers.get(f"{style}tenantid") == str(tenant.value)

    engine = create_engine(provisioned_database.app_url, pool_size=12, max_overflow=8)
    probe = await probe_for(settings)
    try:
        await probe.watch(USERS.name, stream=True)
        with ServiceProcesses(environment_for(settings), tmp_path) as services:
            for name in RELAYS:
                services.start(name, "relay")

            async def started() -> bool:
                return all('"relay started"' in services.logs(name) for name in RELAYS)

            await eventually("both relays to start", started, timeout=60)
            writers = Writers(engine, tenant)
            await asyncio.gather(
                *(writers.long_transaction(i) for i in range(LONG_TRANSACTIONS)),
                *(writers.short_history(i) for i in range(SHORT_AGGREGATES)),
            )
            delivered = await probe.collect(USERS.name, ours, count=expected_rows, timeout=60)
            # then a quiet while: a second delivery of any row would show up here
            delivered += await probe.collect(USERS.name, ours, count=1, timeout=3)
            assert all(services.alive(name) for name in RELAYS), "both relays ran throughout"
    finally:
        await probe.close()
        await engine.dispose()
    rows = await _outbox_rows(owner_engine, tenant)

    assert len(rows) == expected_rows
    deliveries = Counter(message.headers[f"{style}id"] for message in delivered)
    assert deliveries.keys() - rows.keys() == set()
    assert rows.keys() - deliveries.keys() == set(), "no outbox row was skipped"
    assert {m: n for m, n in deliveries.items() if n > 1} == {}, "no row published twice"
    histories: dict[str, list[int]] = {}
    for message in delivered:
        aggregate, version = rows[message.headers[f"{style}id"]]
        assert message.headers[f"{style}subject"] == aggregate
        assert message.headers[f"{style}aggregateversion"] == str(version)
        histories.setdefault(aggregate, []).append(version)
    assert len(histories) == SHORT_AGGREGATES + LONG_TRANSACTIONS * LONG_AGGREGATES
    disordered = {a: h for a, h in histories.items() if h != list(range(1, len(h) + 1))}
    assert disordered == {}, "each aggregate's events arrive in version order"
