"""Queries of the user directory read model (kept from ``commerce.identity.user`` events)."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from commerce.identity.domain.values import Role
from commerce.platform.messaging.queries import Query, QueryReply

__all__ = ["DirectoryUser", "GetUserV1", "ListUsersV1", "UserDetailsV1", "UserPageV1"]

_USER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
_USER: dict[str, JsonValue] = {
    "user_id": _USER_ID,
    "email": "ada@example.com",
    "display_name": "Ada Lovelace",
    "status": "active",
    "roles": ["customer"],
    "registered_at": "2025-01-15T09:30:00.412000Z",
    "version": 1,
}


class DirectoryUser(BaseModel):
    """A user as the directory shows it (never the password hash)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: UUID = Field(description="The user's id.")
    email: str = Field(description="The e-mail address, lower case.")
    display_name: str = Field(description="The name shown to other users.")
    status: str = Field(description="`active` or `deactivated`.")
    roles: list[Role] = Field(description="The roles held (they add up).")
    registered_at: AwareDatetime = Field(description="When the account was created.")
    version: int = Field(description="The user's version this row reflects (1, 2, ...).")


class UserDetailsV1(QueryReply):
    """The answer to ``GetUser``: the user, or ``null`` if the tenant has no such user."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"user": _USER}, {"user": None}]})

    message_type: ClassVar[str] = "commerce.identity.UserDetails.v1"

    user: DirectoryUser | None = Field(description="The user; `null` when unknown.")


class GetUserV1(Query):
    """One user of the tenant, by id."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": _USER_ID}]})

    message_type: ClassVar[str] = "commerce.identity.GetUser.v1"
    reply: ClassVar[type[QueryReply]] = UserDetailsV1

    user_id: UUID = Field(description="The user asked for.")


class UserPageV1(QueryReply):
    """The answer to ``ListUsers``: a page of users by id, and where the next one starts."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"users": [_USER], "next_after": None}]}
    )

    message_type: ClassVar[str] = "commerce.identity.UserPage.v1"

    users: list[DirectoryUser] = Field(description="Users in ascending id order.")
    next_after: UUID | None = Field(
        description="Pass as `after` for the next page; `null` on the last page."
    )


class ListUsersV1(Query):
    """The tenant's users in id order, a page at a time."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"after": None, "limit": 50}]})

    message_type: ClassVar[str] = "commerce.identity.ListUsers.v1"
    reply: ClassVar[type[QueryReply]] = UserPageV1

    after: UUID | None = Field(default=None, description="Start after this user id.")
    limit: Annotated[int, Field(ge=1, le=200)] = Field(default=50, description="Page size.")
