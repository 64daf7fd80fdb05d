"""The webhooks context's tables (migration ``v0014_webhooks``), SQLAlchemy Core."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from commerce.platform.postgres.tables.schema import metadata

__all__ = ["webhook_attempts", "webhook_deliveries", "webhook_endpoints"]

_TIMESTAMPTZ = DateTime(timezone=True)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("event_types", ARRAY(Text), nullable=False),
    Column("rate_limit", Integer),
    Column("headers", JSONB, nullable=False),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("retired_secrets", JSONB, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("failing_since", _TIMESTAMPTZ),
    Column("version", Integer, nullable=False),
    Column("created_at", _TIMESTAMPTZ, nullable=False),
    Column("updated_at", _TIMESTAMPTZ, nullable=False),
    Index("ix_webhook_endpoints_tenant_id", "tenant_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("endpoint_id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", _TIMESTAMPTZ),
    Column("created_at", _TIMESTAMPTZ, nullable=False),
    Column("updated_at", _TIMESTAMPTZ, nullable=False),
    ForeignKeyConstraint(
        ["endpoint_id"], ["webhook_endpoints.id"], name="fk_webhook_deliveries_endpoint"
    ),
    Index("ix_webhook_deliveries_endpoint_status_created", "endpoint_id", "status", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("endpoint_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Float, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("error", Text),
    Column("verdict", Text, nullable=False),
    Column("attempted_at", _TIMESTAMPTZ, nullable=False),
    ForeignKeyConstraint(
        ["endpoint_id", "event_id"],
        ["webhook_deliveries.endpoint_id", "webhook_deliveries.event_id"],
        name="fk_webhook_attempts_delivery",
    ),
    Index("ix_webhook_attempts_delivery", "endpoint_id", "event_id"),
)
