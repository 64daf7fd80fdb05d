"""The item index's settings and mappings, versioned in code.

A change to :data:`ITEM_MAPPINGS` or :data:`ITEM_SETTINGS` bumps :data:`ITEM_MAPPING_VERSION`
and is rolled out by ``commerce search reindex items``: a new concrete index is built and the
alias swapped (docs/adr/0028-search.md). Readers and writers only ever name the alias.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ITEM_MAPPINGS",
    "ITEM_MAPPING_VERSION",
    "ITEM_SETTINGS",
    "item_alias",
    "item_index_name",
]

ITEM_MAPPING_VERSION = 1
"""Version of the item mappings and analyzers below."""

ITEM_SETTINGS: dict[str, Any] = {
    "analysis": {
        "analyzer": {
            "item_name": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]}
        }
    }
}
"""Analyzers: item names are lower-cased words, no stemming (any language)."""

ITEM_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "tenant_id": {"type": "keyword"},
        "item_id": {"type": "keyword"},
        "version": {"type": "long"},
        "deleted": {"type": "boolean"},
        "name": {"type": "text", "analyzer": "item_name"},
        "name_sort": {"type": "keyword"},
        "status": {"type": "keyword"},
        "stock": {"type": "integer"},
        "price": {"type": "long"},
        "currency": {"type": "keyword"},
        "updated_at": {"type": "date"},
    },
}
"""Fields of an item document; ``tenant_id`` is on every document and in every query."""


def item_alias(prefix: str) -> str:
    """The alias every reader and writer uses."""
    return f"{prefix}items"


def item_index_name(prefix: str, suffix: str) -> str:
    """A concrete index behind the alias, for this mapping version."""
    return f"{prefix}items-v{ITEM_MAPPING_VERSION}-{suffix}"
