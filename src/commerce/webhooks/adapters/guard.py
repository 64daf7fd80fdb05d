"""The endpoints' guard: a bulkhead per endpoint and overall, a circuit breaker and a rate
limit per endpoint (Svix stores a rate limit and never applies it; we do)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from uuid import UUID

from commerce.platform.resilience.breaker import CircuitOpenError
from commerce.platform.resilience.breakers import CircuitBreakers
from commerce.platform.resilience.bulkhead import Bulkhead
from commerce.webhooks.application.delivery import breaker_name
from commerce.webhooks.application.ports import EndpointPaused

__all__ = ["ResilientEndpointGuard"]


class ResilientEndpointGuard:
    """:class:`~commerce.webhooks.application.ports.EndpointGuard` over the platform's
    bulkheads (ADR 0021) and the process's circuit breakers (ADR 0018), one per endpoint
    named ``webhook:<endpoint id>``. A hanging partner fills its own ``per_endpoint`` slots
    and opens its own breaker; the ``overall`` slots stay for the others."""

    def __init__(
        self,
        breakers: CircuitBreakers,
        *,
        overall: int,
        per_endpoint: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._breakers = breakers
        self._clock = clock
        self._next_free: dict[UUID, float] = {}
        self._overall = Bulkhead("webhooks", overall)
        self._per_endpoint = per_endpoint
        self._slots: dict[UUID, asyncio.Semaphore] = {}

    def _endpoint_slots(self, endpoint_id: UUID) -> asyncio.Semaphore:
        # a plain semaphore: a Bulkhead per endpoint would be a metric series per endpoint
        found = self._slots.get(endpoint_id)
        if found is None:
            found = self._slots[endpoint_id] = asyncio.Semaphore(self._per_endpoint)
        return found

    def _admit_rate(self, endpoint_id: UUID, rate_limit: int | None) -> None:
        """Space the endpoint's attempts ``1 / rate_limit`` s apart (a one-message bucket,
        per worker process); over it, the message comes back when its turn is due."""
        if rate_limit is None:
            return
        now = self._clock()
        due = self._next_free.get(endpoint_id, now)
        if due > now:
            raise EndpointPaused(endpoint_id, due - now)
        self._next_free[endpoint_id] = max(due, now) + 1.0 / rate_limit

    @asynccontextmanager
    async def guarded(self, endpoint_id: UUID, rate_limit: int | None) -> AsyncIterator[None]:
        """The rate limit, then the endpoint's slot (a hanging endpoint waits on its own),
        then the overall slot, then the breaker."""
        self._admit_rate(endpoint_id, rate_limit)
        breaker = self._breakers(breaker_name(endpoint_id))
        async with self._endpoint_slots(endpoint_id), self._overall:
            try:
                with breaker.guard():
                    yield
            except CircuitOpenError as error:
                raise EndpointPaused(endpoint_id, error.retry_after) from error
