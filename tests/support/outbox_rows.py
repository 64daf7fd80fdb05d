"""Outbox rows written straight through the outbox writer, for relay tests."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.identity.domain.events import UserRegistered
from commerce.identity.domain.values import EmailAddress
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import TenantId, UserId, new_uuid7
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.outbox.writer import OutboxWriter
from commerce.platform.postgres.engine import set_tenant
from commerce.registry.events import integration_event_for

__all__ = ["registered", "stage"]


def registered(tenant: TenantId, user_id: UserId, email: str, version: int = 1) -> UserRegistered:
    """A ``UserRegistered`` event of ``user_id`` at ``version`` (the relay reads only the
    envelope, so one event type serves for every version)."""
    return UserRegistered(
        tenant_id=tenant,
        aggregate_id=str(user_id),
        version=version,
        occurred_at=datetime.now(UTC),
        user_id=user_id,
        email=EmailAddress.parse(email),
        display_name="Relay Test",
    )


async def stage(connection: AsyncConnection, events: list[DomainEvent]) -> None:
    """Write ``events`` (one tenant's) as outbox rows in ``connection``'s open transaction,
    notifying the relay at commit."""
    tenant = events[0].tenant_id
    await set_tenant(connection, tenant.value)
    message_id = new_uuid7()
    context = MessageContext(message_id, "test", tenant, correlation_id=message_id)
    writer = OutboxWriter(context, source="/tests", published_as=integration_event_for)
    writer.publish(events)
    await writer.flush(connection)
