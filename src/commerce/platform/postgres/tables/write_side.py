"""The write side's tables: aggregates' rows, the event store, the inbox and the outbox."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from commerce.platform.postgres.tables.schema import DEFAULT_ROLES, SERVER_NOW, Xid8, metadata

__all__ = ["catalog_items", "events", "inbox", "invoices", "outbox", "snapshots", "users"]

users = Table(
    "users",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("id", UUID(as_uuid=True), nullable=False),
    Column("email", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("roles", ARRAY(Text), nullable=False, server_default=DEFAULT_ROLES),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("tenant_id", "email"),
    Index(None, "tenant_id"),
)


outbox = Table(
    "outbox",
    metadata,
    Column("position", BigInteger, Identity(always=True), nullable=False),
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("aggregate_type", Text, nullable=False),
    Column("aggregate_id", Text, nullable=False),
    Column("aggregate_version", Integer, nullable=True),
    Column("event_type", Text, nullable=False),
    Column("stream", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    Column("txid", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    # The ready-to-send body (migration 0011); NULL in rows written before it.
    Column("body", LargeBinary, nullable=True),
    PrimaryKeyConstraint("position"),
    UniqueConstraint("message_id"),
)
Index(
    "ix_outbox_unsent",
    outbox.c.position,
    postgresql_where=outbox.c.sent_at.is_(None) & outbox.c.failed_at.is_(None),
)


inbox = Table(
    "inbox",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    PrimaryKeyConstraint("consumer", "message_id"),
    Index(None, "received_at"),
)


events = Table(
    "events",
    metadata,
    Column("position", BigInteger, Identity(always=True), nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("stream_type", Text, nullable=False),
    Column("stream_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    Column("txid", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    PrimaryKeyConstraint("position"),
    UniqueConstraint("stream_id", "version"),
    CheckConstraint("version >= 1", name="version_positive"),
    Index(None, "tenant_id", "position"),
)
"""The event store: append-only for the app role (see ``docs/adr/0011-event-store.md``)."""


snapshots = Table(
    "snapshots",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("stream_type", Text, nullable=False),
    Column("stream_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("state", JSONB, nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    PrimaryKeyConstraint("stream_id"),
    CheckConstraint("version >= 1", name="version_positive"),
)
"""The newest snapshot of each event-sourced stream."""


catalog_items = Table(
    "catalog_items",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("price_amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("id"),
    CheckConstraint("price_amount > 0", name="price_positive"),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
    CheckConstraint("status IN ('active', 'retired')", name="status"),
    Index(None, "tenant_id"),
)
"""Catalogue items, state-stored with a version for optimistic concurrency (revision 0006)."""


invoices = Table(
    "invoices",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("id", UUID(as_uuid=True), nullable=False),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("customer_id", UUID(as_uuid=True), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("payment_reference", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("order_id"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
    CheckConstraint("status IN ('issued', 'paid', 'voided')", name="status"),
    Index(None, "tenant_id"),
)
"""Invoices, state-stored with a version for optimistic concurrency (revision 0007)."""
