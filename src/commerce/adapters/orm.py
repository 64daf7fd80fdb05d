"""Table definitions (SQLAlchemy Core) for the service's Postgres schema.

Core ``Table`` objects only: no ORM mapping, so repositories build statements directly and
rows come back as plain tuples on the hot path. The schema itself is created by the Alembic
revisions in :mod:`commerce.adapters.migrations`; these definitions must match them (an
integration test compares the two).

Every tenant table here (:data:`TENANT_TABLES`) carries ``tenant_id`` and is protected by
the ``tenant_isolation`` row-level security policy (see
``docs/adr/0002-tenant-isolation-and-database-roles.md``).
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID
from sqlalchemy.types import UserDefinedType

__all__ = ["TENANT_TABLES", "Xid8", "dead_letters", "inbox", "metadata", "outbox", "users"]


class Xid8(UserDefinedType[int]):
    """Postgres ``xid8``: a 64-bit, wraparound-free transaction id (``pg_current_xact_id()``).

    The outbox relay compares it with ``pg_snapshot_xmin(pg_current_snapshot())`` so that it
    never publishes past a row whose transaction is still open.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """Render the column type in DDL."""
        return "xid8"


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_NOW = text("now()")

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
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("txid", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
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
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    PrimaryKeyConstraint("consumer", "message_id"),
    Index(None, "received_at"),
)

#: Tables protected by the ``tenant_isolation`` row-level security policy.
TENANT_TABLES: tuple[Table, ...] = (users, outbox, inbox)

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
    Column("archived_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
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
