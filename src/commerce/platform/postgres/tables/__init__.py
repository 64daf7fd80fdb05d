"""Table definitions (SQLAlchemy Core) for the service's Postgres schema.

Core ``Table`` objects only: no ORM mapping, so repositories build statements directly and
rows come back as plain tuples on the hot path. The schema itself is created by the Alembic
revisions in :mod:`commerce.platform.postgres.migrations`; these definitions must match them (an
integration test compares the two).

Every tenant table here (:data:`TENANT_TABLES`) carries ``tenant_id`` and is protected by
the ``tenant_isolation`` row-level security policy (see
``docs/adr/0002-tenant-isolation-and-database-roles.md``).
"""

from sqlalchemy import Table

from commerce.platform.postgres.tables.operational import (
    dead_letters,
    parked_messages,
    projection_rebuilds,
    sequence_holds,
)
from commerce.platform.postgres.tables.read_models import (
    item_availability,
    order_summaries,
    revenue_contributions,
    revenue_daily,
    user_directory,
)
from commerce.platform.postgres.tables.schema import Xid8, metadata
from commerce.platform.postgres.tables.search import search_items
from commerce.platform.postgres.tables.write_side import (
    catalog_items,
    events,
    inbox,
    invoices,
    outbox,
    snapshots,
    users,
)

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
    "search_items",
    "sequence_holds",
    "snapshots",
    "user_directory",
    "users",
]


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
    search_items,
)
