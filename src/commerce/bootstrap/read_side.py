"""The read side of one worker, wired: cache, query answering and the query subscribers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.queries import QueryRoute
from commerce.platform.messaging.transport import AnyRouter, namespaced
from commerce.platform.read_side.cache import ReadThroughCache, create_redis
from commerce.platform.read_side.cache_local import LocalCache
from commerce.platform.read_side.query_client import (
    KafkaRequester,
    QueryClient,
    RabbitRequester,
    Requester,
)
from commerce.platform.read_side.query_server import QueryResponder, query_subscriber
from commerce.platform.read_side.query_service import QueryService
from commerce.platform.read_side.read_sessions import GuardedReadSessions
from commerce.platform.resilience.breakers import CircuitBreakers
from commerce.platform.transactions.ports import UnitOfWork
from commerce.platform.transactions.processing import CommandHandler, Outcome
from commerce.registry.projections import LIVE, Projector
from commerce.registry.queries import QUERY_ROUTES
from commerce.registry.query_answers import ANSWERS
from commerce.registry.read_queries import SqlReadSessionFactory

__all__ = ["CacheConfig", "ReadSide", "build_read_side", "query_client"]


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """The cache's settings, as plain values."""

    redis_url: str
    l1_max_entries: int = 10_000
    l1_ttl: float = 5.0
    l2_ttl: float = 300.0
    timeout: float = 0.25


@dataclass
class ReadSide:
    """The cache in front of the read models, and who answers queries from them."""

    cache: ReadThroughCache
    queries: QueryService
    projector: Projector
    style: HeaderStyle
    namespace: str
    partitions: int
    source: str

    def answer(self, router: AnyRouter, routes: Sequence[QueryRoute]) -> None:
        """Subscribe the handlers answering ``routes`` on ``router`` (RabbitMQ: one queue
        each; Kafka: one consumer over every topic, see ``query_subscriber``)."""
        groups = [routes] if self.style is HeaderStyle.KAFKA else [[route] for route in routes]
        for group in groups:
            responder = QueryResponder(group, self.queries, style=self.style, source=self.source)
            subscribe = query_subscriber(
                router, group, namespace=self.namespace, partitions=self.partitions
            )
            subscribe(responder)

    async def project(
        self,
        execute: Callable[[CommandHandler[UnitOfWork]], Awaitable[Outcome]],
        projection: str,
        envelope: Envelope,
        event: IntegrationEvent,
    ) -> Outcome:
        """Fold ``event`` into ``projection``'s row through ``execute`` (the consumer's
        inbox and transaction), then drop the cached answers built from changed rows."""
        if envelope.aggregate_version is None:
            raise ValueError(f"{envelope.type} {envelope.id} carries no aggregateversion")
        live = LIVE[projection]
        handler, changes = self.projector.handler(
            live,
            event,
            tenant=TenantId(envelope.tenant_id),
            version=envelope.aggregate_version,
            at=envelope.time,
        )
        outcome = await execute(handler)
        if outcome is Outcome.APPLIED:
            await self.projector.invalidate(live, changes)
        return outcome

    async def close(self) -> None:
        """Close the cache's Redis connections."""
        await self.cache.close()


def build_read_side(
    engine: AsyncEngine,
    cache: CacheConfig,
    breakers: CircuitBreakers,
    *,
    style: HeaderStyle,
    namespace: str,
    partitions: int,
    source: str,
    service_name: str,
) -> ReadSide:
    """The read side on ``engine`` (the app role's: row-level security applies); Redis
    calls go through the ``redis`` breaker, read sessions through the ``postgres`` one."""
    read_cache = ReadThroughCache(
        name="queries",
        local=LocalCache(max_entries=cache.l1_max_entries, ttl=cache.l1_ttl),
        redis=create_redis(cache.redis_url, timeout=cache.timeout),
        prefix=namespaced(namespace, f"{service_name}:read-cache"),
        l2_ttl=cache.l2_ttl,
        timeout=cache.timeout,
        breaker=breakers("redis"),
    )
    sessions = GuardedReadSessions(SqlReadSessionFactory(engine), breakers("postgres"))
    return ReadSide(
        cache=read_cache,
        queries=QueryService(read_cache, sessions, ANSWERS),
        projector=Projector(read_cache),
        style=style,
        namespace=namespace,
        partitions=partitions,
        source=source,
    )


def query_client(
    *,
    style: HeaderStyle,
    broker_url: str,
    kafka_bootstrap: str,
    namespace: str,
    partitions: int,
    source: str,
) -> QueryClient:
    """A client asking queries on the configured transport (start it with ``async with``)."""
    requester: Requester
    if style is HeaderStyle.KAFKA:
        requester = KafkaRequester(kafka_bootstrap, namespace=namespace, partitions=partitions)
    else:
        requester = RabbitRequester(broker_url, namespace=namespace)
    return QueryClient(requester, style, source=source, routes=QUERY_ROUTES)
