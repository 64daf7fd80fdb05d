"""Integration events: the versioned, published form of domain events."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from commerce.domain.events import DomainEvent, UserRegistered
from commerce.messages.channels import REJECTIONS, USERS, EventStream

__all__ = [
    "CommandRejectedV1",
    "IntegrationEvent",
    "UserRegisteredV1",
    "integration_event_for",
]


class IntegrationEvent(BaseModel):
    """Base of integration events. Old versions stay parseable beside new ones."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_type: ClassVar[str]
    stream: ClassVar[EventStream]


class UserRegisteredV1(IntegrationEvent):
    """A user account was created."""

    message_type: ClassVar[str] = "commerce.identity.UserRegistered.v1"
    stream: ClassVar[EventStream] = USERS

    user_id: UUID
    email: str
    display_name: str
    registered_at: AwareDatetime


class CommandRejectedV1(IntegrationEvent):
    """A command was refused by a business rule; it will not be retried."""

    message_type: ClassVar[str] = "commerce.CommandRejected.v1"
    stream: ClassVar[EventStream] = REJECTIONS

    command_id: UUID
    command_type: str
    aggregate_id: str
    reason_code: str
    reason: str
    rejected_at: datetime


def integration_event_for(event: DomainEvent) -> IntegrationEvent:
    """Map a domain event to the integration event published for it."""
    match event:
        case UserRegistered():
            return UserRegisteredV1(
                user_id=event.user_id.value,
                email=event.email.value,
                display_name=event.display_name,
                registered_at=event.occurred_at,
            )
    msg = f"no integration event is mapped for {type(event).__name__}"
    raise LookupError(msg)
