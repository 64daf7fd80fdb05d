"""Reading the user directory read model: its rows as the read side's records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.identity.application.directory import DirectoryRecord
from commerce.platform.postgres.tables import (
    user_directory,
)

__all__ = ["SqlUserDirectoryReader", "directory_record_of"]


def directory_record_of(row: Row[Any] | Mapping[str, Any]) -> DirectoryRecord:
    """A ``user_directory`` row as a record."""
    values = row._mapping if isinstance(row, Row) else row
    return DirectoryRecord(
        user_id=values["user_id"],
        email=values["email"],
        display_name=values["display_name"],
        status=values["status"],
        roles=tuple(values["roles"]),
        registered_at=values["registered_at"],
        version=values["version"],
    )


class SqlUserDirectoryReader:
    """:class:`~commerce.identity.application.directory.UserDirectoryReader` on
    ``user_directory`` (the session's tenant, by row-level security)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, user_id: UUID) -> DirectoryRecord | None:
        query = select(user_directory).where(user_directory.c.user_id == user_id)
        row = (await self._connection.execute(query)).first()
        return directory_record_of(row) if row is not None else None

    async def page(self, *, after: UUID | None, limit: int) -> list[DirectoryRecord]:
        query = select(user_directory).order_by(user_directory.c.user_id).limit(limit)
        if after is not None:
            query = query.where(user_directory.c.user_id > after)
        return [directory_record_of(row) for row in await self._connection.execute(query)]
