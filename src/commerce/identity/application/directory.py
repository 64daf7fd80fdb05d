"""What projections write into read models (plain values, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commerce.identity.domain.values import Role
from commerce.platform.kit.ids import UserId

__all__ = ["DirectoryChange", "DirectoryEntry"]


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
