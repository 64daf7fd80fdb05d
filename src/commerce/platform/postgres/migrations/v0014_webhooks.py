"""Webhooks: endpoints, one delivery row per (endpoint, event), every attempt.

``webhook_endpoints`` holds a tenant's subscriptions; the signing secret is stored only
AES-GCM encrypted (``secret_sealed``), retired keys likewise in ``retired_secrets``.
``webhook_deliveries`` has one row per endpoint and integration event, unique on
``(endpoint_id, event_id)``: a redelivered event never makes a second delivery, and the
``webhook-id`` a receiver sees is the event id. ``webhook_attempts`` records every HTTP
attempt (status, latency, response body cut to 20 kB, error). Tenant tables like every
other (row-level security); see docs/adr/0029-webhooks.md.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from commerce.platform.postgres.migrations import enable_tenant_isolation, roles

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_TIMESTAMPTZ = sa.DateTime(timezone=True)
_JSONB = postgresql.JSONB()


def upgrade() -> None:
    """Create the three webhook tables with tenant isolation."""
    op.create_table(
        "webhook_endpoints",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("id", _UUID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=True),
        sa.Column("headers", _JSONB, nullable=False, server_default="{}"),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("retired_secrets", _JSONB, nullable=False, server_default="[]"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failing_since", _TIMESTAMPTZ, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
        sa.CheckConstraint("rate_limit IS NULL OR rate_limit > 0", name="ck_webhook_rate"),
    )
    op.create_index("ix_webhook_endpoints_tenant_id", "webhook_endpoints", ["tenant_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("endpoint_id", _UUID, nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TIMESTAMPTZ, nullable=True),
        sa.Column("created_at", _TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", _TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("endpoint_id", "event_id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.id"], name="fk_webhook_deliveries_endpoint"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed', 'cancelled')",
            name="ck_webhook_deliveries_status",
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_status_created",
        "webhook_deliveries",
        ["endpoint_id", "status", "created_at"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("endpoint_id", _UUID, nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False, server_default=""),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("attempted_at", _TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["endpoint_id", "event_id"],
            ["webhook_deliveries.endpoint_id", "webhook_deliveries.event_id"],
            name="fk_webhook_attempts_delivery",
        ),
        sa.CheckConstraint("length(response_body) <= 20480", name="ck_webhook_attempts_body"),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["endpoint_id", "event_id"])
    for table in ("webhook_endpoints", "webhook_deliveries", "webhook_attempts"):
        enable_tenant_isolation(table)
    app = roles().app  # validated and quoted
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON webhook_endpoints TO {app}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO {app}")
    op.execute(f"GRANT SELECT, INSERT ON webhook_attempts TO {app}")


def downgrade() -> None:
    """Drop the webhook tables."""
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
