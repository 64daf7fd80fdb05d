"""Event-type filters with ``*`` wildcards."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.kit.errors import InvalidValue
from commerce.webhooks.domain.event_filter import EventFilter

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz.", min_size=1, max_size=30)


@pytest.mark.property
@given(event_type=names, other=names)
def test_a_pattern_without_wildcard_matches_exactly_its_own_type(
    event_type: str, other: str
) -> None:
    pattern = EventFilter.of([event_type])
    assert pattern.matches(event_type)
    assert pattern.matches(other) == (other == event_type)


@pytest.mark.property
@given(prefix=names, rest=names)
def test_a_trailing_wildcard_matches_every_type_with_the_prefix(prefix: str, rest: str) -> None:
    assert EventFilter.of([prefix + "*"]).matches(prefix + rest)


@pytest.mark.unit
def test_an_empty_filter_matches_everything_and_bad_patterns_are_refused() -> None:
    assert EventFilter().matches("commerce.orders.OrderPlaced.v1")
    assert not EventFilter.of(["commerce.billing.*"]).matches("commerce.orders.OrderPlaced.v1")
    with pytest.raises(InvalidValue):
        EventFilter.of(["commerce.(orders)"])
