"""Outbox rows carry their ready-to-send body.

The writer encodes each event's body once, in the handler's transaction, into
``outbox.body``; the relay sends those bytes as they are instead of decoding the ``payload``
document and encoding it again. ``payload`` stays (operators and the console read it).
Rows written before this revision have no body: the relay encodes their ``payload`` as it
always did (see ``docs/adr/0026-lean-relay-and-kafka-clients.md``).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable ``body`` column (no rewrite of the table: old rows read NULL)."""
    op.add_column("outbox", sa.Column("body", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop ``body``: the relay encodes every row's ``payload`` again."""
    op.drop_column("outbox", "body")
