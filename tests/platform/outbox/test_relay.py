"""The outbox relay: commit order, open transactions never skipped, replicas publish once."""

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from opentelemetry.trace import NoOpTracer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.bootstrap.relay import build_relay
from commerce.bootstrap.service import build_service
from commerce.bootstrap.wiring import breakers_from, build_transport
from commerce.identity.messages.channels import USERS
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.postgres.engine import create_engine, set_tenant, tenant_transaction
from commerce.platform.postgres.tables import inbox, outbox
from tests.support.brokers import BrokerProbe, Received, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.outbox_rows import registered, stage
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration


async def _stage(
    connection: AsyncConnection, tenant: TenantId, email: str, user_id: UserId | None = None
) -> None:
    """Write one UserRegistered outbox row in ``connection``'s open transaction."""
    await stage(connection, [registered(tenant, user_id or UserId.new(), email)])


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


async def test_retention_purges_old_sent_rows_and_old_inbox_rows_only(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, relay_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    engine = create_engine(provisioned_database.app_url, pool_size=2)
    old, recent = uuid4(), uuid4()
    try:
        async with engine.begin() as connection:
            await set_tenant(connection, tenant.value)
            for marker in ("old", "recent", "unsent"):
                await _stage(connection, tenant, f"{marker}-{tenant.value.hex[:8]}@example.com")
            await connection.execute(
                inbox.insert(),
                [
                    {
                        "consumer": "retention",
                        "message_id": old,
                        "tenant_id": tenant.value,
                        "received_at": datetime.now(UTC) - timedelta(days=8),
                    },
                    {
                        "consumer": "retention",
                        "message_id": recent,
                        "tenant_id": tenant.value,
                        "received_at": datetime.now(UTC),
                    },
                ],
            )
    finally:
        await engine.dispose()
    async with relay_engine.begin() as connection:
        rows = (
            await connection.execute(
                select(outbox.c.position, outbox.c.payload)
                .where(outbox.c.tenant_id == tenant.value)
                .order_by(outbox.c.position)
            )
        ).all()
        ages = {"old": timedelta(hours=30), "recent": timedelta(hours=1)}
        for position, payload in rows:
            marker = payload["email"].split("-")[0]
            if marker in ages:
                await connection.execute(
                    outbox.update()
                    .where(outbox.c.position == position)
                    .values(sent_at=datetime.now(UTC) - ages[marker])
                )
    settings = settings_for(provisioned_database, rabbit_url)
    relay = build_relay(
        settings,
        build_transport(settings),
        relay_engine,
        tracer=NoOpTracer(),
        breakers=breakers_from(settings),
    )
    await relay.purge()
    async with relay_engine.connect() as connection:
        left = (
            await connection.scalars(
                select(outbox.c.payload["email"].astext).where(outbox.c.tenant_id == tenant.value)
            )
        ).all()
    app = create_engine(provisioned_database.app_url, pool_size=1)
    try:
        async with tenant_transaction(app, tenant.value) as connection:
            inbox_left = (
                await connection.scalars(
                    select(inbox.c.message_id).where(inbox.c.consumer == "retention")
                )
            ).all()
    finally:
        await app.dispose()
    assert sorted(email.split("-")[0] for email in left) == ["recent", "unsent"]
    assert inbox_left == [recent], "only the inbox row inside the retention window is kept"


async def test_two_relays_keep_each_aggregates_events_in_order(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    tenant = TenantId(uuid4())
    marker = uuid4().hex[:12]
    aggregates, versions = 6, 15
    engine = create_engine(provisioned_database.app_url, pool_size=8)
    settings = settings_for(provisioned_database, broker_url)
    probe = await probe_for(settings)

    async def write_history(aggregate: int) -> None:
        user_id = UserId.new()
        for version in range(versions):
            async with engine.begin() as connection:
                await _stage(
                    connection, tenant, f"{marker}-{aggregate}-{version}@example.com", user_id
                )

    try:
        await probe.watch(USERS.name, stream=True)
        async with (
            running_worker(settings) as service,
            running_relay(service),
            running_relay(service),
        ):
            await asyncio.gather(*(write_history(a) for a in range(aggregates)))
            published = await probe.collect(
                USERS.name, _marked(marker), count=aggregates * versions
            )
    finally:
        await probe.close()
        await engine.dispose()
    seen: dict[str, list[int]] = {}
    for email in _emails(published):
        _, aggregate, version = email.split("@")[0].split("-")
        seen.setdefault(aggregate, []).append(int(version))
    assert len(seen) == aggregates
    for history in seen.values():
        assert history == list(range(versions)), "each aggregate's events arrive in order"


async def test_a_large_backlog_left_by_an_outage_drains(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, relay_engine: AsyncEngine
) -> None:
    """10,000 rows committed at once, before the planner analysed them, all go out.

    The first relay took a lock per unsent row before its LIMIT applied here and failed
    with "out of shared memory" on every pass (docs/adr/0009-outbox-relay-algorithm.md).
    """
    tenant, rows = TenantId(uuid4()), 10_000
    envelope = Envelope.new(type="tests.Backlog.v1", source="/tests", tenant_id=tenant.value)
    engine = create_engine(provisioned_database.app_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await set_tenant(connection, tenant.value)
            await connection.execute(
                text(
                    "INSERT INTO outbox (message_id, tenant_id, aggregate_type, aggregate_id,"
                    " event_type, stream, payload, headers, occurred_at)"
                    " SELECT id, :tenant, 'tests.backlog', 'a-' || (n % 997), 'tests.Backlog.v1',"
                    " 'tests.backlog', '{}'::jsonb,"
                    " jsonb_set(CAST(:headers AS jsonb), '{ce-id}', to_jsonb(id::text)), now()"
                    " FROM (SELECT n, gen_random_uuid() AS id"
                    " FROM generate_series(1, :rows) AS n) AS numbered"
                ),
                {
                    "tenant": tenant.value,
                    "headers": json.dumps(envelope.headers(HeaderStyle.RABBIT)),
                    "rows": rows,
                },
            )
    finally:
        await engine.dispose()
    service = build_service(settings_for(provisioned_database, rabbit_url))
    await service.transport.broker.start()
    try:
        relay = build_relay(
            service.settings,
            service.transport,
            relay_engine,
            tracer=NoOpTracer(),
            breakers=service.breakers,
        )
        await relay.drain()
        await relay.close()
    finally:
        await service.transport.broker.stop()
        await service.close()
    async with relay_engine.connect() as connection:
        unsent = await connection.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.tenant_id == tenant.value, outbox.c.sent_at.is_(None))
        )
    assert unsent == 0
