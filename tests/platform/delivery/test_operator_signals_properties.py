"""Whatever the stores held before, the gauges show what the latest read found: a consumer
that had dead letters or holds and has none now shows 0, never a stale value."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.delivery.operator_signals import HeldBack, OperatorSignals, WaitingWork
from commerce.platform.observability.metrics import REGISTRY
from commerce.platform.postgres.engine import create_engine

pytestmark = pytest.mark.property

_CONSUMERS = st.sampled_from([f"signals-property-{n}" for n in range(4)])
_HELD_BACK = st.builds(
    HeldBack,
    holds=st.integers(0, 50),
    oldest_age_seconds=st.floats(0, 86_400),
    parked_messages=st.integers(0, 500),
)
_READS = st.lists(
    st.builds(
        WaitingWork,
        dead_letters=st.dictionaries(_CONSUMERS, st.integers(1, 1_000)),
        held_back=st.dictionaries(_CONSUMERS, _HELD_BACK),
    ),
    min_size=1,
    max_size=6,
)
# Never connected: show() only sets gauges.
_ENGINE = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=1)


def _sample(name: str, consumer: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"consumer": consumer})


@given(reads=_READS, known=st.lists(_CONSUMERS))
def test_the_gauges_equal_the_latest_read_and_zero_for_the_rest(
    reads: list[WaitingWork], known: list[str]
) -> None:
    signals = OperatorSignals(_ENGINE, interval=1, consumers=known, ordered_consumers=known)
    for work in reads:
        signals.show(work)
    latest = reads[-1]
    for consumer in {*known, *(c for work in reads for c in work.dead_letters)}:
        expected = latest.dead_letters.get(consumer, 0)
        assert _sample("commerce_dead_letters_unresolved", consumer) == expected
    for consumer in {*known, *(c for work in reads for c in work.held_back)}:
        held = latest.held_back.get(consumer, HeldBack())
        assert _sample("commerce_parked_holds", consumer) == held.holds
        assert _sample("commerce_parked_holds_messages", consumer) == held.parked_messages
        age = _sample("commerce_parked_holds_oldest_age_seconds", consumer)
        assert age == held.oldest_age_seconds
