"""The Postgres full-text search index of catalogue items (the default search backend).

``search_items`` holds one row per item: its whole document, or a tombstone (``deleted``)
once the item is retired, at the item's aggregate version; a generated ``tsvector`` column
under a GIN index serves the queries. It is a tenant table (row-level security) that the app
role reads and writes (see ``docs/adr/0028-search.md``).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT_V1 = "to_tsvector('simple'::regconfig, coalesce(name, ''))"


def upgrade() -> None:
    """Create ``search_items`` with its GIN index, tenant isolation and grants."""
    op.create_table(
        "search_items",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("item_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document", postgresql.TSVECTOR(), sa.Computed(_DOCUMENT_V1, persisted=True)),
        sa.PrimaryKeyConstraint("tenant_id", "item_id", name="pk_search_items"),
    )
    op.create_index(
        "ix_search_items_document", "search_items", ["document"], postgresql_using="gin"
    )
    enable_tenant_isolation("search_items")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON search_items TO {roles().app}")


def downgrade() -> None:
    """Drop the index table (a reindex fills it again)."""
    op.drop_table("search_items")
