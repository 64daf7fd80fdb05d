"""Rate limits: the :class:`RateLimiter` port, GCRA, and an in-memory limiter for tests.

GCRA (the generic cell rate algorithm) keeps one number per key, its *theoretical arrival
time* (TAT). A limit of ``rate`` per second with ``burst`` spaces admissions by the
emission interval ``T = 1 / rate`` and tolerates ``burst`` of them at once: a request at
``now`` is admitted when ``max(TAT, now) + T - burst * T <= now``, and then the TAT moves on
by ``T``. Over any window of ``w`` seconds at most ``burst + rate * w`` requests are
admitted; a refused request learns exactly how long to wait (its *retry-after*).

A request may name several quotas (a tenant's and a sender's): it is admitted only if every
one admits it, and a refused request uses up none of them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "ADMITTED",
    "InMemoryRateLimiter",
    "Limit",
    "Quota",
    "QuotaScope",
    "RateLimiter",
    "Verdict",
    "gcra_step",
]

type QuotaScope = Literal["tenant", "sender"]
"""Whose traffic a quota counts."""

_MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Limit:
    """``rate`` admissions per second on average, up to ``burst`` of them at once."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate) and self.burst >= 1):
            raise ValueError(f"a limit needs rate > 0 and burst >= 1, got {self!r}")

    @property
    def interval_us(self) -> int:
        """The emission interval ``1 / rate`` in whole microseconds, rounded up (so the rate
        is never exceeded): times then add up exactly, however large."""
        return max(1, math.ceil(_MICROS / self.rate - 1e-6))


@dataclass(frozen=True, slots=True)
class Quota:
    """One key's limit, and whose traffic it counts (for metrics and logs)."""

    key: str
    limit: Limit
    scope: QuotaScope


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the limiter decided: admitted, or over ``scope``'s limit until ``retry_after``."""

    admitted: bool
    retry_after: float = 0.0
    """Seconds until the request would be admitted (0 when admitted)."""
    scope: QuotaScope | None = None
    """The quota that refused the request (the one with the longest wait)."""


ADMITTED = Verdict(admitted=True)
"""The verdict of an admitted request."""


class RateLimiter(Protocol):
    """Decides whether a request within some quotas may go ahead now.

    Implementations: :class:`InMemoryRateLimiter` (one process, tests) and
    :class:`~commerce.platform.resilience.rate_limit_redis.RedisRateLimiter` (shared by
    every worker). Both pass ``tests/platform/resilience/test_rate_limiter_contract.py``.
    """

    async def acquire(self, quotas: Sequence[Quota]) -> Verdict:
        """Admit the request and count it against every quota, or refuse it and count
        nothing. Raises whatever the limiter's store raises (see ``FailOpenRateLimiter``)."""
        ...

    async def close(self) -> None:
        """Release the store's connections."""
        ...


def gcra_step(tat_us: float | None, now_us: float, limit: Limit) -> tuple[float, float]:
    """One GCRA decision: ``(new TAT, wait)`` in microseconds; ``wait > 0`` means refused.

    ``tat_us`` is the key's stored TAT (``None``: never seen or expired). A refused request
    must not store the new TAT. The Lua script of the Redis limiter is this, line for line.
    """
    new_tat = max(tat_us if tat_us is not None else now_us, now_us) + limit.interval_us
    return new_tat, max(0.0, new_tat - limit.burst * limit.interval_us - now_us)


def refusal(waits: Sequence[tuple[float, QuotaScope]]) -> Verdict:
    """The verdict for ``(wait µs, scope)`` per quota: refused by the longest wait, if any."""
    wait, scope = max(waits, key=lambda pair: pair[0], default=(0.0, None))
    if wait <= 0 or scope is None:
        return ADMITTED
    return Verdict(admitted=False, retry_after=math.ceil(wait) / _MICROS, scope=scope)


class InMemoryRateLimiter:
    """GCRA in one process's memory, on an injectable clock (Unix seconds)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}

    async def acquire(self, quotas: Sequence[Quota]) -> Verdict:
        """Admit within every quota or refuse, as :class:`RateLimiter` says."""
        now_us = float(round(self._clock() * _MICROS))  # whole µs, as in Redis: exact sums
        steps = [gcra_step(self._tats.get(quota.key), now_us, quota.limit) for quota in quotas]
        verdict = refusal(
            [(wait, quota.scope) for (_, wait), quota in zip(steps, quotas, strict=True)]
        )
        if verdict.admitted:
            for (new_tat, _), quota in zip(steps, quotas, strict=True):
                self._tats[quota.key] = new_tat
        return verdict

    async def close(self) -> None:
        """Nothing to release."""
