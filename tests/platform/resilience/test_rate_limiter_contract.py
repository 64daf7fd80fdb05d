"""One contract for every rate limiter: in memory, and GCRA in a real Redis.

Both run on the same fake clock (the Redis limiter sends the caller's time with each call),
so the same requests get the same verdicts to the microsecond.
"""

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from commerce.platform.resilience.rate_limit import (
    ADMITTED,
    InMemoryRateLimiter,
    Limit,
    Quota,
    RateLimiter,
    Ticket,
)
from commerce.platform.resilience.rate_limit_redis import RedisRateLimiter
from tests.support.fakes import ManualClock

pytestmark = pytest.mark.contract

FIVE_PER_SECOND = Limit(rate=5, burst=3)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_765_000_000.25)


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield InMemoryRateLimiter(clock=clock)
        return
    redis_url: str = request.getfixturevalue("redis_url")
    redis_limiter = RedisRateLimiter(Redis.from_url(redis_url), clock=clock)
    try:
        yield redis_limiter
    finally:
        await redis_limiter.close()


@pytest.fixture
def key() -> str:
    """A key of its own per test (tests share the Redis)."""
    return f"tests:rate:{uuid4()}"


def tenant(key: str, limit: Limit = FIVE_PER_SECOND) -> Quota:
    return Quota(f"{key}:tenant", limit, "tenant")


async def test_a_burst_is_admitted_and_the_next_waits_one_interval(
    limiter: RateLimiter, key: str
) -> None:
    verdicts = [await limiter.acquire([tenant(key)]) for _ in range(4)]
    assert verdicts[:3] == [ADMITTED] * 3
    assert not verdicts[3].admitted
    assert verdicts[3].scope == "tenant"
    assert verdicts[3].retry_after == pytest.approx(0.2, abs=1e-6)


async def test_after_the_retry_after_the_request_is_admitted(
    limiter: RateLimiter, key: str, clock: ManualClock
) -> None:
    for _ in range(3):
        await limiter.acquire([tenant(key)])
    refused = await limiter.acquire([tenant(key)])
    clock.now += refused.retry_after / 2
    assert not (await limiter.acquire([tenant(key)])).admitted
    clock.now += refused.retry_after / 2
    assert (await limiter.acquire([tenant(key)])).admitted


async def test_the_limit_refills_at_its_rate(
    limiter: RateLimiter, key: str, clock: ManualClock
) -> None:
    for _ in range(3):
        await limiter.acquire([tenant(key)])
    clock.now += 1.0  # five intervals: the burst of three is back, not more
    verdicts = [(await limiter.acquire([tenant(key)])).admitted for _ in range(4)]
    assert verdicts == [True, True, True, False]


async def test_keys_are_counted_apart(limiter: RateLimiter, key: str) -> None:
    for _ in range(3):
        await limiter.acquire([tenant(key)])
    assert not (await limiter.acquire([tenant(key)])).admitted
    other = Quota(f"{key}:other", FIVE_PER_SECOND, "tenant")
    assert (await limiter.acquire([other])).admitted


async def test_a_refused_request_uses_up_none_of_its_quotas(limiter: RateLimiter, key: str) -> None:
    narrow = Quota(f"{key}:sender", Limit(rate=1, burst=1), "sender")
    assert (await limiter.acquire([tenant(key), narrow])).admitted
    for _ in range(5):
        refused = await limiter.acquire([tenant(key), narrow])
        assert refused.scope == "sender"
        assert refused.retry_after == pytest.approx(1.0, abs=1e-6)
    # the tenant's quota counted only the admitted request: two of its burst are left
    assert [(await limiter.acquire([tenant(key)])).admitted for _ in range(3)] == [
        True,
        True,
        False,
    ]


async def test_the_longest_wait_names_the_quota_and_the_retry_after(
    limiter: RateLimiter, key: str
) -> None:
    slow = Quota(f"{key}:sender", Limit(rate=0.5, burst=1), "sender")
    fast = Quota(f"{key}:tenant", Limit(rate=10, burst=1), "tenant")
    assert (await limiter.acquire([fast, slow])).admitted
    refused = await limiter.acquire([fast, slow])
    assert (refused.scope, refused.retry_after) == ("sender", pytest.approx(2.0, abs=1e-6))


async def test_no_quota_admits(limiter: RateLimiter) -> None:
    assert await limiter.acquire([]) == ADMITTED


async def test_a_reserved_slot_is_counted_now_and_admits_its_ticket_once(
    limiter: RateLimiter, key: str
) -> None:
    for _ in range(3):
        await limiter.acquire([tenant(key)])
    ticket = Ticket(f"{key}:held:m1", horizon=1.0)
    reserved = await limiter.acquire([tenant(key)], ticket)
    assert (reserved.admitted, reserved.reserved) == (False, True)
    assert reserved.retry_after == pytest.approx(0.2, abs=1e-6)
    # the slot at 0.2 s is taken: the next request waits for the one at 0.4 s
    assert (await limiter.acquire([tenant(key)])).retry_after == pytest.approx(0.4, abs=1e-6)
    assert await limiter.acquire([tenant(key)], ticket) == ADMITTED
    again = await limiter.acquire([tenant(key)], ticket)
    assert again.reserved
    assert again.retry_after == pytest.approx(0.4, abs=1e-6)


async def test_a_slot_beyond_the_horizon_is_refused_without_a_reservation(
    limiter: RateLimiter, key: str
) -> None:
    for _ in range(3):
        await limiter.acquire([tenant(key)])
    ticket = Ticket(f"{key}:held:m1", horizon=0.1)
    refused = await limiter.acquire([tenant(key)], ticket)
    assert (refused.admitted, refused.reserved) == (False, False)
    assert (await limiter.acquire([tenant(key)])).retry_after == pytest.approx(0.2, abs=1e-6)
    assert not (await limiter.acquire([tenant(key)], ticket)).admitted


async def test_a_ticket_within_the_limit_is_admitted_without_a_reservation(
    limiter: RateLimiter, key: str
) -> None:
    ticket = Ticket(f"{key}:held:m1", horizon=1.0)
    assert await limiter.acquire([tenant(key)], ticket) == ADMITTED
    assert [(await limiter.acquire([tenant(key)])).admitted for _ in range(3)] == [
        True,
        True,
        False,
    ]
