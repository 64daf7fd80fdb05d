"""Queries through the wired read side while Redis never answers: every query is answered
from Postgres (real rows, row-level security), and once the ``redis`` breaker is open
Redis is not called at all, but for one probe per reset timeout."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.read_side import CacheConfig, build_read_side
from commerce.catalog.messages.queries import GetItemAvailabilityV1
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.result import Ok
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import item_availability
from commerce.platform.resilience.breakers import BreakerPolicy, CircuitBreakers
from tests.support.fakes import ManualClock
from tests.support.silent_server import SilentServer

pytestmark = pytest.mark.integration


async def test_queries_answer_from_postgres_and_an_open_breaker_leaves_redis_alone(
    app_engine: AsyncEngine,
) -> None:
    tenant, item = TenantId(uuid4()), uuid4()
    async with tenant_transaction(app_engine, tenant.value) as connection:
        await connection.execute(
            insert(item_availability).values(
                tenant_id=tenant.value,
                item_id=item,
                name="Difference Engine",
                status="active",
                stock=3,
                price=1999,
                currency="EUR",
                updated_at=datetime.now(UTC),
                version=1,
            )
        )
    redis = SilentServer()
    await redis.start()
    clock = ManualClock(1000.0)
    breakers = CircuitBreakers(BreakerPolicy(failure_threshold=2, reset_timeout=30.0), clock=clock)
    read_side = build_read_side(
        app_engine,
        CacheConfig(redis_url=f"redis://127.0.0.1:{redis.port}/0", timeout=1.0),
        breakers,
        style=HeaderStyle.RABBIT,
        namespace=f"t{uuid4().hex[:8]}",
        partitions=1,
        source="/tests",
        service_name="commerce",
    )

    async def ask() -> dict[str, object]:
        read_side.cache.local.clear()  # every query goes past L1
        answer = await read_side.queries.answer(tenant, GetItemAvailabilityV1(item_id=item))
        assert isinstance(answer, Ok)
        return dict(json.loads(answer.value)["item"])

    try:
        for _ in range(2):
            assert (await ask())["stock"] == 3
        assert breakers("redis").state == "open"
        tried = redis.connections
        assert tried >= 2

        answers = [await ask() for _ in range(10)]
        assert all(a["name"] == "Difference Engine" and a["stock"] == 3 for a in answers)
        assert redis.connections == tried, "Redis is not called while its breaker is open"
        assert read_side.cache.degraded

        clock.now += 30.0  # the reset timeout: one probe, which fails again
        answers = [await ask() for _ in range(5)]
        assert all(a["stock"] == 3 for a in answers)
        assert breakers("redis").state == "open"
        assert redis.connections == tried + 1, "one probe, not one call per query"
        assert breakers("postgres").state == "closed"
    finally:
        await read_side.close()
        await redis.stop()
