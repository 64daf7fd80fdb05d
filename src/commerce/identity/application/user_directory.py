"""The user directory projection: the users of each tenant, as other parts read them."""

from __future__ import annotations

from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.platform.transactions.ports import UnitOfWork

__all__ = ["change_in_directory", "record_in_directory"]


async def record_in_directory(entry: DirectoryEntry, uow: UnitOfWork) -> None:
    """Apply ``entry`` unless the directory already holds this version or a newer one.

    Idempotent twice over: the inbox drops a redelivered event, and the version check
    drops an older event arriving after a newer one (a replay from the DLQ, a rebuild).
    """
    await uow.user_directory.record(entry)


async def change_in_directory(change: DirectoryChange, uow: UnitOfWork) -> None:
    """Apply ``change`` (profile, status, role) unless the row already has its version."""
    await uow.user_directory.change(change)
