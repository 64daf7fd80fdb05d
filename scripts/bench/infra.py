"""The local services a run needs: where they are, a fresh database, a Kafka broker, the
service's settings for a run, and cleaning a run's RabbitMQ namespace away afterwards.

Services resolve like the test suite's (``tests/support/services.py``), without Docker:
``COMMERCE_TEST_POSTGRES_URL`` / ``COMMERCE_TEST_RABBIT_URL`` /
``COMMERCE_TEST_KAFKA_BOOTSTRAP`` when set, else the local defaults; Kafka defaults to a
Tansu broker child process on memory storage, fresh for each run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from uuid import uuid4

from pydantic import SecretStr
from tests.support.database import ProvisionedDatabase, provision_and_migrate
from tests.support.namespaces import delete_rabbit_names
from tests.support.services import host_port, is_reachable, redact
from tests.support.tansu import TansuBroker, TansuError, ensure_topics, free_port

from commerce.config import (
    BrokerSettings,
    DatabaseSettings,
    HttpSettings,
    LogSettings,
    PasswordHashingSettings,
    Settings,
)
from commerce.platform.messaging.channels import COMMAND_EXCHANGE, EventConsumer
from commerce.platform.messaging.transport import namespaced
from commerce.platform.postgres.provisioning import drop_database
from commerce.registry.channels import CONSUMERS, EVENT_STREAMS
from commerce.registry.queries import QUERY_ROUTES

__all__ = [
    "BenchError",
    "Endpoints",
    "create_kafka_topics",
    "delete_rabbit_namespace",
    "find_endpoints",
    "fresh_database",
    "kafka_broker",
    "new_namespace",
    "service_settings",
]

CHEAP_PASSWORDS = PasswordHashingSettings(memory_kib=8, time_cost=1, parallelism=1)
"""argon2id at 8 KiB (its minimum), 1 pass, 1 lane: the bench measures messaging, not hashing."""


class BenchError(RuntimeError):
    """A service is missing or a run could not complete; the message says which."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where PostgreSQL and RabbitMQ answer; Kafka's bootstrap when given from outside."""

    postgres_admin_url: str
    rabbit_url: str
    kafka_bootstrap: str | None


def _check(name: str, address: str, default_port: int, hint: str) -> str:
    if not is_reachable(*host_port(address, default_port)):
        raise BenchError(f"{name} is not reachable at {redact(address)}: {hint}")
    return address


def find_endpoints(*, kafka: bool) -> Endpoints:
    """Resolve the services from the environment or the local defaults, checking each."""
    postgres = os.environ.get("COMMERCE_TEST_POSTGRES_URL", "").strip() or (
        "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    rabbit = os.environ.get("COMMERCE_TEST_RABBIT_URL", "").strip() or (
        "amqp://guest:guest@127.0.0.1:5672/"
    )
    kafka_bootstrap = os.environ.get("COMMERCE_TEST_KAFKA_BOOTSTRAP", "").strip() or None
    _check("PostgreSQL", postgres, 5432, "start it (make services) or set the URL variable")
    _check("RabbitMQ", rabbit, 5672, "start it (make services) or set the URL variable")
    if kafka and kafka_bootstrap:
        _check("Kafka", kafka_bootstrap, 9092, "unset COMMERCE_TEST_KAFKA_BOOTSTRAP for Tansu")
    return Endpoints(postgres, rabbit, kafka_bootstrap)


def new_namespace() -> str:
    """A fresh broker namespace, so runs never see each other's messages."""
    return f"bench{uuid4().hex[:10]}"


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[ProvisionedDatabase]:
    """A provisioned database migrated to head, dropped when the block ends."""
    name = f"commerce_bench_{uuid4().hex[:12]}"
    try:
        yield await provision_and_migrate(admin_url, name)
    finally:
        await drop_database(admin_url, name)


@contextmanager
def kafka_broker(external: str | None) -> Iterator[str]:
    """``external`` if given, else a Tansu broker on memory storage for the block."""
    if external:
        yield external
        return
    try:
        with TansuBroker() as broker:
            yield broker.bootstrap
    except TansuError as error:
        raise BenchError(f"cannot start Tansu: {error}") from error


def service_settings(
    database: ProvisionedDatabase,
    broker_url: str,
    namespace: str,
    *,
    tansu: bool,
    log_level: str = "INFO",
) -> Settings:
    """The service's default settings, pointed at ``database`` and ``namespace``.

    Changed from the defaults: argon2 cost (:data:`CHEAP_PASSWORDS`), a free HTTP port,
    Kafka group timeouts of 2 s / 200 ms (quick joins on Tansu) and, on Tansu, no
    idempotent producer (its storage lacks it). Pool, prefetch, relay batch: defaults.
    """
    return Settings(
        environment="production",
        database=DatabaseSettings(
            url=SecretStr(database.app_url),
            migration_url=SecretStr(database.owner_url),
            relay_url=SecretStr(database.relay_url),
            admin_url=None,
        ),
        broker=BrokerSettings(
            url=SecretStr(broker_url),
            namespace=namespace,
            kafka_idempotence=not tansu,
            kafka_session_timeout_ms=2_000,
            kafka_heartbeat_interval_ms=200,
        ),
        http=HttpSettings(port=free_port()),
        log=LogSettings(level=log_level, json_output=True),  # type: ignore[arg-type]
        passwords=CHEAP_PASSWORDS,
    )


def service_topics(settings: Settings) -> list[str]:
    """Every Kafka topic the worker and relay use, namespaced."""
    names: set[str] = {stream.name for stream in EVENT_STREAMS}
    for consumer in CONSUMERS:
        names.update((consumer.source, *consumer.retry_channels, consumer.dead_letters))
    return sorted(namespaced(settings.broker.namespace, name) for name in names)


async def create_kafka_topics(bootstrap: str, settings: Settings) -> None:
    """Create the service's topics with its partition count before anything runs."""
    await ensure_topics(bootstrap, service_topics(settings), settings.broker.partitions)


def _rabbit_names(namespace: str, partitions: int) -> tuple[list[str], list[str]]:
    """The queues and exchanges the service may declare in ``namespace``."""
    queues: list[str] = [route.channel.name for route in QUERY_ROUTES]  # the worker answers
    exchanges = [COMMAND_EXCHANGE, *(stream.name for stream in EVENT_STREAMS)]
    for consumer in CONSUMERS:
        queues += [*consumer.retry_channels, consumer.dead_letters, consumer.skipped]
        if isinstance(consumer, EventConsumer):
            queues += [f"{consumer.consumer}.p{partition}" for partition in range(partitions)]
            exchanges += [f"{consumer.consumer}.partitions", *consumer.retry_channels]
        else:
            queues.append(consumer.name)
    return (
        [namespaced(namespace, name) for name in queues],
        [namespaced(namespace, name) for name in exchanges],
    )


async def delete_rabbit_namespace(
    url: str, namespace: str, *, partitions: int = 4, extra_queues: tuple[str, ...] = ()
) -> None:
    """Delete every queue and exchange a run declared (deleting a missing one is a no-op)."""
    queues, exchanges = _rabbit_names(namespace, partitions)
    queues += [namespaced(namespace, name) for name in extra_queues]
    await delete_rabbit_names(url, queues, exchanges)
