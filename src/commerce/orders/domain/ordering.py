"""What an order knows of the world outside it: the customer placing it, the items put on it."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.platform.kit.ids import ItemId, TenantId, UserId
from commerce.platform.kit.money import Money
from commerce.platform.kit.specification import Specification

__all__ = [
    "ITEM_IS_ORDERABLE",
    "Customer",
    "ItemHasPositivePrice",
    "ItemIsActive",
    "ItemSnapshot",
]


@dataclass(frozen=True, slots=True)
class Customer:
    """What an order needs to know about the user placing it."""

    id: UserId
    tenant_id: TenantId
    refusal: str | None
    """Why the user may not place orders (the identity context's rule it fails), or
    ``None`` when they may."""


@dataclass(frozen=True, slots=True)
class ItemSnapshot:
    """What an order needs to know about an item when a line is added."""

    item_id: ItemId
    active: bool
    price: Money
    name: str
    """The item's name when the snapshot was taken (an order line keeps it, like the price)."""


class ItemIsActive(Specification[ItemSnapshot]):
    """The item is not retired."""

    __slots__ = ()

    def is_satisfied_by(self, candidate: ItemSnapshot) -> bool:
        """``candidate.active``."""
        return candidate.active

    @property
    def description(self) -> str:
        """``item is active``."""
        return "item is active"


class ItemHasPositivePrice(Specification[ItemSnapshot]):
    """The item's price is greater than zero (snapshots may come from a read model)."""

    __slots__ = ()

    def is_satisfied_by(self, candidate: ItemSnapshot) -> bool:
        """``candidate.price > 0``."""
        return candidate.price.is_positive

    @property
    def description(self) -> str:
        """``item has a positive price``."""
        return "item has a positive price"


ITEM_IS_ORDERABLE: Specification[ItemSnapshot] = ItemIsActive() & ItemHasPositivePrice()
"""An item can go on an order line: active and with a positive price."""
