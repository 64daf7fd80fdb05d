"""Domain events of the identity context (the user)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from commerce.identity.domain.values import EmailAddress, Role
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import UserId

__all__ = ["RoleAssigned", "UserDeactivated", "UserProfileChanged", "UserRegistered"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered(DomainEvent):
    """A user account was created."""

    event_type: ClassVar[str] = "commerce.identity.UserRegistered.v1"

    user_id: UserId
    email: EmailAddress
    display_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserProfileChanged(DomainEvent):
    """A user changed the profile shown to others (the display name)."""

    event_type: ClassVar[str] = "commerce.identity.UserProfileChanged.v1"

    user_id: UserId
    display_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDeactivated(DomainEvent):
    """A user account was deactivated: it can no longer place orders or be changed."""

    event_type: ClassVar[str] = "commerce.identity.UserDeactivated.v1"

    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleAssigned(DomainEvent):
    """A user was given a role they did not hold."""

    event_type: ClassVar[str] = "commerce.identity.RoleAssigned.v1"

    user_id: UserId
    role: Role
