"""Read models of the projections, and what ``commerce projections rebuild`` needs.

* ``order_summaries``: one row per order (its lines as JSON), listed per customer.
* ``item_availability``: one row per catalogue item: status, stock, price.
* ``revenue_contributions``: what each order adds to its confirmation day's revenue (its
  confirmed total, or 0 once cancelled), and ``revenue_daily``: the sums per tenant, day
  and currency, kept in step with the contributions in the same transaction.
* ``projection_rebuilds``: the operators' record of rebuilds (an operations table, no
  tenant, no grant to the service).
* ``maintenance_read`` policies on the rebuild sources (``events``, ``users``,
  ``catalog_items``): the owner sees every tenant's rows, but only in a transaction that
  sets ``app.maintenance`` to ``rebuild``. The service role gains nothing.

Every read model is a tenant table (row-level security) that the app role reads and
writes; rows carry the aggregate ``version`` they reflect, so redelivered and replayed
events change nothing (see ``docs/adr/0013-projections-and-read-side.md``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_TIMESTAMPTZ = sa.DateTime(timezone=True)
_READ_MODELS = ("order_summaries", "item_availability", "revenue_contributions", "revenue_daily")
_SOURCES = ("events", "users", "catalog_items")
_MAINTENANCE = "current_setting('app.maintenance', true) = 'rebuild'"


def upgrade() -> None:
    """Create the read models with tenant isolation and grants, and the rebuild policies."""
    op.create_table(
        "order_summaries",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("order_id", _UUID, nullable=False),
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("lines", postgresql.JSONB(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name="pk_order_summaries"),
    )
    op.create_index(
        "ix_order_summaries_tenant_id_customer_id_placed_at_order_id",
        "order_summaries",
        ["tenant_id", "customer_id", "placed_at", "order_id"],
    )
    op.create_table(
        "item_availability",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("item_id", _UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "item_id", name="pk_item_availability"),
    )
    op.create_table(
        "revenue_contributions",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("order_id", _UUID, nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name="pk_revenue_contributions"),
    )
    op.create_table(
        "revenue_daily",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", "currency", name="pk_revenue_daily"),
    )
    app = roles().app
    for table in _READ_MODELS:
        enable_tenant_isolation(table)
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {app}")
    op.create_table(
        "projection_rebuilds",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("projection", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("started_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("finished_at", _TIMESTAMPTZ, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_projection_rebuilds"),
        sa.CheckConstraint(
            "status IN ('running', 'swapped', 'failed')", name="ck_projection_rebuilds_status"
        ),
    )
    for table in _SOURCES:
        op.execute(
            f"CREATE POLICY maintenance_read ON {table} FOR SELECT TO CURRENT_USER"
            f" USING ({_MAINTENANCE})"
        )


def downgrade() -> None:
    """Drop the read models (a rebuild fills them again) and the rebuild policies."""
    for table in _SOURCES:
        op.execute(f"DROP POLICY IF EXISTS maintenance_read ON {table}")
    op.drop_table("projection_rebuilds")
    for table in reversed(_READ_MODELS):
        op.drop_table(table)
