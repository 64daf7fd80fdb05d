"""Dead-letter store: every consumer's DLQ archived for operators (list, replay, edit, purge).

An operations table, deliberately without row-level security: what lands here is often a
message without a valid tenant (see ``docs/adr/0006-dead-letter-store-and-tooling.md``).
The app role may only insert (the archiver); operators work as the owner.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-29 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import roles

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``dead_letters`` with its filter indexes; the app role may insert only."""
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("tenant_id", _UUID, nullable=True),
        sa.Column("aggregate_key", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("exception_type", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("stack", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("last_failed_at", _TIMESTAMPTZ, nullable=False),
        sa.Column(
            "headers", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("body", postgresql.BYTEA(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'parked'")),
        sa.Column("archived_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("resolved_at", _TIMESTAMPTZ, nullable=True),
        sa.Column("replayed_as", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.UniqueConstraint(
            "consumer",
            "message_id",
            "last_failed_at",
            name="uq_dead_letters_consumer_message_id_last_failed_at",
        ),
        sa.CheckConstraint(
            "status IN ('parked', 'replayed', 'purged')", name="ck_dead_letters_status"
        ),
    )
    op.create_index(
        "ix_dead_letters_status_last_failed_at", "dead_letters", ["status", "last_failed_at"]
    )
    op.create_index(
        "ix_dead_letters_consumer_last_failed_at", "dead_letters", ["consumer", "last_failed_at"]
    )
    op.create_index("ix_dead_letters_exception_type", "dead_letters", ["exception_type"])
    op.create_index("ix_dead_letters_reason", "dead_letters", ["reason"])

    role = roles()
    # The archiver only adds rows (ON CONFLICT DO NOTHING needs no SELECT); listing,
    # replaying and purging are operators' work, done as the owner.
    op.execute(f"GRANT INSERT ON dead_letters TO {role.app}")
    op.execute(f"GRANT USAGE ON SEQUENCE dead_letters_id_seq TO {role.app}")


def downgrade() -> None:
    """Drop the store (archived dead letters are lost; the broker's DLQs are not touched)."""
    op.drop_table("dead_letters")
