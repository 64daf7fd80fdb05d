"""The event-sourced Order aggregate: commands, state machine, replay, snapshots."""

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commerce.orders.domain.errors import (
    DuplicateOrderLine,
    EmptyOrder,
    ItemNotOrderable,
    OrderLineNotFound,
    UserCannotPlaceOrders,
)
from commerce.orders.domain.events import (
    ORDER_EVENT_TYPES,
    OrderCancelled,
    OrderConfirmed,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderShipped,
)
from commerce.orders.domain.order import Order, OrderLine, OrderStatus
from commerce.orders.domain.ordering import ITEM_IS_ORDERABLE, Customer, ItemSnapshot
from commerce.orders.domain.specifications import ORDER_CAN_BE_SHIPPED
from commerce.orders.domain.state import OrderSnapshot
from commerce.platform.kit.errors import (
    AmountOutOfRange,
    CurrencyMismatch,
    IllegalTransition,
    InconsistentEventStream,
    InvalidValue,
)
from commerce.platform.kit.events import EventHeader
from commerce.platform.kit.ids import ItemId, OrderId, TenantId, UserId
from commerce.platform.kit.money import MAX_MINOR_UNITS, Money

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TENANT = TenantId(uuid4())


def _customer(tenant: TenantId = TENANT, *, refusal: str | None = None) -> Customer:
    return Customer(id=UserId.new(), tenant_id=tenant, refusal=refusal)


def _order(currency: str = "EUR") -> Order:
    return Order.place(
        order_id=OrderId.new(), tenant_id=TENANT, customer=_customer(), currency=currency, now=NOW
    )


def _item(cents: int = 250, *, active: bool = True, currency: str = "EUR") -> ItemSnapshot:
    return ItemSnapshot(
        item_id=ItemId.new(), active=active, price=Money(cents, currency), name="Engine"
    )


def test_placing_starts_the_stream_at_version_one_in_placed() -> None:
    order = _order()
    [event] = order.pending_events
    assert isinstance(event, OrderPlaced)
    assert (event.version, order.version, order.status) == (1, 1, OrderStatus.PLACED)
    assert order.total == Money.zero("EUR")
    assert order.lines == ()


def test_a_refused_or_foreign_customer_cannot_place_orders() -> None:
    refused = _customer(refusal="(user is active and user has role customer)")
    with pytest.raises(UserCannotPlaceOrders, match="user is active"):
        Order.place(
            order_id=OrderId.new(), tenant_id=TENANT, customer=refused, currency="EUR", now=NOW
        )
    with pytest.raises(UserCannotPlaceOrders, match="another tenant"):
        Order.place(
            order_id=OrderId.new(),
            tenant_id=TENANT,
            customer=_customer(TenantId(uuid4())),
            currency="EUR",
            now=NOW,
        )


def test_lines_capture_the_price_and_the_total_follows_them() -> None:
    order = _order()
    pen, ink = _item(250), _item(1000)
    order.add_line(pen, 4, now=NOW)
    order.add_line(ink, 1, now=NOW)
    assert order.total == Money(2000, "EUR")
    assert order.lines == (
        OrderLine(pen.item_id, 4, pen.price),
        OrderLine(ink.item_id, 1, ink.price),
    )
    order.remove_line(pen.item_id, now=NOW)
    assert order.total == Money(1000, "EUR")
    added = order.pending_events[1]
    assert isinstance(added, OrderLineAdded)
    assert added.unit_price == Money(250, "EUR")
    assert [e.version for e in order.pending_events] == [1, 2, 3, 4]


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_quantities_are_positive_whole_numbers(quantity: int) -> None:
    with pytest.raises(InvalidValue):
        _order().add_line(_item(), quantity, now=NOW)


def test_line_rules() -> None:
    order = _order()
    pen = _item()
    order.add_line(pen, 1, now=NOW)
    with pytest.raises(DuplicateOrderLine):
        order.add_line(pen, 2, now=NOW)
    with pytest.raises(ItemNotOrderable):
        order.add_line(_item(active=False), 1, now=NOW)
    with pytest.raises(ItemNotOrderable):
        order.add_line(_item(0), 1, now=NOW)
    with pytest.raises(CurrencyMismatch):
        order.add_line(_item(currency="USD"), 1, now=NOW)
    with pytest.raises(OrderLineNotFound):
        order.remove_line(ItemId.new(), now=NOW)
    with pytest.raises(AmountOutOfRange):
        order.add_line(_item(MAX_MINOR_UNITS), 2, now=NOW)
    assert order.version == 2


def test_confirming_needs_a_line_and_states_the_total() -> None:
    order = _order()
    with pytest.raises(EmptyOrder):
        order.confirm(now=NOW)
    order.add_line(_item(250), 2, now=NOW)
    order.confirm(now=NOW)
    order.confirm(now=NOW)
    confirmed = order.pending_events[-1]
    assert isinstance(confirmed, OrderConfirmed)
    assert confirmed.total == Money(500, "EUR")
    assert order.status is OrderStatus.CONFIRMED
    assert order.version == 3


def test_lines_are_frozen_once_confirmed() -> None:
    order = _order()
    pen = _item()
    order.add_line(pen, 1, now=NOW)
    order.confirm(now=NOW)
    with pytest.raises(IllegalTransition):
        order.add_line(_item(), 1, now=NOW)
    with pytest.raises(IllegalTransition):
        order.remove_line(pen.item_id, now=NOW)


