"""Properties of the retry policy's backoff formula: exponential, jittered, capped."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.messaging.channels import RetryPolicy

pytestmark = pytest.mark.property


@st.composite
def policies(draw: st.DrawFn) -> RetryPolicy:
    initial = draw(st.floats(min_value=0.01, max_value=600))
    return RetryPolicy(
        immediate=draw(st.integers(min_value=0, max_value=5)),
        rounds=draw(st.integers(min_value=1, max_value=20)),
        initial_delay=initial,
        multiplier=draw(st.floats(min_value=1, max_value=100)),
        max_delay=draw(st.floats(min_value=initial, max_value=86_400)),
        jitter=draw(st.floats(min_value=0, max_value=0.99)),
    )


_UNIT = st.floats(min_value=0, max_value=1, exclude_max=True)


@given(policies())
def test_expected_delays_never_decrease_from_round_to_round(policy: RetryPolicy) -> None:
    """Property (monotone in expectation): the mean delay of round n+1 (its nominal delay,
    the midpoint of a symmetric jitter band) is at least round n's."""
    means = [(policy.delay(n, 0.0) + policy.delay(n, 1.0)) / 2 for n in range(1, policy.rounds + 1)]
    assert means == pytest.approx(list(policy.delays))
    assert all(later >= earlier for earlier, later in itertools.pairwise(means))


@given(policies(), st.integers(min_value=1, max_value=20), _UNIT)
def test_each_delay_lies_within_the_jitter_band_of_the_capped_formula(
    policy: RetryPolicy, round_number: int, unit_random: float
) -> None:
    """Property (bounded): a delay lies within ±jitter of min(max_delay,
    initial * multiplier^(n-1)), so never above max_delay * (1 + jitter) nor at or below 0."""
    nominal = min(policy.max_delay, policy.initial_delay * policy.multiplier ** (round_number - 1))
    delay = policy.delay(round_number, unit_random)
    assert nominal * (1 - policy.jitter) <= delay * (1 + 1e-12)
    assert delay <= nominal * (1 + policy.jitter) * (1 + 1e-12)
    assert 0 < delay <= policy.max_delay * (1 + policy.jitter) * (1 + 1e-12)


@given(policies(), _UNIT, _UNIT)
def test_a_larger_draw_never_gives_a_shorter_delay(
    policy: RetryPolicy, first: float, second: float
) -> None:
    """Property: the delay grows with the random draw, and two draws of one round differ
    by at most the jitter band's width (2 * jitter * nominal delay)."""
    low, high = sorted((first, second))
    nominal = policy.delays[-1]
    assert policy.delay(policy.rounds, low) <= policy.delay(policy.rounds, high)
    spread = policy.delay(policy.rounds, high) - policy.delay(policy.rounds, low)
    assert spread <= 2 * policy.jitter * nominal * (1 + 1e-9)


@given(policies())
def test_the_longest_schedule_bounds_every_sequence_of_rounds(policy: RetryPolicy) -> None:
    """Property: the longest schedule is the sum of every round's longest jittered delay,
    so no draw of delays adds up to more."""
    worst = sum(policy.delay(n, 1.0) for n in range(1, policy.rounds + 1))
    assert policy.longest_schedule == pytest.approx(worst)
    assert sum(policy.delay(n, 0.5) for n in range(1, policy.rounds + 1)) <= (
        policy.longest_schedule * (1 + 1e-9)
    )
