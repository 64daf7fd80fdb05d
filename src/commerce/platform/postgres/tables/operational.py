"""Tables of the machinery around the handlers: dead letters, holds, parked messages, rebuilds."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

from commerce.platform.postgres.tables.schema import SERVER_NOW, metadata

__all__ = ["dead_letters", "parked_messages", "projection_rebuilds", "sequence_holds"]

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger, Identity(always=True), nullable=False),
    Column("consumer", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=True),
    Column("aggregate_key", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("exception_type", Text, nullable=False),
    Column("error_message", Text, nullable=False),
    Column("stack", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("body", BYTEA, nullable=False),
    Column("content_type", Text, nullable=True),
    Column("status", Text, nullable=False, server_default=text("'parked'")),
    Column("archived_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("replayed_as", Text, nullable=True),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("consumer", "message_id", "last_failed_at"),
    CheckConstraint("status IN ('parked', 'replayed', 'purged')", name="status"),
    Index(None, "status", "last_failed_at"),
    Index(None, "consumer", "last_failed_at"),
    Index(None, "exception_type"),
    Index(None, "reason"),
)
"""Every consumer's archived dead letters (operations table: no tenant, no row-level
security, see ``docs/adr/0006-dead-letter-store-and-tooling.md``)."""


sequence_holds = Table(
    "sequence_holds",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("aggregate_key", Text, nullable=False),
    Column("head_message_id", Text, nullable=True),
    Column("state", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    PrimaryKeyConstraint("consumer", "aggregate_key"),
    CheckConstraint("state IN ('retrying', 'dead-lettered', 'releasing')", name="state"),
    Index(None, "state"),
)
"""Aggregates an ordered consumer holds behind a failed event (operations table, see
``docs/adr/0012-ordered-consumption.md``)."""


parked_messages = Table(
    "parked_messages",
    metadata,
    Column("id", BigInteger, Identity(always=True), nullable=False),
    Column("consumer", Text, nullable=False),
    Column("aggregate_key", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("body", BYTEA, nullable=False),
    Column("content_type", Text, nullable=True),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    Column("released_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("consumer", "message_id"),
    ForeignKeyConstraint(
        ["consumer", "aggregate_key"],
        ["sequence_holds.consumer", "sequence_holds.aggregate_key"],
        ondelete="CASCADE",
    ),
    Index(None, "consumer", "aggregate_key", "id"),
)
"""Events parked behind a hold, in arrival order (``id``)."""


projection_rebuilds = Table(
    "projection_rebuilds",
    metadata,
    Column("id", BigInteger, Identity(always=True), nullable=False),
    Column("projection", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("events", BigInteger, nullable=False, server_default=text("0")),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("detail", Text, nullable=True),
    PrimaryKeyConstraint("id"),
    CheckConstraint("status IN ('running', 'swapped', 'failed')", name="status"),
)
"""Projection rebuilds run by operators (operations table, see
``docs/adr/0013-projections-and-read-side.md``)."""
