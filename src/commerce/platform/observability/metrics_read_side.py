"""Read-side metrics: how far projections trail their streams, the query cache, queries.

=================================================================  ===========================
``commerce_projection_lag_seconds{projection}``                    :func:`set_projection_lag`
``commerce_projection_last_applied_timestamp_seconds{projection,``  :func:`set_projection_lag`
``stream}``
``commerce_cache_requests_total{cache,result}``                    :func:`record_cache_request`
``commerce_cache_evictions_total{cache,reason}``                   :func:`record_cache_eviction`
``commerce_cache_invalidations_total{cache,origin}``               :func:`record_cache_invalidation`
``commerce_cache_errors_total{cache}``                             :func:`record_cache_error`
``commerce_cache_degraded{cache}``                                 :func:`set_cache_degraded`
``commerce_queries_total{query,outcome}``                          :func:`observe_query`
``commerce_query_duration_seconds{query}``                         :func:`observe_query`
=================================================================  ===========================

The lag gauge is set when a projection applies an event, so a stalled projection keeps
its last, small value; the last-applied timestamp, compared with the relay's
``commerce_relay_last_published_timestamp_seconds`` of the same ``stream``, shows the stall
(see ``docs/adr/0010-observability.md`` and ``deployments/prometheus/``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from prometheus_client import Counter, Gauge, Histogram

from commerce.platform.observability.metrics_registry import HANDLER_BUCKETS, REGISTRY

__all__ = [
    "QueryObservation",
    "observe_query",
    "record_cache_error",
    "record_cache_eviction",
    "record_cache_invalidation",
    "record_cache_request",
    "set_cache_degraded",
    "set_projection_lag",
]

PROJECTION_LAG = Gauge(
    "commerce_projection_lag_seconds",
    "Seconds from an event's creation to its projection applying it (the latest event).",
    ["projection"],
    registry=REGISTRY,
)
PROJECTION_LAST_APPLIED = Gauge(
    "commerce_projection_last_applied_timestamp_seconds",
    "Unix time at which the projection last applied an event of its stream.",
    ["projection", "stream"],
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
    buckets=HANDLER_BUCKETS,
    registry=REGISTRY,
)


@cache
def _lag_of(projection: str, stream: str) -> tuple[Any, Any]:
    """The labelled gauges of one projection, looked up once (it is set per event)."""
    return PROJECTION_LAG.labels(projection), PROJECTION_LAST_APPLIED.labels(projection, stream)


def set_projection_lag(projection: str, stream: str, seconds: float) -> None:
    """``projection`` (reading ``stream``) applied an event created ``seconds`` ago: its lag,
    and the time now; the stream label joins it to the relay's metrics."""
    lag, last_applied = _lag_of(projection, stream)
    lag.set(max(0.0, seconds))
    last_applied.set(time.time())


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
