"""The retry policies: defaults, validation, the per-channel policies and inbox retention."""

from pathlib import Path

import pytest

from commerce.billing.messages.channels import BILLING_POLICY, CAPTURE_PAYMENT, PAYMENT_RETRY
from commerce.config import InvalidSettingsError, load_settings
from commerce.identity.messages.channels import REGISTER_USER
from commerce.orders.messages.channels import PLACE_ORDER
from commerce.platform.kit.errors import DomainError, InconsistentEventStream
from commerce.platform.messaging.channels import (
    DEFAULT_RETRY,
    PROJECTION_RETRY,
    CommandChannel,
    RetryPolicy,
    check_inbox_retention,
)
from commerce.registry.channels import COMMAND_CHANNELS, CONSUMERS, EVENT_CONSUMERS

pytestmark = pytest.mark.unit


def test_the_default_policy_keeps_two_immediate_retries_then_about_1_10_and_60_seconds() -> None:
    assert DEFAULT_RETRY.immediate == 2
    assert DEFAULT_RETRY.delays == (1.0, 10.0, 60.0)
    assert DEFAULT_RETRY.delay(1, 0.0) == pytest.approx(0.8)
    assert DEFAULT_RETRY.delay(3, 0.999_999) == pytest.approx(72.0)


def test_backoff_grows_by_the_multiplier_until_the_cap() -> None:
    policy = RetryPolicy(rounds=6, initial_delay=2, multiplier=3, max_delay=100, jitter=0)
    assert policy.delays == (2, 6, 18, 54, 100, 100)
    assert policy.longest_schedule == 280


@pytest.mark.parametrize(
    "arguments",
    [
        {"immediate": -1},
        {"rounds": -1},
        {"initial_delay": 0},
        {"initial_delay": 90, "max_delay": 60},
        {"multiplier": 0.5},
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_an_impossible_policy_is_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid retry policy"):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


def test_channels_declare_the_policy_their_work_needs() -> None:
    assert REGISTER_USER.retry is DEFAULT_RETRY
    assert CAPTURE_PAYMENT.retry is PAYMENT_RETRY
    assert PAYMENT_RETRY.longest_schedule > 10 * DEFAULT_RETRY.longest_schedule
    assert InconsistentEventStream in PLACE_ORDER.retry.permanent
    assert PLACE_ORDER.retry.immediate > DEFAULT_RETRY.immediate, "version conflicts retry at once"
    projections = [c for c in EVENT_CONSUMERS if c.consumer.startswith("commerce.projections.")]
    assert projections
    assert all(c.retry is PROJECTION_RETRY for c in projections)
    assert DomainError in BILLING_POLICY.retry.permanent
    assert all(
        c.retry.permanent == ()
        for c in COMMAND_CHANNELS
        if c.consumer.startswith("commerce.identity.")
    ), "identity commands have no permanent types beyond decode, schema and envelope errors"


def test_inbox_retention_must_exceed_the_longest_retry_schedule() -> None:
    slow = CommandChannel(
        name="tests.slow", description="", retry=RetryPolicy(rounds=2, max_delay=100, jitter=0)
    )  # 1 s + 10 s
    fast = CommandChannel(name="tests.fast", description="", retry=RetryPolicy(rounds=0))
    check_inbox_retention(11.5, [fast, slow])
    with pytest.raises(
        ValueError, match=r"inbox retention of 11 s .* longest retry schedule, 11 s"
    ):
        check_inbox_retention(11, [slow])
    check_inbox_retention(0.001, [])


def test_settings_refuse_an_inbox_retention_shorter_than_a_retry_schedule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    longest = max(CONSUMERS, key=lambda consumer: consumer.retry.longest_schedule)
    too_short = longest.retry.longest_schedule / 2 / 86_400
    monkeypatch.setenv("COMMERCE_RELAY__INBOX_RETENTION_DAYS", str(too_short))
    with pytest.raises(InvalidSettingsError) as refused:
        load_settings()
    [problem] = refused.value.problems
    assert problem.startswith("COMMERCE_RELAY__INBOX_RETENTION_DAYS:")
    assert f"inbox retention of {too_short * 86_400:g} s" in problem
    assert f"longest retry schedule, {longest.retry.longest_schedule:g} s" in problem
    assert longest.consumer in problem
    monkeypatch.setenv("COMMERCE_RELAY__INBOX_RETENTION_DAYS", "7")
    assert load_settings().relay.inbox_retention_days == 7
