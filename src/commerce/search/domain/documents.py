"""What the item index holds: whole documents and tombstones, each at an aggregate version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

__all__ = ["Indexed", "ItemDocument", "ItemTombstone"]


@dataclass(frozen=True, slots=True)
class ItemDocument:
    """A catalogue item as searched: the whole document, as of ``version``.

    The fields are those of the catalogue's item-availability read model, so the index and
    the read model can be compared field by field (the search-indexing round trip).
    """

    item_id: UUID
    name: str
    status: str
    stock: int
    price: int
    currency: str
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class ItemTombstone:
    """A withdrawn item: kept (never collected) so a late, older event cannot bring it back."""

    item_id: UUID
    version: int


type Indexed = ItemDocument | ItemTombstone
"""What the index holds for one item."""
