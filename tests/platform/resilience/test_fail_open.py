"""A rate limiter whose store does not answer lets everything through, and says so once.

The store counts as down once it has not answered for ``down_after`` (0.5 s here); a call
failing before that admits its own request only.
"""

import asyncio
import time
from collections.abc import Sequence

import pytest
from structlog.testing import capture_logs

from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.resilience.fail_open import FailOpenRateLimiter
from commerce.platform.resilience.rate_limit import Limit, Quota, Ticket, Verdict
from tests.support.fakes import ManualClock

pytestmark = pytest.mark.unit

REFUSED = Verdict(admitted=False, retry_after=1.0, scope="tenant")
QUOTAS = [Quota("k", Limit(rate=1, burst=1), "tenant")]


class Store:
    """A limiter that refuses everything while up, and fails or hangs while down."""

    def __init__(self) -> None:
        self.down: type[Exception] | None = None
        self.hangs = False
        self.calls = 0

    async def acquire(self, quotas: Sequence[Quota], ticket: Ticket | None = None) -> Verdict:
        self.calls += 1
        if self.hangs:
            await asyncio.sleep(3600)
        if self.down is not None:
            raise self.down("no answer")
        return REFUSED

    async def close(self) -> None:
        pass


def failing_open() -> float | None:
    return REGISTRY.get_sample_value("commerce_rate_limiter_fail_open")


async def test_while_the_store_fails_everything_is_admitted_with_one_warning() -> None:
    store, clock = Store(), ManualClock(100.0)
    limiter = FailOpenRateLimiter(store, timeout=0.05, down_after=0.5, retry_after=2.0, clock=clock)
    assert await limiter.acquire(QUOTAS) == REFUSED
    assert failing_open() == 0
    store.down = ConnectionError
    with capture_logs() as logs:
        verdicts = [await limiter.acquire(QUOTAS)]
        clock.now += 0.5
        verdicts += [await limiter.acquire(QUOTAS) for _ in range(5)]
    assert all(verdict.admitted for verdict in verdicts)
    assert failing_open() == 1
    assert [log["log_level"] for log in logs] == ["warning"]
    assert "failing open" in logs[0]["event"]


async def test_a_short_stall_admits_only_its_own_requests() -> None:
    store, clock = Store(), ManualClock(100.0)
    limiter = FailOpenRateLimiter(store, timeout=0.05, down_after=0.5, retry_after=2.0, clock=clock)
    await limiter.acquire(QUOTAS)
    store.down = TimeoutError
    clock.now += 0.4
    assert (await limiter.acquire(QUOTAS)).admitted
    assert not limiter.failing_open
    store.down = None
    assert await limiter.acquire(QUOTAS) == REFUSED
    assert failing_open() == 0


async def test_the_store_is_left_alone_for_the_back_off_then_tried_again() -> None:
    store, clock = Store(), ManualClock(100.0)
    limiter = FailOpenRateLimiter(store, timeout=0.05, down_after=0.5, retry_after=2.0, clock=clock)
    store.down = TimeoutError
    clock.now += 0.5
    await limiter.acquire(QUOTAS)
    assert limiter.failing_open
    calls = store.calls
    clock.now += 1.9
    await limiter.acquire(QUOTAS)
    assert store.calls == calls
    clock.now += 0.2
    await limiter.acquire(QUOTAS)
    assert store.calls == calls + 1


async def test_when_the_store_answers_again_limits_apply_and_it_is_said_once() -> None:
    store, clock = Store(), ManualClock(100.0)
    limiter = FailOpenRateLimiter(store, timeout=0.05, down_after=0.5, retry_after=2.0, clock=clock)
    store.down = OSError
    clock.now += 0.5
    await limiter.acquire(QUOTAS)
    store.down = None
    clock.now += 2.5
    with capture_logs() as logs:
        assert await limiter.acquire(QUOTAS) == REFUSED
        assert await limiter.acquire(QUOTAS) == REFUSED
    assert failing_open() == 0
    assert [log["log_level"] for log in logs] == ["info"]


async def test_a_store_slower_than_the_timeout_counts_as_down() -> None:
    store = Store()
    store.hangs = True
    limiter = FailOpenRateLimiter(store, timeout=0.01, down_after=0, retry_after=2.0)
    assert (await limiter.acquire(QUOTAS)).admitted
    assert limiter.failing_open


class SlowStore(Store):
    """Refuses everything, answering after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def acquire(self, quotas: Sequence[Quota], ticket: Ticket | None = None) -> Verdict:
        await asyncio.sleep(self.delay)
        return REFUSED


async def hog_the_loop() -> None:
    """Keep the event loop busy: 5 ms of blocking work between every yield."""
    while True:
        time.sleep(0.005)
        await asyncio.sleep(0)


async def test_a_late_answer_is_waited_for_while_the_event_loop_is_the_slow_one() -> None:
    limiter = FailOpenRateLimiter(SlowStore(0.03), timeout=0.01, down_after=0, retry_after=2.0)
    hog = asyncio.create_task(hog_the_loop())
    try:
        assert await limiter.acquire(QUOTAS) == REFUSED
    finally:
        hog.cancel()
    assert not limiter.failing_open


async def test_a_late_answer_on_an_idle_event_loop_is_a_slow_store() -> None:
    limiter = FailOpenRateLimiter(SlowStore(0.03), timeout=0.01, down_after=0, retry_after=2.0)
    assert (await limiter.acquire(QUOTAS)).admitted
    assert limiter.failing_open
