"""The pieces every process builds from settings: logging, metrics, transport, read side."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.read_side import CacheConfig, ReadSide, build_read_side
from commerce.config import BreakerPolicySettings, BrokerTransport, Settings
from commerce.platform.messaging.kafka import KafkaTransport
from commerce.platform.messaging.rabbitmq import RabbitTransport
from commerce.platform.messaging.transport import Transport
from commerce.platform.observability.logging import configure_logging
from commerce.platform.observability.metrics import (
    serve_metrics,
)
from commerce.platform.observability.redaction import secrets_in
from commerce.platform.resilience.breakers import BreakerPolicy, CircuitBreakers

__all__ = [
    "SOURCE",
    "breakers_from",
    "build_transport",
    "configure_logging_from",
    "read_side_for",
    "redacted",
    "serve_relay_metrics",
]

SOURCE = "/commerce"
"""The CloudEvents ``source`` of everything this service publishes."""


def configure_logging_from(settings: Settings) -> None:
    """Apply the log settings; every secret setting is masked in the logs."""
    configure_logging(
        level=settings.log.level, json_output=settings.log.json_output, secrets=secrets_in(settings)
    )


def serve_relay_metrics(settings: Settings) -> Callable[[], None] | None:
    """Serve ``/metrics`` for a standalone relay on ``COMMERCE_RELAY__METRICS_PORT`` (if set)."""
    port = settings.relay.metrics_port
    return serve_metrics(port, host=settings.http.host) if port else None


def build_transport(settings: Settings) -> Transport:
    """The transport ``COMMERCE_BROKER__URL`` selects."""
    broker = settings.broker
    if broker.transport is BrokerTransport.KAFKA:
        return KafkaTransport(
            broker.kafka_bootstrap,
            client_id=settings.service_name,
            idempotence=broker.kafka_idempotence,
            session_timeout_ms=broker.kafka_session_timeout_ms,
            heartbeat_interval_ms=broker.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=broker.kafka_fetch_max_wait_ms,
            namespace=broker.namespace,
            partitions=broker.partitions,
            command_members=broker.kafka_command_members or broker.partitions,
        )
    return RabbitTransport(
        broker.url.get_secret_value(),
        prefetch=broker.prefetch,
        app_id=settings.service_name,
        namespace=broker.namespace,
        partitions=broker.partitions,
    )


def redacted(url: str) -> str:
    """``url`` with its password replaced, for operators' messages."""
    return make_url(url).render_as_string(hide_password=True) if "://" in url else url


def breakers_from(settings: Settings) -> CircuitBreakers:
    """The circuit breakers of one process (build it once: one breaker per dependency)."""
    breakers = settings.breakers

    def policy(of: BreakerPolicySettings) -> BreakerPolicy:
        return BreakerPolicy(of.failure_threshold, of.reset_timeout_seconds)

    return CircuitBreakers(
        policy(breakers),
        overrides={name: policy(own) for name, own in breakers.overrides.items()},
    )


def read_side_for(
    settings: Settings, engine: AsyncEngine, transport: Transport, breakers: CircuitBreakers
) -> ReadSide:
    cache = settings.cache
    return build_read_side(
        engine,
        CacheConfig(
            redis_url=settings.redis.url.get_secret_value(),
            l1_max_entries=cache.l1_max_entries,
            l1_ttl=cache.l1_ttl_seconds,
            l2_ttl=cache.l2_ttl_seconds,
            timeout=cache.redis_timeout_seconds,
        ),
        breakers,
        style=transport.style,
        namespace=settings.broker.namespace,
        partitions=settings.broker.partitions,
        source=SOURCE,
        service_name=settings.service_name,
    )
