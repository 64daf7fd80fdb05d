"""Prometheus metrics: one registry for the service, exposed at the worker's ``/metrics``.

Names follow Prometheus conventions (``commerce_`` prefix, base units in the name,
``_total`` for counters). FastStream's own consume/publish metrics (``faststream_*``) are
recorded into the same registry by :func:`measure_broker`. Everything else is recorded
through the small functions below, so call sites never touch a metric object. This module
defines the messaging metrics and is where every caller imports from; the registry and
its exposition live in :mod:`.metrics_registry`, the read side's metrics (projections, cache,
queries) in :mod:`.metrics_read_side`.

==============================================================  ==============================
``commerce_commands_processed_total{consumer,outcome}``         :func:`observe_command` (and
                                                                :func:`count_outcomes`)
``commerce_handler_duration_seconds{consumer}``                 :func:`observe_command`
``commerce_inbox_duplicates_total{consumer}``                   :func:`record_inbox_duplicate`
``commerce_retries_total{consumer,kind,reason}``                :func:`record_retry`
``commerce_dead_letters_total{consumer,reason}``                :func:`record_dead_letter`
``commerce_parked_messages_total{consumer}``                    :func:`record_parked`
``commerce_relay_published_messages_total{stream}``             :func:`record_relay_published`
``commerce_relay_last_published_timestamp_seconds{stream}``     :func:`record_relay_published`
``commerce_outbox_backlog_messages``                            :func:`set_outbox_backlog`
``commerce_outbox_oldest_unsent_age_seconds``                   :func:`set_outbox_backlog`
==============================================================  ==============================

Messages handled together are counted together (:func:`count_outcomes`: one ``inc(n)``
per outcome), and the labelled children of the per-message metrics are looked up once per
label set, not on every message (docs/adr/0027).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from prometheus_client import Counter, Gauge, Histogram

from commerce.platform.observability.metrics_read_side import (
    QueryObservation,
    observe_query,
    record_cache_error,
    record_cache_eviction,
    record_cache_invalidation,
    record_cache_request,
    set_cache_degraded,
    set_projection_lag,
)
from commerce.platform.observability.metrics_registry import (
    HANDLER_BUCKETS,
    REGISTRY,
    exposition,
    measure_broker,
    serve_metrics,
)

__all__ = [
    "REGISTRY",
    "CommandObservation",
    "QueryObservation",
    "count_outcomes",
    "exposition",
    "measure_broker",
    "observe_command",
    "observe_query",
    "record_cache_error",
    "record_cache_eviction",
    "record_cache_invalidation",
    "record_cache_request",
    "record_dead_letter",
    "record_group_commit",
    "record_inbox_duplicate",
    "record_parked",
    "record_relay_published",
    "record_retry",
    "serve_metrics",
    "set_cache_degraded",
    "set_outbox_backlog",
    "set_projection_lag",
]

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
    buckets=HANDLER_BUCKETS,
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
    "Transient failures retried, by consumer, kind (immediate, delayed) and reason "
    "(the failure's exception type, as in x-fault-exception-type).",
    ["consumer", "kind", "reason"],
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
RELAY_LAST_PUBLISHED = Gauge(
    "commerce_relay_last_published_timestamp_seconds",
    "Unix time at which the relay last published (broker-confirmed) to the event stream.",
    ["stream"],
    registry=REGISTRY,
)
GROUP_COMMIT_MESSAGES = Histogram(
    "commerce_group_commit_messages",
    "Messages committed together by one shared transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 60),
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


@dataclass(slots=True)
class CommandObservation:
    """The outcome of one command, set by the caller inside :func:`observe_command`."""

    outcome: str = "failed"


@cache
def _handler_duration(consumer: str) -> Any:
    return HANDLER_DURATION.labels(consumer)


@cache
def _processed(consumer: str, outcome: str) -> Any:
    return COMMANDS_PROCESSED.labels(consumer, outcome)


@cache
def _duplicates(consumer: str) -> Any:
    return INBOX_DUPLICATES.labels(consumer)


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
        _handler_duration(consumer).observe(time.perf_counter() - started)
        _processed(consumer, observation.outcome).inc()
        if observation.outcome == "duplicate":
            _duplicates(consumer).inc()


def count_outcomes(consumer: str, outcomes: Mapping[str, int]) -> None:
    """Count messages of ``consumer`` handled together: ``outcomes`` maps an outcome
    (applied, duplicate, rejected, failed) to how many; one ``inc(n)`` per outcome.

    Duplicates also count ``commerce_inbox_duplicates_total``. Timing stays per message
    (:func:`observe_command`) or is the caller's.
    """
    for outcome, count in outcomes.items():
        if count <= 0:
            continue
        _processed(consumer, outcome).inc(count)
        if outcome == "duplicate":
            _duplicates(consumer).inc(count)


def record_inbox_duplicate(consumer: str) -> None:
    """A redelivered message was recognised by ``consumer``'s inbox."""
    _duplicates(consumer).inc()


def record_retry(
    consumer: str, kind: Literal["immediate", "delayed"], error: BaseException
) -> None:
    """A transient failure of ``consumer`` is retried: in-process or through the broker.

    The reason is ``error``'s type (``module.QualifiedName``, as ``x-fault-exception-type``
    names it): every retried failure is a ``handler-error`` by ``x-fault-reason``, so the
    type is what tells them apart, and the code's exception classes bound the label.
    """
    reason = f"{type(error).__module__}.{type(error).__qualname__}"
    RETRIES.labels(consumer, kind, reason).inc()


def record_dead_letter(consumer: str, reason: str) -> None:
    """A message of ``consumer`` was dead-lettered; ``reason`` is its ``x-fault-reason``."""
    DEAD_LETTERS.labels(consumer, reason).inc()


def record_parked(consumer: str) -> None:
    """An event of ``consumer`` was parked behind its aggregate's hold."""
    PARKED.labels(consumer).inc()


def record_relay_published(stream: str, count: int = 1) -> None:
    """The relay published ``count`` outbox rows to ``stream``, just now."""
    RELAY_PUBLISHED.labels(stream).inc(count)
    RELAY_LAST_PUBLISHED.labels(stream).set(time.time())


def set_outbox_backlog(messages: int, oldest_age_seconds: float) -> None:
    """The relay's view of the unpublished outbox after a pass."""
    OUTBOX_BACKLOG.set(messages)
    OUTBOX_OLDEST_AGE.set(max(0.0, oldest_age_seconds))


def record_group_commit(messages: int) -> None:
    """A shared transaction committed the work of ``messages`` messages."""
    GROUP_COMMIT_MESSAGES.observe(messages)
