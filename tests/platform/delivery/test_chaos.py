"""Fault injection picks a stable share of messages; most fail once, a quarter fail every
immediate retry and pass only when redelivered later."""

from uuid import UUID, uuid4

import pytest

from commerce.platform.delivery.chaos import (
    LASTING_SHARE,
    REDELIVERY_GAP,
    FaultInjector,
    InjectedTransientFault,
)
from commerce.registry.channels import CONSUMERS
from tests.support.fakes import ManualClock

pytestmark = pytest.mark.unit


def _fails(injector: FaultInjector, message_id: UUID) -> bool:
    try:
        injector.before_handling(message_id)
    except InjectedTransientFault:
        return True
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
    clock = ManualClock(0.0)
    injector = FaultInjector(0.3, clock=clock)
    brief = [m for m in (uuid4() for _ in range(2_000)) if injector.chosen(m)]
    brief = [m for m in brief if not injector.lasting(m)]
    assert brief
    for message_id in brief:
        assert _fails(injector, message_id)
        assert not _fails(injector, message_id), "the immediate retry passes"
        clock.now += 1.0
        assert not _fails(injector, message_id), "and so does any later attempt"


def test_a_lasting_message_fails_every_immediate_retry_and_passes_when_redelivered() -> None:
    clock = ManualClock(0.0)
    injector = FaultInjector(0.3, clock=clock)
    chosen = [m for m in (uuid4() for _ in range(4_000)) if injector.chosen(m)]
    lasting = [m for m in chosen if injector.lasting(m)]
    assert abs(len(lasting) / len(chosen) - LASTING_SHARE) < 0.1  # of ~1,200 chosen
    for message_id in lasting:
        for _ in range(10):  # however many immediate retries a policy has
            assert _fails(injector, message_id)
            clock.now += REDELIVERY_GAP / 10
        clock.now += REDELIVERY_GAP  # the broker brings it back after a delay
        assert not _fails(injector, message_id)
        assert not _fails(injector, message_id), "recovered for good"


def test_every_consumers_first_redelivery_comes_after_the_gap() -> None:
    earliest = min(consumer.retry.delay(1, 0.0) for consumer in CONSUMERS if consumer.retry.rounds)
    assert earliest > REDELIVERY_GAP, "a redelivered lasting message must be able to pass"


def test_the_choice_depends_only_on_the_message_id() -> None:
    message_id = uuid4()
    assert FaultInjector(0.5).chosen(message_id) == FaultInjector(0.5).chosen(message_id)
    assert FaultInjector(0.5).lasting(message_id) == FaultInjector(0.5).lasting(message_id)
    assert not FaultInjector(0.0).lasting(message_id)


def test_a_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        FaultInjector(1.5)
