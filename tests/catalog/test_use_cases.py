"""Catalog use cases through ``process_command`` on the in-memory unit of work."""

import pytest

from commerce.catalog.domain.events import ItemCreated, ItemPriceChanged, ItemRetired, StockAdjusted
from commerce.catalog.domain.item import ItemStatus
from commerce.platform.kit.ids import ItemId
from commerce.platform.kit.money import Money
from commerce.platform.transactions.processing import Outcome
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.scenario import EUR, Scenario

pytestmark = pytest.mark.unit


@pytest.fixture
def factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def scenario(factory: InMemoryUnitOfWorkFactory) -> Scenario:
    return Scenario(factory)


def _codes(factory: InMemoryUnitOfWorkFactory) -> list[str]:
    return [rejection.reason_code for rejection in factory.store.rejections]


async def test_a_created_item_is_stored_and_published(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    outcome, item_id = await scenario.create_item(price=Money(250, "JPY"), stock=3)
    assert outcome is Outcome.APPLIED
    item = await scenario.item(item_id)
    assert item is not None
    assert (item.price, item.stock, item.status, item.version) == (
        Money(250, "JPY"),
        3,
        ItemStatus.ACTIVE,
        1,
    )
    [event] = factory.store.published
    assert isinstance(event, ItemCreated)
    assert event.item_id == item_id


@pytest.mark.parametrize(
    ("price", "stock", "code"),
    [
        (Money(0, "EUR"), 1, "invalid_value"),
        (Money(-1, "EUR"), 1, "invalid_value"),
        (EUR, -1, "invalid_value"),
    ],
)
async def test_a_price_must_be_positive_and_the_stock_not_negative(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory, price: Money, stock: int, code: str
) -> None:
    outcome, item_id = await scenario.create_item(price=price, stock=stock)
    assert outcome is Outcome.REJECTED
    assert _codes(factory) == [code]
    assert await scenario.item(item_id) is None


async def test_an_item_id_is_created_once(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    _, item_id = await scenario.create_item()
    outcome, _ = await scenario.create_item(item_id, price=Money(1, "EUR"))
    assert outcome is Outcome.REJECTED
    assert _codes(factory) == ["item_already_exists"]
    item = await scenario.item(item_id)
    assert item is not None
    assert item.price == EUR


async def test_price_changes_keep_the_currency(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    _, item_id = await scenario.create_item()
    assert await scenario.change_price(item_id, Money(2499, "EUR")) is Outcome.APPLIED
    assert await scenario.change_price(item_id, Money(2499, "USD")) is Outcome.REJECTED
    assert await scenario.change_price(item_id, Money(0, "EUR")) is Outcome.REJECTED
    item = await scenario.item(item_id)
    assert item is not None
    assert (item.price, item.version) == (Money(2499, "EUR"), 2)
    assert isinstance(factory.store.published[-1], ItemPriceChanged)
    assert _codes(factory) == ["currency_mismatch", "invalid_value"]


async def test_the_stock_never_goes_below_zero(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    _, item_id = await scenario.create_item(stock=2)
    assert await scenario.adjust_stock(item_id, 5) is Outcome.APPLIED
    assert await scenario.adjust_stock(item_id, -8) is Outcome.REJECTED
    assert await scenario.adjust_stock(item_id, -7) is Outcome.APPLIED
    assert await scenario.adjust_stock(item_id, 0) is Outcome.APPLIED
    item = await scenario.item(item_id)
    assert item is not None
    assert (item.stock, item.version) == (0, 3)
    stocks = [e.stock for e in factory.store.published if isinstance(e, StockAdjusted)]
    assert stocks == [7, 0]
    assert _codes(factory) == ["insufficient_stock"]


async def test_a_retired_item_keeps_its_price_and_cannot_be_ordered(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    customer = await scenario.register()
    _, item_id = await scenario.create_item()
    assert await scenario.retire(item_id) is Outcome.APPLIED
    assert await scenario.retire(item_id) is Outcome.APPLIED, "a no-op"
    assert [type(e) for e in factory.store.published if isinstance(e, ItemRetired)] == [ItemRetired]
    assert await scenario.change_price(item_id, Money(5, "EUR")) is Outcome.REJECTED
    _, order_id = await scenario.place(customer)
    assert await scenario.add_line(order_id, item_id) is Outcome.REJECTED
    assert _codes(factory) == ["item_retired", "item_not_orderable"]


async def test_commands_for_an_unknown_item_are_rejected(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    stranger = ItemId.new()
    assert await scenario.change_price(stranger, EUR) is Outcome.REJECTED
    assert await scenario.adjust_stock(stranger, 1) is Outcome.REJECTED
    assert await scenario.retire(stranger) is Outcome.REJECTED
    assert _codes(factory) == ["item_not_found"] * 3
