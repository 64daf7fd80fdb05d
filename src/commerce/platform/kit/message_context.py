"""What the application knows of the message being handled."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commerce.platform.kit.ids import TenantId

__all__ = ["MessageContext", "Rejection"]


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Identity and lineage of the incoming message, carried to everything it causes."""

    message_id: UUID
    message_type: str
    tenant_id: TenantId
    correlation_id: UUID
    causation_id: UUID | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    consumer: str | None = None
    """The consumer handling the message, when known up front: a unit of work may then
    claim the message's inbox row as it opens (``claim`` still has to be called)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A command refused by a business rule, published so the sender can see it."""

    command_type: str
    aggregate_id: str
    reason_code: str
    reason: str
    retry_after_seconds: float | None = None
    """When the same command may succeed if sent again (e.g. over a rate limit); ``None``:
    sending it again will not help."""
