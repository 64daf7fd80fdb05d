"""The service's one Prometheus registry, and how it is filled by FastStream and exposed.

The metrics themselves are defined next to what they measure
(:mod:`.metrics` for messaging, :mod:`.metrics_read_side` for projections, the cache and
queries), all in :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.prometheus import PrometheusMiddleware
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from commerce.platform.messaging.transport import AnyBroker, Middleware
from commerce.platform.observability.metrics_broker import BoundedRabbitMetrics, is_hot

__all__ = ["HANDLER_BUCKETS", "REGISTRY", "exposition", "measure_broker", "serve_metrics"]

# No ``*_created`` series: they would double the series count for no use here.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
"""The service's one registry (process, platform and GC collectors included)."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

HANDLER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
"""Histogram buckets (seconds) of handling one message or answering one query."""


def _off_hot_channels(inner: Any) -> Middleware:
    """``inner`` on publishes and on consumed messages of cold channels only
    (:func:`~.metrics_broker.is_hot`); a hot message gets FastStream's no-op middleware."""

    def middleware(msg: Any, /, *, context: Any) -> BaseMiddleware:
        if msg is not None and is_hot(msg):
            return BaseMiddleware(msg, context=context)
        built: BaseMiddleware = inner(msg, context=context)
        return built

    return middleware


def measure_broker(broker: AnyBroker, *, app_name: str) -> None:
    """Record FastStream's consume and publish metrics (``faststream_*``) into REGISTRY,
    the consume metrics off the hot channels (docs/adr/0027)."""
    inner: Any
    if isinstance(broker, KafkaBroker):
        inner = KafkaPrometheusMiddleware(registry=REGISTRY, app_name=app_name)
    else:
        provider = BoundedRabbitMetrics()  # routing keys of events are aggregate ids
        inner = PrometheusMiddleware[Any, Any](
            settings_provider_factory=lambda _: provider,
            registry=REGISTRY,
            app_name=app_name,
        )
    broker.add_middleware(_off_hot_channels(inner))


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
