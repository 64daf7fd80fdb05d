"""Prometheus metrics: one registry for the service, exposed at the worker's ``/metrics``.

Names follow Prometheus conventions (``commerce_`` prefix, base units in the name,
``_total`` for counters). FastStream's own consume/publish metrics (``faststream_*``) are
recorded into the same registry by :func:`measure_broker`. Everything else is recorded
through the small functions below, so call sites never touch a metric object:

=========================================================  ===============================
``commerce_commands_processed_total{consumer,outcome}``    :func:`observe_command`
``commerce_handler_duration_seconds{consumer}``            :func:`observe_command`
``commerce_inbox_duplicates_total{consumer}``              :func:`record_inbox_duplicate`
``commerce_retries_total{consumer,kind}``                  :func:`record_retry`
``commerce_dead_letters_total{consumer,reason}``           :func:`record_dead_letter`
``commerce_relay_published_messages_total{stream}``        :func:`record_relay_published`
``commerce_outbox_backlog_messages``                       :func:`set_outbox_backlog`
``commerce_outbox_oldest_unsent_age_seconds``              :func:`set_outbox_backlog`
``commerce_projection_lag_seconds{projection}``            :func:`set_projection_lag`
``commerce_cache_requests_total{cache,result}``            :func:`record_cache_request`
``commerce_cache_evictions_total{cache,reason}``           :func:`record_cache_eviction`
``commerce_cache_invalidations_total{cache,origin}``       :func:`record_cache_invalidation`
``commerce_cache_errors_total{cache}``                     :func:`record_cache_error`
``commerce_cache_degraded{cache}``                         :func:`set_cache_degraded`
``commerce_queries_total{query,outcome}``                  :func:`observe_query`
``commerce_query_duration_seconds{query}``                 :func:`observe_query`
=========================================================  ===============================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.prometheus import PrometheusMiddleware
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from commerce.adapters.broker import AnyBroker
from commerce.adapters.metrics_broker import BoundedRabbitMetrics

__all__ = [
    "REGISTRY",
    "CommandObservation",
    "QueryObservation",
    "exposition",
    "measure_broker",
    "observe_command",
    "observe_query",
    "record_cache_error",
    "record_cache_eviction",
    "record_cache_invalidation",
    "record_cache_request",
    "record_dead_letter",
    "record_inbox_duplicate",
    "record_parked",
    "record_relay_published",
    "record_retry",
    "serve_metrics",
    "set_cache_degraded",
    "set_outbox_backlog",
    "set_projection_lag",
]

# No ``*_created`` series: they would double the series count for no use here.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
"""The service's one registry (process, platform and GC collectors included)."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

_HANDLER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

