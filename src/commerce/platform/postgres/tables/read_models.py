"""The read models' tables, kept by the projections (docs/adr/0013)."""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from commerce.platform.postgres.tables.schema import DEFAULT_ROLES, SERVER_NOW, metadata

__all__ = [
    "item_availability",
    "order_summaries",
    "revenue_contributions",
    "revenue_daily",
    "user_directory",
]

user_directory = Table(
    "user_directory",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("email", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=SERVER_NOW),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("roles", ARRAY(Text), nullable=False, server_default=DEFAULT_ROLES),
    PrimaryKeyConstraint("tenant_id", "user_id"),
)
"""Read model: the users of each tenant, kept by the user directory projection."""


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
