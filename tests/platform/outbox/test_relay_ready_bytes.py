"""Outbox rows carry ready-to-send bytes; rows written before they did still go out."""

import json
from uuid import uuid4

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.identity.messages.channels import USERS
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.postgres.engine import create_engine
from commerce.platform.postgres.tables import outbox
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.outbox_rows import registered, stage
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration


async def test_the_relay_sends_the_written_bytes_and_encodes_rows_written_without_them(
    provisioned_database: ProvisionedDatabase, broker_url: str, relay_engine: AsyncEngine
) -> None:
    """The writer stores each event's body; a row without one (written before migration
    0011) goes out with its ``payload`` as the body, the same document."""
    tenant, marker = TenantId(uuid4()), uuid4().hex[:12]
    emails = [f"{marker}-new@example.com", f"{marker}-old@example.com"]
    engine = create_engine(provisioned_database.app_url, pool_size=1)
    settings = settings_for(provisioned_database, broker_url)
    probe = await probe_for(settings)
    try:
        await probe.watch(USERS.name, stream=True)
        async with engine.begin() as connection:
            await stage(connection, [registered(tenant, UserId.new(), email) for email in emails])
        async with relay_engine.begin() as connection:
            rows = (
                await connection.execute(
                    select(outbox.c.message_id, outbox.c.payload, outbox.c.body).where(
                        outbox.c.tenant_id == tenant.value
                    )
                )
            ).all()
            old = next(row for row in rows if row.payload["email"] == emails[1])
            await connection.execute(
                update(outbox).where(outbox.c.message_id == old.message_id).values(body=None)
            )
        async with running_worker(settings) as service, running_relay(service):
            published = await probe.collect(
                USERS.name,
                lambda m: str(json.loads(m.body).get("email", "")).startswith(marker),
                count=2,
                timeout=15,
            )
    finally:
        await probe.close()
        await engine.dispose()
    assert all(row.body is not None and json.loads(row.body) == row.payload for row in rows)
    payloads = {row.payload["email"]: row.payload for row in rows}
    assert sorted(json.loads(m.body)["email"] for m in published) == sorted(emails)
    assert all(json.loads(m.body) == payloads[json.loads(m.body)["email"]] for m in published)
