"""Tenant tables (users, outbox, inbox) with row-level security and role grants.

Revision ID: 0001
Revises:
Create Date: 2025-11-22 00:00:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class _Xid8(sa.types.UserDefinedType[int]):
    """``xid8`` (SQLAlchemy has no such type); frozen here rather than imported from orm."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


_UUID = postgresql.UUID(as_uuid=True)
_TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables, enable and force RLS, add policies and grant privileges."""
    op.create_table(
        "users",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("id", _UUID, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_id_email"),
    )
    op.create_index("ix_users_tenant_id", "users", ["tenant_id"])

    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("message_id", _UUID, nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("aggregate_type", sa.Text(), nullable=False),
        sa.Column("aggregate_id", sa.Text(), nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column(
            "headers", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("occurred_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("txid", _Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")),
        sa.Column("sent_at", _TIMESTAMPTZ, nullable=True),
        sa.Column("failed_at", _TIMESTAMPTZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_outbox"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["position"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )

    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("message_id", _UUID, nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("received_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])

    for table in ("users", "outbox", "inbox"):
        enable_tenant_isolation(table)

    role = roles()
    # The relay publishes and purges every tenant's messages; privileges below still limit it
    # to reading/marking the outbox and deleting old inbox rows.
    op.execute(f"CREATE POLICY relay_all_tenants ON outbox TO {role.relay} USING (true)")
    op.execute(f"CREATE POLICY relay_all_tenants ON inbox TO {role.relay} USING (true)")

    op.execute(f"GRANT USAGE ON SCHEMA public TO {role.app}, {role.relay}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON users TO {role.app}")
    # SQLAlchemy adds RETURNING position to single-row inserts (the identity primary key);
    # that needs SELECT on the column, and nothing more of the outbox is readable by the app.
    op.execute(f"GRANT INSERT, SELECT (position) ON outbox TO {role.app}")
    op.execute(f"GRANT SELECT, INSERT ON inbox TO {role.app}")
    op.execute(f"GRANT USAGE ON SEQUENCE outbox_position_seq TO {role.app}")
    op.execute(f"GRANT SELECT, UPDATE, DELETE ON outbox TO {role.relay}")
    # DELETE ... WHERE received_at < ... needs SELECT on the columns it reads.
    op.execute(f"GRANT SELECT (received_at), DELETE ON inbox TO {role.relay}")


def downgrade() -> None:
    """Drop the tables (their policies and grants go with them)."""
    op.drop_table("inbox")
    op.drop_table("outbox")
    op.drop_table("users")
