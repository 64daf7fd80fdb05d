"""The user directory read model: one row per user, kept by its projection.

A tenant table (row-level security like every other). The projection upserts a row only
when the event's aggregate version is newer than the row's, so redelivered or replayed
events change nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``user_directory`` with tenant isolation; the app role reads and writes it."""
    op.create_table(
        "user_directory",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("user_id", _UUID, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("registered_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_user_directory"),
    )
    enable_tenant_isolation("user_directory")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON user_directory TO {roles().app}")


def downgrade() -> None:
    """Drop the read model (a rebuild fills it again)."""
    op.drop_table("user_directory")
