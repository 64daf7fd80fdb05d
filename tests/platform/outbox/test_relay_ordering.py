"""An aggregate's later event never overtakes its earlier one, whatever the transaction ids.

A transaction takes its id at its first write, so an *old* transaction (a shared one of
group commit, busy with other messages) can commit an aggregate's next version after a
*younger* one committed the previous version. While a third transaction, between the two,
is still running, the old one's row is below the visibility horizon and the young one's is
not: the relay must hold the later version back until the earlier can go (seen in the
fault-injection drill as versions 1, 3, 2, 4 reaching subscribers).
"""

import json
from collections.abc import Callable
from uuid import uuid4

import pytest
from opentelemetry.trace import NoOpTracer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.relay import build_relay
from commerce.bootstrap.service import build_service
from commerce.identity.messages.channels import USERS
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.postgres.engine import create_engine
from tests.support.brokers import Received, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.outbox_rows import registered, stage
from tests.support.worker import settings_for

pytestmark = pytest.mark.integration

_TAKE_ID = text("SELECT pg_current_xact_id()")


async def test_a_later_version_in_an_older_transaction_waits_for_the_earlier_one(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, relay_engine: AsyncEngine
) -> None:
    tenant, user = TenantId(uuid4()), UserId.new()
    marker = uuid4().hex[:12]
    settings = settings_for(provisioned_database, rabbit_url)
    engine = create_engine(provisioned_database.app_url, pool_size=4)
    service = build_service(settings)
    probe = await probe_for(settings)
    await probe.watch(USERS.name, stream=True)
    await service.transport.broker.start()
    relay = build_relay(
        settings, service.transport, relay_engine, tracer=NoOpTracer(), breakers=service.breakers
    )
    try:
        async with engine.connect() as old, engine.connect() as between:
            old_tx, between_tx = await old.begin(), await between.begin()
            await old.execute(_TAKE_ID)  # the old transaction's id comes first
            await between.execute(_TAKE_ID)  # holds the horizon until it ends
            async with engine.begin() as young:
                await stage(young, [registered(tenant, user, f"{marker}-2@example.com", 2)])
            await stage(old, [registered(tenant, user, f"{marker}-3@example.com", 3)])
            await old_tx.commit()
            await relay.drain()
            early = await probe.collect(USERS.name, _marked(marker), count=1, timeout=2.0)
            await between_tx.commit()
        await relay.drain()
        published = await probe.collect(USERS.name, _marked(marker), count=2)
    finally:
        await relay.close()
        await probe.close()
        await service.transport.broker.stop()
        await service.close()
        await engine.dispose()
    assert early == [], "version 3 waits while version 2 is behind the horizon"
    assert [json.loads(m.body)["email"].split("@")[0] for m in published] == [
        f"{marker}-2",
        f"{marker}-3",
    ]


def _marked(marker: str) -> Callable[[Received], bool]:
    return lambda message: str(json.loads(message.body).get("email", "")).startswith(marker)
