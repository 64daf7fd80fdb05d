"""Fault injection picks a stable share of messages and fails each once."""

from uuid import uuid4

import pytest

from commerce.adapters.chaos import FaultInjector, InjectedTransientFault

pytestmark = pytest.mark.unit


def test_off_by_default() -> None:
    injector = FaultInjector()
    for _ in range(1000):
        injector.before_handling(uuid4())


def test_about_the_configured_share_fails_once_each() -> None:
    injector = FaultInjector(0.02)
    ids = [uuid4() for _ in range(20_000)]
    failed = []
    for message_id in ids:
        try:
            injector.before_handling(message_id)
        except InjectedTransientFault:
            failed.append(message_id)
    assert 300 <= len(failed) <= 500  # 2 % of 20,000 = 400, far outside any chance miss
    for message_id in failed:
        injector.before_handling(message_id)  # the retry passes


def test_the_choice_depends_only_on_the_message_id() -> None:
    message_id = uuid4()
    assert FaultInjector(0.5).chosen(message_id) == FaultInjector(0.5).chosen(message_id)


def test_a_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        FaultInjector(1.5)
