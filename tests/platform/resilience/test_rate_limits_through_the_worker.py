"""Fair share through the real worker: RabbitMQ, Postgres and Redis.

Tenant A sends a burst far over its limit on ``RegisterUser``; tenant B sends within its
own. Deferred, every one of A's commands is applied exactly once (none dead-lettered);
rejected, A hears ``CommandRejected`` (``rate-limited``, with a retry-after) once per
refused command. B's commands are all applied either way. With Redis unreachable, the
limiter fails open: nothing is limited, and the gauge says so.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.service import Service
from commerce.config import (
    ChannelRateLimitSettings,
    RateLimitSettings,
    RedisSettings,
    Settings,
)
from commerce.identity.messages.channels import REGISTER_USER
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox, outbox, users
from tests.support.database import ProvisionedDatabase
from tests.support.shop import eventually
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration

REJECTED = "commerce.CommandRejected.v1"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def limited(
    settings: Settings,
    redis_url: str,
    *,
    rate: float,
    burst: int,
    action: str,
    down_after: float = 0.5,
) -> Settings:
    """``settings`` with a tight tenant limit on RegisterUser."""
    limits = RateLimitSettings(
        channels={
            REGISTER_USER.name: ChannelRateLimitSettings(
                tenant_rate=rate,
                tenant_burst=burst,
                action=action,  # type: ignore[arg-type]
            )
        },
        min_defer_seconds=0.2,
        down_after_seconds=down_after,
    )
    return settings.model_copy(
        update={"rate_limits": limits, "redis": RedisSettings(url=SecretStr(redis_url))}
    )


async def send(service: Service, tenant: UUID, count: int) -> None:
    for index in range(count):
        command = RegisterUser(
            user_id=uuid4(),
            email=f"user{index}@example.com",
            display_name=f"User {index}",
            password="correct horse battery staple",
        )
        await service.send_command(REGISTER_USER, command, tenant_id=tenant)


async def registered(engine: AsyncEngine, tenant: UUID) -> int:
    async with tenant_transaction(engine, tenant) as connection:
        return int(await connection.scalar(select(func.count()).select_from(users)) or 0)


async def handled(engine: AsyncEngine, tenant: UUID) -> int:
    """Commands of ``tenant`` that went through RegisterUser's inbox (applied or rejected)."""
    query = select(func.count()).where(
        inbox.c.consumer == REGISTER_USER.consumer, inbox.c.tenant_id == tenant
    )
    async with tenant_transaction(engine, tenant) as connection:
        return int(await connection.scalar(query) or 0)


async def rejections(relay_engine: AsyncEngine, tenant: UUID) -> Sequence[dict[str, Any]]:
    query = select(outbox.c.payload).where(
        outbox.c.tenant_id == tenant, outbox.c.event_type == REJECTED
    )
    async with relay_engine.connect() as connection:
        return [row[0] for row in await connection.execute(query)]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def deferrals() -> float:
    return sample(
        "commerce_rate_limited_total", channel=REGISTER_USER.name, scope="tenant", action="deferred"
    )


def dead_letters() -> float:
    return sum(
        metric.value
        for family in REGISTRY.collect()
        if family.name == "commerce_dead_letters"
        for metric in family.samples
        if metric.name == "commerce_dead_letters_total"
        and metric.labels.get("consumer") == REGISTER_USER.consumer
    )


async def test_a_tenant_over_its_limit_is_deferred_and_every_command_applied_once(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    redis_url: str,
    app_engine: AsyncEngine,
) -> None:
    settings = limited(
        settings_for(provisioned_database, rabbit_url), redis_url, rate=4, burst=3, action="defer"
    )
    noisy, quiet = uuid4(), uuid4()
    deferred_before, dead_before = deferrals(), dead_letters()
    async with running_worker(settings) as service:
        await send(service, noisy, 12)
        await send(service, quiet, 3)
        await eventually(lambda: registered(app_engine, quiet), 3)
        await eventually(lambda: registered(app_engine, noisy), 12)
        assert await handled(app_engine, noisy) == 12
    assert deferrals() - deferred_before >= 12 - 3
    assert dead_letters() == dead_before


async def test_a_tenant_over_its_limit_on_a_rejecting_channel_hears_when_to_retry(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    redis_url: str,
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
) -> None:
    settings = limited(
        settings_for(provisioned_database, rabbit_url),
        redis_url,
        rate=0.1,
        burst=3,
        action="reject",
    )
    noisy, quiet = uuid4(), uuid4()
    async with running_worker(settings) as service, running_relay(service):
        await send(service, noisy, 7)
        await send(service, quiet, 3)
        await eventually(lambda: registered(app_engine, quiet), 3)
        await eventually(lambda: handled(app_engine, noisy), 7)
        assert await registered(app_engine, noisy) == 3
        refused = await rejections(relay_engine, noisy)
    assert len(refused) == 4
    assert len({payload["command_id"] for payload in refused}) == 4
    for payload in refused:
        assert payload["reason_code"] == "rate-limited"
        assert 0 < payload["retry_after_seconds"] <= 10  # one emission interval at most
    assert await rejections(relay_engine, quiet) == []


async def test_with_redis_unreachable_the_limiter_fails_open(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
) -> None:
    settings = limited(
        settings_for(provisioned_database, rabbit_url),
        UNREACHABLE_REDIS,
        rate=0.01,
        burst=1,
        action="reject",
        down_after=0,  # down at the first failure
    )
    tenant = uuid4()
    async with running_worker(settings) as service:
        await send(service, tenant, 5)
        await eventually(lambda: registered(app_engine, tenant), 5)
        assert sample("commerce_rate_limiter_fail_open") == 1
    assert await rejections(relay_engine, tenant) == []
