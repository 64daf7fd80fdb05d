"""Handling a message later on purpose: not a failure, never a retry round, never a DLQ.

A handler (or what runs before it) raises :class:`DeliveryDeferred` to have the consumer's
failure policy send the message back through the broker, due ``delay`` seconds from now,
exactly as a delayed redelivery travels (the first round's delay queue or retry topic,
with a not-before header) but keeping the message's retry round: a deferral is not counted
as a failure, so however often a message is deferred it never reaches the dead letters
for it. The original is acked only once the broker confirmed the deferred copy.
"""

from __future__ import annotations

__all__ = ["DEFERRED_BY", "DeliveryDeferred"]

DEFERRED_BY = "x-deferred-by"
"""Header naming why the message was last deferred (e.g. ``rate-limit``)."""


class DeliveryDeferred(Exception):
    """Hand the message back to the broker, to be delivered again after ``delay`` seconds."""

    def __init__(self, delay: float, *, reason: str) -> None:
        if not delay >= 0:
            raise ValueError(f"a deferral needs a delay >= 0 seconds, got {delay!r}")
        self.delay = delay
        self.reason = reason
        super().__init__(f"deferred for {delay:.3f} s ({reason})")