COMMANDS_PROCESSED = Counter(
    "commerce_commands_processed_total",
    "Commands handled, by consumer and outcome (applied, duplicate, rejected, failed).",
    ["consumer", "outcome"],
    registry=REGISTRY,
)
HANDLER_DURATION = Histogram(
    "commerce_handler_duration_seconds",
    "Time to handle one command: inbox claim, use case, outbox write and commit.",
    ["consumer"],
    buckets=_HANDLER_BUCKETS,
    registry=REGISTRY,
)
INBOX_DUPLICATES = Counter(
    "commerce_inbox_duplicates_total",
    "Redelivered messages recognised by the inbox and acked with no second effect.",
    ["consumer"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "commerce_retries_total",
    "Transient failures retried, by consumer and kind (immediate, delayed).",
    ["consumer", "kind"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "commerce_dead_letters_total",
    "Messages sent to a consumer's dead-letter (or skipped) channel, by x-fault-reason.",
    ["consumer", "reason"],
    registry=REGISTRY,
)
PARKED = Counter(
    "commerce_parked_messages_total",
    "Events parked behind an earlier event of their aggregate that left the line.",
    ["consumer"],
    registry=REGISTRY,
)
RELAY_PUBLISHED = Counter(
    "commerce_relay_published_messages_total",
    "Outbox rows the relay published (broker-confirmed), by event stream.",
    ["stream"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge(
    "commerce_outbox_backlog_messages",
    "Outbox rows not yet published (parked rows excluded), as of the relay's last pass.",
    registry=REGISTRY,
)
OUTBOX_OLDEST_AGE = Gauge(
    "commerce_outbox_oldest_unsent_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none), as of the relay's last pass.",
    registry=REGISTRY,
)
PROJECTION_LAG = Gauge(
    "commerce_projection_lag_seconds",
    "Seconds from an event's creation to its projection applying it (the latest event).",
    ["projection"],
    registry=REGISTRY,
)
CACHE_REQUESTS = Counter(
    "commerce_cache_requests_total",
    "Read-side cache lookups, by cache and result (hit, miss; degraded: Redis skipped).",
    ["cache", "result"],
    registry=REGISTRY,
)
CACHE_EVICTIONS = Counter(
    "commerce_cache_evictions_total",
    "Read-side cache entries evicted, by cache and reason (capacity, expired).",
    ["cache", "reason"],
    registry=REGISTRY,
)
CACHE_INVALIDATIONS = Counter(
    "commerce_cache_invalidations_total",
    "Read-side cache tags invalidated, by origin (local projection, remote worker).",
    ["cache", "origin"],
    registry=REGISTRY,
)
CACHE_ERRORS = Counter(
    "commerce_cache_errors_total",
    "Redis operations of the read-side cache that failed (answered from the database).",
    ["cache"],
    registry=REGISTRY,
)
CACHE_DEGRADED = Gauge(
    "commerce_cache_degraded",
    "1 while the read-side cache cannot reach Redis and answers from the database.",
    ["cache"],
    registry=REGISTRY,
)

QUERIES = Counter(
    "commerce_queries_total",
    "Queries answered over the broker, by query type and outcome (answered or a failure code).",
    ["query", "outcome"],
    registry=REGISTRY,
)
QUERY_DURATION = Histogram(
    "commerce_query_duration_seconds",
    "Time to answer one query (cache or read model), by query type.",
    ["query"],
    buckets=_HANDLER_BUCKETS,
    registry=REGISTRY,
)


@dataclass(slots=True)
class CommandObservation:
    """The outcome of one command, set by the caller inside :func:`observe_command`."""

    outcome: str = "failed"


@contextmanager
def observe_command(consumer: str) -> Iterator[CommandObservation]:
    """Time one command and count it by outcome (``failed`` unless the block sets one).

    A ``duplicate`` outcome also counts ``commerce_inbox_duplicates_total``.
    """
    observation = CommandObservation()
    started = time.perf_counter()
    try:
        yield observation
    finally:
        HANDLER_DURATION.labels(consumer).observe(time.perf_counter() - started)
        COMMANDS_PROCESSED.labels(consumer, observation.outcome).inc()
        if observation.outcome == "duplicate":
            record_inbox_duplicate(consumer)


@dataclass(slots=True)
class QueryObservation:
    """The outcome of one query, set by the caller inside :func:`observe_query`."""

    outcome: str = "failed"


@contextmanager
def observe_query(query: str) -> Iterator[QueryObservation]:
    """Time one query and count it by outcome (``failed`` unless the block sets one)."""
    observation = QueryObservation()
    started = time.perf_counter()
    try:
        yield observation
    finally:
        QUERY_DURATION.labels(query).observe(time.perf_counter() - started)
        QUERIES.labels(query, observation.outcome).inc()


def record_inbox_duplicate(consumer: str) -> None:
    """A redelivered message was recognised by ``consumer``'s inbox."""
    INBOX_DUPLICATES.labels(consumer).inc()


def record_retry(consumer: str, kind: Literal["immediate", "delayed"]) -> None:
    """A transient failure of ``consumer`` is retried: in-process or through the broker."""
    RETRIES.labels(consumer, kind).inc()


def record_dead_letter(consumer: str, reason: str) -> None:
    """A message of ``consumer`` was dead-lettered; ``reason`` is its ``x-fault-reason``."""
    DEAD_LETTERS.labels(consumer, reason).inc()


def record_parked(consumer: str) -> None:
    """An event of ``consumer`` was parked behind its aggregate's hold."""
    PARKED.labels(consumer).inc()


def record_relay_published(stream: str, count: int = 1) -> None:
    """The relay published ``count`` outbox rows to ``stream``."""
    RELAY_PUBLISHED.labels(stream).inc(count)


def set_outbox_backlog(messages: int, oldest_age_seconds: float) -> None:
    """The relay's view of the unpublished outbox after a pass."""
    OUTBOX_BACKLOG.set(messages)
    OUTBOX_OLDEST_AGE.set(max(0.0, oldest_age_seconds))


def set_projection_lag(projection: str, seconds: float) -> None:
    """How far ``projection`` trails the event stream."""
    PROJECTION_LAG.labels(projection).set(max(0.0, seconds))


def record_cache_request(cache: str, result: Literal["hit", "miss", "degraded"]) -> None:
    """One lookup in ``cache`` (``degraded``: the layer was skipped because it is down)."""
    CACHE_REQUESTS.labels(cache, result).inc()


def record_cache_eviction(cache: str, reason: str) -> None:
    """An entry of ``cache`` left by capacity or expiry."""
    CACHE_EVICTIONS.labels(cache, reason).inc()


def record_cache_invalidation(cache: str, origin: Literal["local", "remote"], count: int) -> None:
    """``count`` tags of ``cache`` were invalidated here or by another worker."""
    CACHE_INVALIDATIONS.labels(cache, origin).inc(count)


def record_cache_error(cache: str) -> None:
    """A Redis operation of ``cache`` failed."""
    CACHE_ERRORS.labels(cache).inc()


def set_cache_degraded(cache: str, degraded: bool) -> None:
    """Whether ``cache`` currently answers without Redis."""
    CACHE_DEGRADED.labels(cache).set(1 if degraded else 0)


def measure_broker(broker: AnyBroker, *, app_name: str) -> None:
    """Record FastStream's consume and publish metrics (``faststream_*``) into REGISTRY."""
    if isinstance(broker, KafkaBroker):
        broker.add_middleware(KafkaPrometheusMiddleware(registry=REGISTRY, app_name=app_name))
    else:
        provider = BoundedRabbitMetrics()  # routing keys of events are aggregate ids
        broker.add_middleware(
            PrometheusMiddleware[Any, Any](
                settings_provider_factory=lambda _: provider,
                registry=REGISTRY,
                app_name=app_name,
            )
        )


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format 0.0.4 (every Prometheus version reads it;
    our names are plain ASCII), and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_PLAIN_0_0_4


def serve_metrics(port: int, *, host: str) -> Callable[[], None]:
    """Serve ``/metrics`` on ``host:port`` from a thread; returns the function stopping it.

    For processes without an HTTP server of their own (the standalone relay).
    """
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
