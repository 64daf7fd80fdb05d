"""Fault injection picks a stable share of messages; most fail once, a quarter fail every
immediate retry and pass only when the broker delivers them again."""

from uuid import UUID, uuid4

import pytest

from commerce.platform.delivery.chaos import (
    LASTING_SHARE,
    FaultInjector,
    InjectedTransientFault,
    delivery_attempt,
)

pytestmark = pytest.mark.unit


def _fails(injector: FaultInjector, message_id: UUID, attempt: int = 1) -> bool:
    """Whether attempt ``attempt`` of a delivery of ``message_id`` fails."""
    token = delivery_attempt.set(attempt)
    try:
        injector.before_handling(message_id)
    except InjectedTransientFault:
        return True
    finally:
        delivery_attempt.reset(token)
    return False


def test_off_by_default() -> None:
    injector = FaultInjector()
    for _ in range(1000):
        injector.before_handling(uuid4())


def test_about_the_configured_share_fails_and_only_the_chosen() -> None:
    injector = FaultInjector(0.02)
    ids = [uuid4() for _ in range(20_000)]
    failed = [message_id for message_id in ids if _fails(injector, message_id)]
    assert 300 <= len(failed) <= 500  # 2 % of 20,000 = 400, far outside any chance miss
    assert set(failed) == {message_id for message_id in ids if injector.chosen(message_id)}


def test_an_immediate_retry_recovers_a_message_that_is_not_lasting() -> None:
    injector = FaultInjector(0.3)
    brief = [m for m in (uuid4() for _ in range(2_000)) if injector.chosen(m)]
    brief = [m for m in brief if not injector.lasting(m)]
    assert brief
    for message_id in brief:
        assert _fails(injector, message_id)
        assert not _fails(injector, message_id, attempt=2), "the immediate retry passes"
        assert not _fails(injector, message_id), "and so does any later delivery"


def test_a_lasting_message_fails_every_immediate_retry_and_passes_when_redelivered() -> None:
    injector = FaultInjector(0.3)
    chosen = [m for m in (uuid4() for _ in range(4_000)) if injector.chosen(m)]
    lasting = [m for m in chosen if injector.lasting(m)]
    assert abs(len(lasting) / len(chosen) - LASTING_SHARE) < 0.1  # of ~1,200 chosen
    for message_id in lasting:
        assert _fails(injector, message_id)
        for attempt in range(2, 12):  # however many immediate retries a policy has
            assert _fails(injector, message_id, attempt=attempt)
        assert not _fails(injector, message_id), "the broker's next delivery passes"
        assert not _fails(injector, message_id, attempt=2), "recovered for good"


def test_the_choice_depends_only_on_the_message_id() -> None:
    message_id = uuid4()
    assert FaultInjector(0.5).chosen(message_id) == FaultInjector(0.5).chosen(message_id)
    assert FaultInjector(0.5).lasting(message_id) == FaultInjector(0.5).lasting(message_id)
    assert not FaultInjector(0.0).lasting(message_id)


def test_a_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        FaultInjector(1.5)
