"""Event store: append-only ``events`` and latest-per-stream ``snapshots``, both tenant tables.

``events`` holds every event of every event-sourced aggregate; ``UNIQUE (stream_id, version)``
is the optimistic-concurrency guard (a concurrent append with the same expected version
violates it). ``position`` is the global order for projections, ``txid`` the writing
transaction, so readers can stop at the oldest in-flight transaction (as the outbox relay
does). The app role may only insert and read events; snapshots are upserted (one per stream).
See ``docs/adr/0011-event-store.md``.

Revision ID: 0003
Revises: 0002
Create Date: 2025-12-06 00:00:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
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
        "events",
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("stream_type", sa.Text(), nullable=False),
        sa.Column("stream_id", _UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("recorded_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("txid", _Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")),
        sa.PrimaryKeyConstraint("position", name="pk_events"),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_id_version"),
        sa.CheckConstraint("version >= 1", name="ck_events_version_positive"),
    )
    op.create_index("ix_events_tenant_id_position", "events", ["tenant_id", "position"])

    op.create_table(
        "snapshots",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("stream_type", sa.Text(), nullable=False),
        sa.Column("stream_id", _UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("state", postgresql.JSONB(), nullable=False),
        sa.Column("taken_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("stream_id", name="pk_snapshots"),
        sa.CheckConstraint("version >= 1", name="ck_snapshots_version_positive"),
    )

    for table in ("events", "snapshots"):
        enable_tenant_isolation(table)

    role = roles()
    # Events are append-only for the service: no UPDATE, no DELETE.
    op.execute(f"GRANT SELECT, INSERT ON events TO {role.app}")
    op.execute(f"GRANT USAGE ON SEQUENCE events_position_seq TO {role.app}")
    # One snapshot per stream, replaced by an upsert (INSERT ... ON CONFLICT DO UPDATE).
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON snapshots TO {role.app}")


def downgrade() -> None:
    """Drop the tables (their policies and grants go with them)."""
    op.drop_table("snapshots")
    op.drop_table("events")
