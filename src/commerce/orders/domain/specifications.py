"""Specifications about orders: the rules the aggregate enforces.

They are written against :class:`OrderView`, which both the
:class:`~commerce.orders.domain.order.Order` aggregate and its
:class:`~commerce.orders.domain.state.OrderState` satisfy. Queries over order summaries
select with specifications too (``application/order_filters.py``).
"""

from __future__ import annotations

from typing import Protocol

from commerce.orders.domain.events import ORDER_TRANSITIONS, OrderCancelled, OrderStatus
from commerce.orders.domain.state import OrderLine
from commerce.platform.kit.specification import Specification

__all__ = [
    "ORDER_CAN_BE_CANCELLED",
    "ORDER_CAN_BE_SHIPPED",
    "OrderHasLines",
    "OrderInStatus",
    "OrderView",
]


class OrderView(Protocol):
    """What the order specifications look at."""

    @property
    def status(self) -> OrderStatus:
        """The order's current state."""
        ...

    @property
    def lines(self) -> tuple[OrderLine, ...]:
        """The order's lines."""
        ...


class OrderInStatus(Specification[OrderView]):
    """The order is in one of ``statuses``."""

    __slots__ = ("statuses",)

    def __init__(self, *statuses: OrderStatus) -> None:
        self.statuses = frozenset(statuses)

    def is_satisfied_by(self, candidate: OrderView) -> bool:
        """``candidate.status in statuses``."""
        return candidate.status in self.statuses

    @property
    def description(self) -> str:
        """``order is <status> or ...``."""
        return "order is " + " or ".join(sorted(self.statuses))


class OrderHasLines(Specification[OrderView]):
    """The order has at least one line."""

    __slots__ = ()

    def is_satisfied_by(self, candidate: OrderView) -> bool:
        """``len(candidate.lines) > 0``."""
        return bool(candidate.lines)

    @property
    def description(self) -> str:
        """``order has lines``."""
        return "order has lines"


ORDER_CAN_BE_SHIPPED: Specification[OrderView] = (
    OrderInStatus(OrderStatus.CONFIRMED) & OrderHasLines()
)
"""Confirmed (a confirmed order always has lines; the check guards restored state)."""

ORDER_CAN_BE_CANCELLED: Specification[OrderView] = OrderInStatus(
    *(status for status, moves in ORDER_TRANSITIONS.items() if OrderCancelled in moves)
)
"""Not shipped and not cancelled yet: placed or confirmed."""
