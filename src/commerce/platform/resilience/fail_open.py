"""A rate limiter that lets everything through while its store does not answer.

Rate limits protect tenants from each other; they are not worth refusing work for. When
the store (Redis) fails or is slower than ``timeout``, every request is admitted, the
``commerce_rate_limiter_fail_open`` gauge turns 1 and one WARNING says so; the store is
then left alone for ``retry_after`` seconds before the next request tries it again. The
first answer after that turns the gauge back to 0, with one INFO line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import structlog

from commerce.platform.observability.metrics_resilience import set_rate_limiter_fail_open
from commerce.platform.resilience.rate_limit import ADMITTED, Quota, RateLimiter, Verdict

__all__ = ["FailOpenRateLimiter"]

_log = structlog.get_logger("commerce.rate_limit")


class FailOpenRateLimiter:
    """Wraps a :class:`RateLimiter` whose failures must never stop a command."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        timeout: float,
        retry_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = limiter
        self._timeout = timeout
        self._retry_after = retry_after
        self._clock = clock
        self._skip_until = 0.0
        self.failing_open = False
        """Whether requests are admitted unchecked because the store does not answer."""
        set_rate_limiter_fail_open(False)

    async def acquire(self, quotas: Sequence[Quota]) -> Verdict:
        """The wrapped limiter's verdict, or :data:`ADMITTED` while it does not answer."""
        if self.failing_open and self._clock() < self._skip_until:
            return ADMITTED
        try:
            verdict = await asyncio.wait_for(self._limiter.acquire(quotas), self._timeout)
        except Exception as error:
            self._skip_until = self._clock() + self._retry_after
            if not self.failing_open:
                self.failing_open = True
                set_rate_limiter_fail_open(True)
                _log.warning(
                    "rate limiter failing open: commands are not rate limited",
                    error=f"{type(error).__name__}: {error}",
                    retry_after_seconds=self._retry_after,
                )
            return ADMITTED
        if self.failing_open:
            self.failing_open = False
            set_rate_limiter_fail_open(False)
            _log.info("rate limiter answers again: commands are rate limited")
        return verdict

    async def close(self) -> None:
        """Close the wrapped limiter."""
        await self._limiter.close()
