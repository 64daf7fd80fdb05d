"""Rule violations of the catalog context (each with a stable code)."""

from __future__ import annotations

from commerce.platform.kit.errors import DomainError, NotFound

__all__ = ["InsufficientStock", "ItemAlreadyExists", "ItemIsRetired", "ItemNotFound"]


class ItemIsRetired(DomainError):
    """The catalogue item is retired: its price is frozen and it cannot be ordered."""

    code = "item_retired"


class InsufficientStock(DomainError):
    """The stock adjustment would take the stock below zero."""

    code = "insufficient_stock"


class ItemNotFound(NotFound):
    """No catalogue item of this tenant has the id."""

    code = "item_not_found"


class ItemAlreadyExists(DomainError):
    """A catalogue item with this id already exists."""

    code = "item_already_exists"
