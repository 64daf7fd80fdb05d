"""Read sessions through the database's circuit breaker (docs/adr/0018)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from commerce.platform.kit.ids import TenantId
from commerce.platform.read_side.ports import ReadSessionFactory
from commerce.platform.resilience.breaker import CircuitBreaker

__all__ = ["GuardedReadSessions"]


class GuardedReadSessions[M]:
    """A :class:`~commerce.platform.read_side.ports.ReadSessionFactory` whose every session
    (opening it and the reads in it) is one call through ``breaker``: while the database is
    deemed down a query is refused at once with
    :class:`~commerce.platform.resilience.breaker.CircuitOpenError` (answered
    ``unavailable``) instead of queueing for a connection that will not come."""

    def __init__(self, sessions: ReadSessionFactory[M], breaker: CircuitBreaker) -> None:
        self._sessions = sessions
        self._breaker = breaker

    @asynccontextmanager
    async def __call__(self, tenant: TenantId) -> AsyncIterator[M]:
        with self._breaker.guard():
            async with self._sessions(tenant) as models:
                yield models
