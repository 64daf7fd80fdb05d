"""Command payloads of the identity context (the JSON body of a command message)."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
)

from commerce.identity.domain.values import Role
from commerce.platform.messaging.commands import Command

__all__ = ["AssignRole", "ChangeProfile", "DeactivateUser", "RegisterUser"]


class RegisterUser(Command):
    """Create a user account; the sender chooses the user id (idempotent retries)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "email": "ada@example.com",
                    "display_name": "Ada Lovelace",
                    "password": "correct horse battery staple",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.identity.RegisterUser.v1"

    user_id: UUID = Field(description="Identifier of the new user, chosen by the sender.")
    email: Annotated[str, Field(min_length=3, max_length=254, examples=["ada@example.com"])]
    display_name: Annotated[str, Field(min_length=1, max_length=200, examples=["Ada"])]
    password: SecretStr = Field(
        min_length=12, max_length=1024, description="Plain password; stored argon2id-hashed."
    )

    def aggregate_key(self) -> str:
        """The user id."""
        return str(self.user_id)

    @field_serializer("password", when_used="json")
    def _password_on_the_wire(self, password: SecretStr, info: SerializationInfo) -> str:
        """Masked, unless serialised for sending (``context={"wire": True}``)."""
        if isinstance(info.context, dict) and info.context.get("wire"):
            return password.get_secret_value()
        return str(password)


_USER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


class ChangeProfile(Command):
    """Change the display name a user is shown with; the same name again changes nothing."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": _USER_ID, "display_name": "Ada King"}]}
    )

    message_type: ClassVar[str] = "commerce.identity.ChangeProfile.v1"
    key_field: ClassVar[str] = "user_id"

    user_id: UUID = Field(description="The user whose profile changes.")
    display_name: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The new name shown to other users."
    )


class DeactivateUser(Command):
    """Deactivate a user account; deactivating a deactivated account changes nothing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": _USER_ID}]})

    message_type: ClassVar[str] = "commerce.identity.DeactivateUser.v1"
    key_field: ClassVar[str] = "user_id"

    user_id: UUID = Field(description="The user to deactivate.")


class AssignRole(Command):
    """Give a user a role; a role the user already holds changes nothing."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": _USER_ID, "role": "staff"}]}
    )

    message_type: ClassVar[str] = "commerce.identity.AssignRole.v1"
    key_field: ClassVar[str] = "user_id"

    user_id: UUID = Field(description="The user who gets the role.")
    role: Role = Field(description="The role to grant.")
