"""Holds metrics: what ordered consumers hold back right now, read from the holds store.

==================================================  ====================================
``commerce_parked_holds{consumer}``                 :func:`set_parked_holds`
``commerce_parked_holds_oldest_age_seconds{``       :func:`set_parked_holds`
``consumer}``
``commerce_parked_holds_messages{consumer}``        :func:`set_parked_holds`
==================================================  ====================================

A hold is an aggregate an ordered consumer keeps behind a message that left the line (a
delayed retry round or the DLQ); later messages of that aggregate are parked behind it (see
``docs/adr/0012-ordered-consumption.md``). ``commerce_parked_messages_total`` counts every
message ever parked; these gauges show the level now, so an alert can say "held for too
long" or "too many parked", which a counter cannot.
"""

from __future__ import annotations

from prometheus_client import Gauge

from commerce.platform.observability.metrics_registry import REGISTRY

__all__ = ["set_parked_holds"]

PARKED_HOLDS = Gauge(
    "commerce_parked_holds",
    "Aggregates a consumer holds behind a message that left the line, not yet released.",
    ["consumer"],
    registry=REGISTRY,
)
PARKED_HOLDS_OLDEST_AGE = Gauge(
    "commerce_parked_holds_oldest_age_seconds",
    "Age of the consumer's oldest hold not yet released (0 when none).",
    ["consumer"],
    registry=REGISTRY,
)
PARKED_HOLDS_MESSAGES = Gauge(
    "commerce_parked_holds_messages",
    "Messages parked behind the consumer's holds, waiting to be redelivered in order.",
    ["consumer"],
    registry=REGISTRY,
)


def set_parked_holds(
    consumer: str, *, holds: int, oldest_age_seconds: float, parked_messages: int
) -> None:
    """What ``consumer`` holds back now: unreleased holds, the oldest one's age, parked messages."""
    PARKED_HOLDS.labels(consumer).set(holds)
    PARKED_HOLDS_OLDEST_AGE.labels(consumer).set(max(0.0, oldest_age_seconds))
    PARKED_HOLDS_MESSAGES.labels(consumer).set(parked_messages)
