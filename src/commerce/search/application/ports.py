"""The search port: one tenant's item index, written with external versions, read by queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from commerce.search.domain.documents import Indexed
from commerce.search.domain.queries import ItemSearch, ItemSearchPage

__all__ = ["ItemIndex"]


class ItemIndex(Protocol):
    """The items of every tenant, each tenant seeing only its own.

    Writes are whole documents or tombstones carrying the aggregate version: a write whose
    version is not above the one held is already applied and changes nothing (it is not an
    error). Implementations enforce the tenant themselves; callers cannot widen it.
    """

    async def get(self, tenant: UUID, item_id: UUID) -> Indexed | None:
        """What the index holds for the item, or ``None``."""
        ...

    async def put(self, tenant: UUID, entries: Sequence[Indexed]) -> int:
        """Write ``entries`` (newer versions win); return how many were applied."""
        ...

    async def search(self, tenant: UUID, query: ItemSearch) -> ItemSearchPage:
        """The tenant's live (not tombstoned) items matching ``query``."""
        ...

    async def suggest(self, tenant: UUID, prefix: str, *, limit: int = 10) -> list[str]:
        """Names of the tenant's live items with a word starting with ``prefix``."""
        ...
