"""When to try a webhook delivery again: Svix's schedule, jittered, clamped by ``Retry-After``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SVIX_SCHEDULE", "RetrySchedule"]

SVIX_SCHEDULE: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
"""Seconds before the 2nd..8th attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h."""


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """The delays between attempts of one message to one endpoint.

    ``delays[n]`` is the wait after the ``n+1``-th failed attempt; past the last the message
    is exhausted. Each delay is jittered by ``±jitter`` (a fraction); after a timeout or a
    429 the wait is at least ``slow_down_floor`` seconds; a receiver's ``Retry-After`` is
    honoured but clamped to ``[1x, 2x]`` the scheduled delay, so a receiver can neither
    hurry us nor park a message for days. ``scale`` shrinks every delay for tests.
    """

    delays: tuple[float, ...] = SVIX_SCHEDULE
    jitter: float = 0.2
    slow_down_floor: float = 60.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if any(delay <= 0 for delay in self.delays):
            raise ValueError("webhook retry delays are positive")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("webhook retry jitter is a fraction in [0, 1)")
        if self.scale <= 0:
            raise ValueError("webhook retry scale is positive")

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first try and one per delay."""
        return len(self.delays) + 1

    def delay_after(
        self,
        attempt: int,
        *,
        slow_down: bool = False,
        retry_after: float | None = None,
        random: Callable[[], float],
    ) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based); ``None`` when exhausted.

        ``random`` returns a float in ``[0, 1)``; the result is scaled by ``scale``.
        """
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        if attempt > len(self.delays):
            return None
        scheduled = self.delays[attempt - 1]
        delay = scheduled * (1.0 + self.jitter * (2.0 * random() - 1.0))
        if retry_after is not None:
            delay = min(max(retry_after, scheduled), 2.0 * scheduled)
        if slow_down:
            delay = max(delay, self.slow_down_floor)
        return delay * self.scale
