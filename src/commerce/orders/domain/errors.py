"""Rule violations of the orders context (each with a stable code)."""

from __future__ import annotations

from commerce.platform.kit.errors import DomainError, NotFound

__all__ = [
    "CustomerNotFound",
    "DuplicateOrderLine",
    "EmptyOrder",
    "ItemNotOrderable",
    "OrderAlreadyExists",
    "OrderLineNotFound",
    "OrderNotFound",
    "OrderedItemNotFound",
    "UserCannotPlaceOrders",
]


class UserCannotPlaceOrders(DomainError):
    """The customer may not place orders (deactivated, or without the customer role)."""

    code = "user_cannot_place_orders"


class ItemNotOrderable(DomainError):
    """The item cannot be put on an order (retired, or without a positive price)."""

    code = "item_not_orderable"


class EmptyOrder(DomainError):
    """An order needs at least one line to be confirmed."""

    code = "empty_order"


class DuplicateOrderLine(DomainError):
    """The order already has a line for this item; remove it first to change it."""

    code = "duplicate_order_line"


class OrderLineNotFound(DomainError):
    """The order has no line for this item."""

    code = "order_line_not_found"


class OrderNotFound(NotFound):
    """No order of this tenant has the id (a draft order does not exist yet)."""

    code = "order_not_found"


class OrderAlreadyExists(DomainError):
    """An order with this id was already placed."""

    code = "order_already_exists"


class CustomerNotFound(NotFound):
    """No user of this tenant has the id the order names as its customer."""

    code = "user_not_found"


class OrderedItemNotFound(NotFound):
    """No catalogue item of this tenant has the id a line names."""

    code = "item_not_found"
