"""Order use cases (event sourced) through ``process_command`` on the in-memory fakes."""

import asyncio

import pytest

from commerce.orders.application.use_cases import ORDER_STREAM
from commerce.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
)
from commerce.platform.kit.ids import ItemId, OrderId, UserId
from commerce.platform.kit.money import Money
from commerce.platform.transactions.processing import Outcome
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.racing import RacingFactory, retrying
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


def _order_events(factory: InMemoryUnitOfWorkFactory) -> list[type]:
    kinds = (OrderPlaced, OrderLineAdded, OrderLineRemoved, OrderConfirmed, OrderCancelled)
    return [type(e) for e in factory.store.published if isinstance(e, (*kinds, OrderShipped))]


async def test_an_order_goes_from_placed_to_shipped_with_captured_prices_and_a_total(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    customer = await scenario.register()
    order_id, item_id = await scenario.ordered_item(customer, quantity=2)
    _, other = await scenario.create_item(price=Money(500, "EUR"))
    assert await scenario.add_line(order_id, other, 3) is Outcome.APPLIED
    assert await scenario.change_price(item_id, Money(9999, "EUR")) is Outcome.APPLIED
    assert await scenario.remove_line(order_id, other) is Outcome.APPLIED
    assert await scenario.confirm(order_id) is Outcome.APPLIED
    assert await scenario.ship(order_id) is Outcome.APPLIED

    order = await scenario.order(order_id)
    assert order is not None
    assert (order.status, order.version, order.customer_id) == (OrderStatus.SHIPPED, 6, customer)
    assert [(line.item_id, line.unit_price) for line in order.lines] == [(item_id, EUR)]
    assert order.total == EUR * 2, "the price captured when the line was added"
    assert _order_events(factory) == [
        OrderPlaced,
        OrderLineAdded,
        OrderLineAdded,
        OrderLineRemoved,
        OrderConfirmed,
        OrderShipped,
    ]
    [confirmed] = [e for e in factory.store.published if isinstance(e, OrderConfirmed)]
    assert confirmed.total == EUR * 2


async def test_events_are_the_event_store_stream_and_the_outbox_together(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer)
    stored = [e for e in factory.store.event_log.events if e.stream.id == order_id.value]
    assert [(e.stream.type, e.version) for e in stored] == [(ORDER_STREAM, 1), (ORDER_STREAM, 2)]
    assert [e.event_type for e in stored] == [t.event_type for t in _order_events(factory)]


async def test_placing_needs_a_known_active_customer_and_a_new_order_id(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    outcome, _ = await scenario.place(UserId.new())
    assert outcome is Outcome.REJECTED
    customer = await scenario.register()
    outcome, order_id = await scenario.place(customer)
    assert outcome is Outcome.APPLIED
    outcome, _ = await scenario.place(customer, order_id)
    assert outcome is Outcome.REJECTED
    assert _codes(factory) == ["user_not_found", "order_already_exists"]


async def test_lines_need_known_orderable_items_once_each(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    customer = await scenario.register()
    order_id, item_id = await scenario.ordered_item(customer)
    assert await scenario.add_line(order_id, item_id) is Outcome.REJECTED
    assert await scenario.add_line(order_id, ItemId.new()) is Outcome.REJECTED
    _, dollars = await scenario.create_item(price=Money(100, "USD"))
    assert await scenario.add_line(order_id, dollars) is Outcome.REJECTED
    assert await scenario.add_line(order_id, item_id, 0) is Outcome.REJECTED
    assert await scenario.remove_line(order_id, dollars) is Outcome.REJECTED
    assert await scenario.add_line(OrderId.new(), item_id) is Outcome.REJECTED
    assert _codes(factory) == [
        "duplicate_order_line",
        "item_not_found",
        "currency_mismatch",
        "invalid_value",
        "order_line_not_found",
        "order_not_found",
    ]


async def test_the_state_machine_refuses_illegal_moves_and_repeats_are_no_ops(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    customer = await scenario.register()
    _, empty = await scenario.place(customer)
    assert await scenario.confirm(empty) is Outcome.REJECTED
    order_id, item_id = await scenario.ordered_item(customer)
    assert await scenario.ship(order_id) is Outcome.REJECTED
    assert await scenario.confirm(order_id) is Outcome.APPLIED
    assert await scenario.confirm(order_id) is Outcome.APPLIED
    assert await scenario.add_line(order_id, item_id) is Outcome.REJECTED
    assert await scenario.cancel(order_id) is Outcome.APPLIED
    assert await scenario.cancel(order_id) is Outcome.APPLIED
    assert await scenario.ship(order_id) is Outcome.REJECTED
    assert _codes(factory) == [
        "empty_order",
        "illegal_transition",
        "illegal_transition",
        "illegal_transition",
    ]
    order = await scenario.order(order_id)
    assert order is not None
    assert (order.status, order.version) == (OrderStatus.CANCELLED, 4)


async def test_snapshots_are_taken_every_n_events_and_loading_uses_them(
    factory: InMemoryUnitOfWorkFactory,
) -> None:
    scenario = Scenario(factory, snapshot_every=3)
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer)
    items = [(await scenario.create_item())[1] for _ in range(4)]
    for item_id in items:
        assert await scenario.add_line(order_id, item_id) is Outcome.APPLIED
    _, snapshot = factory.store.event_log.snapshots[order_id.value]
    assert snapshot.version == 6, "versions 3 and 6 crossed a multiple of 3"
    factory.store.event_log.events = [
        e for e in factory.store.event_log.events if e.stream.id != order_id.value or e.version > 6
    ]  # the snapshot alone must be enough
    order = await scenario.order(order_id)
    assert order is not None
    assert (order.version, len(order.lines)) == (6, 5)


async def test_two_concurrent_add_lines_both_apply_after_one_retries(
    factory: InMemoryUnitOfWorkFactory,
) -> None:
    """Never lost, never doubled: the loser of the race retries on the winner's events."""
    scenario = Scenario(factory)
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer)
    first, second = [(await scenario.create_item())[1] for _ in range(2)]
    racing = Scenario(RacingFactory(factory), tenant=scenario.tenant)

    results = await asyncio.gather(
        retrying(lambda: racing.add_line(order_id, first)),
        retrying(lambda: racing.add_line(order_id, second)),
    )

    assert [outcome for outcome, _ in results] == [Outcome.APPLIED, Outcome.APPLIED]
    assert sorted(conflicts for _, conflicts in results) == [0, 1], "exactly one retried"
    order = await scenario.order(order_id)
    assert order is not None
    assert order.version == 4
    assert [line.item_id for line in order.lines][1:] in ([first, second], [second, first])
    added = [e for e in factory.store.published if isinstance(e, OrderLineAdded)]
    assert len(added) == 3, "each line published once"
