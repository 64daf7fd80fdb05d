"""Ports of the catalog context: what its use cases need, implemented by adapters and fakes."""

from __future__ import annotations

from typing import Protocol

from commerce.catalog.domain.item import Item
from commerce.platform.kit.ids import ItemId
from commerce.platform.transactions.ports import UnitOfWork

__all__ = ["CatalogUnitOfWork", "ItemRepository"]


class ItemRepository(Protocol):
    """Catalogue items of the current tenant (state-stored, versioned)."""

    async def get(self, item_id: ItemId) -> Item | None:
        """The item, or ``None`` when this tenant has no such item."""
        ...

    async def add(self, item: Item) -> None:
        """Insert a new item; ``ItemAlreadyExists`` if the id is taken."""
        ...

    async def update(self, item: Item, *, expected_version: int) -> None:
        """Write the changed state of ``item``, loaded at ``expected_version``.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the
        stored row moved on; the whole command is retried.
        """
        ...


class CatalogUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of the catalog context's use cases."""

    @property
    def items(self) -> ItemRepository:
        """Catalogue items of the message's tenant."""
        ...
