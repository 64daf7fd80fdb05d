"""Integration events: the versioned, published form of domain events."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "email": "ada@example.com",
                    "display_name": "Ada Lovelace",
                    "registered_at": "2025-01-15T09:30:00.412000Z",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.identity.UserRegistered.v1"
    stream: ClassVar[EventStream] = USERS

    user_id: UUID = Field(description="The new user's id (the message key / routing key).")
    email: str = Field(description="The e-mail address, normalised to lower case.")
    display_name: str = Field(description="The name shown to other users.")
    registered_at: AwareDatetime = Field(description="When the account was created.")


class CommandRejectedV1(IntegrationEvent):
    """A command was refused by a business rule; it will not be retried."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "command_id": "01946a3b-6e12-7c4d-9a3e-5f1b2c3d4e5f",
                    "command_type": "commerce.identity.RegisterUser.v1",
                    "aggregate_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "reason_code": "email_already_registered",
                    "reason": "ada@example.com is already registered in this tenant",
                    "rejected_at": "2025-01-15T09:30:00.412000Z",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.CommandRejected.v1"
    stream: ClassVar[EventStream] = REJECTIONS

    command_id: UUID = Field(description="The rejected command's message id (`ce-id`).")
    command_type: str = Field(description="The rejected command's CloudEvents type.")
    aggregate_id: str = Field(description="The aggregate the command addressed.")
    reason_code: str = Field(description="Stable, machine-readable code of the broken rule.")
    reason: str = Field(description="Human-readable explanation.")
    rejected_at: datetime = Field(description="When the command was refused.")


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
