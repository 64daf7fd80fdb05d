"""What projections write into read models (plain values, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from commerce.identity.domain.values import Role
from commerce.platform.kit.ids import UserId
from commerce.platform.read_side.ports import ReadModelTags

__all__ = [
    "USER_DIRECTORY",
    "DirectoryChange",
    "DirectoryEntry",
    "DirectoryRecord",
    "UserDirectoryReader",
]


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One user as the user directory shows it, as of aggregate ``version``."""

    user_id: UserId
    email: str
    display_name: str
    version: int
    registered_at: datetime
    status: str = "active"
    roles: tuple[str, ...] = ("customer",)


@dataclass(frozen=True, slots=True)
class DirectoryChange:
    """A change to one user's directory row, as of aggregate ``version``.

    Only the fields given change: ``display_name`` (profile changed), ``status`` (account
    deactivated), ``added_role`` (a role granted; roles add up).
    """

    user_id: UserId
    version: int
    display_name: str | None = None
    status: str | None = None
    added_role: Role | None = None


USER_DIRECTORY = ReadModelTags("user-directory")
"""Tags of the user directory: rows by user; the tenant tag covers list pages."""


@dataclass(frozen=True, slots=True)
class DirectoryRecord:
    """A user as the user directory holds it."""

    user_id: UUID
    email: str
    display_name: str
    status: str
    roles: tuple[str, ...]
    registered_at: datetime
    version: int


class UserDirectoryReader(Protocol):
    """The user directory of the session's tenant."""

    async def get(self, user_id: UUID) -> DirectoryRecord | None:
        """The user, or ``None``."""
        ...

    async def page(self, *, after: UUID | None, limit: int) -> list[DirectoryRecord]:
        """Up to ``limit`` users with an id above ``after``, in id order."""
        ...
