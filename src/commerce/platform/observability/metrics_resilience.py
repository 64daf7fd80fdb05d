"""Resilience metrics: paused consumers, circuit breakers, rate limits, dead letters, bulkheads.

=======================================================  =====================================
``commerce_consumer_state{consumer}``                    :func:`set_consumer_state`
``commerce_consumer_pauses_total{consumer,dependency}``  :func:`set_consumer_state`
``commerce_circuit_breaker_state{dependency}``           :func:`set_breaker_state`
``commerce_rate_limited_total{channel,scope,action}``    :func:`record_rate_limited`
``commerce_rate_limiter_fail_open``                      :func:`set_rate_limiter_fail_open`
``commerce_dead_letters_unresolved{consumer}``           :func:`set_dead_letters_unresolved`
``commerce_bulkhead_in_flight{group}``                   :func:`set_bulkhead_in_flight`
=======================================================  =====================================

States are gauges with one number per state, so that alert rules compare with a constant:
a consumer is ``0`` running, ``1`` recovering (reduced concurrency), ``2`` paused; a circuit
breaker is ``0`` closed, ``1`` half-open, ``2`` open.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Gauge

from commerce.platform.observability.metrics_registry import REGISTRY

__all__ = [
    "BREAKER_STATES",
    "CONSUMER_STATES",
    "BreakerState",
    "ConsumerState",
    "record_rate_limited",
    "set_breaker_state",
    "set_bulkhead_in_flight",
    "set_consumer_state",
    "set_dead_letters_unresolved",
    "set_rate_limiter_fail_open",
]

type ConsumerState = Literal["running", "recovering", "paused"]
type BreakerState = Literal["closed", "half-open", "open"]

CONSUMER_STATES: dict[ConsumerState, int] = {"running": 0, "recovering": 1, "paused": 2}
"""The value of ``commerce_consumer_state`` for each state of a consumer's kill switch."""
BREAKER_STATES: dict[BreakerState, int] = {"closed": 0, "half-open": 1, "open": 2}
"""The value of ``commerce_circuit_breaker_state`` for each state of a breaker."""

CONSUMER_STATE = Gauge(
    "commerce_consumer_state",
    "A consumer's kill switch: 0 running, 1 recovering (reduced concurrency), 2 paused.",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_PAUSES = Counter(
    "commerce_consumer_pauses_total",
    "Times a consumer stopped taking messages because a dependency looked down.",
    ["consumer", "dependency"],
    registry=REGISTRY,
)
BREAKER_STATE = Gauge(
    "commerce_circuit_breaker_state",
    "A dependency's circuit breaker: 0 closed, 1 half-open, 2 open.",
    ["dependency"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "commerce_rate_limited_total",
    "Commands over their tenant's or sender's rate limit, by what was done with them.",
    ["channel", "scope", "action"],
    registry=REGISTRY,
)
RATE_LIMITER_FAIL_OPEN = Gauge(
    "commerce_rate_limiter_fail_open",
    "1 while the rate limiter lets every command through because Redis does not answer.",
    registry=REGISTRY,
)
DEAD_LETTERS_UNRESOLVED = Gauge(
    "commerce_dead_letters_unresolved",
    "Dead letters in the store not yet replayed or purged, by consumer.",
    ["consumer"],
    registry=REGISTRY,
)
BULKHEAD_IN_FLIGHT = Gauge(
    "commerce_bulkhead_in_flight",
    "Messages a consumer group is handling right now (bounded by its bulkhead).",
    ["group"],
    registry=REGISTRY,
)


def set_consumer_state(
    consumer: str, state: ConsumerState, *, paused_by: str | None = None
) -> None:
    """Show ``consumer``'s kill-switch state; ``paused_by`` counts a pause of that dependency."""
    CONSUMER_STATE.labels(consumer).set(CONSUMER_STATES[state])
    if state == "paused" and paused_by is not None:
        CONSUMER_PAUSES.labels(consumer, paused_by).inc()


def set_breaker_state(dependency: str, state: BreakerState) -> None:
    """Show the state of ``dependency``'s circuit breaker."""
    BREAKER_STATE.labels(dependency).set(BREAKER_STATES[state])


def record_rate_limited(
    channel: str, scope: Literal["tenant", "sender"], action: Literal["deferred", "rejected"]
) -> None:
    """A command of ``channel`` was over its ``scope``'s limit and was ``action``."""
    RATE_LIMITED.labels(channel, scope, action).inc()


def set_rate_limiter_fail_open(failing_open: bool) -> None:
    """Whether the rate limiter currently lets everything through (Redis down)."""
    RATE_LIMITER_FAIL_OPEN.set(1 if failing_open else 0)


def set_dead_letters_unresolved(consumer: str, count: int) -> None:
    """How many of ``consumer``'s dead letters wait for an operator."""
    DEAD_LETTERS_UNRESOLVED.labels(consumer).set(count)


def set_bulkhead_in_flight(group: str, in_flight: int) -> None:
    """How many messages consumer group ``group`` is handling now."""
    BULKHEAD_IN_FLIGHT.labels(group).set(in_flight)
