"""Identity roles and the catalogue: ``users.roles``, directory status/roles, ``catalog_items``.

* ``users`` gains ``roles`` (the roles a user holds; every user starts as a customer) so a
  loaded :class:`~commerce.identity.domain.user.User` is whole. Profile changes and deactivation
  reuse ``display_name``, ``status`` and ``version``.
* ``user_directory`` gains ``status`` and ``roles``, kept by the user directory projection
  from ``UserDeactivated`` and ``RoleAssigned``.
* ``catalog_items``: one row per catalogue item, its state as of ``version`` (optimistic
  concurrency: an update names the version it loaded). Money is an integer count of minor
  units plus an ISO 4217 code; the price is positive and the stock never negative, checked
  by the database as well as by the aggregate. A tenant table like every other.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_TIMESTAMPTZ = sa.DateTime(timezone=True)
_ROLES = postgresql.ARRAY(sa.Text())
_CUSTOMER = sa.text("'{customer}'::text[]")


def upgrade() -> None:
    """Add the role columns, create ``catalog_items`` with tenant isolation and grants."""
    op.add_column("users", sa.Column("roles", _ROLES, nullable=False, server_default=_CUSTOMER))
    op.add_column(
        "user_directory",
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'active'")),
    )
    op.add_column(
        "user_directory", sa.Column("roles", _ROLES, nullable=False, server_default=_CUSTOMER)
    )
    op.create_table(
        "catalog_items",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("id", _UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_items"),
        sa.CheckConstraint("price_amount > 0", name="ck_catalog_items_price_positive"),
        sa.CheckConstraint("stock >= 0", name="ck_catalog_items_stock_not_negative"),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_catalog_items_currency_code"),
        sa.CheckConstraint("status IN ('active', 'retired')", name="ck_catalog_items_status"),
    )
    op.create_index("ix_catalog_items_tenant_id", "catalog_items", ["tenant_id"])
    enable_tenant_isolation("catalog_items")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON catalog_items TO {roles().app}")


def downgrade() -> None:
    """Drop the catalogue and the role columns."""
    op.drop_table("catalog_items")
    op.drop_column("user_directory", "roles")
    op.drop_column("user_directory", "status")
    op.drop_column("users", "roles")
