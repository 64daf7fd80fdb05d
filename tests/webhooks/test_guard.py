"""The endpoint guard: the per-endpoint rate limit is enforced, endpoint by endpoint."""

from uuid import uuid4

import pytest

from commerce.platform.resilience.breakers import BreakerPolicy, CircuitBreakers
from commerce.webhooks.adapters.guard import ResilientEndpointGuard
from commerce.webhooks.application.ports import EndpointPaused
from tests.support.fakes import ManualClock

pytestmark = pytest.mark.unit


async def test_an_endpoint_over_its_rate_limit_is_paused_until_its_turn() -> None:
    clock = ManualClock()
    guard = ResilientEndpointGuard(
        CircuitBreakers(BreakerPolicy()), overall=4, per_endpoint=2, clock=clock
    )
    limited, other = uuid4(), uuid4()
    async with guard.guarded(limited, 2):
        pass
    with pytest.raises(EndpointPaused) as paused:
        async with guard.guarded(limited, 2):
            pass
    assert paused.value.retry_after == pytest.approx(0.5)
    async with guard.guarded(other, 2):  # another endpoint has its own budget
        pass
    clock.now = 0.5
    async with guard.guarded(limited, 2):
        pass
    for _ in range(5):  # no limit, no pause
        async with guard.guarded(other, None):
            pass
