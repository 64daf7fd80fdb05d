"""A search request and its answer, independent of the backend that answers it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from commerce.search.domain.documents import ItemDocument

__all__ = ["ItemHit", "ItemSearch", "ItemSearchPage", "SortOrder"]


class SortOrder(StrEnum):
    """How hits are ordered; ties are broken by item id so pages are stable."""

    RELEVANCE = "relevance"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class ItemSearch:
    """A query over the items of one tenant (the tenant is passed beside it, never inside).

    ``text`` empty matches every item; ``cursor`` is the opaque ``next_cursor`` of the
    previous page.
    """

    text: str = ""
    status: str | None = None
    currency: str | None = None
    sort: SortOrder = SortOrder.RELEVANCE
    limit: int = 20
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 100:
            raise ValueError(f"limit must be within 1..100, not {self.limit}")


@dataclass(frozen=True, slots=True)
class ItemHit:
    """One matching item, with its name highlighted (matches wrapped in ``<em>``)."""

    document: ItemDocument
    highlight: str


@dataclass(frozen=True, slots=True)
class ItemSearchPage:
    """One page of hits, the total, the facets (counts per status and per currency), and the
    cursor of the next page (``None`` on the last)."""

    hits: list[ItemHit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    next_cursor: str | None = None
