"""Command payloads (the JSON body of a command message)."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
)

__all__ = ["Command", "RegisterUser"]


class Command(BaseModel):
    """Base of command payloads: strict, immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    message_type: ClassVar[str]
    """The CloudEvents ``type`` of the command, versioned."""

    def aggregate_key(self) -> str:
        """The aggregate id the command addresses (message key and ordering scope)."""
        raise NotImplementedError

    def wire_body(self) -> bytes:
        """The JSON body to send, secrets included."""
        return self.model_dump_json(context={"wire": True}).encode()


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
