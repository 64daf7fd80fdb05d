"""The outbox relay's builders: what a relay needs is an engine, a transport and a tracer.

The standalone relay process (:func:`build_relay_process`) builds only those; a worker that
runs the relay beside its subscribers (``commerce run all``) passes its own transport.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.wiring import breakers_from, build_transport
from commerce.config import Settings
from commerce.platform.messaging.transport import Transport
from commerce.platform.observability.tracing import TRACER_NAME, build_tracer_provider
from commerce.platform.outbox.relay import OutboxRelay
from commerce.platform.postgres.engine import create_engine
from commerce.platform.resilience.breakers import CircuitBreakers

__all__ = ["RelayProcess", "build_relay", "build_relay_process", "relay_engine"]


def relay_engine(settings: Settings) -> AsyncEngine:
    """An engine logged in as the relay role (it reads every tenant's outbox)."""
    return create_engine(
        settings.database.relay_url.get_secret_value(),
        pool_size=2,
        max_overflow=0,
        application_name=f"{settings.service_name}-relay",
    )


def build_relay(
    settings: Settings,
    transport: Transport,
    engine: AsyncEngine,
    *,
    tracer: Tracer,
    breakers: CircuitBreakers,
) -> OutboxRelay:
    """An outbox relay reading with ``engine`` and publishing through ``transport``, both
    through the process's ``postgres`` and ``broker`` circuit breakers."""
    relay = settings.relay
    return OutboxRelay(
        engine,
        transport,
        database_breaker=breakers("postgres"),
        broker_breaker=breakers("broker"),
        listen_dsn=settings.database.relay_url.get_secret_value(),
        batch_size=relay.batch_size,
        poll_interval=relay.poll_interval_seconds,
        publish_timeout=relay.publish_timeout_seconds,
        sent_retention=relay.sent_retention_hours * 3600,
        inbox_retention=relay.inbox_retention_days * 86_400,
        purge_interval=relay.purge_interval_seconds,
        tracer=tracer,
    )


@dataclass(frozen=True, slots=True)
class RelayProcess:
    """The standalone relay: its transport, its engine, the relay, and the span exporter."""

    transport: Transport
    engine: AsyncEngine
    relay: OutboxRelay
    tracer_provider: TracerProvider

    async def close(self) -> None:
        """Release the engine's connections; hand finished spans to the exporter."""
        await self.engine.dispose()
        self.tracer_provider.force_flush(5_000)


def build_relay_process(settings: Settings) -> RelayProcess:
    """Wire the standalone relay from settings (connections open lazily)."""
    provider = build_tracer_provider(
        service_name=settings.service_name,
        endpoint=settings.otel.endpoint,
        sample_ratio=settings.otel.sample_ratio,
    )
    transport = build_transport(settings)
    engine = relay_engine(settings)
    relay = build_relay(
        settings,
        transport,
        engine,
        tracer=provider.get_tracer(TRACER_NAME),
        breakers=breakers_from(settings),
    )
    return RelayProcess(transport, engine, relay, provider)
