"""A dependency's circuit breaker: opens on consecutive outages only, refuses while open,
lets one probe through when half-open, logs and shows every transition; one per name."""

import asyncio
from uuid import uuid4

import asyncpg
import pytest
from structlog.testing import capture_logs

from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.resilience.breaker import CircuitBreaker, CircuitOpenError
from commerce.platform.resilience.breakers import BreakerPolicy, CircuitBreakers
from commerce.platform.resilience.outages import outage_of
from tests.support.fakes import ManualClock

pytestmark = pytest.mark.unit


def _breaker(clock: ManualClock, *, threshold: int = 3, reset: float = 10.0) -> CircuitBreaker:
    return CircuitBreaker(
        f"dep-{uuid4().hex[:8]}", failure_threshold=threshold, reset_timeout=reset, clock=clock
    )


def _fail(breaker: CircuitBreaker, error: Exception) -> None:
    with pytest.raises(type(error)), breaker.guard():
        raise error


def _succeed(breaker: CircuitBreaker) -> None:
    with breaker.guard():
        pass


def _gauge(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("commerce_circuit_breaker_state", {"dependency": dependency})


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        _fail(breaker, ConnectionRefusedError("refused"))
    assert breaker.state == "open"


def test_consecutive_outages_open_it_and_an_open_breaker_refuses_without_calling() -> None:
    clock = ManualClock(100.0)
    breaker = _breaker(clock, threshold=3, reset=10.0)
    _fail(breaker, ConnectionRefusedError("refused"))
    _fail(breaker, TimeoutError())
    assert breaker.state == "closed"
    _fail(breaker, ConnectionResetError("reset"))
    assert breaker.state == "open"

    clock.now += 4
    called = False
    with pytest.raises(CircuitOpenError) as refused, breaker.guard():
        called = True
    assert not called
    assert refused.value.dependency == breaker.dependency
    assert refused.value.retry_after == pytest.approx(6.0)
    outage = outage_of(refused.value)
    assert outage is not None
    assert outage.dependency == breaker.dependency


@pytest.mark.parametrize(
    "answered",
    [
        ValueError("a business rule"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        CircuitOpenError("another-dependency", 1.0),
    ],
    ids=["business error", "constraint violation", "another dependency's refusal"],
)
def test_a_failure_that_is_not_its_outage_never_opens_it_and_resets_the_count(
    answered: Exception,
) -> None:
    breaker = _breaker(ManualClock(100.0), threshold=2)
    for _ in range(5):
        _fail(breaker, answered)
    assert breaker.state == "closed"
    _fail(breaker, ConnectionRefusedError("refused"))
    _fail(breaker, answered)
    _fail(breaker, ConnectionRefusedError("refused"))
    assert breaker.state == "closed", "the outages in between were not consecutive"


def test_after_the_reset_timeout_one_probe_goes_through_and_its_success_closes_it() -> None:
    clock = ManualClock(100.0)
    breaker = _breaker(clock, reset=10.0)
    _open(breaker)
    clock.now += 10
    assert breaker.state == "half-open"
    probe = breaker.guard()
    probe.__enter__()
    with pytest.raises(CircuitOpenError) as refused, breaker.guard():
        pass
    assert refused.value.retry_after == pytest.approx(10.0), "until the probe is given up on"
    probe.__exit__(None, None, None)
    assert breaker.state == "closed"
    _succeed(breaker)
    _succeed(breaker)


def test_a_failed_probe_opens_it_again_for_a_whole_reset_timeout() -> None:
    clock = ManualClock(100.0)
    breaker = _breaker(clock, reset=10.0)
    _open(breaker)
    clock.now += 12
    _fail(breaker, ConnectionRefusedError("still down"))
    assert breaker.state == "open"
    clock.now += 9.5
    with pytest.raises(CircuitOpenError) as refused, breaker.guard():
        pass
    assert refused.value.retry_after == pytest.approx(0.5)


async def test_a_cancelled_probe_decides_nothing_and_the_next_call_probes() -> None:
    clock = ManualClock(100.0)
    breaker = _breaker(clock, reset=10.0)
    _open(breaker)
    clock.now += 10

    async def hanging_probe() -> None:
        with breaker.guard():
            await asyncio.Event().wait()

    task = asyncio.create_task(hanging_probe())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state == "half-open"
    _succeed(breaker)
    assert breaker.state == "closed"


def test_a_call_admitted_before_it_opened_does_not_count_after() -> None:
    clock = ManualClock(100.0)
    breaker = _breaker(clock, threshold=2, reset=10.0)
    slow = breaker.guard()
    slow.__enter__()
    _open(breaker)
    slow.__exit__(None, None, None)  # a success from before the outage
    assert breaker.state == "open"


def test_every_transition_is_logged_once_and_shown_as_the_metric() -> None:
    clock = ManualClock(100.0)
    breaker = _breaker(clock, threshold=2, reset=5.0)
    assert _gauge(breaker.dependency) == 0
    with capture_logs() as logs:
        _open(breaker)
        assert _gauge(breaker.dependency) == 2
        for _ in range(3):
            with pytest.raises(CircuitOpenError), breaker.guard():
                pass
        clock.now += 5
        assert breaker.state == "half-open"
        assert _gauge(breaker.dependency) == 1
        _succeed(breaker)
        assert _gauge(breaker.dependency) == 0
    transitions = [(e["log_level"], e["state"]) for e in logs if "state" in e]
    assert transitions == [("warning", "open"), ("info", "half-open"), ("info", "closed")]
    assert logs[0]["error"] == "ConnectionRefusedError: refused"


@pytest.mark.parametrize(("threshold", "reset"), [(0, 1.0), (1, 0.0), (3, -1.0)])
def test_a_meaningless_policy_is_refused(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker("x", failure_threshold=threshold, reset_timeout=reset)


def test_each_dependency_has_exactly_one_breaker_with_its_policy() -> None:
    clock = ManualClock(100.0)
    breakers = CircuitBreakers(
        BreakerPolicy(failure_threshold=5, reset_timeout=5.0),
        overrides={"redis": BreakerPolicy(failure_threshold=1, reset_timeout=2.0)},
        clock=clock,
    )
    assert breakers("postgres") is breakers("postgres")
    assert breakers("postgres") is not breakers("broker")
    assert (breakers("postgres").failure_threshold, breakers("postgres").reset_timeout) == (5, 5.0)
    redis = breakers("redis")
    assert (redis.failure_threshold, redis.reset_timeout) == (1, 2.0)
    _fail(redis, ConnectionRefusedError("refused"))
    assert breakers("redis").state == "open"
    assert breakers("postgres").state == "closed"
