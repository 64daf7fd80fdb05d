"""Use cases of the catalog context: create an item, change its price, adjust its stock,
retire it. Items are state-stored; each change checks the version it loaded."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.catalog.application.ports import CatalogUnitOfWork
from commerce.catalog.domain.errors import ItemAlreadyExists, ItemNotFound
from commerce.catalog.domain.item import Item
from commerce.platform.kit.ids import ItemId, TenantId
from commerce.platform.kit.money import Money
from commerce.platform.transactions.ports import Clock
from commerce.platform.transactions.state_changes import save_changes

__all__ = [
    "AdjustStockCommand",
    "ChangePriceCommand",
    "CreateItemCommand",
    "RetireItemCommand",
    "adjust_stock",
    "change_price",
    "create_item",
    "retire_item",
]


@dataclass(frozen=True, slots=True)
class CreateItemCommand:
    """Add an item to the catalogue: the ``CreateItem`` message."""

    tenant_id: TenantId
    item_id: ItemId
    name: str
    price: Money
    stock: int = 0


@dataclass(frozen=True, slots=True)
class ChangePriceCommand:
    """Give an item a new price: the ``ChangePrice`` message."""

    item_id: ItemId
    price: Money


@dataclass(frozen=True, slots=True)
class AdjustStockCommand:
    """Add to (or take from) an item's stock: the ``AdjustStock`` message."""

    item_id: ItemId
    delta: int
    reason: str = "adjustment"


@dataclass(frozen=True, slots=True)
class RetireItemCommand:
    """Withdraw an item from sale: the ``RetireItem`` message."""

    item_id: ItemId


async def _existing_item(uow: CatalogUnitOfWork, item_id: ItemId) -> Item:
    item = await uow.items.get(item_id)
    if item is None:
        raise ItemNotFound(f"item {item_id} does not exist in this tenant")
    return item


async def create_item(command: CreateItemCommand, uow: CatalogUnitOfWork, *, clock: Clock) -> None:
    """Create the item unless the id is taken (price > 0, stock >= 0)."""
    if await uow.items.get(command.item_id) is not None:
        raise ItemAlreadyExists(f"item {command.item_id} already exists")
    item = Item.create(
        item_id=command.item_id,
        tenant_id=command.tenant_id,
        name=command.name,
        price=command.price,
        stock=command.stock,
        now=clock.now(),
    )
    await uow.items.add(item)
    uow.outbox.publish(item.collect_events())


async def change_price(
    command: ChangePriceCommand, uow: CatalogUnitOfWork, *, clock: Clock
) -> None:
    """Set a new positive price in the item's currency (the same price is a no-op)."""
    item = await _existing_item(uow, command.item_id)
    item.change_price(command.price, now=clock.now())
    await save_changes(item, uow.items, uow.outbox)


async def adjust_stock(
    command: AdjustStockCommand, uow: CatalogUnitOfWork, *, clock: Clock
) -> None:
    """Add ``delta`` to the stock, refusing to go below zero (a zero delta is a no-op)."""
    item = await _existing_item(uow, command.item_id)
    item.adjust_stock(command.delta, now=clock.now(), reason=command.reason)
    await save_changes(item, uow.items, uow.outbox)


async def retire_item(command: RetireItemCommand, uow: CatalogUnitOfWork, *, clock: Clock) -> None:
    """Retire the item (already retired: no-op); it can no longer be ordered."""
    item = await _existing_item(uow, command.item_id)
    item.retire(now=clock.now())
    await save_changes(item, uow.items, uow.outbox)
