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
    Date,
    DateTime,
    ForeignKeyConstraint,
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
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, JSONB, UUID
from sqlalchemy.types import UserDefinedType

__all__ = [
    "TENANT_TABLES",
    "Xid8",
    "catalog_items",
    "dead_letters",
    "events",
    "inbox",
    "invoices",
    "item_availability",
    "metadata",
    "order_summaries",
    "outbox",
    "parked_messages",
    "projection_rebuilds",
    "revenue_contributions",
    "revenue_daily",
    "sequence_holds",
    "snapshots",
    "user_directory",
    "users",
]


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
_CUSTOMER = text("'{customer}'::text[]")

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
    Column("roles", ARRAY(Text), nullable=False, server_default=_CUSTOMER),
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
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
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
    Column("taken_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    PrimaryKeyConstraint("stream_id"),
    CheckConstraint("version >= 1", name="version_positive"),
)
"""The newest snapshot of each event-sourced stream."""

user_directory = Table(
    "user_directory",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("email", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("roles", ARRAY(Text), nullable=False, server_default=_CUSTOMER),
    PrimaryKeyConstraint("tenant_id", "user_id"),
)
"""Read model: the users of each tenant, kept by the user directory projection."""

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

order_summaries = Table(
    "order_summaries",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("customer_id", UUID(as_uuid=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "order_id"),
    Index(None, "tenant_id", "customer_id", "placed_at", "order_id"),
)
"""Read model: each order's summary, listed per customer (revision 0008)."""

item_availability = Table(
    "item_availability",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("item_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "item_id"),
)
"""Read model: whether each catalogue item can be ordered (revision 0008)."""

revenue_contributions = Table(
    "revenue_contributions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("day", Date, nullable=True),
    Column("currency", Text, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "order_id"),
)
"""Read model: what each order adds to its confirmation day's revenue (revision 0008)."""

revenue_daily = Table(
    "revenue_daily",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("day", Date, nullable=False),
    Column("currency", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("orders", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day", "currency"),
)
"""Read model: revenue per tenant, day (UTC) and currency (revision 0008)."""

#: Tables protected by the ``tenant_isolation`` row-level security policy.
TENANT_TABLES: tuple[Table, ...] = (
    users,
    outbox,
    inbox,
    events,
    snapshots,
    user_directory,
    catalog_items,
    invoices,
    order_summaries,
    item_availability,
    revenue_contributions,
    revenue_daily,
)

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

sequence_holds = Table(
    "sequence_holds",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("aggregate_key", Text, nullable=False),
    Column("head_message_id", Text, nullable=True),
    Column("state", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
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
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
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
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("detail", Text, nullable=True),
    PrimaryKeyConstraint("id"),
    CheckConstraint("status IN ('running', 'swapped', 'failed')", name="status"),
)
"""Projection rebuilds run by operators (operations table, see
``docs/adr/0013-projections-and-read-side.md``)."""
