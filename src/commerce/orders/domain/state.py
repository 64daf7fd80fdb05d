"""The state of an order and how events evolve it: the functional core of the aggregate.

:func:`evolve` is the only way an :class:`OrderState` changes: ``evolve(state, event)``
checks that ``event`` may follow (same order and tenant, next version, allowed by
:data:`~commerce.orders.domain.events.ORDER_TRANSITIONS`) and returns the next state. A
stream the aggregate recorded always passes; anything else raises
:class:`~commerce.platform.kit.errors.InconsistentEventStream`.

A snapshot (:class:`OrderSnapshot`) is the state as JSON types only (str, int, list,
dict), so it can go into a ``jsonb`` column as is. An event store saves one every N
events; restoring it and applying the tail equals replaying the whole stream. ``schema``
versions its layout: an event store that meets an unknown schema replays the full stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict, assert_never
from uuid import UUID

from commerce.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderEvent,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
    next_status,
)
from commerce.platform.kit.errors import InconsistentEventStream
from commerce.platform.kit.ids import ItemId, OrderId, TenantId, UserId, require_aware
from commerce.platform.kit.money import Money

__all__ = [
    "SNAPSHOT_SCHEMA",
    "OrderLine",
    "OrderLineSnapshot",
    "OrderSnapshot",
    "OrderState",
    "evolve",
    "start",
]

SNAPSHOT_SCHEMA = 1
"""The layout version of :class:`OrderSnapshot` written by this code."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """``quantity`` of an item at the ``unit_price`` captured when the line was added."""

    item_id: ItemId
    quantity: int
    unit_price: Money

    @property
    def subtotal(self) -> Money:
        """``unit_price * quantity``."""
        return self.unit_price * self.quantity


class OrderLineSnapshot(TypedDict):
    """One line of an :class:`OrderSnapshot` (``unit_price`` in minor units)."""

    item_id: str
    quantity: int
    unit_price: int


class OrderSnapshot(TypedDict):
    """The whole state of an order at ``version``, as JSON types only."""

    schema: int
    order_id: str
    tenant_id: str
    customer_id: str
    currency: str
    status: str
    version: int
    placed_at: str
    lines: list[OrderLineSnapshot]


@dataclass(frozen=True, slots=True)
class OrderState:
    """Everything known about an order after applying its events up to ``version``."""

    order_id: OrderId
    tenant_id: TenantId
    customer_id: UserId
    currency: str
    placed_at: datetime
    status: OrderStatus
    version: int
    lines: tuple[OrderLine, ...] = ()

    @property
    def total(self) -> Money:
        """The sum of the lines' subtotals (zero without lines): computed, never stored."""
        return Money.sum((line.subtotal for line in self.lines), currency=self.currency)

    def line_for(self, item_id: ItemId) -> OrderLine | None:
        """The line of ``item_id``, if any."""
        return next((line for line in self.lines if line.item_id == item_id), None)

    def to_snapshot(self) -> OrderSnapshot:
        """This state as JSON types."""
        return {
            "schema": SNAPSHOT_SCHEMA,
            "order_id": str(self.order_id),
            "tenant_id": str(self.tenant_id),
            "customer_id": str(self.customer_id),
            "currency": self.currency,
            "status": self.status.value,
            "version": self.version,
            "placed_at": self.placed_at.isoformat(),
            "lines": [
                {
                    "item_id": str(line.item_id),
                    "quantity": line.quantity,
                    "unit_price": line.unit_price.amount,
                }
                for line in self.lines
            ],
        }

    @classmethod
    def from_snapshot(cls, snapshot: OrderSnapshot) -> OrderState:
        """The state :meth:`to_snapshot` wrote; raises ``InconsistentEventStream`` if bad."""
        if snapshot.get("schema") != SNAPSHOT_SCHEMA:
            raise InconsistentEventStream(f"unsupported snapshot schema {snapshot.get('schema')}")
        try:
            currency = snapshot["currency"]
            state = cls(
                order_id=OrderId(UUID(snapshot["order_id"])),
                tenant_id=TenantId(UUID(snapshot["tenant_id"])),
                customer_id=UserId(UUID(snapshot["customer_id"])),
                currency=currency,
                placed_at=require_aware(datetime.fromisoformat(snapshot["placed_at"])),
                status=OrderStatus(snapshot["status"]),
                version=snapshot["version"],
                lines=tuple(
                    OrderLine(
                        item_id=ItemId(UUID(line["item_id"])),
                        quantity=line["quantity"],
                        unit_price=Money(line["unit_price"], currency),
                    )
                    for line in snapshot["lines"]
                ),
            )
            _ = state.total
        except (KeyError, TypeError, ValueError) as error:
            raise InconsistentEventStream(f"corrupt order snapshot: {error!r}") from error
        if state.status is OrderStatus.DRAFT or not isinstance(state.version, int):
            raise InconsistentEventStream(f"corrupt order snapshot of {state.order_id}")
        return state


def start(placed: OrderPlaced) -> OrderState:
    """The state after the first event of a stream, which must be ``OrderPlaced`` v1.

    Before it the order is a **draft**: an empty stream (version 0) that no
    :class:`OrderState` represents; ``OrderPlaced`` is the one transition out of
    :attr:`OrderStatus.DRAFT` (``ORDER_TRANSITIONS``).
    """
    status = next_status(OrderStatus.DRAFT, OrderPlaced)
    if status is None or placed.version != 1 or placed.aggregate_id != str(placed.order_id):
        raise InconsistentEventStream("a stream starts with OrderPlaced, version 1")
    return OrderState(
        order_id=placed.order_id,
        tenant_id=placed.tenant_id,
        customer_id=placed.customer_id,
        currency=placed.currency,
        placed_at=placed.occurred_at,
        status=status,
        version=1,
    )


def evolve(state: OrderState, event: OrderEvent) -> OrderState:
    """The state after ``event``, the next event of ``state``'s stream."""
    if event.aggregate_id != str(state.order_id) or event.tenant_id != state.tenant_id:
        raise InconsistentEventStream(f"{event.event_type} is not for order {state.order_id}")
    if event.version != state.version + 1:
        raise InconsistentEventStream(
            f"order {state.order_id} is at version {state.version}, not {event.version - 1}"
        )
    target = next_status(state.status, type(event))
    if target is None:
        raise InconsistentEventStream(f"{event.event_type} cannot follow {state.status}")
    lines = state.lines
    match event:
        case OrderLineAdded():
            duplicate = state.line_for(event.item_id) is not None
            if duplicate or event.unit_price.currency != state.currency:
                raise InconsistentEventStream(f"bad line for item {event.item_id}")
            lines = (*lines, OrderLine(event.item_id, event.quantity, event.unit_price))
        case OrderLineRemoved():
            if state.line_for(event.item_id) is None:
                raise InconsistentEventStream(f"no line for item {event.item_id}")
            lines = tuple(line for line in lines if line.item_id != event.item_id)
        case OrderConfirmed():
            if not lines or event.total != state.total:
                raise InconsistentEventStream(f"order {state.order_id} confirmed at wrong total")
        case OrderPlaced() | OrderCancelled() | OrderShipped():
            pass
        case _:
            assert_never(event)
    return replace(state, status=target, version=event.version, lines=lines)
