"""Invariants of GCRA, on the in-memory limiter driven by a fake clock."""

import asyncio
import heapq
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.platform.resilience.rate_limit import InMemoryRateLimiter, Limit, Quota, Ticket
from tests.support.fakes import ManualClock

pytestmark = pytest.mark.property

_limits = st.builds(
    Limit,
    rate=st.floats(0.5, 1_000, allow_nan=False, allow_infinity=False),
    burst=st.integers(1, 50),
)
# Arrival times in ms (integers, so the clock never goes backwards by rounding), sorted.
_arrivals = st.lists(st.integers(0, 20_000), min_size=1, max_size=300).map(sorted)


async def _admitted_at(
    limiter: InMemoryRateLimiter, clock: ManualClock, quota: Quota, arrivals: list[int]
) -> list[float]:
    start, admitted = clock.now, []
    for arrival in arrivals:
        clock.now = start + arrival / 1000
        if (await limiter.acquire([quota])).admitted:
            admitted.append(arrival / 1000)
    return admitted


@settings(deadline=None)
@given(limit=_limits, arrivals=_arrivals, window=st.floats(0, 20))
def test_admissions_in_any_window_never_exceed_burst_plus_rate_times_window(
    limit: Limit, arrivals: list[int], window: float
) -> None:
    clock = ManualClock(1_765_000_000.0)
    limiter = InMemoryRateLimiter(clock=clock)
    quota = Quota("k", limit, "tenant")
    admitted = asyncio.run(_admitted_at(limiter, clock, quota, arrivals))
    bound = limit.burst + limit.rate * window
    for first, start in enumerate(admitted):
        inside = sum(1 for moment in admitted[first:] if moment - start <= window)
        assert inside <= math.floor(bound + 1e-6)


@settings(deadline=None)
@given(limit=_limits, arrivals=_arrivals)
def test_a_burst_up_to_the_limit_is_admitted_at_once(limit: Limit, arrivals: list[int]) -> None:
    clock = ManualClock(1_765_000_000.0)
    limiter = InMemoryRateLimiter(clock=clock)
    quota = Quota("k", limit, "tenant")
    at_once = [0] * min(len(arrivals), limit.burst)
    assert len(asyncio.run(_admitted_at(limiter, clock, quota, at_once))) == len(at_once)


@settings(deadline=None)
@given(limit=_limits, mine=_arrivals, theirs=_arrivals)
def test_one_keys_traffic_never_changes_another_keys_admissions(
    limit: Limit, mine: list[int], theirs: list[int]
) -> None:
    async def admissions(with_theirs: bool) -> list[bool]:
        clock = ManualClock(1_765_000_000.0)
        start = clock.now
        limiter = InMemoryRateLimiter(clock=clock)
        events = sorted(
            [(t, "mine") for t in mine] + ([(t, "theirs") for t in theirs] if with_theirs else [])
        )
        decided = []
        for arrival, whose in events:
            clock.now = start + arrival / 1000
            verdict = await limiter.acquire([Quota(whose, limit, "tenant")])
            if whose == "mine":
                decided.append(verdict.admitted)
        return decided

    assert asyncio.run(admissions(True)) == asyncio.run(admissions(False))


@settings(deadline=None)
@given(limit=_limits, arrivals=_arrivals)
def test_a_refused_request_is_admitted_once_its_retry_after_has_passed(
    limit: Limit, arrivals: list[int]
) -> None:
    async def check() -> None:
        clock = ManualClock(1_765_000_000.0)
        start = clock.now
        limiter = InMemoryRateLimiter(clock=clock)
        quota = Quota("k", limit, "sender")
        for arrival in arrivals:
            clock.now = max(clock.now, start + arrival / 1000)
            verdict = await limiter.acquire([quota])
            if not verdict.admitted:
                assert verdict.scope == "sender"
                assert 0 < verdict.retry_after <= 1 / limit.rate + 1e-6
                clock.now += verdict.retry_after
                assert (await limiter.acquire([quota])).admitted

    asyncio.run(check())


@settings(deadline=None)
@given(tenant=_limits, sender=_limits, arrivals=_arrivals)
def test_a_request_refused_by_one_quota_uses_up_none_of_the_others(
    tenant: Limit, sender: Limit, arrivals: list[int]
) -> None:
    async def check() -> None:
        clock = ManualClock(1_765_000_000.0)
        start = clock.now
        both = InMemoryRateLimiter(clock=clock)
        sender_only = InMemoryRateLimiter(clock=clock)
        quotas = [Quota("t", tenant, "tenant"), Quota("s", sender, "sender")]
        for arrival in arrivals:
            clock.now = start + arrival / 1000
            if (await both.acquire(quotas)).admitted:
                assert (await sender_only.acquire([quotas[1]])).admitted
        # the sender's quota is in the same state as one that saw only the admitted requests
        for _ in range(sender.burst + 1):
            probe = [quotas[1]]
            assert await both.acquire(probe) == await sender_only.acquire(probe)

    asyncio.run(check())


async def _admitted_with_reservations(
    limit: Limit, arrivals: list[int], horizon: float
) -> tuple[list[float], int, int]:
    """Each arrival is a request with its own ticket; a reserved one comes back at its slot.
    Returns the admission times, how many were reserved and how many of those were
    admitted when they came back."""
    clock = ManualClock(1_765_000_000.0)
    start, limiter = clock.now, InMemoryRateLimiter(clock=clock)
    quota = Quota("k", limit, "tenant")
    due = [(arrival / 1000, n, False) for n, arrival in enumerate(arrivals)]
    heapq.heapify(due)
    admitted, reserved, returned = [], 0, 0
    while due:
        moment, n, coming_back = heapq.heappop(due)
        clock.now = start + moment
        verdict = await limiter.acquire([quota], Ticket(f"held:{n}", horizon))
        if verdict.admitted:
            admitted.append(moment)
            returned += coming_back
        elif verdict.reserved:
            assert not coming_back
            assert 0 < verdict.retry_after <= horizon
            reserved += 1
            heapq.heappush(due, (moment + verdict.retry_after, n, True))
    return admitted, reserved, returned


@settings(deadline=None)
@given(
    limit=_limits,
    arrivals=_arrivals,
    horizon=st.floats(0, 30),
    window=st.floats(0, 20),
)
def test_with_reservations_admissions_in_any_window_never_exceed_burst_plus_rate_times_window(
    limit: Limit, arrivals: list[int], horizon: float, window: float
) -> None:
    admitted, _, _ = asyncio.run(_admitted_with_reservations(limit, arrivals, horizon))
    admitted.sort()
    bound = limit.burst + limit.rate * window
    for first, start in enumerate(admitted):
        inside = sum(1 for moment in admitted[first:] if moment - start <= window + 1e-9)
        assert inside <= math.floor(bound + 1e-6)


@settings(deadline=None)
@given(limit=_limits, arrivals=_arrivals, horizon=st.floats(0, 30))
def test_every_reserved_request_is_admitted_once_when_it_comes_back_at_its_slot(
    limit: Limit, arrivals: list[int], horizon: float
) -> None:
    _, reserved, returned = asyncio.run(_admitted_with_reservations(limit, arrivals, horizon))
    assert returned == reserved
