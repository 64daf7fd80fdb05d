"""A rate limiter that lets everything through while its store does not answer.

Rate limits protect tenants from each other; they are not worth refusing work for. A call
to the store (Redis) that fails or takes longer than ``timeout`` admits its request. Once
the store has not answered for ``down_after`` seconds (every call since failing), it counts
as down: the ``commerce_rate_limiter_fail_open`` gauge turns 1, one WARNING says so, and
the store is left alone for ``retry_after`` seconds at a time (every request admitted)
before a request tries it again. The first answer turns the gauge back to 0, with one INFO
line. A short stall (a failover) thus admits only the requests caught in it, and does not
switch the limits off for ``retry_after``.

A call past its timeout while this process's own event loop is congested (a reply waiting
to be read is not a slow Redis) is given up to ``patience`` more: otherwise a flood that
saturates the worker would switch off the very limits that shed it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import structlog

from commerce.platform.observability.metrics_resilience import set_rate_limiter_fail_open
from commerce.platform.resilience.rate_limit import ADMITTED, Quota, RateLimiter, Ticket, Verdict

__all__ = ["FailOpenRateLimiter"]

_log = structlog.get_logger("commerce.rate_limit")
_PATIENCE = 1.0
"""Seconds a call may take past its timeout while the event loop is congested."""


class FailOpenRateLimiter:
    """Wraps a :class:`RateLimiter` whose failures must never stop a command."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        timeout: float,
        down_after: float,
        retry_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = limiter
        self._timeout = timeout
        self._down_after = down_after
        self._retry_after = retry_after
        self._clock = clock
        self._last_answer = clock()
        self._skip_until = 0.0
        self.failing_open = False
        """Whether the store counts as down, so that requests are admitted unchecked."""
        set_rate_limiter_fail_open(False)

    async def acquire(self, quotas: Sequence[Quota], ticket: Ticket | None = None) -> Verdict:
        """The wrapped limiter's verdict, or :data:`ADMITTED` when it does not answer."""
        if self.failing_open and self._clock() < self._skip_until:
            return ADMITTED
        try:
            verdict = await self._answer(
                asyncio.ensure_future(self._limiter.acquire(quotas, ticket))
            )
        except Exception as error:
            self._failed(error)
            return ADMITTED
        self._last_answer = self._clock()
        if self.failing_open:
            self.failing_open = False
            set_rate_limiter_fail_open(False)
            _log.info("rate limiter answers again: commands are rate limited")
        return verdict

    async def _answer(self, call: asyncio.Future[Verdict]) -> Verdict:
        """The call's verdict within the timeout, or within the patience if the event loop
        (not the store) is what is slow; raises ``TimeoutError`` past that."""
        try:
            return await asyncio.wait_for(asyncio.shield(call), self._timeout)
        except TimeoutError:
            if not await self._loop_congested():
                call.cancel()
                raise
        return await asyncio.wait_for(call, _PATIENCE)

    async def _loop_congested(self) -> bool:
        """Whether other work ready to run on the event loop delays us by a quarter of the
        timeout or more."""
        started = time.monotonic()
        await asyncio.sleep(0)
        return time.monotonic() - started >= self._timeout / 4

    def _failed(self, error: Exception) -> None:
        now = self._clock()
        if not self.failing_open and now - self._last_answer >= self._down_after:
            self.failing_open = True
            set_rate_limiter_fail_open(True)
            _log.warning(
                "rate limiter failing open: commands are not rate limited",
                error=f"{type(error).__name__}: {error}",
                silent_seconds=round(now - self._last_answer, 3),
                retry_after_seconds=self._retry_after,
            )
        if self.failing_open:
            self._skip_until = now + self._retry_after

    async def close(self) -> None:
        """Close the wrapped limiter."""
        await self._limiter.close()
