"""The user directory projection: the users of each tenant, as other parts read them."""

from __future__ import annotations

from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.identity.application.ports import IdentityUnitOfWork

__all__ = ["change_in_directory", "record_in_directory"]


async def record_in_directory(entry: DirectoryEntry, uow: IdentityUnitOfWork) -> None:
    """Apply ``entry`` unless the directory already holds this version or a newer one.

    Idempotent twice over: the inbox drops a redelivered event, and the version check
    drops an older event arriving after a newer one (a replay from the DLQ, a rebuild).
    """
    await uow.user_directory.record(entry)


async def change_in_directory(change: DirectoryChange, uow: IdentityUnitOfWork) -> None:
    """Apply ``change`` (profile, status, role) unless the row already has its version."""
    await uow.user_directory.change(change)
