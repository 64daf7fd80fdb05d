"""What one HTTP attempt means for the message and the endpoint."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from commerce.webhooks.domain.schedule import RetrySchedule

__all__ = ["Attempt", "Decision", "Verdict", "decide"]

GONE = 410
SLOW_DOWN = frozenset({429, 502, 504})


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt: the status (``None`` when no response came), whether it timed out,
    the receiver's ``Retry-After`` in seconds, the latency, the truncated body, the error."""

    status: int | None
    latency_ms: float
    timed_out: bool = False
    retry_after: float | None = None
    body: str = ""
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """Only a 2xx is success (a 3xx is a failure: redirects are never followed)."""
        return self.status is not None and 200 <= self.status < 300


class Verdict(enum.StrEnum):
    """The fate of the message after an attempt."""

    DELIVERED = "delivered"
    RETRY = "retry"
    EXHAUSTED = "exhausted"
    GONE = "gone"
    """The receiver answered 410: the endpoint is disabled, the message is not retried."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict and, for :attr:`Verdict.RETRY`, the seconds until the next attempt."""

    verdict: Verdict
    delay: float | None = None


def decide(
    attempt: Attempt, number: int, schedule: RetrySchedule, random: Callable[[], float]
) -> Decision:
    """The decision after attempt ``number`` (1-based) of a message."""
    if attempt.succeeded:
        return Decision(Verdict.DELIVERED)
    if attempt.status == GONE:
        return Decision(Verdict.GONE)
    slow_down = attempt.timed_out or attempt.status in SLOW_DOWN
    delay = schedule.delay_after(
        number, slow_down=slow_down, retry_after=attempt.retry_after, random=random
    )
    if delay is None:
        return Decision(Verdict.EXHAUSTED)
    return Decision(Verdict.RETRY, delay)
