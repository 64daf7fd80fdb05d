"""Ports of the orders context: what its use cases need, implemented by adapters and fakes.

An order is placed by a customer and priced from the catalogue, both read in the order's
own transaction. The orders context asks for them in its own terms (:class:`Customer`,
:class:`ItemSnapshot`); the composition root answers from the identity and catalog
contexts' repositories.
"""

from __future__ import annotations

from typing import Protocol

from commerce.orders.domain.ordering import Customer, ItemSnapshot
from commerce.platform.kit.ids import ItemId, UserId
from commerce.platform.transactions.ports import UnitOfWork

__all__ = ["Customers", "OrderableItems", "OrdersUnitOfWork"]


class Customers(Protocol):
    """The users of the current tenant, as the orders context sees them."""

    async def get(self, customer_id: UserId) -> Customer | None:
        """The customer, or ``None`` when this tenant has no such user."""
        ...


class OrderableItems(Protocol):
    """The catalogue of the current tenant, as an order line sees it."""

    async def get(self, item_id: ItemId) -> ItemSnapshot | None:
        """The item as it is now, or ``None`` when this tenant has no such item."""
        ...


class OrdersUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of the orders context's use cases (the event store is the base's)."""

    @property
    def customers(self) -> Customers:
        """The customers of the message's tenant."""
        ...

    @property
    def orderable_items(self) -> OrderableItems:
        """The catalogue items of the message's tenant."""
        ...
