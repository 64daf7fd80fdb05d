"""The ``Order`` aggregate of the orders context, event sourced.

State machine (:data:`~commerce.orders.domain.events.ORDER_TRANSITIONS`)::

    draft --OrderPlaced--> placed --OrderConfirmed--> confirmed --OrderShipped--> shipped
                           |  ^ OrderLineAdded            |
                           |  | OrderLineRemoved          |
                           +--+--OrderCancelled--> cancelled <--OrderCancelled--+

* **draft** is the state of a stream with no events (version 0), where every replay
  starts. ``PlaceOrder`` (:meth:`Order.place`) is the only command it accepts and creates
  the order directly in **placed**: no ``Order`` object ever exists in draft, so a draft
  cannot be cancelled (there is nothing to cancel; the use case reports an unknown order).
* **Lines are added and removed while placed**, i.e. after ``PlaceOrder`` and before
  ``ConfirmOrder``. One line per item: adding an item again is refused (remove the line
  first). Each line keeps the unit price (and the name) of the
  :class:`~commerce.orders.domain.ordering.ItemSnapshot` it was added from: prices are captured
  at AddLine; all lines are in the currency chosen at placement.
* ``ConfirmOrder`` needs at least one line and freezes the lines. **cancelled** is
  reachable from placed and confirmed (any time before shipping), **shipped** only from
  confirmed.
* A command whose effect already holds (confirm a confirmed order, ship a shipped one,
  cancel a cancelled one) is a no-op recording nothing, so a repeated command is harmless.
  Any other command outside its states raises
  :class:`~commerce.platform.kit.errors.IllegalTransition`.

Event sourcing: the state (:class:`~commerce.orders.domain.state.OrderState`) changes only
in :meth:`Order.apply`, through :func:`~commerce.orders.domain.state.evolve`. A command
validates, then records an event with ``version = order.version + 1`` and applies it.
:meth:`Order.replay` rebuilds an order from its stream, optionally continuing from
:meth:`Order.from_snapshot`. The total is computed from the lines, never stored (the
``OrderConfirmed`` event states it as a fact for billing and is checked on replay).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from commerce.orders.domain.errors import (
    DuplicateOrderLine,
    EmptyOrder,
    ItemNotOrderable,
    OrderLineNotFound,
    UserCannotPlaceOrders,
)
from commerce.orders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderEvent,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
)
from commerce.orders.domain.ordering import ITEM_IS_ORDERABLE, Customer, ItemSnapshot
from commerce.orders.domain.specifications import ORDER_CAN_BE_CANCELLED, ORDER_CAN_BE_SHIPPED
from commerce.orders.domain.state import OrderLine, OrderSnapshot, OrderState, evolve, start
from commerce.platform.kit.errors import (
    CurrencyMismatch,
    IllegalTransition,
    InconsistentEventStream,
    InvalidValue,
)
from commerce.platform.kit.events import EventHeader
from commerce.platform.kit.ids import ItemId, OrderId, TenantId, UserId, require_aware
from commerce.platform.kit.money import Money

__all__ = ["Order", "OrderLine", "OrderStatus"]

_MAX_REASON = 500


class Order:
    """A customer's order: lines at captured prices, moving through a state machine.

    Build one with :meth:`place`, :meth:`replay` or :meth:`from_snapshot`.
    """

    __slots__ = ("_pending", "_state")

    def __init__(self, state: OrderState) -> None:
        """Wrap ``state`` (use :meth:`place`, :meth:`replay` or :meth:`from_snapshot`)."""
        self._state = state
        self._pending: list[OrderEvent] = []

    @property
    def state(self) -> OrderState:
        """The current state (immutable; equal states mean equal orders)."""
        return self._state

    @property
    def id(self) -> OrderId:
        """The order's id (also the stream id)."""
        return self._state.order_id

    @property
    def tenant_id(self) -> TenantId:
        """The tenant the order belongs to."""
        return self._state.tenant_id

    @property
    def customer_id(self) -> UserId:
        """The user who placed the order."""
        return self._state.customer_id

    @property
    def currency(self) -> str:
        """The currency of every line and of the total."""
        return self._state.currency

    @property
    def status(self) -> OrderStatus:
        """The current state of the state machine."""
        return self._state.status

    @property
    def version(self) -> int:
        """The version of the last event applied (the stream's length)."""
        return self._state.version

    @property
    def lines(self) -> tuple[OrderLine, ...]:
        """The lines, in the order they were added."""
        return self._state.lines

    @property
    def total(self) -> Money:
        """The sum of the lines' subtotals (zero without lines)."""
        return self._state.total

    @property
    def pending_events(self) -> tuple[OrderEvent, ...]:
        """Events recorded by commands and not yet collected."""
        return tuple(self._pending)

    def collect_events(self) -> list[OrderEvent]:
        """Hand over the events recorded since the last call, for the event store."""
        events, self._pending = self._pending, []
        return events

    # -- building -----------------------------------------------------------------------

    @classmethod
    def place(
        cls,
        *,
        order_id: OrderId,
        tenant_id: TenantId,
        customer: Customer,
        currency: str,
        now: datetime,
    ) -> Order:
        """``PlaceOrder``: open an order of ``customer`` in ``currency``; it starts placed.

        The customer must be allowed to order (an active account with the customer role:
        :attr:`Customer.refusal` is ``None``) and belong to ``tenant_id``.
        """
        require_aware(now)
        Money.zero(currency)  # validates the currency code
        if customer.tenant_id != tenant_id:
            raise UserCannotPlaceOrders(f"user {customer.id} belongs to another tenant")
        if customer.refusal is not None:
            reason = customer.refusal
            raise UserCannotPlaceOrders(f"user {customer.id} cannot place orders: {reason}")
        placed = OrderPlaced(
            tenant_id=tenant_id,
            aggregate_id=str(order_id),
            version=1,
            occurred_at=now,
            order_id=order_id,
            customer_id=customer.id,
            currency=currency,
        )
        order = cls(start(placed))
        order._pending.append(placed)
        return order

    @classmethod
    def replay(cls, events: Iterable[OrderEvent], *, start_from: Order | None = None) -> Order:
        """Rebuild an order from its whole stream, or apply a stream's tail to ``start_from``.

        ``start_from`` is typically :meth:`from_snapshot`'s result; it is changed in place.
        """
        stream = iter(events)
        order = start_from
        if order is None:
            first = next(stream, None)
            if not isinstance(first, OrderPlaced):
                raise InconsistentEventStream("an order's stream starts with OrderPlaced")
            order = cls(start(first))
        for event in stream:
            order.apply(event)
        return order

    def snapshot(self) -> OrderSnapshot:
        """The whole state as JSON types, for an event store to keep beside the stream."""
        return self._state.to_snapshot()

    @classmethod
    def from_snapshot(cls, snapshot: OrderSnapshot) -> Order:
        """Restore the order :meth:`snapshot` saved (with no pending events)."""
        return cls(OrderState.from_snapshot(snapshot))

    def apply(self, event: OrderEvent) -> None:
        """Apply the next event of the stream: the only place where the state changes."""
        self._state = evolve(self._state, event)

    # -- commands -----------------------------------------------------------------------

    def add_line(self, item: ItemSnapshot, quantity: int, *, now: datetime) -> None:
        """``AddLine``: ``quantity`` (> 0) of ``item`` at its current price; placed only."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidValue(f"a quantity must be a positive whole number, not {quantity!r}")
        require_aware(now)
        self._require_placed("add a line to")
        if not ITEM_IS_ORDERABLE.is_satisfied_by(item):
            raise ItemNotOrderable(f"item {item.item_id}: {ITEM_IS_ORDERABLE.description}")
        if item.price.currency != self.currency:
            raise CurrencyMismatch(f"order {self.id} is in {self.currency}")
        if self._state.line_for(item.item_id) is not None:
            raise DuplicateOrderLine(f"order {self.id} already has item {item.item_id}")
        _ = self.total + item.price * quantity  # AmountOutOfRange rather than an unfit total
        self._record(
            OrderLineAdded(
                **self._header(now),
                order_id=self.id,
                item_id=item.item_id,
                quantity=quantity,
                unit_price=item.price,
                item_name=item.name,
            )
        )

    def remove_line(self, item_id: ItemId, *, now: datetime) -> None:
        """``RemoveLine``: drop the line of ``item_id``; placed only."""
        require_aware(now)
        self._require_placed("remove a line from")
        if self._state.line_for(item_id) is None:
            raise OrderLineNotFound(f"order {self.id} has no line for item {item_id}")
        self._record(OrderLineRemoved(**self._header(now), order_id=self.id, item_id=item_id))

    def confirm(self, *, now: datetime) -> None:
        """``ConfirmOrder``: placed → confirmed, with at least one line."""
        require_aware(now)
        if self.status is OrderStatus.CONFIRMED:
            return
        self._require_placed("confirm")
        if not self.lines:
            raise EmptyOrder(f"order {self.id} has no lines")
        self._record(
            OrderConfirmed(
                **self._header(now),
                order_id=self.id,
                customer_id=self.customer_id,
                total=self.total,
            )
        )

    def cancel(self, *, reason: str, now: datetime) -> None:
        """``CancelOrder``: placed or confirmed → cancelled (any time before shipping)."""
        text = reason.strip()
        if not text or len(text) > _MAX_REASON:
            raise InvalidValue(f"a cancellation reason must be 1-{_MAX_REASON} characters")
        require_aware(now)
        if self.status is OrderStatus.CANCELLED:
            return
        if not ORDER_CAN_BE_CANCELLED.is_satisfied_by(self):
            raise IllegalTransition(f"cannot cancel order {self.id}: it is {self.status}")
        self._record(
            OrderCancelled(
                **self._header(now), order_id=self.id, previous_status=self.status, reason=text
            )
        )

    def ship(self, *, now: datetime) -> None:
        """``ShipOrder``: confirmed → shipped (:data:`ORDER_CAN_BE_SHIPPED`)."""
        require_aware(now)
        if self.status is OrderStatus.SHIPPED:
            return
        if not ORDER_CAN_BE_SHIPPED.is_satisfied_by(self):
            raise IllegalTransition(f"cannot ship order {self.id}: it is {self.status}")
        self._record(OrderShipped(**self._header(now), order_id=self.id))

    def _record(self, event: OrderEvent) -> None:
        self.apply(event)
        self._pending.append(event)

    def _require_placed(self, action: str) -> None:
        if self.status is not OrderStatus.PLACED:
            raise IllegalTransition(f"cannot {action} order {self.id}: it is {self.status}")

    def _header(self, now: datetime) -> EventHeader:
        return {
            "tenant_id": self.tenant_id,
            "aggregate_id": str(self.id),
            "version": self.version + 1,
            "occurred_at": now,
        }
