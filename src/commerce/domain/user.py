"""The ``User`` aggregate of the identity context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from commerce.domain.errors import InvalidValue
from commerce.domain.events import DomainEvent, UserRegistered
from commerce.domain.values import EmailAddress, TenantId, UserId

__all__ = ["User", "UserStatus"]

_MAX_DISPLAY_NAME = 200


class UserStatus(StrEnum):
    """Life-cycle state of a user account."""

    ACTIVE = "active"
    DEACTIVATED = "deactivated"


@dataclass(slots=True, eq=False)
class User:
    """A person who can sign in and place orders, within one tenant.

    Uniqueness of the e-mail per tenant spans aggregates, so the registering use case
    checks it through the repository; the database's unique index is the final guard.
    """

    id: UserId
    tenant_id: TenantId
    email: EmailAddress
    display_name: str
    password_hash: str
    status: UserStatus
    version: int
    registered_at: datetime
    pending_events: list[DomainEvent] = field(default_factory=list)

    @classmethod
    def register(
        cls,
        *,
        user_id: UserId,
        tenant_id: TenantId,
        email: EmailAddress,
        display_name: str,
        password_hash: str,
        now: datetime,
    ) -> User:
        """Create an active user and record :class:`UserRegistered`."""
        name = display_name.strip()
        if not name or len(name) > _MAX_DISPLAY_NAME:
            raise InvalidValue(f"display name must be 1-{_MAX_DISPLAY_NAME} characters")
        if now.tzinfo is None:
            raise InvalidValue("timestamps must be timezone-aware")
        user = cls(
            id=user_id,
            tenant_id=tenant_id,
            email=email,
            display_name=name,
            password_hash=password_hash,
            status=UserStatus.ACTIVE,
            version=1,
            registered_at=now,
        )
        user.pending_events.append(
            UserRegistered(
                tenant_id=tenant_id,
                aggregate_id=str(user_id),
                version=1,
                occurred_at=now,
                user_id=user_id,
                email=email,
                display_name=name,
            )
        )
        return user

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last call."""
        events, self.pending_events = self.pending_events, []
        return events
