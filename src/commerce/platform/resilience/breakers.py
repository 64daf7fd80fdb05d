"""This process's circuit breakers: exactly one per outbound dependency.

The composition root builds one :class:`CircuitBreakers` per process from the settings
(``COMMERCE_BREAKERS__*``) and hands each adapter the breaker of what it talks to; a client
added later gets its own in one line::

    breaker = breakers("search")          # made on first use, then always the same one
    with breaker.guard():
        response = await client.get(...)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from commerce.platform.resilience.breaker import CircuitBreaker

__all__ = ["BreakerPolicy", "CircuitBreakers"]


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a breaker opens (consecutive outage failures) and how long it stays open."""

    failure_threshold: int = 5
    reset_timeout: float = 5.0


class CircuitBreakers:
    """The breakers of one process, by dependency name, each made on first use with its
    policy (``overrides`` by name, else ``default``)."""

    def __init__(
        self,
        default: BreakerPolicy,
        *,
        overrides: Mapping[str, BreakerPolicy] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default
        self._overrides = dict(overrides or {})
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def __call__(self, dependency: str) -> CircuitBreaker:
        """The breaker of ``dependency`` (``postgres``, ``redis``, ``broker``, ``search``...)."""
        breaker = self._breakers.get(dependency)
        if breaker is None:
            policy = self._overrides.get(dependency, self._default)
            breaker = CircuitBreaker(
                dependency,
                failure_threshold=policy.failure_threshold,
                reset_timeout=policy.reset_timeout,
                clock=self._clock,
            )
            self._breakers[dependency] = breaker
        return breaker
