"""Rate limits: the :class:`RateLimiter` port, GCRA, and an in-memory limiter for tests.

GCRA (the generic cell rate algorithm) keeps one number per key, its *theoretical arrival
time* (TAT). A limit of ``rate`` per second with ``burst`` spaces admissions by the
emission interval ``T = 1 / rate`` and tolerates ``burst`` of them at once: a request at
``now`` is admitted when ``max(TAT, now) + T - burst * T <= now``, and then the TAT moves on
by ``T``. Over any window of ``w`` seconds at most ``burst + rate * w`` requests are
admitted; a refused request learns exactly how long to wait (its *retry-after*).

A request may name several quotas (a tenant's and a sender's): it is admitted only if every
one admits it, and a refused request uses up none of them.

A request may instead *reserve* its slot (a :class:`Ticket`): refused, but admissible within
the ticket's horizon, it counts against every quota now, as if admitted at the time its
retry-after names, and the ticket's key remembers the reservation; the same request asking
again with the same ticket is admitted once on its reservation, whenever it comes back
(within the horizon plus a minute), without counting again. A deferred command thus comes
back once, at its slot, instead of circling until a slot happens to be free; the limit
holds all the same (a reservation is an admission moved to a later time).
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
    "Ticket",
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
class Ticket:
    """A request's claim to reserve its slot: ``key`` remembers the reservation (one per
    request, e.g. per message id); slots no further than ``horizon`` seconds ahead."""

    key: str
    horizon: float

    def __post_init__(self) -> None:
        if not (self.horizon >= 0 and math.isfinite(self.horizon)):
            raise ValueError(f"a ticket needs a finite horizon >= 0 seconds, got {self!r}")

    @property
    def horizon_us(self) -> int:
        """The horizon in whole microseconds."""
        return round(self.horizon * _MICROS)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the limiter decided: admitted, or over ``scope``'s limit until ``retry_after``."""

    admitted: bool
    retry_after: float = 0.0
    """Seconds until the request would be admitted (0 when admitted)."""
    scope: QuotaScope | None = None
    """The quota that refused the request (the one with the longest wait)."""
    reserved: bool = False
    """Refused now, but its slot in ``retry_after`` s is reserved under its ticket."""


ADMITTED = Verdict(admitted=True)
"""The verdict of an admitted request."""


class RateLimiter(Protocol):
    """Decides whether a request within some quotas may go ahead now.

    Implementations: :class:`InMemoryRateLimiter` (one process, tests) and
    :class:`~commerce.platform.resilience.rate_limit_redis.RedisRateLimiter` (shared by
    every worker). Both pass ``tests/platform/resilience/test_rate_limiter_contract.py``.
    """

    async def acquire(self, quotas: Sequence[Quota], ticket: Ticket | None = None) -> Verdict:
        """Admit the request and count it against every quota, or refuse it and count
        nothing; with a ``ticket``, admit it on its earlier reservation, or reserve its slot
        if that lies within the ticket's horizon (see module). Raises whatever the
        limiter's store raises (see ``FailOpenRateLimiter``)."""
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


def refusal(waits: Sequence[tuple[float, QuotaScope]], *, reserved: bool = False) -> Verdict:
    """The verdict for ``(wait µs, scope)`` per quota: refused by the longest wait, if any
    (``reserved``: its slot is reserved)."""
    wait, scope = max(waits, key=lambda pair: pair[0], default=(0.0, None))
    if wait <= 0 or scope is None:
        return ADMITTED
    retry_after = math.ceil(wait) / _MICROS
    return Verdict(admitted=False, retry_after=retry_after, scope=scope, reserved=reserved)


def reservation_ttl_us(wait_us: float, ticket: Ticket) -> float:
    """How long a reservation is kept: its wait, the horizon again (a deferred message may
    come back later than asked) and a minute."""
    return wait_us + ticket.horizon_us + 60 * _MICROS


def reservable(waits: Sequence[float], ticket: Ticket | None) -> bool:
    """Whether a request refused with ``waits`` (µs per quota) reserves its slot."""
    return ticket is not None and max(waits, default=0.0) <= ticket.horizon_us


class InMemoryRateLimiter:
    """GCRA in one process's memory, on an injectable clock (Unix seconds)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._held: dict[str, float] = {}
        """Reservations: ticket key -> when it expires (µs)."""

    async def acquire(self, quotas: Sequence[Quota], ticket: Ticket | None = None) -> Verdict:
        """Admit within every quota or refuse, as :class:`RateLimiter` says."""
        now_us = float(round(self._clock() * _MICROS))  # whole µs, as in Redis: exact sums
        if ticket is not None and self._held.pop(ticket.key, -1.0) > now_us:
            return ADMITTED
        steps = [gcra_step(self._tats.get(quota.key), now_us, quota.limit) for quota in quotas]
        waits = [wait for _, wait in steps]
        reserve = reservable(waits, ticket)
        verdict = refusal(
            [(wait, quota.scope) for wait, quota in zip(waits, quotas, strict=True)],
            reserved=reserve,
        )
        if verdict.reserved and ticket is not None:
            self._held[ticket.key] = now_us + reservation_ttl_us(max(waits), ticket)
        if verdict.admitted or verdict.reserved:
            for (new_tat, _), quota in zip(steps, quotas, strict=True):
                self._tats[quota.key] = new_tat
        return verdict

    async def close(self) -> None:
        """Nothing to release."""
