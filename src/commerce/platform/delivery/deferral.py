"""Handling a message later on purpose: not a failure, never a retry round, never a DLQ.

A handler (or what runs before it) raises :class:`DeliveryDeferred` to have the consumer's
failure policy send the message back through the broker, due ``delay`` seconds from now or
later, exactly as a delayed redelivery travels (a round's delay queue or retry topic, with a
not-before header) but keeping the message's retry round: a deferral is not counted as a
failure, so however often a message is deferred it never reaches the dead letters for it.
The original is acked only once the broker confirmed the deferred copy.

A message deferred again waits twice as long as the time before (``x-deferrals`` counts),
up to the consumer's longest retry delay: a sender far over its limit does not keep its
whole backlog circling through the broker. The copy goes through the first round whose
delay is at least its own (the last round at most), so that it does not hold back, at the
head of a delay queue, redeliveries due long before it.
"""

from __future__ import annotations

from collections.abc import Mapping

from commerce.platform.messaging.channels import RetryPolicy

__all__ = ["DEFERRALS", "DEFERRED_BY", "DeliveryDeferred", "deferral_schedule", "deferrals_of"]

DEFERRED_BY = "x-deferred-by"
"""Header naming why the message was last deferred (e.g. ``rate-limit``)."""
DEFERRALS = "x-deferrals"
"""Header counting how often the message was deferred."""
_MAX_DOUBLINGS = 30


class DeliveryDeferred(Exception):
    """Hand the message back to the broker, to be delivered again in ``delay`` s or later."""

    def __init__(self, delay: float, *, reason: str) -> None:
        if not delay >= 0:
            raise ValueError(f"a deferral needs a delay >= 0 seconds, got {delay!r}")
        self.delay = delay
        self.reason = reason
        super().__init__(f"deferred for {delay:.3f} s ({reason})")


def deferrals_of(headers: Mapping[str, str]) -> int:
    """How often the message was deferred before; 0 when the header is absent or unreadable."""
    count = headers.get(DEFERRALS, "0")
    return int(count) if count.isdigit() else 0


def deferral_schedule(retry: RetryPolicy, delay: float, deferrals: int) -> tuple[float, int]:
    """``(seconds, round)``: how long a message deferred ``deferrals`` times before waits
    when deferred for ``delay`` now, and which round's delay channel carries it (1-based).

    The wait doubles with each earlier deferral, up to ``retry.max_delay`` (never below
    ``delay`` itself); the round is the first whose jittered delay reaches the wait.
    """
    wait = min(max(retry.max_delay, delay), delay * 2 ** min(deferrals, _MAX_DOUBLINGS))
    rounds = range(1, retry.rounds + 1)
    fitting = (n for n in rounds if retry.nominal_delay(n) * (1 + retry.jitter) >= wait)
    return wait, next(fitting, retry.rounds)
