"""Billing: ``invoices``, one row per invoice, its state as of ``version``.

Invoices are state-stored (not event sourced): an invoice has three states and at most two
events, and its history is the outbox's (ADR 0005). The id is derived from the order id
(``InvoiceId.for_order``), and ``order_id`` is unique: one invoice per order, whatever
redelivery does. Updates name the version they loaded (optimistic concurrency). A tenant
table like every other.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:00:01+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``invoices`` with tenant isolation; the app role reads, inserts and updates."""
    op.create_table(
        "invoices",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("id", _UUID, nullable=False),
        sa.Column("order_id", _UUID, nullable=False),
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("payment_reference", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issued_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        sa.UniqueConstraint("order_id", name="uq_invoices_order_id"),
        sa.CheckConstraint("amount > 0", name="ck_invoices_amount_positive"),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_invoices_currency_code"),
        sa.CheckConstraint("status IN ('issued', 'paid', 'voided')", name="ck_invoices_status"),
    )
    op.create_index("ix_invoices_tenant_id", "invoices", ["tenant_id"])
    enable_tenant_isolation("invoices")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON invoices TO {roles().app}")


def downgrade() -> None:
    """Drop the invoices."""
    op.drop_table("invoices")
