"""Properties of the event-sourced Order aggregate under any sequence of commands."""

import contextlib
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.orders.domain.events import (
    ORDER_TRANSITIONS,
    OrderCancelled,
    OrderConfirmed,
    OrderEvent,
    OrderLineAdded,
    OrderLineRemoved,
    OrderShipped,
    OrderStatus,
)
from commerce.orders.domain.order import Order
from commerce.orders.domain.ordering import Customer, ItemSnapshot
from commerce.orders.domain.state import OrderSnapshot
from commerce.platform.kit.errors import DomainError, InconsistentEventStream
from commerce.platform.kit.events import EventHeader
from commerce.platform.kit.ids import ItemId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money

pytestmark = pytest.mark.property

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ITEMS = [ItemId.new() for _ in range(6)]
S = OrderStatus
LEGAL_MOVES = {
    (S.DRAFT, S.PLACED),
    (S.PLACED, S.PLACED),
    (S.PLACED, S.CONFIRMED),
    (S.PLACED, S.CANCELLED),
    (S.CONFIRMED, S.SHIPPED),
    (S.CONFIRMED, S.CANCELLED),
}

type Command = tuple[str, int, int, int]

COMMAND: st.SearchStrategy[Command] = st.tuples(
    # weighted so that runs often get past confirmation before a cancel ends them
    st.sampled_from(["add"] * 6 + ["remove"] * 2 + ["confirm"] + ["ship"] * 2 + ["cancel"]),
    st.integers(0, len(ITEMS) - 1),  # which item
    st.integers(0, 5),  # quantity (0 is refused)
    st.integers(0, 100_000),  # price in cents (0 is not orderable)
)
COMMANDS: st.SearchStrategy[list[Command]] = st.integers(1, 40).flatmap(
    lambda size: st.lists(COMMAND, min_size=size, max_size=size)
)


def _place() -> Order:
    tenant = TenantId(uuid4())
    customer = Customer(id=UserId.new(), tenant_id=tenant, refusal=None)
    return Order.place(
        order_id=OrderId.new(), tenant_id=tenant, customer=customer, currency="EUR", now=NOW
    )


def _execute(order: Order, command: Command) -> None:
    name, item, quantity, cents = command
    match name:
        case "add":
            active = cents % 11 != 0  # now and then a retired item
            snapshot = ItemSnapshot(
                ITEMS[item], active=active, price=Money(cents, "EUR"), name=f"item {item}"
            )
            order.add_line(snapshot, quantity, now=NOW)
        case "remove":
            order.remove_line(ITEMS[item], now=NOW)
        case "confirm":
            order.confirm(now=NOW)
        case "cancel":
            order.cancel(reason="because", now=NOW)
        case _:
            order.ship(now=NOW)


def _run(commands: list[Command]) -> tuple[Order, list[OrderEvent]]:
    order = _place()
    for command in commands:
        with contextlib.suppress(DomainError):
            _execute(order, command)
    return order, list(order.pending_events)


@given(COMMANDS)
def test_replay_rebuilds_the_same_state(commands: list[Command]) -> None:
    """Property (event-sourcing round trip): Order.replay(recorded events) == the order."""
    order, events = _run(commands)
    assert Order.replay(events).state == order.state
    assert Order.replay(events).snapshot() == order.snapshot()


@given(COMMANDS)
def test_event_versions_are_strictly_consecutive(commands: list[Command]) -> None:
    """Property (event order preservation): versions run 1, 2, ..., n with no gap or repeat,
    all events address this order, and order.version == n."""
    order, events = _run(commands)
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    assert order.version == len(events)
    assert {(e.aggregate_id, e.tenant_id) for e in events} == {(str(order.id), order.tenant_id)}


@given(COMMANDS, st.data())
def test_snapshot_plus_tail_equals_full_replay(
    commands: list[Command], data: st.DataObject
) -> None:
    """Property (snapshot consistency): from_snapshot(replay(events[:k])) + events[k:] equals
    replay(events), for every k, with the snapshot passed through JSON."""
    order, events = _run(commands)
    k = data.draw(st.integers(1, len(events)), label="snapshot after")
    saved: OrderSnapshot = json.loads(json.dumps(Order.replay(events[:k]).snapshot()))
    restored = Order.replay(events[k:], start_from=Order.from_snapshot(saved))
    assert restored.state == order.state


@given(COMMANDS)
def test_total_is_the_sum_of_the_lines(commands: list[Command]) -> None:
    """Property: after every command, total == sum(unit price x quantity) of the lines a
    simple model expects (add puts a line, remove drops it), and confirmations state it."""
    order = _place()
    model: dict[ItemId, Money] = {}
    for command in commands:
        before = len(order.pending_events)
        with contextlib.suppress(DomainError):
            _execute(order, command)
        for event in order.pending_events[before:]:
            if isinstance(event, OrderLineAdded):
                model[event.item_id] = event.unit_price * event.quantity
            elif isinstance(event, OrderLineRemoved):
                del model[event.item_id]
            elif isinstance(event, OrderConfirmed):
                assert event.total == order.total
        assert order.total == Money.sum(model.values(), currency="EUR")
        assert order.total == Money.sum((ln.subtotal for ln in order.lines), currency="EUR")
        assert [line.item_id for line in order.lines] == list(model)


@given(COMMANDS)
def test_the_state_machine_never_takes_an_illegal_transition(commands: list[Command]) -> None:
    """Property: every command either is refused with a DomainError (no event, no change) or
    moves along draft → placed → confirmed → shipped / → cancelled; lines change only
    while placed and final states stay final."""
    order = _place()
    moves = [(S.DRAFT, order.status)]
    for command in commands:
        before, count = order.state, len(order.pending_events)
        try:
            _execute(order, command)
        except DomainError:
            assert order.state == before
            assert len(order.pending_events) == count
            continue
        new = order.pending_events[count:]
        assert len(new) <= 1
        if new:
            moves.append((before.status, order.status))
        else:
            assert order.state == before
        if order.lines != before.lines:
            assert before.status is S.PLACED
    assert set(moves) <= LEGAL_MOVES
    if order.status in (S.CONFIRMED, S.SHIPPED):
        assert order.lines


@given(COMMANDS, st.sampled_from([OrderLineRemoved, OrderConfirmed, OrderCancelled, OrderShipped]))
def test_apply_refuses_events_the_state_does_not_allow(
    commands: list[Command], event_type: type[OrderEvent]
) -> None:
    """Property: replaying an event the current state does not allow raises
    InconsistentEventStream instead of reaching an illegal state."""
    order, _ = _run(commands)
    if event_type in ORDER_TRANSITIONS[order.status]:
        return
    header: EventHeader = {
        "tenant_id": order.tenant_id,
        "aggregate_id": str(order.id),
        "version": order.version + 1,
        "occurred_at": NOW,
    }
    events: dict[type[OrderEvent], OrderEvent] = {
        OrderLineRemoved: OrderLineRemoved(**header, order_id=order.id, item_id=ITEMS[0]),
        OrderConfirmed: OrderConfirmed(
            **header, order_id=order.id, customer_id=order.customer_id, total=order.total
        ),
        OrderCancelled: OrderCancelled(
            **header, order_id=order.id, previous_status=order.status, reason="x"
        ),
        OrderShipped: OrderShipped(**header, order_id=order.id),
    }
    before = order.state
    with pytest.raises(InconsistentEventStream):
        order.apply(events[event_type])
    assert order.state == before
