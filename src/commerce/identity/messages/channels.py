"""The identity context's channels: its command channels, its event stream, its consumers."""

from __future__ import annotations

from commerce.platform.messaging.channels import (
    PROJECTION_RETRY,
    CommandChannel,
    EventConsumer,
    EventStream,
)

__all__ = [
    "ASSIGN_ROLE",
    "CHANGE_PROFILE",
    "DEACTIVATE_USER",
    "REGISTER_USER",
    "USERS",
    "USER_DIRECTORY",
]


REGISTER_USER = CommandChannel(
    name="commerce.identity.register-user",
    description="Register a user account in a tenant.",
)


USERS = EventStream(
    name="commerce.identity.user",
    aggregate_type="identity.user",
    description="Integration events of user accounts, keyed by user id.",
)


USER_DIRECTORY = EventConsumer(
    name="commerce.projections.user-directory",
    stream=USERS,
    description="Keeps the user directory read model (users per tenant) from user events.",
    retry=PROJECTION_RETRY,
)


# identity
CHANGE_PROFILE = CommandChannel(
    name="commerce.identity.change-profile",
    description="Change the profile (display name) of a user.",
)


DEACTIVATE_USER = CommandChannel(
    name="commerce.identity.deactivate-user",
    description="Deactivate a user account: it can no longer place orders or be changed.",
)


ASSIGN_ROLE = CommandChannel(
    name="commerce.identity.assign-role",
    description="Give a user a role (customer, staff, admin).",
)
