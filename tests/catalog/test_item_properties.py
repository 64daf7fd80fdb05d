"""Properties of the Item aggregate's stock and price."""

import contextlib
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.catalog.domain.events import StockAdjusted
from commerce.catalog.domain.item import Item
from commerce.platform.kit.errors import DomainError
from commerce.platform.kit.ids import ItemId, TenantId
from commerce.platform.kit.money import Money

pytestmark = pytest.mark.property

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("adjust"), st.integers(-30, 30)),
        st.tuples(st.just("price"), st.integers(-5, 5_000)),
        st.tuples(st.just("retire"), st.just(0)),
    ),
    max_size=40,
)


def _item(stock: int) -> Item:
    item = Item.create(
        item_id=ItemId.new(),
        tenant_id=TenantId(uuid4()),
        name="Pen",
        price=Money(250, "EUR"),
        stock=stock,
        now=NOW,
    )
    item.collect_events()
    return item


def _run(item: Item, operation: str, value: int) -> None:
    match operation:
        case "adjust":
            item.adjust_stock(value, now=NOW)
        case "price":
            item.change_price(Money(value, "EUR"), now=NOW)
        case _:
            item.retire(now=NOW)


@given(st.integers(0, 20), OPERATIONS)
def test_stock_never_goes_negative(initial: int, operations: list[tuple[str, int]]) -> None:
    """Property: under any sequence of adjustments, price changes and retirement, stock >= 0,
    and the stock equals the initial stock plus the deltas of the StockAdjusted events."""
    item = _item(initial)
    for operation, value in operations:
        with contextlib.suppress(DomainError):
            _run(item, operation, value)
        assert item.stock >= 0
    adjustments = [e for e in item.pending_events if isinstance(e, StockAdjusted)]
    assert item.stock == initial + sum(e.delta for e in adjustments)
    assert all(e.stock >= 0 for e in adjustments)


@given(st.integers(0, 20), OPERATIONS)
def test_refused_operations_change_nothing_and_versions_count_events(
    initial: int, operations: list[tuple[str, int]]
) -> None:
    """Property: a refused command leaves the item untouched; versions run 2, 3, ... per event,
    and a retired item keeps its price."""
    item = _item(initial)
    for operation, value in operations:
        before = (item.stock, item.price, item.status, item.version, len(item.pending_events))
        try:
            _run(item, operation, value)
        except DomainError:
            assert (
                item.stock,
                item.price,
                item.status,
                item.version,
                len(item.pending_events),
            ) == before
        if before[2] != "active":
            assert item.price == before[1]
    assert [e.version for e in item.pending_events] == list(range(2, item.version + 1))
    assert item.price.is_positive
