"""Domain events of the catalog context (the :class:`~commerce.catalog.domain.item.Item`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import ItemId
from commerce.platform.kit.money import Money

__all__ = ["ItemCreated", "ItemPriceChanged", "ItemRetired", "StockAdjusted"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemCreated(DomainEvent):
    """An item was added to the catalogue, active, with a price and an initial stock."""

    event_type: ClassVar[str] = "commerce.catalog.ItemCreated.v1"

    item_id: ItemId
    name: str
    price: Money
    stock: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemPriceChanged(DomainEvent):
    """An active item got a new price (same currency); orders placed earlier keep theirs."""

    event_type: ClassVar[str] = "commerce.catalog.ItemPriceChanged.v1"

    item_id: ItemId
    old_price: Money
    new_price: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class StockAdjusted(DomainEvent):
    """The stock changed by ``delta`` (negative when taken) to ``stock`` (never negative)."""

    event_type: ClassVar[str] = "commerce.catalog.StockAdjusted.v1"

    item_id: ItemId
    delta: int
    stock: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRetired(DomainEvent):
    """The item was withdrawn: its price is frozen and it can no longer be ordered."""

    event_type: ClassVar[str] = "commerce.catalog.ItemRetired.v1"

    item_id: ItemId
