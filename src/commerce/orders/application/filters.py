"""Specifications over order summaries: how ``ListCustomerOrders`` selects a customer's
orders (by state, by when they were placed).

A filter is a :class:`~commerce.platform.kit.specification.Specification` of
:class:`~commerce.platform.read_side.ports.OrderSummary`, composed with ``&``, ``|`` and
``~`` like the domain's rules. :meth:`~Specification.is_satisfied_by` states what it
means for one summary; the SQL reader translates the same tree into a ``WHERE`` clause
(``adapters/specification_sql.py``), so the database does the filtering and pages stay
full. Each leaf below has a translation; a leaf without one is refused, not ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from commerce.orders.application.read_models import OrderSummary
from commerce.orders.domain.events import OrderStatus
from commerce.platform.kit.ids import require_aware
from commerce.platform.kit.specification import Always, Specification

__all__ = ["OrderStatusIs", "PlacedSince", "customer_orders_filter"]


class OrderStatusIs(Specification[OrderSummary]):
    """The order is in one of ``statuses``."""

    __slots__ = ("statuses",)

    def __init__(self, statuses: Iterable[OrderStatus]) -> None:
        self.statuses = frozenset(statuses)

    def is_satisfied_by(self, candidate: OrderSummary) -> bool:
        """``candidate.status in statuses``."""
        return candidate.status in self.statuses

    @property
    def description(self) -> str:
        """``order is <status> or ...`` (``order is in no state`` for none)."""
        return "order is " + (" or ".join(sorted(self.statuses)) or "in no state")


class PlacedSince(Specification[OrderSummary]):
    """The order was placed at or after ``moment``; ``~PlacedSince(t)``: placed before ``t``."""

    __slots__ = ("moment",)

    def __init__(self, moment: datetime) -> None:
        self.moment = require_aware(moment)

    def is_satisfied_by(self, candidate: OrderSummary) -> bool:
        """``candidate.placed_at >= moment``."""
        return candidate.placed_at >= self.moment

    @property
    def description(self) -> str:
        """``order placed since <moment>``."""
        return f"order placed since {self.moment.isoformat()}"


def customer_orders_filter(
    *,
    statuses: Iterable[OrderStatus] | None = None,
    placed_since: datetime | None = None,
    placed_before: datetime | None = None,
) -> Specification[OrderSummary]:
    """The orders in one of ``statuses`` (any state when ``None``), placed in
    ``[placed_since, placed_before)`` (open-ended where ``None``)."""
    selected: Specification[OrderSummary] = Always()
    if statuses is not None:
        selected = selected & OrderStatusIs(statuses)
    if placed_since is not None:
        selected = selected & PlacedSince(placed_since)
    if placed_before is not None:
        selected = selected & ~PlacedSince(placed_before)
    return selected
