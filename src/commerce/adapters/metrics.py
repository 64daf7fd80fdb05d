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
=========================================================  ===============================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
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

__all__ = [
    "REGISTRY",
    "CommandObservation",
    "exposition",
    "measure_broker",
    "observe_command",
    "record_cache_request",
    "record_dead_letter",
    "record_inbox_duplicate",
    "record_relay_published",
    "record_retry",
    "serve_metrics",
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
    "How far a projection's checkpoint trails the newest event it has seen.",
    ["projection"],
    registry=REGISTRY,
)
CACHE_REQUESTS = Counter(
    "commerce_cache_requests_total",
    "Read-side cache lookups, by cache and result (hit, miss).",
    ["cache", "result"],
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


def record_inbox_duplicate(consumer: str) -> None:
    """A redelivered message was recognised by ``consumer``'s inbox."""
    INBOX_DUPLICATES.labels(consumer).inc()


def record_retry(consumer: str, kind: Literal["immediate", "delayed"]) -> None:
    """A transient failure of ``consumer`` is retried: in-process or through the broker."""
    RETRIES.labels(consumer, kind).inc()


def record_dead_letter(consumer: str, reason: str) -> None:
    """A message of ``consumer`` was dead-lettered; ``reason`` is its ``x-fault-reason``."""
    DEAD_LETTERS.labels(consumer, reason).inc()


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


def record_cache_request(cache: str, result: Literal["hit", "miss"]) -> None:
    """One lookup in ``cache``."""
    CACHE_REQUESTS.labels(cache, result).inc()


def measure_broker(broker: AnyBroker, *, app_name: str) -> None:
    """Record FastStream's consume and publish metrics (``faststream_*``) into REGISTRY."""
    if isinstance(broker, KafkaBroker):
        broker.add_middleware(KafkaPrometheusMiddleware(registry=REGISTRY, app_name=app_name))
    else:
        broker.add_middleware(RabbitPrometheusMiddleware(registry=REGISTRY, app_name=app_name))


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
