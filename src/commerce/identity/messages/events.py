"""Integration events of the identity context, on the ``commerce.identity.user`` stream."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from commerce.identity.domain.events import (
    RoleAssigned,
    UserDeactivated,
    UserProfileChanged,
    UserRegistered,
)
from commerce.identity.domain.values import Role
from commerce.identity.messages.channels import USERS
from commerce.platform.kit.events import DomainEvent
from commerce.platform.messaging.channels import EventStream
from commerce.platform.messaging.integration_event import IntegrationEvent

__all__ = [
    "RoleAssignedV1",
    "UserDeactivatedV1",
    "UserProfileChangedV1",
    "UserRegisteredV1",
    "identity_event_for",
]

_USER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
_AT = "2025-01-15T09:30:00.412000Z"


class UserRegisteredV1(IntegrationEvent):
    """A user account was created."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": _USER_ID,
                    "email": "ada@example.com",
                    "display_name": "Ada Lovelace",
                    "registered_at": _AT,
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


class UserProfileChangedV1(IntegrationEvent):
    """A user changed the name shown to others."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user_id": _USER_ID, "display_name": "Ada King", "changed_at": _AT}]
        }
    )

    message_type: ClassVar[str] = "commerce.identity.UserProfileChanged.v1"
    stream: ClassVar[EventStream] = USERS

    user_id: UUID = Field(description="The user (the message key / routing key).")
    display_name: str = Field(description="The new display name.")
    changed_at: AwareDatetime = Field(description="When the profile changed.")


class UserDeactivatedV1(IntegrationEvent):
    """A user account was deactivated: it can no longer place orders or be changed."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": _USER_ID, "deactivated_at": _AT}]}
    )

    message_type: ClassVar[str] = "commerce.identity.UserDeactivated.v1"
    stream: ClassVar[EventStream] = USERS

    user_id: UUID = Field(description="The user (the message key / routing key).")
    deactivated_at: AwareDatetime = Field(description="When the account was deactivated.")


class RoleAssignedV1(IntegrationEvent):
    """A user was given a role they did not hold."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": _USER_ID, "role": "staff", "assigned_at": _AT}]}
    )

    message_type: ClassVar[str] = "commerce.identity.RoleAssigned.v1"
    stream: ClassVar[EventStream] = USERS

    user_id: UUID = Field(description="The user (the message key / routing key).")
    role: Role = Field(description="The role granted (roles add up).")
    assigned_at: AwareDatetime = Field(description="When the role was granted.")


def identity_event_for(event: DomainEvent) -> IntegrationEvent | None:
    """The integration event published for an identity domain event, else ``None``."""
    match event:
        case UserRegistered():
            return UserRegisteredV1(
                user_id=event.user_id.value,
                email=event.email.value,
                display_name=event.display_name,
                registered_at=event.occurred_at,
            )
        case UserProfileChanged():
            return UserProfileChangedV1(
                user_id=event.user_id.value,
                display_name=event.display_name,
                changed_at=event.occurred_at,
            )
        case UserDeactivated():
            return UserDeactivatedV1(user_id=event.user_id.value, deactivated_at=event.occurred_at)
        case RoleAssigned():
            return RoleAssignedV1(
                user_id=event.user_id.value, role=event.role, assigned_at=event.occurred_at
            )
    return None
