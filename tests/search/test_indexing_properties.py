"""Search-indexing round trip: the index agrees with the catalogue's read model."""

import contextlib
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.catalog.application.read_models import ItemAvailability, track_availability
from commerce.catalog.domain.item import Item
from commerce.catalog.messages.events import ItemRetiredV1, catalog_event_for
from commerce.platform.kit.errors import DomainError
from commerce.platform.kit.ids import ItemId, TenantId
from commerce.platform.kit.money import Money
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.search.application.indexing import fold_item
from commerce.search.domain.documents import Indexed, ItemDocument, ItemTombstone

pytestmark = pytest.mark.property

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("adjust"), st.integers(-30, 30)),
        st.tuples(st.just("price"), st.integers(1, 5_000)),
        st.tuples(st.just("retire"), st.just(0)),
    ),
    max_size=25,
)


def _item_events(stock: int, operations: list[tuple[str, int]]) -> list[IntegrationEvent]:
    item = Item.create(
        item_id=ItemId.new(),
        tenant_id=TenantId(uuid4()),
        name="Brass orrery",
        price=Money(250, "EUR"),
        stock=stock,
        now=T0,
    )
    for operation, value in operations:
        with contextlib.suppress(DomainError):
            match operation:
                case "adjust":
                    item.adjust_stock(value, now=T0)
                case "price":
                    item.change_price(Money(value, "EUR"), now=T0)
                case _:
                    item.retire(now=T0)
    events = [catalog_event_for(event) for event in item.collect_events()]
    return [event for event in events if event is not None]


@given(st.integers(0, 20), OPERATIONS, st.lists(st.integers(0, 1_000), max_size=10))
def test_search_indexing_round_trip(
    stock: int, operations: list[tuple[str, int]], redeliveries: list[int]
) -> None:
    """Property: for any sequence of item events, each possibly followed by the redelivery of
    an earlier one, the index holds the read model row after the last event; once the item
    is retired, a tombstone at the retirement's version (later stock moves of a retired item
    change no search document)."""
    events = _item_events(stock, operations)
    row: ItemAvailability | None = None
    held: Indexed | None = None
    for number, event in enumerate(events, start=1):
        at = T0 + timedelta(seconds=number)
        row = track_availability(row, event, version=number, at=at)
        held = fold_item(held, event, version=number, at=at) or held
        for pick in redeliveries[number - 1 : number]:
            stale = pick % number
            again = fold_item(held, events[stale], version=stale + 1, at=at)
            assert again is None  # already applied: nothing to write
    assert row is not None
    retired = [n for n, e in enumerate(events, start=1) if isinstance(e, ItemRetiredV1)]
    if retired:
        assert row.status == "retired"
        assert held == ItemTombstone(item_id=row.item_id, version=retired[0])
    else:
        assert held == ItemDocument(**asdict(row))
