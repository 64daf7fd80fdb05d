"""The Postgres full-text search index of catalogue items (revision 0013, docs/adr/0028)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID

from commerce.platform.postgres.tables.schema import metadata

__all__ = ["SEARCH_ITEMS_DOCUMENT", "search_items"]

SEARCH_ITEMS_DOCUMENT = "to_tsvector('simple'::regconfig, coalesce(name, ''))"
"""The analyzer of the item index, version 1: the ``simple`` configuration (lower-cased
words, no stemming, no stop words: item names are in any language). A change here is a new
migration and a reindex (docs/adr/0028-search.md)."""

search_items = Table(
    "search_items",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("item_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("name", Text, nullable=True),
    Column("status", Text, nullable=True),
    Column("stock", Integer, nullable=True),
    Column("price", BigInteger, nullable=True),
    Column("currency", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    Column("document", TSVECTOR, Computed(SEARCH_ITEMS_DOCUMENT, persisted=True)),
    PrimaryKeyConstraint("tenant_id", "item_id"),
    Index("ix_search_items_document", "document", postgresql_using="gin"),
)
"""Search index: one row per item, a whole document or a tombstone (``deleted``), at the
item's version (revision 0013)."""
