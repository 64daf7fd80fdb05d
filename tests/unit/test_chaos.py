"""Fault injection picks a stable share of messages; most fail once, a quarter outlast the
immediate retries."""

from uuid import UUID, uuid4

import pytest

from commerce.adapters.chaos import (
    LASTING_FAILURES,
    LASTING_SHARE,
    FaultInjector,
    InjectedTransientFault,
)
from commerce.messages.channels import DEFAULT_RETRY

pytestmark = pytest.mark.unit


def _failures(injector: FaultInjector, message_id: UUID, attempts: int) -> int:
    """How many of ``attempts`` handling attempts of ``message_id`` the injector fails."""
    failed = 0
    for _ in range(attempts):
        try:
            injector.before_handling(message_id)
        except InjectedTransientFault:
            failed += 1
    return failed


def test_off_by_default() -> None:
    injector = FaultInjector()
    for _ in range(1000):
        injector.before_handling(uuid4())


def test_about_the_configured_share_fails_and_a_later_attempt_passes() -> None:
    injector = FaultInjector(0.02)
    ids = [uuid4() for _ in range(20_000)]
    failures = {message_id: _failures(injector, message_id, 10) for message_id in ids}
    failed = [message_id for message_id, count in failures.items() if count]
    assert 300 <= len(failed) <= 500  # 2 % of 20,000 = 400, far outside any chance miss
    assert set(failed) == {message_id for message_id in ids if injector.chosen(message_id)}


def test_a_quarter_of_the_failing_share_outlasts_the_immediate_retries() -> None:
    injector = FaultInjector(0.2)
    chosen = [
        message_id for message_id in (uuid4() for _ in range(4_000)) if injector.chosen(message_id)
    ]
    lasting = [message_id for message_id in chosen if injector.lasting(message_id)]
    assert DEFAULT_RETRY.immediate < LASTING_FAILURES, "the first delivery's attempts all fail"
    assert abs(len(lasting) / len(chosen) - LASTING_SHARE) < 0.1  # of ~800 chosen
    for message_id in chosen:
        expected = LASTING_FAILURES if message_id in lasting else 1
        assert _failures(injector, message_id, 10) == expected


def test_only_chosen_messages_are_lasting() -> None:
    injector = FaultInjector(0.0)
    assert not any(injector.lasting(uuid4()) for _ in range(1000))


def test_the_choice_depends_only_on_the_message_id() -> None:
    message_id = uuid4()
    assert FaultInjector(0.5).chosen(message_id) == FaultInjector(0.5).chosen(message_id)
    assert FaultInjector(0.5).lasting(message_id) == FaultInjector(0.5).lasting(message_id)


def test_a_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        FaultInjector(1.5)
