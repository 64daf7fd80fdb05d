"""What the orders context is told of users and items: its ports, answered from the
identity and catalog contexts' repositories in the same transaction.

This translation is the only place that knows both sides: the orders domain sees a
:class:`~commerce.orders.domain.ordering.Customer` (with the identity rule it fails, if
any) and an :class:`~commerce.orders.domain.ordering.ItemSnapshot`, never a ``User`` or an
``Item``.
"""

from __future__ import annotations

from commerce.catalog.application.ports import ItemRepository
from commerce.identity.application.ports import UserRepository
from commerce.identity.domain.user import USER_CAN_PLACE_ORDERS
from commerce.orders.domain.ordering import Customer, ItemSnapshot
from commerce.platform.kit.ids import ItemId, UserId

__all__ = ["CustomersFromUsers", "OrderableItemsFromCatalog"]


class CustomersFromUsers:
    """:class:`~commerce.orders.application.ports.Customers` over the user repository."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def get(self, customer_id: UserId) -> Customer | None:
        """The user as a customer, with the ordering rule it fails (if any)."""
        user = await self._users.get(customer_id)
        if user is None:
            return None
        refusal = None if user.can_place_orders else USER_CAN_PLACE_ORDERS.description
        return Customer(id=user.id, tenant_id=user.tenant_id, refusal=refusal)


class OrderableItemsFromCatalog:
    """:class:`~commerce.orders.application.ports.OrderableItems` over the item repository."""

    def __init__(self, items: ItemRepository) -> None:
        self._items = items

    async def get(self, item_id: ItemId) -> ItemSnapshot | None:
        """The item as an order line sees it now."""
        item = await self._items.get(item_id)
        if item is None:
            return None
        return ItemSnapshot(
            item_id=item.id, active=item.is_active, price=item.price, name=item.name
        )
