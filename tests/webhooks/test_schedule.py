"""The retry schedule: Svix's delays, jitter bounds, slow-down floor, Retry-After clamping."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.webhooks.domain.outcomes import Attempt, Verdict, decide
from commerce.webhooks.domain.schedule import SVIX_SCHEDULE, RetrySchedule

SCHEDULE = RetrySchedule()
unit_floats = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


@pytest.mark.property
@given(attempt=st.integers(min_value=1, max_value=len(SVIX_SCHEDULE)), draw=unit_floats)
def test_every_delay_is_within_twenty_percent_of_the_schedule(attempt: int, draw: float) -> None:
    delay = SCHEDULE.delay_after(attempt, random=lambda: draw)
    scheduled = SVIX_SCHEDULE[attempt - 1]
    assert delay is not None
    assert 0.8 * scheduled <= delay <= 1.2 * scheduled


@pytest.mark.property
@given(draw=unit_floats)
def test_delays_drawn_alike_are_monotone_and_capped(draw: float) -> None:
    delays = [SCHEDULE.delay_after(n, random=lambda: draw) for n in range(1, 8)]
    assert all(d is not None for d in delays)
    assert delays == sorted(delays)  # type: ignore[type-var]
    assert max(delays) <= 1.2 * 36000  # type: ignore[type-var,operator]
    assert SCHEDULE.delay_after(8, random=lambda: draw) is None


@pytest.mark.property
@given(
    attempt=st.integers(min_value=1, max_value=7),
    draw=unit_floats,
    retry_after=st.floats(min_value=0, max_value=10**7),
)
def test_retry_after_is_clamped_between_once_and_twice_the_schedule(
    attempt: int, draw: float, retry_after: float
) -> None:
    delay = SCHEDULE.delay_after(attempt, retry_after=retry_after, random=lambda: draw)
    scheduled = SVIX_SCHEDULE[attempt - 1]
    assert delay is not None
    assert scheduled <= delay <= max(2 * scheduled, 60.0)


@pytest.mark.property
@given(draw=unit_floats)
def test_a_timeout_or_429_waits_at_least_a_minute(draw: float) -> None:
    for attempt in (Attempt(None, 15000, timed_out=True), Attempt(429, 3.0)):
        decision = decide(attempt, 1, SCHEDULE, lambda: draw)
        assert decision.verdict is Verdict.RETRY
        assert decision.delay is not None
        assert decision.delay >= 60.0


@pytest.mark.unit
@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (301, Verdict.RETRY),
        (410, Verdict.GONE),
        (500, Verdict.RETRY),
        (None, Verdict.RETRY),
    ],
)
def test_only_2xx_succeeds_and_410_is_gone(status: int | None, verdict: Verdict) -> None:
    assert decide(Attempt(status, 1.0), 1, SCHEDULE, lambda: 0.5).verdict is verdict


@pytest.mark.unit
def test_after_the_eighth_attempt_the_message_is_exhausted() -> None:
    assert decide(Attempt(500, 1.0), 8, SCHEDULE, lambda: 0.5).verdict is Verdict.EXHAUSTED


@pytest.mark.unit
def test_a_scaled_schedule_shrinks_every_delay() -> None:
    scaled = RetrySchedule(scale=0.01)
    assert scaled.delay_after(1, random=lambda: 0.5) == pytest.approx(0.05)
