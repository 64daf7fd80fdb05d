"""Batched projection on a real Postgres and Redis: a batch with duplicates and a redelivered
batch are applied once (one inbox row per message), tenants stay apart, a poison event goes
alone to the failure policy while the rest of its batch is applied once, and the cached
answers of the changed rows are dropped."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.catalog.messages.events import ItemCreatedV1, StockAdjustedV1
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox, item_availability
from commerce.platform.read_side.cache import ReadThroughCache, create_redis
from commerce.platform.read_side.cache_local import LocalCache
from commerce.platform.read_side.projection_batch import BatchProjector, Delivered
from commerce.platform.read_side.projection_kit import Update
from commerce.platform.resilience.breaker import CircuitBreaker
from commerce.registry.projections import LIVE

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LIVE_ITEMS = LIVE["item-availability"]
PROJECTION = LIVE_ITEMS.projection


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[ReadThroughCache]:
    read_cache = ReadThroughCache(
        name="batch-it",
        local=LocalCache(max_entries=100, ttl=60),
        redis=create_redis(redis_url, timeout=0.5),
        prefix=f"batch-it-{uuid4()}",
        l2_ttl=60,
        timeout=0.5,
        breaker=CircuitBreaker("redis", failure_threshold=3, reset_timeout=1),
    )
    try:
        yield read_cache
    finally:
        await read_cache.close()


def _delivered(tenant: TenantId, event: IntegrationEvent, version: int) -> Delivered[Any]:
    at = AT + timedelta(seconds=version)
    return Delivered(uuid4(), LIVE_ITEMS.update(event, tenant=tenant, version=version, at=at))


def _created(item: UUID, stock: int) -> ItemCreatedV1:
    price = MoneyPayload(amount=500, currency="EUR")
    return ItemCreatedV1(item_id=item, name="lamp", price=price, stock=stock, created_at=AT)


def _adjusted(item: UUID, stock: int) -> StockAdjustedV1:
    return StockAdjustedV1(item_id=item, delta=0, stock=stock, reason="count", adjusted_at=AT)


async def _stock(engine: AsyncEngine, tenant: TenantId, item: UUID) -> tuple[int, int] | None:
    async with tenant_transaction(engine, tenant.value) as connection:
        query = select(item_availability.c.stock, item_availability.c.version).where(
            item_availability.c.item_id == item
        )
        row = (await connection.execute(query)).first()
    return None if row is None else (row.stock, row.version)


async def _inbox_rows(engine: AsyncEngine, tenant: TenantId, consumer: str) -> int:
    async with tenant_transaction(engine, tenant.value) as connection:
        query = select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer)
        return int((await connection.execute(query)).scalar_one())


async def test_a_batch_with_duplicates_and_its_redelivery_are_applied_once_per_tenant(
    app_engine: AsyncEngine, cache: ReadThroughCache
) -> None:
    tenant, other = TenantId(uuid4()), TenantId(uuid4())
    item, others_item = uuid4(), uuid4()
    consumer = f"batch-it-{uuid4()}"
    created = _delivered(tenant, _created(item, 10), 1)
    adjusted = _delivered(tenant, _adjusted(item, 7), 2)
    others = _delivered(other, _created(others_item, 3), 1)
    projector = BatchProjector(app_engine, cache)
    cached_key = f"item:{tenant}:{item}"
    await cache.get_or_load(cached_key, [PROJECTION.tags.row(tenant, item)], _bytes(b"stale"))

    first = await projector.apply(PROJECTION, consumer, [created, others, created, adjusted])
    again = await projector.apply(PROJECTION, consumer, [adjusted, created, others])

    assert {(c.tenant, c.key) for c in first} == {(tenant, item), (other, others_item)}
    assert again == []
    assert await _stock(app_engine, tenant, item) == (7, 2)
    assert await _stock(app_engine, other, others_item) == (3, 1)
    assert await _stock(app_engine, tenant, others_item) is None  # never the other tenant's
    assert await _inbox_rows(app_engine, tenant, consumer) == 2
    assert await _inbox_rows(app_engine, other, consumer) == 1
    fresh = await cache.get_or_load(cached_key, [PROJECTION.tags.row(tenant, item)], _bytes(b"new"))
    assert fresh == b"new"


async def test_a_poison_event_fails_alone_and_holds_its_aggregate_the_rest_applied_once(
    app_engine: AsyncEngine, cache: ReadThroughCache
) -> None:
    tenant = TenantId(uuid4())
    poisoned, healthy = uuid4(), uuid4()
    consumer = f"batch-it-{uuid4()}"

    def explode(state: Any) -> Any:
        raise ValueError("poison")

    poison = Delivered(uuid4(), Update(tenant, poisoned, 1, explode))
    after_poison = _delivered(tenant, _adjusted(poisoned, 4), 2)
    batch = [
        _delivered(tenant, _created(healthy, 10), 1),
        poison,
        _delivered(tenant, _adjusted(healthy, 9), 2),
        after_poison,
        _delivered(tenant, _adjusted(healthy, 8), 3),
    ]
    projector = BatchProjector(app_engine, cache)

    outcome = await projector.apply_isolating(PROJECTION, consumer, batch)
    redelivered = await projector.apply_isolating(PROJECTION, consumer, batch[2:3])

    assert [(d.message_id, str(e)) for d, e in outcome.failed] == [(poison.message_id, "poison")]
    assert outcome.held == [after_poison]
    assert await _stock(app_engine, tenant, healthy) == (8, 3)
    assert await _stock(app_engine, tenant, poisoned) is None
    assert await _inbox_rows(app_engine, tenant, consumer) == 3  # not the poison, not held
    assert redelivered.changes == []
    assert redelivered.failed == []


def _bytes(value: bytes) -> Any:
    async def load() -> bytes:
        return value

    return load


async def test_rows_a_tenant_committed_before_another_tenants_poison_are_reported_once(
    app_engine: AsyncEngine, cache: ReadThroughCache
) -> None:
    tenant, other = TenantId(uuid4()), TenantId(uuid4())
    item = uuid4()
    consumer = f"batch-it-{uuid4()}"

    def explode(state: Any) -> Any:
        raise ValueError("poison")

    poison = Delivered(uuid4(), Update(other, uuid4(), 1, explode))
    batch = [_delivered(tenant, _created(item, 5), 1), poison]

    outcome = await BatchProjector(app_engine, cache).apply_isolating(PROJECTION, consumer, batch)

    assert [(c.tenant, c.key) for c in outcome.changes] == [(tenant, item)]
    assert [d for d, _ in outcome.failed] == [poison]
    assert await _stock(app_engine, tenant, item) == (5, 1)