def test_only_confirmed_orders_ship() -> None:
    order = _order()
    order.add_line(_item(), 1, now=NOW)
    assert not ORDER_CAN_BE_SHIPPED.is_satisfied_by(order)
    with pytest.raises(IllegalTransition, match="ship"):
        order.ship(now=NOW)
    order.confirm(now=NOW)
    order.ship(now=NOW)
    order.ship(now=NOW)
    assert isinstance(order.pending_events[-1], OrderShipped)
    assert order.status is OrderStatus.SHIPPED
    with pytest.raises(IllegalTransition, match="cancel"):
        order.cancel(reason="too late", now=NOW)
    with pytest.raises(IllegalTransition):
        order.confirm(now=NOW)


@pytest.mark.parametrize("confirm_first", [False, True])
def test_cancelling_before_shipping_records_where_from(confirm_first: bool) -> None:
    order = _order()
    order.add_line(_item(), 1, now=NOW)
    if confirm_first:
        order.confirm(now=NOW)
    previous = order.status
    order.cancel(reason=" changed my mind ", now=NOW)
    order.cancel(reason="again", now=NOW)
    cancelled = order.pending_events[-1]
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.previous_status, cancelled.reason) == (previous, "changed my mind")
    assert order.status is OrderStatus.CANCELLED
    commands: list[Callable[[], None]] = [
        lambda: order.confirm(now=NOW),
        lambda: order.ship(now=NOW),
        lambda: order.add_line(_item(), 1, now=NOW),
    ]
    for command in commands:
        with pytest.raises(IllegalTransition):
            command()


def test_cancelling_needs_a_reason() -> None:
    with pytest.raises(InvalidValue):
        _order().cancel(reason="  ", now=NOW)


def test_replay_rebuilds_the_same_state() -> None:
    order = _order()
    order.add_line(_item(), 2, now=NOW)
    order.confirm(now=NOW)
    events = order.collect_events()
    assert order.pending_events == ()
    replayed = Order.replay(events)
    assert replayed.state == order.state
    assert replayed.pending_events == ()


def test_snapshot_is_json_and_continues_with_the_tail() -> None:
    order = _order()
    order.add_line(_item(), 2, now=NOW)
    events = order.collect_events()
    saved: OrderSnapshot = json.loads(json.dumps(order.snapshot()))
    order.confirm(now=NOW)
    tail = order.collect_events()
    restored = Order.replay(tail, start_from=Order.from_snapshot(saved))
    assert restored.state == order.state == Order.replay([*events, *tail]).state


def test_corrupt_streams_are_refused() -> None:
    order = _order()
    order.add_line(_item(), 1, now=NOW)
    placed, added = order.collect_events()
    assert isinstance(placed, OrderPlaced)
    with pytest.raises(InconsistentEventStream):
        Order.replay([added])
    with pytest.raises(InconsistentEventStream, match="version"):
        Order.replay([placed, added, added])
    with pytest.raises(InconsistentEventStream):
        Order.replay([placed, replace(added, aggregate_id=str(uuid4()))])
    with pytest.raises(InconsistentEventStream, match="cannot follow"):
        Order.replay(
            [
                placed,
                replace(added, version=2),
                OrderShipped(**_header(placed, 3), order_id=placed.order_id),
            ]
        )
    with pytest.raises(InconsistentEventStream):
        Order.replay(
            [
                placed,
                OrderLineRemoved(
                    **_header(placed, 2), order_id=placed.order_id, item_id=ItemId.new()
                ),
            ]
        )


def _header(placed: OrderPlaced, version: int) -> EventHeader:
    return {
        "tenant_id": placed.tenant_id,
        "aggregate_id": placed.aggregate_id,
        "version": version,
        "occurred_at": NOW,
    }


def test_corrupt_snapshots_are_refused() -> None:
    snapshot = _order().snapshot()
    with pytest.raises(InconsistentEventStream, match="schema"):
        Order.from_snapshot({**snapshot, "schema": 99})
    with pytest.raises(InconsistentEventStream):
        Order.from_snapshot({**snapshot, "status": "lost"})
    with pytest.raises(InconsistentEventStream):
        Order.from_snapshot({**snapshot, "status": "draft"})


def test_every_order_event_type_is_registered_by_its_newest_versioned_name() -> None:
    assert set(ORDER_EVENT_TYPES) == {
        f"commerce.orders.{name}"
        for name in (
            "OrderPlaced.v1",
            "OrderLineAdded.v2",
            "OrderLineRemoved.v1",
            "OrderConfirmed.v1",
            "OrderCancelled.v1",
            "OrderShipped.v1",
        )
    }


def test_orderable_means_active_with_a_positive_price() -> None:
    item_id = ItemId.new()
    assert ITEM_IS_ORDERABLE.is_satisfied_by(ItemSnapshot(item_id, True, Money(1, "EUR"), "Loom"))
    assert not ITEM_IS_ORDERABLE.is_satisfied_by(
        ItemSnapshot(item_id, False, Money(1, "EUR"), "Loom")
    )
    assert not ITEM_IS_ORDERABLE.is_satisfied_by(
        ItemSnapshot(item_id, True, Money(0, "EUR"), "Loom")
    )
    assert ITEM_IS_ORDERABLE.description == "(item is active and item has a positive price)"
