"""Queries through the wired read side while Postgres never answers: each fails at once as
an outage (the responder replies ``unavailable``), and once the ``postgres`` breaker is
open the database is not called at all, but for one probe per reset timeout."""

from uuid import uuid4

import pytest
from sqlalchemy.exc import SQLAlchemyError

from commerce.bootstrap.read_side import CacheConfig, build_read_side
from commerce.catalog.messages.queries import GetItemAvailabilityV1
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.postgres.engine import create_engine
from commerce.platform.resilience.breaker import CircuitOpenError
from commerce.platform.resilience.breakers import BreakerPolicy, CircuitBreakers
from commerce.platform.resilience.outages import outage_of
from tests.support.fakes import ManualClock
from tests.support.silent_server import SilentServer

pytestmark = pytest.mark.integration

UNAVAILABLE = (SQLAlchemyError, OSError)
"""What the query responder answers ``unavailable``."""


async def test_an_open_postgres_breaker_refuses_queries_without_touching_the_database(
    redis_url: str,
) -> None:
    database = SilentServer()
    await database.start()
    engine = create_engine(
        f"postgresql+asyncpg://commerce_app:x@127.0.0.1:{database.port}/commerce", pool_size=2
    )
    clock = ManualClock(1000.0)
    breakers = CircuitBreakers(BreakerPolicy(failure_threshold=3, reset_timeout=30.0), clock=clock)
    read_side = build_read_side(
        engine,
        CacheConfig(redis_url=redis_url),
        breakers,
        style=HeaderStyle.RABBIT,
        namespace=f"t{uuid4().hex[:8]}",
        partitions=1,
        source="/tests",
        service_name="commerce",
    )
    tenant = TenantId(uuid4())

    async def ask() -> BaseException:
        with pytest.raises(UNAVAILABLE) as failed:
            await read_side.queries.answer(tenant, GetItemAvailabilityV1(item_id=uuid4()))
        return failed.value

    try:
        for _ in range(3):
            outage = outage_of(await ask())
            assert outage is not None
        assert breakers("postgres").state == "open"
        tried = database.connections

        refusals = [await ask() for _ in range(20)]
        assert all(isinstance(r, CircuitOpenError) for r in refusals)
        assert {r.dependency for r in refusals if isinstance(r, CircuitOpenError)} == {"postgres"}
        assert database.connections == tried, "no query reaches a database deemed down"

        clock.now += 30.0
        await ask()  # the probe, which fails again
        for _ in range(5):
            assert isinstance(await ask(), CircuitOpenError)
        assert breakers("postgres").state == "open"
        assert database.connections == tried + 1, "one probe, not one connection per query"
    finally:
        await read_side.close()
        await engine.dispose()
        await database.stop()
