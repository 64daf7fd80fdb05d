"""Domain events: facts an aggregate records when its state changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commerce.domain.values import EmailAddress, TenantId, UserId

__all__ = ["DomainEvent", "UserRegistered"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of every domain event: which aggregate, which version, when."""

    tenant_id: TenantId
    aggregate_id: str
    version: int
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered(DomainEvent):
    """A user account was created."""

    user_id: UserId
    email: EmailAddress
    display_name: str
