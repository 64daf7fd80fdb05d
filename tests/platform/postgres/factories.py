"""Row builders shared by the persistence tests."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4


def user_row(tenant_id: UUID, *, email: str | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    user_id = uuid4()
    return {
        "tenant_id": tenant_id,
        "id": user_id,
        "email": email or f"{user_id.hex[:12]}@example.com",
        "display_name": "Ada",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def outbox_row(tenant_id: UUID) -> dict[str, Any]:
    return {
        "message_id": uuid4(),
        "tenant_id": tenant_id,
        "aggregate_type": "user",
        "aggregate_id": str(uuid4()),
        "aggregate_version": 1,
        "event_type": "commerce.identity.UserRegistered.v1",
        "stream": "commerce.identity.user",
        "payload": {"email": "ada@example.com"},
        "headers": {"ce_source": "commerce"},
        "occurred_at": datetime.now(UTC),
    }


def inbox_row(tenant_id: UUID, *, consumer: str = "identity.register") -> dict[str, Any]:
    return {"consumer": consumer, "message_id": uuid4(), "tenant_id": tenant_id}
