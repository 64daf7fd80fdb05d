"""The real service wired in-process against real services, for integration tests."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, SecretStr

from commerce.bootstrap.relay import build_relay, relay_engine
from commerce.bootstrap.service import Service, build_service
from commerce.config import (
    BrokerSettings,
    BulkheadSettings,
    BulkheadsSettings,
    DatabaseSettings,
    PasswordHashingSettings,
    RelaySettings,
    Settings,
)
from commerce.entrypoints.worker import include_routers
from commerce.platform.messaging.channels import CommandChannel
from tests.support.database import ProvisionedDatabase
from tests.support.namespaces import fresh_namespace

__all__ = [
    "environment_for",
    "running_relay",
    "running_worker",
    "settings_for",
    "worker_of_one_channel",
]


def settings_for(
    database: ProvisionedDatabase, broker_url: str, namespace: str | None = None
) -> Settings:
    """Settings pointing at a test database and broker (Kafka tuned for quick group joins).

    Every call gets its own broker namespace unless one is given, so tests never consume
    each other's messages (or a developer's running worker's).
    """
    return Settings(
        environment="test",
        database=DatabaseSettings(
            url=SecretStr(database.app_url),
            migration_url=SecretStr(database.owner_url),
            relay_url=SecretStr(database.relay_url),
            admin_url=None,
            pool_size=2,
            max_overflow=2,
        ),
        bulkheads=BulkheadsSettings(  # small pools: test workers share one Postgres
            commands=BulkheadSettings(concurrency=64, pool_size=4, max_overflow=4),
            projections=BulkheadSettings(concurrency=4, pool_size=2, max_overflow=2),
            policies=BulkheadSettings(concurrency=2, pool_size=1, max_overflow=1),
        ),
        broker=BrokerSettings(
            url=SecretStr(broker_url),
            namespace=namespace if namespace is not None else fresh_namespace(),
            kafka_idempotence=False,
            kafka_session_timeout_ms=2_000,
            kafka_heartbeat_interval_ms=200,
        ),
        relay=RelaySettings(poll_interval_seconds=0.5, batch_size=100),
        passwords=PasswordHashingSettings(memory_kib=1024, time_cost=1, parallelism=1),
    )


@asynccontextmanager
async def running_worker(settings: Settings, *, consuming: bool = True) -> AsyncIterator[Service]:
    """Every subscriber consuming, as ``commerce run worker`` does.

    ``consuming=False``: no subscriber, only a connected broker to send commands with, as
    an upstream service would (e.g. while the worker runs in another process).
    """
    service = build_service(settings)
    if consuming:
        include_routers(service)
    await service.transport.broker.start()
    try:
        yield service
    finally:
        await service.transport.broker.stop()
        await service.close()


@asynccontextmanager
async def running_relay(service: Service) -> AsyncIterator[None]:
    """An outbox relay task beside ``service`` (its broker must be started)."""
    engine = relay_engine(service.settings)
    stop = asyncio.Event()
    relay = build_relay(
        service.settings,
        service.transport,
        engine,
        tracer=service.tracer,
        breakers=service.breakers,
    )
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        await engine.dispose()


def environment_for(settings: Settings) -> dict[str, str]:
    """``settings`` as the ``COMMERCE_*`` variables a worker process would read."""
    variables: dict[str, str] = {}

    def flatten(prefix: str, value: object) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                flatten(f"{prefix}{name.upper()}__", getattr(value, name))
            return
        name = prefix.removesuffix("__")
        if isinstance(value, SecretStr):
            variables[name] = value.get_secret_value()
        elif isinstance(value, bool):
            variables[name] = str(value).lower()
        elif value is not None:
            variables[name] = str(value)

    flatten("COMMERCE_", settings)
    return variables


@asynccontextmanager
async def worker_of_one_channel(
    settings: Settings, channel: CommandChannel, handler: Callable[..., Any]
) -> AsyncIterator[Service]:
    """A service consuming only ``channel``, with ``handler`` under its failure policy."""
    service = build_service(settings)
    router = service.transport.router()
    service.command_subscriber(router, channel)(handler)
    service.transport.broker.include_router(router)  # type: ignore[arg-type]
    await service.transport.broker.start()
    try:
        yield service
    finally:
        await service.transport.broker.stop()
        await service.close()
