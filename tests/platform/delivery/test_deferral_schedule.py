"""How long a deferred message waits, and which delay channel carries it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.delivery.deferral import DEFERRALS, deferral_schedule, deferrals_of
from commerce.platform.messaging.channels import DEFAULT_RETRY, RetryPolicy

_policies = st.builds(
    RetryPolicy,
    rounds=st.integers(1, 6),
    initial_delay=st.floats(0.1, 5),
    multiplier=st.floats(1, 10),
    max_delay=st.floats(5, 120),
    jitter=st.floats(0, 0.5),
)
_delays = st.floats(0, 200, allow_nan=False)


@pytest.mark.property
@given(retry=_policies, delay=_delays, deferrals=st.integers(0, 1_000))
def test_a_deferred_message_never_comes_back_before_its_delay_nor_waits_past_the_cap(
    retry: RetryPolicy, delay: float, deferrals: int
) -> None:
    wait, _ = deferral_schedule(retry, delay, deferrals)
    assert delay <= wait <= max(delay, retry.max_delay)


@pytest.mark.property
@given(retry=_policies, delay=st.floats(0.01, 10), deferrals=st.integers(0, 50))
def test_each_deferral_waits_at_least_as_long_as_the_one_before(
    retry: RetryPolicy, delay: float, deferrals: int
) -> None:
    assert (
        deferral_schedule(retry, delay, deferrals)[0]
        <= (deferral_schedule(retry, delay, deferrals + 1)[0])
    )


@pytest.mark.property
@given(retry=_policies, delay=_delays, deferrals=st.integers(0, 50))
def test_the_delay_channel_is_the_first_round_long_enough_or_the_last(
    retry: RetryPolicy, delay: float, deferrals: int
) -> None:
    wait, round_number = deferral_schedule(retry, delay, deferrals)
    assert 1 <= round_number <= retry.rounds
    longest = [retry.nominal_delay(n) * (1 + retry.jitter) for n in range(1, retry.rounds + 1)]
    assert all(reach < wait for reach in longest[: round_number - 1])
    assert longest[round_number - 1] >= wait or round_number == retry.rounds


@pytest.mark.unit
def test_the_default_policy_doubles_a_rate_limit_deferral_up_to_a_minute() -> None:
    waits = [deferral_schedule(DEFAULT_RETRY, 0.5, n) for n in range(9)]
    assert waits == [
        (0.5, 1),
        (1.0, 1),
        (2.0, 2),
        (4.0, 2),
        (8.0, 2),
        (16.0, 3),
        (32.0, 3),
        (60.0, 3),
        (60.0, 3),
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("headers", "count"),
    [({}, 0), ({DEFERRALS: "3"}, 3), ({DEFERRALS: "-1"}, 0), ({DEFERRALS: "x"}, 0)],
)
def test_the_deferral_count_is_read_from_its_header(headers: dict[str, str], count: int) -> None:
    assert deferrals_of(headers) == count
