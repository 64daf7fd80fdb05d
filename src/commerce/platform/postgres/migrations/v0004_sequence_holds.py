"""Sequenced dead letters: holds on (consumer, aggregate) and the messages parked behind them.

Operations tables without row-level security, like ``dead_letters``: a hold belongs to a
consumer, not to a tenant, and the gate checks it before the message's tenant is trusted
(see ``docs/adr/0012-ordered-consumption.md``). The app role (the worker) creates, reads
and clears holds and parked messages; operators work as the owner.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import roles

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``sequence_holds`` and ``parked_messages``; grant the app role their use."""
    op.create_table(
        "sequence_holds",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("aggregate_key", sa.Text(), nullable=False),
        sa.Column("head_message_id", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("consumer", "aggregate_key", name="pk_sequence_holds"),
        sa.CheckConstraint(
            "state IN ('retrying', 'dead-lettered', 'releasing')",
            name="ck_sequence_holds_state",
        ),
    )
    op.create_index("ix_sequence_holds_state", "sequence_holds", ["state"])
    op.create_table(
        "parked_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("aggregate_key", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("body", postgresql.BYTEA(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("parked_at", _TIMESTAMPTZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("released_at", _TIMESTAMPTZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_parked_messages"),
        sa.UniqueConstraint(
            "consumer", "message_id", name="uq_parked_messages_consumer_message_id"
        ),
        sa.ForeignKeyConstraint(
            ["consumer", "aggregate_key"],
            ["sequence_holds.consumer", "sequence_holds.aggregate_key"],
            name="fk_parked_messages_consumer_sequence_holds",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_parked_messages_consumer_aggregate_key_id",
        "parked_messages",
        ["consumer", "aggregate_key", "id"],
    )
    app = roles().app
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON sequence_holds TO {app}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON parked_messages TO {app}")
    op.execute(f"GRANT USAGE ON SEQUENCE parked_messages_id_seq TO {app}")


def downgrade() -> None:
    """Drop both tables (parked messages are lost; dead letters are not touched)."""
    op.drop_table("parked_messages")
    op.drop_table("sequence_holds")
