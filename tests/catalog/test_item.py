"""The Item aggregate: price, stock, retirement."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commerce.catalog.domain.errors import InsufficientStock, ItemIsRetired
from commerce.catalog.domain.events import ItemCreated, ItemPriceChanged, ItemRetired, StockAdjusted
from commerce.catalog.domain.item import Item, ItemStatus
from commerce.platform.kit.errors import CurrencyMismatch, InvalidValue
from commerce.platform.kit.ids import ItemId, TenantId
from commerce.platform.kit.money import Money

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


PEN_PRICE = Money(250, "EUR")


def _item(price: Money = PEN_PRICE, stock: int = 10) -> Item:
    return Item.create(
        item_id=ItemId.new(),
        tenant_id=TenantId(uuid4()),
        name=" Pen ",
        price=price,
        stock=stock,
        now=NOW,
    )


def test_creating_an_item_records_item_created() -> None:
    item = _item()
    [event] = item.collect_events()
    assert isinstance(event, ItemCreated)
    assert (event.name, event.price, event.stock, event.version) == (
        "Pen",
        Money(250, "EUR"),
        10,
        1,
    )
    assert item.status is ItemStatus.ACTIVE
    assert item.is_active


@pytest.mark.parametrize("price", [Money(0, "EUR"), Money(-1, "EUR")])
def test_prices_must_be_positive(price: Money) -> None:
    with pytest.raises(InvalidValue, match="greater than zero"):
        _item(price=price)
    with pytest.raises(InvalidValue, match="greater than zero"):
        _item().change_price(price, now=NOW)


@pytest.mark.parametrize("stock", [-1, True, 1.5])
def test_initial_stock_is_a_non_negative_whole_number(stock: int) -> None:
    with pytest.raises(InvalidValue):
        _item(stock=stock)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_names_are_one_to_two_hundred_characters(name: str) -> None:
    with pytest.raises(InvalidValue, match="name"):
        Item.create(
            item_id=ItemId.new(),
            tenant_id=TenantId(uuid4()),
            name=name,
            price=Money(1, "EUR"),
            now=NOW,
        )


def test_changing_the_price_records_old_and_new() -> None:
    item = _item()
    item.collect_events()
    item.change_price(Money(300, "EUR"), now=NOW)
    item.change_price(Money(300, "EUR"), now=NOW)
    [event] = item.collect_events()
    assert isinstance(event, ItemPriceChanged)
    assert (event.old_price, event.new_price, event.version) == (
        Money(250, "EUR"),
        Money(300, "EUR"),
        2,
    )


def test_the_currency_of_an_item_is_fixed() -> None:
    with pytest.raises(CurrencyMismatch):
        _item().change_price(Money(300, "USD"), now=NOW)


def test_stock_adjustments_never_go_below_zero() -> None:
    item = _item(stock=3)
    item.collect_events()
    item.adjust_stock(-3, now=NOW, reason="sold at the fair")
    with pytest.raises(InsufficientStock):
        item.adjust_stock(-1, now=NOW)
    item.adjust_stock(0, now=NOW)
    [event] = item.collect_events()
    assert isinstance(event, StockAdjusted)
    assert (event.delta, event.stock, event.reason) == (-3, 0, "sold at the fair")
    assert item.stock == 0


def test_stock_adjustments_need_a_reason() -> None:
    with pytest.raises(InvalidValue, match="reason"):
        _item().adjust_stock(1, now=NOW, reason=" ")


def test_a_retired_item_keeps_its_price_and_is_no_longer_sold() -> None:
    item = _item()
    item.collect_events()
    item.retire(now=NOW)
    item.retire(now=NOW)
    [event] = item.collect_events()
    assert isinstance(event, ItemRetired)
    assert not item.is_active
    with pytest.raises(ItemIsRetired):
        item.change_price(Money(999, "EUR"), now=NOW)
    item.adjust_stock(-10, now=NOW, reason="written off")
    assert item.stock == 0
