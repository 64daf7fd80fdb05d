"""How the identity context answers its queries: the user directory's records on the wire.

Each answer reads the session's read models and carries the cache tags of the rows it was
built from, so the user directory projection that changes one of them drops it.
"""

from __future__ import annotations

from typing import Any, Protocol

from commerce.identity.application.directory import (
    USER_DIRECTORY,
    DirectoryRecord,
    UserDirectoryReader,
)
from commerce.identity.messages.queries import (
    DirectoryUser,
    GetUserV1,
    ListUsersV1,
    UserDetailsV1,
    UserPageV1,
)
from commerce.platform.read_side.answers import Answer, plain_answer

__all__ = ["IDENTITY_ANSWERS", "IdentityReadModels", "directory_user"]


class IdentityReadModels(Protocol):
    """The identity context's read models in one read-only session."""

    @property
    def users(self) -> UserDirectoryReader: ...


def directory_user(record: DirectoryRecord) -> DirectoryUser:
    """The wire form of a directory record."""
    return DirectoryUser.model_validate(
        {
            "user_id": record.user_id,
            "email": record.email,
            "display_name": record.display_name,
            "status": record.status,
            "roles": list(record.roles),
            "registered_at": record.registered_at,
            "version": record.version,
        }
    )


async def _get_user(models: IdentityReadModels, query: GetUserV1) -> UserDetailsV1:
    record = await models.users.get(query.user_id)
    return UserDetailsV1(user=directory_user(record) if record else None)


async def _list_users(models: IdentityReadModels, query: ListUsersV1) -> UserPageV1:
    records = await models.users.page(after=query.after, limit=query.limit + 1)
    page = records[: query.limit]
    more = len(records) > query.limit
    return UserPageV1(
        users=[directory_user(r) for r in page], next_after=page[-1].user_id if more else None
    )


IDENTITY_ANSWERS: tuple[Answer[Any, Any, IdentityReadModels], ...] = (
    plain_answer(
        GetUserV1,
        lambda t, q: [USER_DIRECTORY.everything(), USER_DIRECTORY.row(t, q.user_id)],
        _get_user,
    ),
    plain_answer(
        ListUsersV1,
        lambda t, q: [USER_DIRECTORY.everything(), USER_DIRECTORY.tenant(t)],
        _list_users,
    ),
)
"""The answers of the identity context's queries."""
