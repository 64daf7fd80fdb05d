"""The user directory projection's rebuild: each tenant's users, from the ``users`` rows.

Users are not event sourced, so a rebuild reads their current rows: each row is the
user's state as of its ``version``, which is what the live projection
(``SqlUserDirectory``) converges to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.identity.adapters.directory_reader import directory_record_of
from commerce.identity.application.directory import USER_DIRECTORY, DirectoryRecord
from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.tables import user_directory
from commerce.platform.read_side.projection_kit import Change, locked_rows, upsert_newer

__all__ = ["USER_DIRECTORY_PROJECTION", "_UserDirectory", "directory_from_user"]


def directory_from_user(row: Row[Any]) -> DirectoryRecord:
    """The directory entry of a ``users`` row (never its password hash)."""
    return DirectoryRecord(
        user_id=row.id,
        email=row.email,
        display_name=row.display_name,
        status=row.status,
        roles=tuple(row.roles),
        registered_at=row.created_at,
        version=row.version,
    )


class _UserDirectory:
    name = "user-directory"
    tables: tuple[Table, ...] = (user_directory,)
    tags = USER_DIRECTORY

    async def load(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        tenant: TenantId,
        keys: list[UUID],
    ) -> dict[UUID, DirectoryRecord]:
        rows = await locked_rows(connection, tables[0], "user_id", tenant, keys)
        return {row.user_id: directory_record_of(row) for row in rows}

    async def save(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        changes: list[Change[DirectoryRecord]],
    ) -> None:
        (table,) = tables
        rows = [
            {
                "tenant_id": change.tenant.value,
                "user_id": r.user_id,
                "email": r.email,
                "display_name": r.display_name,
                "status": r.status,
                "roles": list(r.roles),
                "registered_at": r.registered_at,
                "version": r.version,
            }
            for change in changes
            for r in (change.after,)
        ]
        updated = ("email", "display_name", "status", "roles", "version")
        await upsert_newer(connection, table, "user_id", rows, updated)

    def invalidated(self, change: Change[DirectoryRecord]) -> list[str]:
        return [self.tags.row(change.tenant, change.key), self.tags.tenant(change.tenant)]


USER_DIRECTORY_PROJECTION = _UserDirectory()
"""The user directory (``user_directory``) for rebuilds; live: ``SqlUserDirectory``."""
